"""The world the "my work" tests read (tests/unit/test_work.py, tests/web/test_work.py): each
demo role in front of the work the rules ask of them.

Over the demo roster (items 1-4 filed by yamamoto, nakamura, kobayashi, kato):

- item 1 before a staff meeting that sat (yamamoto: `refer` there, `record_minutes`);
- item 2 in pre-review on a team-lead meeting convened for later, an order open on it to
  nakamura (watanabe: `agenda`, the team-lead meeting still takes item 3; nakamura:
  `complete_order`);
- item 3 in pre-review, not on any agenda (watanabe adds it: no `convene`, a sitting is called);
- item 4 filed, no staff meeting yet (yamamoto: `convene` it, or `skip` it);
- `council` and `progress` items on a council that sat with its chief (sato and watanabe:
  `decide`, `check`; watanabe its minutes); an earlier council whose minutes wait for the
  chief's approval since (sato: `approve_minutes`), the item it decided due for a progress
  check with no council called (sato: `convene`);
- a team-lead meeting that has started and is not yet recorded (watanabe: `hold`);
- station items of mito: one filed (matsumoto: `convene` its council), one before a station
  council that sat (matsumoto: `report`, its minutes, his own reported councils' minutes to
  approve as their chair), one reported (watanabe: `relay`), one
  relayed (sato: `receive`).
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tests.conftest import held, walk_to


@dataclass
class World:
    staff: int = 0
    team_lead_later: int = 0
    team_lead_now: int = 0
    council: int = 0
    council_old: int = 0
    order: int = 0
    decide_item: int = 0
    check_item: int = 0
    st_filed: int = 0
    st_tabled: int = 0
    st_council: int = 0
    st_reported: int = 0
    st_relayed: int = 0


# what each demo role is asked to do in that world: exactly these acts, nothing else
EXPECTED = {
    "sato": {"approve_minutes", "decide", "check", "receive", "convene"},
    "watanabe": {"record_minutes", "decide", "check", "relay", "agenda", "hold"},
    "yamamoto": {"refer", "record_minutes", "skip", "convene"},
    "nakamura": {"complete_order"},
    "kobayashi": set(),
    "kato": set(),
    "yoshida": set(),
    "suzuki": set(),
    "matsumoto": {"convene", "report", "record_minutes", "approve_minutes"},
    "hayashi": set(),
    "inoue": set(),
}


def station_reported(k: Any, title: str) -> int:
    item = k.file_item("matsumoto", title, station="mito").event.item
    m = k.convene("matsumoto", "station_council", k.clock.now(), items=[item]).event.meeting
    k.hold("matsumoto", m)
    k.advance("matsumoto", item, "report", meeting=m)
    k.record_minutes("matsumoto", m, f"署対策会議議事 {title}")
    return int(item)


def build(k: Any) -> World:
    """Put every demo role in front of work, at `k.clock`'s now."""
    w = World()
    now = k.clock.now
    # an earlier council: it decided one item, its minutes wait for the chief since then
    old = walk_to(k, "council", title="以前の審議案件")
    w.council_old = held(k, "sato", "council", [old])
    k.advance("watanabe", old, "decide", meeting=w.council_old)
    k.record_minutes("watanabe", w.council_old, "推進本部対策会議 議事録 案")
    k.clock.advance(days=1)
    # the council that sits now, decisions pending
    w.decide_item = walk_to(k, "council", title="審議待ちの案件")
    w.check_item = walk_to(k, "in_progress", title="進捗確認の案件")
    for mid in _held_meetings(k):  # the walks' own sittings have approved minutes: not today's work
        if mid != w.council_old:
            k.record_minutes("watanabe", mid, "議事録")  # team-lead meeting and council: the general manager (R-M4)
            k.approve_minutes(k.meeting(mid).chair, mid)
    w.council = held(k, "sato", "council", [w.decide_item, w.check_item])
    # the staff meeting that sat with item 1
    w.staff = held(k, "yamamoto", "staff", [1], attendees=["yoshida"])
    # items 2 and 3 to pre-review; a team-lead meeting called for later with item 2 on it
    k.advance("yamamoto", 2, "skip")
    k.advance("yamamoto", 3, "skip")
    w.order = int(k.issue_order("watanabe", 2, "nakamura", note="実施体制を調査のこと").fact.id)
    w.team_lead_later = int(k.convene("watanabe", "team_lead", now() + dt.timedelta(days=3), items=[2]).fact.meeting)
    # a team-lead meeting that has started, not recorded yet
    w.team_lead_now = int(k.convene("watanabe", "team_lead", now(), items=[]).fact.meeting)
    # the station's items
    w.st_filed = int(k.file_item("matsumoto", "外国人相談窓口の運用", station="mito").event.item)
    w.st_tabled = int(k.file_item("matsumoto", "技能実習先の実態把握", station="mito").event.item)
    w.st_council = held(k, "matsumoto", "station_council", [w.st_tabled])
    w.st_reported = station_reported(k, "地域住民との交流会")
    w.st_relayed = station_reported(k, "多言語表示の整備")
    k.advance("watanabe", w.st_relayed, "relay")
    k.clock.advance(hours=1)
    return w


def _held_meetings(k: Any) -> list[int]:
    with k.read() as q:
        return [m.id for m in q.tx.meetings(status="held") if not m.minutes]


def acts(k: Any, login: str) -> list[dict[str, Any]]:
    with k.read(viewer=login) as q:
        return q.my_work(login, "ja")


def combos(form: dict[str, Any]) -> list[dict[str, list[str]]]:
    """Every submission a form allows: each option of each select in turn, the checkboxes as
    ticked (the form's own choice), the text filled in. Fields as a browser posts them."""
    base: dict[str, list[str]] = {k: [str(v)] for k, v in form["hidden"].items()}
    if form.get("text"):
        base[form["text"]["name"]] = ["確認しました"]
    out = [base]
    for c in form["choices"]:
        if c["type"] == "checkbox":
            ticked = [str(o["value"]) for o in c["options"] if o["checked"]]
            out = [{**f, c["name"]: ticked} for f in out]
        else:
            out = [{**f, c["name"]: [str(o["value"])]} for f in out for o in c["options"]]
    return out


def submit_dry(k: Any, login: str, method: str, action: str, fields: dict[str, list[str]]) -> Any:
    """What the route of WEB.md's contract would run for these fields, as a dry run: the
    act's own decision, nothing written. Raises the refusal if the rules refuse it."""
    one = {f: v[0] if v else "" for f, v in fields.items()}
    parts = action.strip("/").split("/")
    if method == "get":
        assert parts == ["meetings", "new"], action
        kind, item = one["kind"], int(one["item"])
        attendees = ["yoshida"] if kind == "staff" else []  # a staff meeting calls its people (R-S2)
        return k.convene(login, kind, k.clock.now() + dt.timedelta(days=2), items=[item], attendees=attendees,
                         dry_run=True)
    if parts[0] == "items" and parts[2] == "advance":
        return k.advance(login, int(parts[1]), one["trigger"],
                         meeting=int(one["meeting"]) if one.get("meeting") else None, note=one.get("note", ""),
                         dry_run=True)
    if parts[0] == "orders" and parts[2] == "complete":
        return k.complete_order(login, int(parts[1]), one["finding"], dry_run=True)
    mid = int(parts[1])
    if parts[2:] == ["hold"]:
        return k.hold(login, mid, present=fields.get("present", []), dry_run=True)
    if parts[2:] == ["minutes"]:
        return k.record_minutes(login, mid, one["text"], dry_run=True)
    if parts[2:] == ["minutes", "approve"]:
        return k.approve_minutes(login, mid, dry_run=True)
    if parts[2:] == ["agenda"]:
        assert one["action"] == "add", fields
        return k.agenda(login, mid, "add", int(one["item"]), dry_run=True)
    raise AssertionError(f"a form to a route outside WEB.md's contract: {action}")
