"""`kaigi init`: create or upgrade the schema, adopt the bundled rulebooks into the log,
found the HQ, and load the demo; after a migration, rebuild the projections from the log.

Every change is an event, the roster included, so an exported log rebuilds the whole
database. Running it twice adds nothing the first run added.
"""

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from engine.app.audit import fold_log, world_rows
from engine.app.kaigi import Kaigi
from engine.core import events as ev
from engine.i18n import Msg
from engine.infra.timeutil import start_of_day_jst
from workflows import bundled_rulebooks

HQ = {"key": "hq", "kind": "hq", "ja": "推進本部", "en": "promotion HQ"}
DEMO_EMAIL = "police.pref.ibaraki.example"


@dataclass
class InitReport:
    adopted: list[str] = field(default_factory=list)
    events: int = 0
    demo_items: list[int] = field(default_factory=list)
    rebuilt: bool = False
    mode: str = "training"


def rebuild(kaigi: Kaigi) -> None:
    """Refill every projection from the log (a migration changed their shape)."""
    store = kaigi.store
    with store.act() as tx:
        w = fold_log(list(tx.stream()))
        tx.clear_projections()
        tx.save(world_rows(w))
        tx.reset_head_roster()
        tx.set_meta("rebuild", "0")
    kaigi._snap = None


def init(kaigi: Kaigi, *, demo: bool = False, mode: str | None = None, chief: dict[str, Any] | None = None,
         items: bool = True) -> InitReport:
    """Adopt what is missing; `demo` loads the sample roster and items once.

    `mode`: "training" (names on trust) or "real" (`chief` founds the roster, bound to an
    authenticated identity); None keeps the database's mode (a new one is training). A
    database never changes kind: that would re-label who did what."""
    from engine.core.errors import BadInput

    if chief is not None:
        mode = "real"
    if demo and mode == "real":
        raise BadInput("init.demo_real")
    report = InitReport(mode=mode or "training")
    with kaigi.store.read() as tx:
        needs_rebuild = tx.meta("rebuild") == "1"
    if needs_rebuild:
        rebuild(kaigi)
        report.rebuilt = True
    with kaigi.store.act() as tx:
        have_mode = tx.meta("mode")
        bodies_, members, _, _, adoptions = tx.roster()
        bodies = {b.key for b in bodies_}
        if have_mode is not None and mode is not None and mode != have_mode:
            raise BadInput("identity.mode_differs", mode=Msg(f"identity.mode.{have_mode}"))
        if have_mode is None and members and mode == "real":
            raise BadInput("identity.mode_differs", mode=Msg("identity.mode.training"))
        if chief is not None and members and chief["login"] not in {m.login for m in members}:
            raise BadInput("init.has_members")
        founded = tx.now  # the chief holds office from the database's time of founding
        if tx.meta("log_id") is None:  # the name signed checkpoints give this log
            import uuid

            tx.set_meta("log_id", str(uuid.uuid4()))
        if have_mode is None:
            tx.set_meta("mode", report.mode)
        else:
            report.mode = have_mode
    have = {a.version for a in adoptions}
    books = bundled_rulebooks()
    facts: list[ev.Event] = [ev.RulebookAdopted(version=b.version, effective_from=b.effective_from.isoformat(),
                                                sha256=b.sha256, text=b.text) for b in books if b.version not in have]
    report.adopted = [f.version for f in facts]  # type: ignore[attr-defined]
    if HQ["key"] not in bodies:
        facts.append(ev.BodyAdded(**HQ))
    if chief is not None and not members:
        facts += _chief(chief, since=founded)
    if facts:
        report.events += len(kaigi.system(facts))
    if demo and not members and report.mode == "training":
        _demo(kaigi, report, items)
    kaigi._training = None
    return report


def _chief(c: dict[str, Any], since: dt.datetime) -> list[ev.Event]:
    """A real database's first member: the chief, bound to who ran `init`."""
    return [ev.MemberAdded(login=c["login"], name=c["name"], name_en=c.get("name_en") or c["name"],
                           email=c.get("email"), lang=c.get("lang", "ja"), channel="email",
                           os_user=c.get("os_user"), db_role=c.get("db_role")),
            ev.RoleAssigned(id=1, login=c["login"], position=c.get("position", "keisatsu_honbucho"), body=HQ["key"],
                            team=None, valid_from=since, valid_until=None)]


def _demo(kaigi: Kaigi, report: InitReport, items: bool) -> None:
    text = (resources.files("workflows") / "demo" / "ibaraki-demo.toml").read_text(encoding="utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    since = start_of_day_jst(dt.date.fromisoformat(data["valid_from"]))
    facts: list[ev.Event] = [ev.BodyAdded(**b) for b in data["bodies"]]
    for n, m in enumerate(data["members"], start=1):
        facts.append(ev.MemberAdded(login=m["login"], name=m["name"], name_en=m["name_en"],
                                    email=f"{m['login']}@{DEMO_EMAIL}", lang=m.get("lang", "ja"), channel="email"))
        facts.append(ev.RoleAssigned(id=n, login=m["login"], position=m["position"], body=m.get("body", HQ["key"]),
                                     team=m.get("team"), valid_from=since, valid_until=None))
    report.events += len(kaigi.system(facts))
    for it in data["items"] if items else []:
        out = kaigi.file_item(it["filed_by"], it["title"], team=it.get("team"), note=it.get("note", ""),
                              station=it.get("station"))
        report.demo_items.append(out.fact.item)
        report.events += 1


def upgrade(url: str) -> bool:
    """Create or upgrade the schema (Alembic); the store's errors become domain errors."""
    from engine.app.guard import translated
    from store.db import upgrade as migrate

    with translated():
        try:
            return migrate(url)
        except Exception as err:  # noqa: BLE001 (SQLAlchemy/Alembic failures: one line, no traceback)
            from engine.core.errors import Unavailable

            if type(err).__module__.startswith(("sqlalchemy", "alembic", "psycopg", "sqlite3")):
                raise Unavailable("store.error", detail=str(err).strip().splitlines()[0][:300]) from None
            raise
