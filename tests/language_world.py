"""A world with something of every kind a page can show, for the language scans
(tests/web/test_language.py, tests/cli/test_japanese.py): items in every state of the
rulebook, meetings convened, held and called off, orders open, completed and waived,
minutes recorded and approved, a refused attempt, a delegation, an escalated station report.

Built on `tests.visibility_world` (the demo's roster and items 1-4, a station's report
escalated into the HQ path), then each missing state reached by the acts people do.
"""

import datetime as dt
from typing import Any

from engine.core.errors import DomainError
from tests import visibility_world as vw


def build(k: Any, actor: Any = lambda login: login) -> dict[str, Any]:
    """Make the world in `k`; the ids of its items and meetings, for routes that need them."""
    s = vw.build(k, actor)
    now = k.now

    def held(convener: str, kind: str, items: list[int], **kw: Any) -> int:
        m = int(k.convene(actor(convener), kind, now(), items=items, **kw).fact.meeting)
        k.hold(actor(convener), m)
        return m

    # the HQ council sits: the HQ item decided (in progress), the escalated one rejected
    k.hold(actor("sato"), s.council)
    k.advance(actor("sato"), s.hq_item, "decide", meeting=s.council)
    k.advance(actor("sato"), s.escalated, "reject", meeting=s.council)
    k.record_minutes(actor("watanabe"), s.council, "対策会議の議事 COUNCIL-MINUTES")
    k.approve_minutes(actor("sato"), s.council)
    # an HQ item withdrawn; one returned to filed; one deferred at a later council
    k.advance(actor("watanabe"), 1, "withdraw", note="取り下げます")
    staff = held("yamamoto", "staff", [2, 3, 4], attendees=["nakamura", "yoshida"])
    k.advance(actor("yamamoto"), 2, "refer", meeting=staff)
    k.advance(actor("yamamoto"), 4, "refer", meeting=staff)
    k.advance(actor("yamamoto"), 3, "refer", meeting=staff)
    tl = held("watanabe", "team_lead", [2, 3])
    k.advance(actor("watanabe"), 2, "refer", meeting=tl)
    k.advance(actor("watanabe"), 3, "return", meeting=tl, note="再検討")
    council2 = held("sato", "council", [2, s.hq_item])
    k.advance(actor("sato"), 2, "defer", meeting=council2)
    k.advance(actor("sato"), s.hq_item, "check", meeting=council2)
    # orders: one open, one waived (and the visibility world's completed one)
    k.issue_order(actor("watanabe"), 4, "nakamura", note="実態を調べてください")
    waived = int(k.issue_order(actor("watanabe"), 4, "kobayashi", note="資料を集めてください").fact.id)
    k.waive_order(actor("watanabe"), waived, "不要となったため")
    # station items: reported, relayed, received, closed
    ids = {}
    for state in ("reported", "relayed", "received", "closed"):
        item = int(k.file_item(actor("matsumoto"), "水戸署の報告 " + {"reported": "その一", "relayed": "その二", "received": "その三", "closed": "その四"}[state], station="mito").fact.item)
        sc = held("matsumoto", "station_council", [item])
        k.advance(actor("matsumoto"), item, "report", meeting=sc)
        if state != "reported":
            k.advance(actor("watanabe"), item, "relay")
        if state in ("received", "closed"):
            k.advance(actor("sato"), item, "receive")
        if state == "closed":
            k.advance(actor("sato"), item, "close")
        ids[state] = item
    # a meeting called off, and one convened still to sit
    off = int(k.convene(actor("yamamoto"), "staff", now() + dt.timedelta(days=3), items=[3],
                        attendees=["nakamura"]).fact.meeting)
    k.cancel(actor("yamamoto"), off, reason="都合により")
    upcoming = int(k.convene(actor("yamamoto"), "staff", now() + dt.timedelta(days=5), items=[3],
                             attendees=["nakamura", "kobayashi"]).fact.meeting)
    # refused attempts, kept in the log: a team member deciding, a station chief relaying
    for who, item, trigger in (("yamada", s.hq_item, "close"), ("inoue", ids["reported"], "relay")):
        try:
            k.advance(actor(who), item, trigger)
        except DomainError:
            pass
    k.delegate(actor("yamamoto"), "yamaguchi", valid_until=now() + dt.timedelta(days=30))
    return {"world": s, "items": sorted(_all(k, "items")), "meetings": sorted(_all(k, "meetings")),
            "orders": sorted(_all(k, "orders")), "upcoming": upcoming, "cancelled": off, "station": ids}


def _all(k: Any, what: str) -> list[int]:
    with k.read() as q:
        if what == "items":
            return [i.id for i in q.tx.items()]
        if what == "meetings":
            return [m.id for m in q.tx.meetings()]
        return [o.id for o in q.tx.orders()]
