"""The web face's routes (WEB.md) in-process: sign-in, CSRF, the pages' contract elements,
an item walked from filed to closed by the right members each signed in as themselves,
refusals shown as the CLI's one line, and what a station's member may not see."""

import re
from typing import Any

import pytest

from tests.conftest import fingerprint
from tests.web.conftest import PASSWORDS


def jst(k: Any, hours: float = 0) -> str:
    import datetime as dt

    return (k.clock.now() + dt.timedelta(hours=hours)).astimezone(dt.timezone(dt.timedelta(hours=9))).strftime(
        "%Y-%m-%dT%H:%M")


class TestSigningIn:
    def test_a_page_needs_a_member(self, real, browser):
        b = browser(real)
        r = b.get("/board")
        assert r.url.path == "/login"

    def test_the_right_password_signs_in(self, real, browser):
        b = browser(real)
        r = b.login("yamamoto")
        assert r.status_code == 200 and r.url.path == "/"
        assert 'id="me" data-login="yamamoto"' in r.text and "山本 七子" in r.text
        assert 'id="training"' not in r.text

    @pytest.mark.parametrize("login, password", [("yamamoto", "wrong password!"), ("nobody", "whatever-123"),
                                                 ("kato", "pw-kato-2026")])  # kato has no password set
    def test_a_wrong_pair_gets_one_generic_message_and_401(self, real, browser, login, password):
        b = browser(real)
        r = b.login(login, password)
        assert r.status_code == 401
        assert re.search(r'id="login-error"[^>]*>ログイン名またはパスワードが正しくありません<', r.text)
        assert b.get("/board").url.path == "/login"

    def test_repeated_failures_are_slowed(self, real, browser):
        b = browser(real)
        for _ in range(5):
            assert b.login("sato", "guess-guess-guess").status_code == 401
        r = b.login("sato")  # even the right password waits now
        assert r.status_code == 429

    def test_logout_ends_the_session(self, real, browser):
        b = browser(real)
        b.login("sato")
        b.post("/logout", {})
        assert b.get("/").url.path == "/login"

    def test_a_training_database_switches_members_and_says_so(self, training, browser):
        b = browser(training)
        assert b.get("/").url.path == "/switch"
        r = b.switch("watanabe")
        assert 'id="training"' in r.text and 'data-login="watanabe"' in r.text

    def test_remote_user_only_when_trusted(self, real, browser):
        assert browser(real).get("/", headers={"Remote-User": "sato"}).url.path == "/login"
        r = browser(real, trust_proxy=True).get("/", headers={"Remote-User": "sato"})
        assert 'data-login="sato"' in r.text


class TestCsrf:
    def test_a_forged_form_without_the_token_changes_nothing(self, real, browser):
        b = browser(real)
        b.login("yamamoto")
        before = fingerprint(real.store)
        r = b.c.post("/items/1/advance", data={"trigger": "skip"})
        assert r.status_code == 403
        r = b.c.post("/items/1/advance", data={"trigger": "skip", "csrf_token": "forged"})
        assert r.status_code == 403
        assert fingerprint(real.store) == before

    def test_a_token_of_another_session_is_refused(self, real, browser):
        a, m = browser(real), browser(real)
        a.login("yamamoto")
        m.login("nakamura")
        stolen = re.search(r'name="csrf_token" value="([^"]+)"', m.get("/").text).group(1)
        assert a.c.post("/items/1/advance", data={"trigger": "skip", "csrf_token": stolen}).status_code == 403


class TestPages:
    def test_board_has_a_column_per_state_and_marks_overdue(self, real, browser):
        b = browser(real)
        real.clock.advance(days=30)  # the staff-meeting wait of the filed items has passed
        b.login("sato")  # (a session begun before would have run out: 12 h, R-I6)
        html = b.get("/board").text
        book_states = set(re.findall(r'class="column" data-state="([^"]+)"', html))
        assert {"filed", "pre_review", "council", "in_progress", "closed"} <= book_states
        assert re.search(r'class="card item overdue" href="/items/1"', html)

    def test_item_page_state_timeline_and_next_acts(self, real, browser):
        b = browser(real)
        b.login("yamamoto")
        html = b.get("/items/1").text
        assert re.search(r'id="state" data-state="filed"', html)
        assert len(re.findall(r'class="timeline-entry"', html)) >= 1
        assert 'data-trigger="skip"' in html and "<svg" in html

    def test_a_refusal_is_the_clis_one_line(self, real, browser):
        """R-T3: the implementation manager cannot record a team-lead outcome; #refusal says so, 403."""
        b = browser(real)
        b.login("yamamoto")
        b.post("/items/1/advance", {"trigger": "skip"}, page="/items/1")
        before = fingerprint(real.store)
        r = b.post("/items/1/advance", {"trigger": "refer"}, page="/items/1")
        assert r.status_code == 403
        line = re.search(r'id="refusal"[^>]*>([^<]+)<', r.text).group(1)
        assert line.startswith("許可されません: ") and "(R-T3)" in line
        assert fingerprint(real.store) == before

    def test_filing_redirects_to_the_new_item(self, real, browser):
        b = browser(real)
        b.login("yamamoto")
        r = b.post("/items", {"title": "ウェブから起案", "note": "テスト"}, page="/board")
        assert r.url.path == "/items/5" and "ウェブから起案" in r.text

    def test_meetings_calendar_and_ics(self, real, browser):
        b = browser(real)
        b.login("yamamoto")
        r = b.post("/meetings", {"kind": "staff", "starts_at": jst(real, 2), "item": "1",
                                 "attendee": ["nakamura", "yoshida"]}, page="/meetings")
        assert r.url.path == "/meetings/1", r.text[:2000]
        assert 'data-meeting="1"' in b.get("/meetings").text
        ics = b.get("/meetings/1.ics")
        assert ics.headers["content-type"].startswith("text/calendar") and "BEGIN:VEVENT" in ics.text

    def test_audit_replays_an_item_step_by_step(self, real, browser):
        b = browser(real)
        b.login("sato")
        html = b.get("/audit?item=1").text
        assert 'id="verify"' in html and 'data-ok="true"' in html
        assert re.findall(r'class="replay-step" data-allowed="true"', html)

    def test_diagram_marks_the_items_state(self, real, browser):
        b = browser(real)
        b.login("sato")
        html = b.get("/diagram?item=1").text
        assert "<svg" in html

    def test_english_is_complete_too(self, real, browser):
        b = browser(real)
        b.login("sato")
        b.get("/lang/en")
        html = b.get("/board").text
        assert "Items by state" in html and "案件ボード" not in html


class TestStations:
    def test_a_station_member_does_not_see_another_stations_items(self, real, browser):
        """A station's members see their station's items and the HQ's that came from them, no others."""
        mito = real.file_item("matsumoto", "水戸署の案件", station="mito").fact.item
        joso = real.file_item("inoue", "常総署の案件", station="joso").fact.item
        b = browser(real)
        b.login("matsumoto")
        board = b.get("/board").text
        assert f'href="/items/{mito}"' in board and f'href="/items/{joso}"' not in board
        assert 'href="/items/1"' not in board  # an HQ item
        assert b.get(f"/items/{joso}").status_code == 404
        before = fingerprint(real.store)
        assert b.post(f"/items/{joso}/advance", {"trigger": "withdraw"}).status_code == 404
        assert fingerprint(real.store) == before


def test_an_item_walked_from_filed_to_closed_by_the_right_members(real, browser):
    """The demo walk in the browser: each act by the member who holds the role, signed in as
    themselves; the database records them as `web` acts of those members."""
    def as_(login: str) -> Any:
        b = browser(real)
        assert b.login(login).url.path == "/"
        return b

    def meeting(b: Any, kind: str, extra: dict[str, Any] | None = None) -> int:
        r = b.post("/meetings", {"kind": kind, "starts_at": jst(real), "item": "1", **(extra or {})}, page="/meetings")
        m = int(r.url.path.rsplit("/", 1)[1])
        page = b.get(f"/meetings/{m}").text
        present = re.findall(r'name="present" value="([^"]+)"', page)
        r = b.post(f"/meetings/{m}/hold", {"present": present}, page=f"/meetings/{m}")
        assert 'data-status="held"' in r.text, r.text[:3000]
        return m

    def advance(b: Any, trigger: str, m: int | None) -> str:
        r = b.post("/items/1/advance", {"trigger": trigger, **({"meeting": str(m)} if m else {})}, page="/items/1")
        assert r.status_code == 200 and 'id="refusal"' not in r.text, r.text[:3000]
        return re.search(r'id="state" data-state="([^"]+)"', r.text).group(1)

    yamamoto, watanabe, sato = as_("yamamoto"), as_("watanabe"), as_("sato")
    m = meeting(yamamoto, "staff", {"attendee": ["nakamura", "yoshida"]})
    assert advance(yamamoto, "refer", m) == "pre_review"
    m = meeting(watanabe, "team_lead")
    assert advance(watanabe, "refer", m) == "council"
    m = meeting(sato, "council")
    assert advance(watanabe, "decide", m) == "in_progress"
    m = meeting(sato, "council")
    assert advance(watanabe, "close", m) == "closed"
    with real.store.read() as tx:
        acts = [(e.actor, e.identity, e.type) for e in tx.events(item=1)]
    assert ("watanabe", "web", "ItemAdvanced") in acts and ("yamamoto", "web", "ItemAdvanced") in acts
    assert real.verify().ok
    assert PASSWORDS  # the members signed in with their own passwords


def test_what_people_type_is_shown_never_run(real, browser):
    """A title or note with markup is escaped on every page (no stored XSS)."""
    item = real.file_item("yamamoto", "<script>alert(1)</script>", note='"><img src=x onerror=alert(2)>').fact.item
    b = browser(real)
    b.login("yamamoto")
    for page in (f"/items/{item}", "/board", "/", f"/audit?item={item}"):
        html = b.get(page).text
        assert "<script>alert(1)</script>" not in html and "<img src=x" not in html, page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in b.get(f"/items/{item}").text
