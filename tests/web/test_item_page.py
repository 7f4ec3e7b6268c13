"""The item page offers only what the member may do now (engine.app.offers), with the forms
of WEB.md's "Every act in the browser": steps with only the sittings they may cite (R-M5),
withdrawal behind a confirmation (R-C6 decides who may), investigation orders issued,
completed and waived (R-T5), the station's report with its document (R-P3) seen only by
who may see the item (R-R1), decision notes in the timeline, and the links between a
station's item and the HQ item it became."""

import re
from typing import Any

import pytest

from engine.app import accounts
from engine.core.errors import DomainError
from engine.core.identity import Actor
from tests import visibility_world as vw
from tests.conftest import fingerprint
from tests.web.conftest import PASSWORDS, csrf


def act(login: str) -> Actor:
    return Actor(login, "web")


def signed_in(browser: Any, k: Any, login: str, b: Any = None) -> Any:
    """A browser signed in as `login` (`b`: the same browser, signed in anew)."""
    if login not in PASSWORDS:
        accounts.set_password(k, act(login), login, f"pw-{login}-2026")
    if b is None:
        b = browser(k)
    else:
        b.c.cookies.clear()
    r = b.login(login, PASSWORDS.get(login, f"pw-{login}-2026"))
    assert r.url.path == "/", r.text[:500]
    return b


FORM = re.compile(r'<form[^>]*data-trigger="([^"]+)"[^>]*>(.*?)</form>', re.S)


def offered(html: str) -> dict[str, list[int | None]]:
    """trigger -> the meetings its form offers (None: a step taken outside a meeting)."""
    out: dict[str, list[int | None]] = {}
    for trigger, body in FORM.findall(html):
        options = [int(x) for x in re.findall(r'<option value="(\d+)"', body)]
        out.setdefault(trigger, []).extend(options if 'name="meeting"' in body else [None])
    return out


def accepted(k: Any, login: str, item: int, trigger: str, meeting: int | None) -> bool:
    try:
        k.advance(act(login), item, trigger, meeting=meeting, dry_run=True)
    except DomainError:
        return False
    return True


@pytest.fixture
def scenario(real: Any) -> Any:
    """Items in every state: the demo's four filed HQ items, the R-R1 world (a station
    council held, a report escalated into the HQ path, an HQ item referred to the council
    with an order completed), an item the council decided, a station item just filed;
    sittings held with outcomes and convened ones not held yet."""
    s = vw.build(real, act)
    real.hold(act("sato"), s.council)
    real.advance(act("watanabe"), s.hq_item, "decide", meeting=s.council, note="実施する")
    s.extra["decided"] = s.hq_item
    s.extra["filed_station"] = real.file_item(act("inoue"), "常総署の起案したばかりの案件", station="joso").fact.item
    return s


def test_every_offered_step_and_meeting_is_accepted_and_nothing_else_is_offered(real, browser, scenario):
    """R-M5, R-T3 (and R-C6 once the engine decides it): for each member of the demo roster and each item they may see, every
    form on the item page, with every meeting it offers, is accepted by the engine (a dry
    run); and every step the engine would accept with some sitting of the item is offered,
    with exactly those sittings."""
    with real.read() as q:
        logins = sorted(q.w.members)
        book = q.book()
    failures = []
    b = browser(real)
    b.c.__enter__()  # one event loop for every request: its worker threads reuse their connections
    for login in logins:
        signed_in(browser, real, login, b)
        with real.read(viewer=login) as q:
            items = [i for i in q.tx.items() if q.sees_item(i)]
        for item in items:
            html = b.get(f"/items/{item.id}").text
            shown = offered(html)
            for trigger, choices in shown.items():
                for m in choices:
                    if not accepted(real, login, item.id, trigger, m):
                        failures.append(f"{login} is offered {trigger} on {item.id} in {m}, which is refused")
            kind = "hq" if item.body == "hq" else "station"
            for t in book.transitions_from(item.state, kind):
                if t.fired_by:
                    continue
                cite: list[int | None] = [s.meeting for s in item.sittings if s.kind == t.meeting] if t.meeting else [None]
                ok = [m for m in cite if accepted(real, login, item.id, t.trigger, m)]
                if sorted(ok, key=str) != sorted(shown.get(t.trigger, []), key=str):
                    failures.append(f"{login} on item {item.id} ({item.state}) {t.trigger}: "
                                    f"accepted in {ok}, offered {shown.get(t.trigger)}")
    b.c.__exit__(None, None, None)
    assert failures == [], "\n".join(failures)


def test_withdrawal_is_a_secondary_act_behind_a_confirmation_naming_the_item(real, browser):
    """A withdrawal is never a primary form: it sits at the bottom, in a <details> block
    whose confirmation names the item and says what it cannot undo, then posts the advance."""
    b = signed_in(browser, real, "watanabe")
    with real.read() as q:
        title = q.w.item(1).title
    html = b.get("/items/1").text
    primary = html[html.index('<section id="next"'):html.index("</section>", html.index('<section id="next"'))] \
        if '<section id="next"' in html else ""
    assert 'data-trigger="withdraw"' not in primary
    block = re.search(r'<details class="secondary withdraw"[^>]*>(.*?)</details>', html, re.S)
    assert block, "no confirmation block for the withdrawal"
    assert "案件 1「" + title + "」を取り下げます" in block.group(1)
    assert "これまでの付議・決定は取り消せません" in block.group(1)
    assert 'name="trigger" value="withdraw"' in block.group(1)
    r = b.post("/items/1/advance", {"trigger": "withdraw", "note": "重複のため"}, page="/items/1")
    assert re.search(r'id="state" data-state="withdrawn"', r.text)
    assert "重複のため" in r.text  # the reason is in the timeline
    en = b.get("/lang/en")
    assert "This withdraws item 2" in b.get("/items/2").text and en.status_code == 200


def test_timeline_shows_decision_notes_and_names(real, browser):
    b = signed_in(browser, real, "yamamoto")
    b.post("/items/1/advance", {"trigger": "skip", "note": "担当者会議は不要と判断"}, page="/items/1")
    html = b.get("/items/1").text
    assert re.search(r'<p class="note">担当者会議は不要と判断</p>', html)
    assert "山本 七子" in html


class TestOrders:
    """R-T5: the general manager orders team leaders; the ordered one completes; the
    general manager may waive. Same engine calls as `kaigi order …`."""

    @pytest.fixture
    def in_review(self, real: Any) -> int:
        real.advance(act("yamamoto"), 1, "skip")  # into pre-review, where orders are given
        return 1

    def test_the_form_lists_by_name_only_whom_may_be_ordered(self, real, browser, in_review):
        from engine.app import offers

        b = signed_in(browser, real, "watanabe")
        html = b.get(f"/items/{in_review}").text
        form = re.search(r'<form[^>]*id="order"[^>]*>(.*?)</form>', html, re.S)
        assert form, "the general manager has no order form"
        with real.read(viewer="watanabe") as q:
            allowed = offers.may_order(q, "watanabe", q.item_record(in_review))
            names = [q.name(x, "ja") for x in allowed]
        options = re.findall(r'<option value="([^"]+)">([^<]+)</option>', form.group(1))
        assert [o[0] for o in options] == allowed and [o[1] for o in options] == names
        assert re.search(r'<input type="date" name="due" value="\d{4}-\d{2}-\d{2}"', form.group(1))
        for login in ("yamamoto", "kobayashi"):  # neither may order: no form
            assert 'id="order"' not in signed_in(browser, real, login).get(f"/items/{in_review}").text

    def test_issued_completed_and_waived_through_the_routes(self, real, browser, in_review):
        gm, tl = signed_in(browser, real, "watanabe"), signed_in(browser, real, "kobayashi")
        r = gm.post(f"/items/{in_review}/orders", {"to": "kobayashi", "due": "2026-12-20", "note": "現状を調べてください"},
                    page=f"/items/{in_review}")
        assert r.status_code == 200 and 'id="refusal"' not in r.text
        first = real.peek.orders(item=in_review)[-1]
        assert first.to == "kobayashi" and first.due_at.astimezone(vw_jst()).date().isoformat() == "2026-12-20"
        page = tl.get(f"/items/{in_review}").text
        assert re.search(rf'data-order="{first.id}" data-status="open"', page) and "未了" in page
        assert f'action="/orders/{first.id}/complete"' in page and f'action="/orders/{first.id}/waive"' not in page
        assert f'action="/orders/{first.id}/complete"' not in gm.get(f"/items/{in_review}").text
        r = tl.post(f"/orders/{first.id}/complete", {"finding": "関係団体と調整済み"}, page=f"/items/{in_review}")
        assert re.search(rf'data-order="{first.id}" data-status="complete"', r.text)
        assert "関係団体と調整済み" in r.text and "完了" in r.text
        # a second order, waived by the general manager with a reason
        gm.post(f"/items/{in_review}/orders", {"to": "kobayashi", "due": "", "note": ""}, page=f"/items/{in_review}")
        second = real.peek.orders(item=in_review)[-1]
        assert f'action="/orders/{second.id}/waive"' in gm.get(f"/items/{in_review}").text
        r = gm.post(f"/orders/{second.id}/waive", {"note": "会議で方針決定済み"}, page=f"/items/{in_review}")
        assert re.search(rf'data-order="{second.id}" data-status="waived"', r.text) and "会議で方針決定済み" in r.text

    def test_a_refused_order_act_is_shown_on_the_item_page(self, real, browser, in_review):
        order = real.issue_order(act("watanabe"), in_review, "kobayashi").fact.id
        tl = signed_in(browser, real, "kobayashi")
        before = fingerprint(real.store)
        r = tl.post(f"/orders/{order}/waive", {"note": "x"}, page=f"/items/{in_review}")
        assert r.status_code == 403 and 'id="refusal"' in r.text
        assert 'id="state"' in r.text  # the item page, with the refusal on it
        r = signed_in(browser, real, "watanabe").post(f"/items/{in_review}/orders", {"to": "yamamoto"},
                                                      page=f"/items/{in_review}")
        assert r.status_code == 403 and re.search(r'id="refusal"[^>]*>[^<]*R-T5', r.text)
        assert fingerprint(real.store) == before
        tl.post(f"/orders/{order}/complete", {"finding": "済"}, page=f"/items/{in_review}")
        r = tl.post(f"/orders/{order}/complete", {"finding": "もう一度"}, page=f"/items/{in_review}")
        assert r.status_code == 409 and 'id="refusal"' in r.text


def vw_jst() -> Any:
    from engine.infra.timeutil import JST

    return JST


class TestReport:
    """R-P3: the station reports its council's result with a document; the HQ relays,
    receives and may escalate; the station sees what became of it (R-R1)."""

    @pytest.fixture
    def council(self, real: Any) -> tuple[int, int]:
        item = real.file_item(act("matsumoto"), "水戸署の合同パトロール", station="mito").fact.item
        m = int(real.convene(act("matsumoto"), "station_council", real.now(), items=[item]).fact.meeting)
        real.hold(act("matsumoto"), m)
        return item, m

    def upload(self, b: Any, item: int, meeting: int, name: str, content: bytes) -> Any:
        token = csrf(b.get(f"/items/{item}").text)
        return b.c.post(f"/items/{item}/advance", data={"trigger": "report", "meeting": str(meeting),
                                                        "note": "署対策会議で決定", "csrf_token": token},
                        files={"document": (name, content, "application/pdf")})

    def test_the_report_uploads_its_document_which_only_its_readers_see(self, real, browser, council):
        item, m = council
        chief = signed_in(browser, real, "matsumoto")
        form = re.search(r'<form[^>]*data-trigger="report"[^>]*>(.*?)</form>', chief.get(f"/items/{item}").text, re.S)
        assert form and 'enctype="multipart/form-data"' in form.group(0) and 'type="file" name="document"' in form.group(1)
        content = b"%PDF-1.4\n\x00\xff binary \xe6\x97\xa5 result\n"
        r = self.upload(chief, item, m, "署対策会議の結果.pdf", content)
        assert r.status_code == 200 and re.search(r'id="state" data-state="reported"', r.text), r.text[:2000]
        sha = re.search(r'href="/documents/([0-9a-f]{64})"', r.text).group(1)  # linked from the timeline
        import hashlib

        assert sha == hashlib.sha256(content).hexdigest()
        for login in ("matsumoto", "sato"):  # the station and the HQ
            b = signed_in(browser, real, login)
            page = b.get(f"/documents/{sha}")
            assert page.status_code == 200 and "署対策会議の結果.pdf" in page.text and sha in page.text
            assert f'href="/items/{item}"' in page.text and f'href="/documents/{sha}/file"' in page.text
            assert str(len(content)) in page.text and "application/pdf" in page.text
            f = b.get(f"/documents/{sha}/file")
            assert f.status_code == 200 and f.content == content
            assert f.headers["content-disposition"].startswith("attachment")
            assert f.headers["x-content-type-options"] == "nosniff"
        other = signed_in(browser, real, "inoue")  # another station's chief: as if there were none
        for path in (f"/documents/{sha}", f"/documents/{sha}/file"):
            r = other.get(path)
            assert r.status_code == 404 and "署対策会議の結果" not in r.text and content not in r.content

    def test_the_station_sees_what_became_of_its_report_and_the_items_link_both_ways(self, real, browser, council):
        item, m = council
        real.advance(act("matsumoto"), item, "report", meeting=m, document=("報告.txt", b"report"))
        real.advance(act("watanabe"), item, "relay", note="本部長へ")
        real.advance(act("sato"), item, "receive")
        hq = real.advance(act("sato"), item, "escalate", note="本部で検討する").facts[1].item
        chief = signed_in(browser, real, "matsumoto")
        html = chief.get(f"/items/{item}").text
        report = re.search(r'<section id="report"(.*?)</section>', html, re.S)
        assert report, "the station chief hears nothing of the report"
        assert "本部で検討する" in report.group(1) and "本部長へ" in report.group(1)
        assert f'href="/items/{hq}"' in html and f"本部案件 {hq} として付議" in html
        with real.read() as q:
            state = q.book().states[q.w.item(hq).state].title.ja
        assert f"本部案件 {hq} として付議され、現在は「{state}」です" in report.group(1)
        back = chief.get(f"/items/{hq}").text  # R-R1: what became of their report is theirs to see
        assert f'href="/items/{item}"' in back and f"署の案件 {item} から" in back
        assert "from item" not in back  # the engine's own English line gives way to the link
        with real.read(viewer="matsumoto") as q:  # the JSON of `item show`
            shown = q.item(item, "ja")["report"]
        assert [s["trigger"] for s in shown["steps"]] == ["report", "relay", "receive", "escalate"]
        assert shown["taken_into"][0]["id"] == hq and shown["document"]
        en = signed_in(browser, real, "matsumoto")
        en.get("/lang/en")
        assert f"from station item {item}" in en.get(f"/items/{hq}").text
