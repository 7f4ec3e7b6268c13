"""The world the R-R1 tables (tests/web/test_visibility.py, tests/cli/test_visibility.py)
read: each station and the HQ with an item, a held meeting and its minutes, a station's
report escalated into the HQ path and dealt with in an HQ meeting, an HQ council a station
chief is invited to, and an HQ member whose post has ended.

Every title and minutes text carries a marker, so a test finds a leak by searching a
page, a file or a command's output for the markers of what its reader may not see.
"""

from dataclasses import dataclass, field
from typing import Any

STATION_A = "matsumoto"  # 水戸署長: a member of station A (mito)
STATION_B = "inoue"  # 常総署長: station B (joso)
HQ_MEMBER = "sato"  # 本部長: sees everything
ENDED = "nakamura"  # an HQ team leader whose only post has ended

MITO_TITLE = "水戸署の案件 MITO-OWN-ITEM"
MITO_MINUTES = "水戸署対策会議の議事 MITO-OWN-MINUTES"
JOSO_TITLE = "常総署の案件 JOSO-SECRET-ITEM"
JOSO_MINUTES = "常総署対策会議の議事 JOSO-SECRET-MINUTES"
HQ_TITLE = "本部の案件 HQ-SECRET-ITEM"
HQ_MINUTES = "担当者会議の議事 HQ-SECRET-MINUTES"
TL_MINUTES = "班長会議の議事 TL-SECRET-MINUTES"
HQ_FINDING = "調査結果 HQ-SECRET-FINDING"
HQ_DOC = "担当者会議の資料 HQ-SECRET-DOCUMENT"
MITO_DOC = "水戸署の報告書 MITO-OWN-DOCUMENT"


@dataclass
class Seen:
    """The ids of the world's objects, and what a station A member may and may not see."""

    mito_item: int = 0
    mito_meeting: int = 0
    escalated: int = 0  # the HQ item station A's report became (visible to A: R-R1)
    joso_item: int = 0
    joso_meeting: int = 0
    hq_item: int = 0
    staff_meeting: int = 0
    team_lead: int = 0  # an HQ sitting that dealt with the escalated item and the HQ's own
    council: int = 0  # convened, station A's chief invited; the HQ item on its agenda too
    hq_order: int = 0  # an investigation order on the HQ item, completed (R-T5)
    mito_doc: str = ""  # the sha256 of station A's report document (theirs to see)
    hq_doc: str = ""  # the sha256 of a paper the HQ's staff meeting referred with (hidden from A)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def hidden_from_a(self) -> list[str]:
        return [JOSO_TITLE, JOSO_MINUTES, HQ_TITLE, HQ_MINUTES, TL_MINUTES, HQ_FINDING, HQ_DOC, self.hq_doc or "-"]

    @property
    def hidden_from_ended(self) -> list[str]:
        return self.hidden_from_a + [MITO_TITLE, MITO_MINUTES, MITO_DOC, self.mito_doc or "-"]

    def items_hidden_from_a(self) -> list[int]:
        return [self.joso_item, self.hq_item, 1, 2, 3, 4]  # 1-4: the demo's HQ items

    def meetings_hidden_from_a(self) -> list[int]:
        return [self.joso_meeting, self.staff_meeting, self.team_lead]


def build(k: Any, actor: Any = lambda login: login) -> Seen:
    """Make the world in `k` (the demo's bodies and roster, items 1-4 at the HQ). `actor`
    turns a login into who acts (a web actor on a real database)."""
    s = Seen()

    def held(convener: str, kind: str, items: list[int], minutes: str | None = None, **kw: Any) -> int:
        m = int(k.convene(actor(convener), kind, k.now(), items=items, **kw).fact.meeting)
        k.hold(actor(convener), m)
        if minutes:
            k.record_minutes(actor(convener), m, minutes)
        return m

    # station B: an item, its council, minutes
    s.joso_item = k.file_item(actor("inoue"), JOSO_TITLE, station="joso").fact.item
    s.joso_meeting = held("inoue", "station_council", [s.joso_item], JOSO_MINUTES)
    # the HQ: an item through a staff meeting with minutes
    s.hq_item = k.file_item(actor("yamamoto"), HQ_TITLE).fact.item
    s.staff_meeting = held("yamamoto", "staff", [s.hq_item], HQ_MINUTES, attendees=["nakamura", "yoshida"])
    s.hq_doc = k.advance(actor("yamamoto"), s.hq_item, "refer", meeting=s.staff_meeting,
                         document=("hq-paper.txt", HQ_DOC.encode())).facts[0].document
    s.hq_order = int(k.issue_order(actor("watanabe"), s.hq_item, "kobayashi", note="調べてください").fact.id)
    k.complete_order(actor("kobayashi"), s.hq_order, HQ_FINDING)
    # station A: an item, its council, minutes, reported, relayed, received, escalated
    s.mito_item = k.file_item(actor("matsumoto"), MITO_TITLE, station="mito").fact.item
    s.mito_meeting = held("matsumoto", "station_council", [s.mito_item], MITO_MINUTES)
    s.mito_doc = k.advance(actor("matsumoto"), s.mito_item, "report", meeting=s.mito_meeting,
                           document=("mito-report.txt", MITO_DOC.encode())).facts[0].document
    k.advance(actor("watanabe"), s.mito_item, "relay")
    k.advance(actor("sato"), s.mito_item, "receive")
    s.escalated = k.advance(actor("sato"), s.mito_item, "escalate").facts[1].item
    # an HQ team-lead meeting deals with both HQ items; station A may see its outcome for theirs
    s.team_lead = held("watanabe", "team_lead", [s.hq_item, s.escalated], TL_MINUTES)
    k.advance(actor("watanabe"), s.escalated, "refer", meeting=s.team_lead)
    k.advance(actor("watanabe"), s.hq_item, "refer", meeting=s.team_lead)
    # the HQ council, convened with both, station A's chief invited (R-C4)
    s.council = int(k.convene(actor("sato"), "council", k.now(), items=[s.hq_item, s.escalated],
                              invited=["matsumoto"]).fact.meeting)
    return s


def end_post(k: Any, actor: Any = lambda login: login, tick: Any = None) -> None:
    """The chief ends the only post of `ENDED` (after they signed in, for the web's tests)."""
    if tick is not None:
        tick()
    with k.read() as q:
        (post,) = [a for a in q.w.assignments_of(ENDED) if a.valid_until is None]
    k.end_assignment(actor("sato"), post.id, at=k.now())
    if tick is not None:
        tick()
