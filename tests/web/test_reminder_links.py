"""Reminders link to the page where their act is done (issue 17; R-N1, R-N2).

With KAIGI_BASE_URL set, every reminder of a simulated quarter (state reminders, an order's,
each escalation rung, meeting notices) carries links; each resolves to a route of the web
app, and the page, opened as the mail's recipient at the time of the mail, offers the act
the mail asks for (R-N1: nothing offered that its recipient may not do). Each link comes
before its command "for those who use the command line"; without the setting, no link.
"""

import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.routing import Match

from engine.reminders.dispatch import Dispatcher
from tests.conftest import held, walk_to
from tests.unit.test_reminders import Collect

BASE = "https://kaigi.police.example/"
LINK = re.compile(r"https://kaigi\.police\.example(/[^\s]*)")


def _quarter(svc: Any, clock: Any) -> dict[str, int]:
    """Waits of every kind: a filed item, a pre-review with an order, a council (and a
    council called for later, whose agenda it may join), a progress check, a station item
    whose council sat (its report to record), a convened team-lead meeting with attendees."""
    done = walk_to(svc, "in_progress", title="決定済み")
    council = walk_to(svc, "council", title="本部会議待ち")
    pre = walk_to(svc, "pre_review", title="班長会議待ち")
    svc.issue_order("watanabe", pre, "nakamura")
    station = svc.file_item("matsumoto", "署の案件", station="mito").fact.item
    held(svc, "matsumoto", "station_council", [station])
    svc.convene("watanabe", "team_lead", clock.now() + dt.timedelta(days=3))
    svc.convene("sato", "council", clock.now() + dt.timedelta(days=45))
    return {"in_progress": done, "council": council, "pre_review": pre, "station": station}


def _resolves(app: Any, path: str) -> bool:
    scope = {"type": "http", "method": "GET", "path": urlsplit(path).path, "root_path": "",
             "query_string": b"", "headers": []}
    return any(r.matches(scope)[0] == Match.FULL for r in app.routes)


def _offers(html: str, path: str) -> bool:
    """The page holds the form of the act its link's anchor or query names."""
    parts = urlsplit(path)
    anchor, query = parts.fragment, parse_qs(parts.query)
    if anchor.startswith("order-"):
        n = anchor.removeprefix("order-")
        return f'id="order-{n}"' in html and (f'action="/orders/{n}/complete"' in html
                                              or f'action="/orders/{n}/waive"' in html)
    if anchor == "next":
        return 'id="next"' in html and 'action="' + parts.path + '/advance"' in html
    if anchor == "agenda-add":
        return 'id="agenda-add"' in html
    if parts.path == "/meetings/new":
        kind, items = query["kind"][0], query.get("item", [])
        return 'id="convene"' in html and f'data-kind="{kind}"' in html and \
            all(re.search(rf'value="{i}" checked', html) for i in items)
    return True  # a page to look at (the item, the orders, the meeting, my work)


@pytest.fixture
def mails(training: Any, web_clock: Any, browser: Any) -> Any:
    """Run the scheduler with a base URL for a quarter; open every link of every mail as
    its recipient right after it went out. Returns (mails, app, opened pages)."""
    ids = _quarter(training, web_clock)
    box = Collect()
    d = Dispatcher(training, {"email": box}, base_url=BASE)
    b = browser(training)
    opened: list[tuple[str, str, int, bool]] = []
    seen, tried, current = 0, set(), None
    # one event loop and worker threads for every request: a thread keeps its database
    # connection, so a client that made new threads each request would use up PostgreSQL's
    with b.c:
        for _ in range(110):
            seen, current = _day(web_clock, d, box, b, tried, opened, seen, current)
    return box.sent, b.c.app, opened, ids


def _day(web_clock: Any, d: Any, box: Any, b: Any, tried: set, opened: list, seen: int, current: Any) -> Any:
    """One day: the scheduler runs; each link of each new mail is opened once, as its recipient."""
    web_clock.advance(days=1)
    d.run_once()
    for m in box.sent[seen:]:  # each link once per recipient, when it first arrives
        who = m.to[0].split("@")[0]
        for path in dict.fromkeys(LINK.findall(m.body)):
            if (who, path) in tried:
                continue
            tried.add((who, path))
            if current != (who, web_clock.now()):  # a session lasts less than the days run
                b.switch(who)
                current = (who, web_clock.now())
            r = b.get(path)
            opened.append((who, path, r.status_code, r.status_code == 200 and _offers(r.text, path)))
    seen = len(box.sent)
    return seen, current


def test_r_n1_every_link_of_every_reminder_is_a_route_that_offers_the_act(mails: Any) -> None:
    """R-N1: each link resolves to a route of the web app, and the page, opened as the
    recipient when the mail went out, is theirs to see and offers the act it links to."""
    sent, app, opened, _ = mails
    assert len(sent) >= 10 and len(opened) >= 30
    for m in sent:
        for path in LINK.findall(m.body):
            assert _resolves(app, path), (path, m.subject)
    bad = [x for x in opened if x[2] != 200 or not x[3]]
    assert not bad, bad
    kinds = {urlsplit(p).fragment or urlsplit(p).path.split("/")[1] for _, p, *_ in opened}
    assert {"order-1", "next", "agenda-add", "meetings", "items", ""} <= kinds, kinds
    station = {p for who, p, *_ in opened if who == "matsumoto"}
    assert any(p.endswith("#next") for p in station), station  # the station chief records the report


def test_every_kind_of_reminder_links_to_its_page(mails: Any) -> None:
    """State reminders, the order's, each escalation rung and the meeting notice all link."""
    sent, _, _, ids = mails
    by_kind = {
        "state": [m for m in sent if m.subject.startswith("【kaigi】案件") and "命令" not in m.subject],
        "order": [m for m in sent if "調査・検討命令" in m.subject],
        "escalation": [m for m in sent if m.subject.startswith("【督促】")],
        "notice": [m for m in sent if "のご案内" in m.subject],
    }
    for kind, group in by_kind.items():
        assert group, kind
        for m in group:
            assert LINK.search(m.body), (kind, m.subject, m.body)
    rungs = {m.subject for m in by_kind["escalation"] if f"案件{ids['in_progress']}「" in m.subject}
    assert rungs  # the progress check climbs to the general manager, then the chief


def test_the_order_reminder_links_to_the_order_before_its_command(mails: Any) -> None:
    """The team leader's order reminder: the item page at the order's anchor, then the
    command for those who use the command line."""
    sent, _, _, ids = mails
    mine = next(m for m in sent if m.to[0].startswith("nakamura@") and "order complete" in m.body)
    link = f"{BASE}items/{ids['pre_review']}#order-1"
    assert link in mine.body
    assert mine.body.index(link) < mine.body.index("kaigi --as nakamura order complete 1")
    assert "コマンドで操作する場合: kaigi --as nakamura order complete 1 --finding TEXT" in mine.body
    assert f"{BASE}\n" in mine.body or mine.body.rstrip().endswith(BASE) or f"一覧: {BASE}" in mine.body


def test_without_a_base_url_no_link_and_the_command(training: Any, web_clock: Any) -> None:
    _quarter(training, web_clock)
    box = Collect()
    d = Dispatcher(training, {"email": box})
    for _ in range(15):
        web_clock.advance(days=1)
        d.run_once()
    assert box.sent
    assert not any("http" in m.body for m in box.sent)
    order = next(m for m in box.sent if "order complete" in m.body)
    assert "      kaigi --as nakamura order complete 1 --finding TEXT" in order.body
    assert "コマンドで操作する場合" not in order.body
