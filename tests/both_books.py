"""One scenario, two organisations (issue 19): the Ibaraki police HQ and the fictional
Sakuragawa City multicultural-coexistence HQ, each named only by the keys its own rulebook
gives. The CLI (tests/cli/test_both_books.py) and the web (tests/web/test_both_books.py)
walk the same table; neither test names a role, state or meeting kind of its own.

Each book's scenario: how `kaigi init` starts its demo database; a demo item at the top
body walked from filing to done through every meeting, each called by the role the book
names and recorded by the one it names; a new item filed at a lower body (station /
district) that sits in its council, is reported up, relayed through the named role and
received, then closed; and a meeting called by a member the book does not name (exit 3).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """Convene `kind` as `convener` (who chairs it) with the item (and `attendees`), hold
    it, then `recorder` records `trigger`; the item is then in `state`. `called`: members
    the book calls to it as of right (all of them in the meeting's attendees)."""

    kind: str
    convener: str
    recorder: str
    trigger: str
    state: str
    attendees: tuple[str, ...] = ()
    called: tuple[str, ...] = ()


@dataclass(frozen=True)
class Alone:
    """A step one role takes alone (no meeting)."""

    who: str
    trigger: str
    state: str


@dataclass(frozen=True)
class Scenario:
    name: str
    init: tuple[str, ...]          # `kaigi init …` arguments
    key: str                       # the book's [rulebook] key
    item: int                      # a demo item at the top body
    start: str                     # the state it was filed in
    start_title: tuple[str, str]   # that state's title in the book (ja, en)
    path: tuple[Step, ...]         # filing to done
    done: str
    # a lower body's item: filed by `lower_filer` at `lower_body`, tabled and reported in
    # `lower_meeting`, then relayed up and received (R-P2, R-P3)
    lower_filer: str
    lower_body: str
    lower_start: str
    lower_meeting: str
    lower_tabled: str
    lower_report: Alone            # the report, recorded in the held lower meeting
    lower_up: tuple[Alone, ...]    # relay, receive, close
    # a meeting called by a member the book does not name: refused, exit 3
    refused_by: str
    refused_kind: str


IBARAKI = Scenario(
    name="ibaraki",
    init=("init", "--demo"),
    key="ibaraki-foreign-residents",
    item=1,
    start="filed",
    start_title=("起案", "filed"),
    path=(Step("staff", "yamamoto", "yamamoto", "refer", "pre_review", attendees=("nakamura", "yoshida"),
               called=("yamamoto",)),
          Step("team_lead", "watanabe", "watanabe", "refer", "council",
               called=("watanabe", "yamamoto", "nakamura", "kobayashi", "kato")),
          Step("council", "sato", "watanabe", "decide", "in_progress", called=("sato", "suzuki", "takahashi", "tanaka", "ito", "watanabe", "yamamoto")),
          Step("council", "sato", "watanabe", "check", "in_progress", called=("sato", "suzuki", "takahashi", "tanaka", "ito", "watanabe", "yamamoto")),
          Step("council", "sato", "sato", "close", "closed", called=("sato", "suzuki", "takahashi", "tanaka", "ito", "watanabe", "yamamoto"))),
    done="closed",
    lower_filer="matsumoto",
    lower_body="mito",
    lower_start="filed",
    lower_meeting="station_council",
    lower_tabled="station_council",
    lower_report=Alone("matsumoto", "report", "reported"),
    lower_up=(Alone("watanabe", "relay", "relayed"), Alone("sato", "receive", "received"),
              Alone("sato", "close", "closed")),
    refused_by="nakamura",
    refused_kind="council",
)

CITY = Scenario(
    name="city",
    init=("init", "--rulebook", "sakuragawa-tabunka", "--demo"),
    key="sakuragawa-tabunka",
    item=1,
    start="proposed",
    start_title=("提案", "proposed"),
    path=(Step("working_group", "ogawa", "ogawa", "send_up", "secretaries", called=("ogawa", "goto", "hasegawa")),
          Step("secretaries", "mori", "mori", "submit", "before_hq", called=("mori", "fujita", "ogawa")),
          Step("hq_meeting", "yamashita", "mori", "adopt", "implementing", called=("yamashita", "okada", "ishikawa", "maeda", "mori")),
          Step("hq_meeting", "yamashita", "mori", "review", "implementing", called=("yamashita", "okada", "ishikawa", "maeda", "mori")),
          Step("hq_meeting", "yamashita", "yamashita", "complete", "done", called=("yamashita", "okada", "ishikawa", "maeda", "mori"))),
    done="done",
    lower_filer="kondo",
    lower_body="kita",
    lower_start="district_new",
    lower_meeting="district_meeting",
    lower_tabled="district_meeting",
    lower_report=Alone("kondo", "report_up", "district_reported"),
    lower_up=(Alone("mori", "forward", "forwarded"), Alone("yamashita", "accept", "accepted"),
              Alone("yamashita", "conclude", "done")),
    refused_by="ogawa",
    refused_kind="hq_meeting",
)

SCENARIOS = (IBARAKI, CITY)
