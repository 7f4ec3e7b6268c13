"""`kaigi init`: adopt the bundled rulebooks into the log, found the HQ, and load the demo.

Every change is an event, the roster included, so an exported log rebuilds the whole
database. Running it twice adds nothing the first run added.
"""

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from engine.authority import HQ
from engine.decide import Draft
from engine.service import SYSTEM, Service
from engine.state import World, apply
from engine.timeutil import start_of_day_jst
from store.chain import instant
from workflows import bundled_rulebooks


@dataclass
class InitReport:
    adopted: list[str] = field(default_factory=list)
    events: int = 0
    demo_items: list[int] = field(default_factory=list)


def _system(service: Service, drafts: list[tuple[Draft, str]]) -> int:
    """Append system events (init, demo roster) in one transaction; returns how many."""
    if not drafts:
        return 0
    now = service.clock.now()
    with service.store.act() as tx:
        world = World()
        for draft, version in drafts:
            ev = tx.append(at=now, actor=SYSTEM, authority=SYSTEM, rulebook=version, type=draft.type,
                           payload=draft.payload, item=draft.item, meeting=draft.meeting)
            tx.save_all(apply(world, ev))
    service._rules = None
    return len(drafts)


def init(service: Service, demo: bool, items: bool = True) -> InitReport:
    report = InitReport()
    have = {a.version for a in service.store.adoptions()}
    drafts = []
    for book in bundled_rulebooks():
        if book.version not in have:
            drafts.append((Draft("RulebookAdopted", {
                "version": book.version, "effective_from": book.effective_from.isoformat(),
                "sha256": book.sha256, "text": book.text}), book.version))
            report.adopted.append(book.version)
    from engine.rules import Rules

    latest = Rules(bundled_rulebooks()).at(service.clock.now()).version  # the version in force now
    if HQ not in {b.key for b in service.store.bodies()}:
        drafts.append((Draft("BodyAdded", {"key": HQ, "kind": "hq", "ja": "推進本部", "en": "promotion HQ"}), latest))
    report.events += _system(service, drafts)
    if demo and not service.store.members():
        _demo(service, report, latest, items)
    return report


def _demo(service: Service, report: InitReport, version: str, items: bool = True) -> None:
    text = (resources.files("workflows") / "demo" / "ibaraki-demo.toml").read_text(encoding="utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    since = instant(start_of_day_jst(dt.date.fromisoformat(data["valid_from"])))
    drafts = [(Draft("BodyAdded", dict(b)), version) for b in data["bodies"]]
    for n, m in enumerate(data["members"], start=1):
        drafts.append((Draft("MemberAdded", {"login": m["login"], "name": m["name"], "name_en": m["name_en"],
                                             "email": f"{m['login']}@police.pref.ibaraki.example",
                                             "lang": "ja", "channel": "email"}), version))
        drafts.append((Draft("RoleAssigned", {"id": n, "login": m["login"], "position": m["position"],
                                              "body": m.get("body", HQ), "team": m.get("team"),
                                              "valid_from": since, "valid_until": None}), version))
    report.events += _system(service, drafts)
    for it in data["items"] if items else []:
        out = service.file_item(it["filed_by"], it["title"], team=it.get("team"), note=it.get("note", ""),
                                station=it.get("station"))
        assert out.event is not None
        report.demo_items.append(out.event.item or 0)
        report.events += 1
