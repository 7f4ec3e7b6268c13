"""My work in the browser (`GET /`, WEB.md "Every act in the browser"; issue 16): each
`.work-item` names with `data-act` what is asked of the signed-in member now, earliest
deadline first, with the one form that does it. The forms are read from the page as a
browser would and every choice they offer is submitted as a dry run of its act: none may be
refused. Both engines (SQLite, PostgreSQL)."""

import datetime as dt
from html.parser import HTMLParser
from typing import Any

import pytest

from engine.core.errors import DomainError
from engine.infra.clock import FrozenClock
from tests import work_world as ww
from tests.conftest import T0, make_svc
from tests.web.conftest import csrf


class WorkPage(HTMLParser):
    """The work items of a page: their data attributes, their form (method, action, hidden
    fields, selects and their options, checkboxes and whether ticked, text fields) or link."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.items: list[dict[str, Any]] = []
        self._select: dict[str, Any] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "li" and "work-item" in classes:
            self.items.append({**{k[5:]: v for k, v in a.items() if k.startswith("data-")}, "form": None,
                               "text": "", "class": a.get("class") or ""})
            return
        if not self.items:
            return
        w = self.items[-1]
        if tag == "form":
            w["form"] = {"method": a.get("method"), "action": a.get("action"), "hidden": {}, "selects": {},
                         "checks": {}, "texts": [], "htmx": a.get("hx-post")}
        elif tag == "a" and "work-form" in classes:
            w["link"] = a.get("href")
        elif w["form"] is not None:
            f = w["form"]
            if tag == "input" and a.get("type") == "hidden" and a.get("name") != "csrf_token":
                f["hidden"][a["name"]] = a.get("value")
            elif tag == "input" and a.get("type") == "checkbox":
                f["checks"].setdefault(a["name"], []).append((a.get("value"), "checked" in a))
            elif tag in ("textarea", "input") and a.get("type") in (None, "text"):
                f["texts"].append(a["name"])
            elif tag == "select":
                self._select = f["selects"].setdefault(a["name"], [])
            elif tag == "option" and self._select is not None:
                self._select.append(a.get("value"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self.items:
            self.items[-1]["text"] += data


def submissions(w: dict[str, Any]) -> list[tuple[str, str, dict[str, list[str]]]]:
    """Every (method, action, fields) the work item's form or link can send."""
    if w["form"] is None:
        from urllib.parse import parse_qs, urlsplit

        u = urlsplit(w["link"])
        return [("get", u.path, parse_qs(u.query))]
    f = w["form"]
    base = {k: [v] for k, v in f["hidden"].items()}
    base |= {t: ["確認しました"] for t in f["texts"]}
    base |= {name: [v for v, on in boxes if on] for name, boxes in f["checks"].items()}
    out = [base]
    for name, options in f["selects"].items():
        out = [{**x, name: [o]} for x in out for o in options]
    return [("post", f["action"], x) for x in out]


@pytest.fixture
def world(db_url: str) -> Any:
    k = make_svc(db_url, FrozenClock(T0))
    w = ww.build(k)
    yield k, w
    k.store.close()


def page(browser: Any, k: Any, login: str) -> tuple[str, list[dict[str, Any]]]:
    b = browser(k)
    b.switch(login)
    r = b.get("/")
    assert r.status_code == 200 and r.url.path == "/", login
    return r.text, WorkPage(r.text).items


def test_each_role_sees_exactly_the_acts_asked_of_them(world, browser):
    """R-C1, R-C5, R-M3, R-M4, R-M5, R-P2, R-P3, R-S1, R-T5: each demo role signed in sees a
    `.work-item` for each act asked of them, named by `data-act`, and no other."""
    k, _ = world
    for login, expected in ww.EXPECTED.items():
        _, items = page(browser, k, login)
        assert {w["act"] for w in items} == expected, login


def test_every_offered_form_submitted_as_a_dry_run_is_accepted(world, browser):
    """Only what is possible is offered: every form on every member's page, with each choice
    its selects offer, is accepted by its act as a dry run (R-M5: only sittings the step may
    cite; R-C3: only councils that sat with their chief; R-M4, R-T5, R-P3). Nothing is written."""
    k, _ = world
    before = k.peek.stream()
    tried = 0
    for login in ww.EXPECTED:
        _, items = page(browser, k, login)
        for w in items:
            for method, action, fields in submissions(w):
                try:
                    ww.submit_dry(k, login, method, action, fields)
                except DomainError as err:
                    pytest.fail(f"{login}: {w['act']} {action} {fields} offered but refused: {err.render('en')}")
                tried += 1
    assert tried >= 20
    assert len(k.peek.stream()) == len(before)


def test_step_forms_fix_a_valid_sitting_and_never_an_empty_one(world, browser):
    """The council's decisions are recorded at the council that sat (R-C1, R-C3): the form
    carries that sitting, never an empty or another meeting; a progress check likewise."""
    k, w = world
    _, items = page(browser, k, "watanabe")
    steps = {it["act"]: it for it in items if it["kind"] == "step" and it.get("meeting")}
    assert steps["decide"]["form"]["hidden"]["meeting"] == str(w.council)
    assert steps["check"]["form"]["hidden"]["meeting"] == str(w.council)
    assert steps["decide"]["form"]["selects"]["trigger"] == ["decide", "return", "defer", "reject"]
    assert steps["check"]["form"]["selects"]["trigger"] == ["check", "close"]


def test_withdrawal_is_never_a_work_item(world, browser):
    """A team leader's page has no 取下げ button withdrawing a council's decision: withdrawal
    is never work (it is a secondary act behind a confirmation on the item's page)."""
    k, _ = world
    for login in ww.EXPECTED:
        html, items = page(browser, k, login)
        assert "withdraw" not in {w["act"] for w in items}, login
        assert 'value="withdraw"' not in html, login
    _, items = page(browser, k, "nakamura")
    assert [w["act"] for w in items] == ["complete_order"]


def test_the_chief_sees_the_minutes_waiting_for_his_approval(world, browser):
    """R-M4: the council's minutes, recorded by the general manager, wait on the chief's page
    with their text and a form to approve them."""
    k, w = world
    _, items = page(browser, k, "sato")
    waiting = [it for it in items if it["act"] == "approve_minutes"]
    assert [it["meeting"] for it in waiting] == [str(w.council_old)]
    assert "推進本部対策会議 議事録 案" in waiting[0]["text"]
    assert waiting[0]["form"]["action"] == f"/meetings/{w.council_old}/minutes/approve"


def test_work_comes_earliest_deadline_first_overdue_marked(world, browser):
    """R-N3: entries by deadline, those without one last; a passed deadline is marked."""
    k, _ = world
    for login in ("sato", "watanabe", "yamamoto"):
        _, items = page(browser, k, login)
        dues = [it.get("deadline") or "" for it in items]
        dated = [dt.datetime.fromisoformat(d) for d in dues if d]
        assert dated == sorted(dated), login
        assert dues == [d for d in dues if d] + [d for d in dues if not d], login
    k.clock.advance(days=4)
    _html, items = page(browser, k, "sato")
    assert items[0]["act"] == "receive" and "overdue" in items[0]["class"].split()


def test_japanese_words_not_keys(world, browser):
    """Titles, states, meeting kinds in words and people by name (Japanese first)."""
    k, _ = world
    _html, items = page(browser, k, "watanabe")
    text = " ".join(it["text"] for it in items)
    for words in ("推進本部対策会議", "班長会議", "対策会議付議", "推進中", "議題の整理", "会議の開催記録", "中村 八郎"):
        assert words in text, words
    for key in ("council", "in_progress", "team_lead", "record_minutes", "sato"):
        assert f" {key} " not in f" {text} ", key


def test_a_step_form_works_without_javascript(world, browser):
    """The forms are plain HTML posts (htmx only enhances them): the staff meeting's `refer`,
    posted as the page gives it, moves item 1 to pre-review (R-S1)."""
    k, _w = world
    b = browser(k)
    b.switch("yamamoto")
    items = WorkPage(b.get("/").text).items
    refer = next(it for it in items if it["act"] == "refer")
    f = refer["form"]
    assert f["method"] == "post" and f["action"] == "/items/1/advance"
    r = b.post(f["action"], {**f["hidden"], "note": "担当者会議で検討済み"})
    assert r.status_code == 200
    assert k.item(1).state == "pre_review"
    assert "refer" not in {it["act"] for it in WorkPage(b.get("/").text).items}


def test_holding_from_my_work_records_the_sitting(world, browser):
    """The hold form posts to the meeting's hold route with those called ticked: the
    team-lead meeting that has started is recorded as held (R-M1, R-M5), and leaves the list."""
    k, w = world
    b = browser(k)
    b.switch("watanabe")
    hold = next(it for it in WorkPage(b.get("/").text).items if it["act"] == "hold")
    f = hold["form"]
    assert f["action"] == f"/meetings/{w.team_lead_now}/hold"
    assert all(on for _, on in f["checks"]["present"])
    r = b.c.post(f["action"], data={"present": [v for v, _ in f["checks"]["present"]], "csrf_token": csrf(b.get("/").text)})
    assert r.status_code == 200
    assert k.meeting(w.team_lead_now).status == "held"
    assert "hold" not in {it["act"] for it in WorkPage(b.get("/").text).items}


def test_my_work_comes_a_page_at_a_time_with_next_and_prev_links(world, browser, monkeypatch):
    """Every list is paginated (issue 21 part 4): `/?page=N` shows the Nth page of the member's
    work, with `rel=next` while more wait and `rel=prev` after the first; together the pages
    hold the whole list once, in order. A page that is not a number is one clear line."""
    import re

    from web import routes_work

    k, _ = world
    _, whole = page(browser, k, "sato")
    assert len(whole) >= 3
    monkeypatch.setattr(routes_work, "WORK_SHOWN", 2)
    b = browser(k)
    b.switch("sato")
    seen, url, pages = [], "/", 0
    while url:
        r = b.get(url)
        assert r.status_code == 200
        items = WorkPage(r.text).items
        assert 1 <= len(items) <= 2
        seen += items
        pages += 1
        assert ('rel="prev"' in r.text) == (pages > 1)
        nxt = re.search(r'<a rel="next" href="([^"]+)"', r.text)
        url = nxt.group(1) if nxt else ""
    assert pages == (len(whole) + 1) // 2
    assert [(w["act"], w.get("item"), w.get("meeting")) for w in seen] == \
        [(w["act"], w.get("item"), w.get("meeting")) for w in whole]
    bad = b.get("/?page=abc")
    assert bad.status_code == 400 and "Traceback" not in bad.text
