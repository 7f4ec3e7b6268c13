"""A quarter of the HQ in a real browser (issue 16): every act on a real (non-training)
SQLite database through its form, each by the member the rules name, signed in as
themselves in a browser context of their own (headless Debian Chromium through Playwright,
against the app served in-process on a loopback port with a frozen clock the test moves).

The walk: the implementation manager files an item, convenes and holds a staff meeting
(R-S1) and refers it from "my work"; the general manager orders a team leader to look into
it (R-T5), who answers from her "my work"; the general manager convenes the team-lead
meeting, keeps its agenda (R-M3), holds it and refers the item to the council (R-T1); the
chief convenes the council with a place, the general manager adds the item to its agenda,
the chief holds it, the general manager records the decision (R-C1) and the minutes, the
chief approves them from "my work" (R-M4); ninety days on, a new sitting records the
progress check; a station chief files a station item, tables it at his station council
(R-P2), holds it and reports it with a document (R-P3); the general manager relays it and
the chief receives it. At the end `audit verify` is ok and every act's event carries the
identity `web` and its member.
"""

import datetime as dt
import json
from pathlib import Path
from typing import Any

from engine.infra.timeutil import JST
from tests.web.conftest import PASSWORDS
from tests.web.test_browser import chromium, server, shot  # noqa: F401 (its fixtures: skip without Chromium)

SHOTS_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
REFUSED: list[str] = []  # what Chromium said the Content-Security-Policy refused during the walk


def trigger(e: Any) -> str | None:
    """The trigger of an ItemAdvanced row of the log (None for any other event)."""
    return json.loads(e.payload).get("trigger") if e.type == "ItemAdvanced" else None


def person(chromium: Any, server: Any, login: str) -> Any:
    """A browser context of `login`'s own (its own cookies), signed in with their password."""
    page = chromium.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900}).new_page()
    page.on("console", lambda m: REFUSED.append(f"{page.url}: {m.text}")
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text else None)
    page.goto(server["base"] + "/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORDS[login])
    page.click("button[type=submit]")
    page.wait_for_url(server["base"] + "/")
    assert page.locator("[data-login]").count() == 1
    return page


def state_of(page: Any, server: Any, item: int) -> str:
    page.goto(server["base"] + f"/items/{item}")
    return str(page.locator("#state").get_attribute("data-state"))


def no_refusal(page: Any) -> None:
    assert page.locator("#refusal").count() == 0, page.locator("#refusal").inner_text()


def file_item(page: Any, server: Any, title: str, note: str, station: str = "") -> int:
    """File on the board's form; the browser lands on the new item's page."""
    page.goto(server["base"] + "/board")
    page.locator("details:has(form[action='/items']) summary").click()
    form = page.locator("form[action='/items']")
    form.locator("input[name=title]").fill(title)
    if station:
        form.locator("select[name=station]").select_option(station)
    form.locator("textarea[name=note]").fill(note)
    form.locator("button").click()
    page.wait_for_url("**/items/*")
    no_refusal(page)
    return int(page.url.rsplit("/", 1)[1])


def convene(page: Any, server: Any, kind: str, items: tuple[int, ...] = (), place: str = "",
            tick: tuple[int, ...] = (), hours: int = 0) -> int:
    """Convene on /meetings/new, to sit `hours` from now (its agenda may change until then,
    R-M3): `items` come ticked by the query, `tick` are ticked by hand."""
    query = "".join(f"&item={i}" for i in items)
    page.goto(server["base"] + f"/meetings/new?kind={kind}{query}")
    sits = (server["clock"].now() + dt.timedelta(hours=hours)).astimezone(JST).strftime("%Y-%m-%dT%H:%M")
    page.fill("#convene input[name=starts_at]", sits)
    if place:
        page.fill("#convene input[name=place]", place)
    for i in items:
        assert page.locator(f'#convene input[name=item][value="{i}"]').is_checked()
    for i in tick:
        page.locator(f'#convene input[name=item][value="{i}"]').check()
    page.click("#convene button[type=submit]")
    page.wait_for_url("**/meetings/*")
    no_refusal(page)
    return int(page.url.rsplit("/", 1)[1])


def hold(page: Any, server: Any, meeting: int) -> None:
    page.goto(server["base"] + f"/meetings/{meeting}")
    page.click("#hold button[type=submit]")
    page.wait_for_selector('[data-status="held"]')
    no_refusal(page)


def step(page: Any, server: Any, item: int, trigger: str, meeting: int | None = None, note: str = "",
         document: Any = None) -> str:
    """Take a step from the item page's form (htmx swaps the page's main part)."""
    page.goto(server["base"] + f"/items/{item}")
    form = page.locator(f'#next form[data-trigger="{trigger}"]')
    assert form.count() == 1, f"no {trigger} form on item {item}"
    if meeting is not None:
        form.locator("select[name=meeting]").select_option(str(meeting))
    if note:
        form.locator("input[name=note]").fill(note)
    if document is not None:
        form.locator("input[name=document]").set_input_files(document)
    entries = page.locator(".timeline-entry").count()
    form.locator("button").click()
    # htmx swaps the page's main part: a refusal, or the timeline one step longer
    page.wait_for_function("(n) => document.querySelector('#refusal') || "
                           "document.querySelectorAll('.timeline-entry').length > n", arg=entries)
    no_refusal(page)
    return state_of(page, server, item)


def work_entry(page: Any, server: Any, act: str, **data: int) -> Any:
    """The entry of "my work" asking `act` of the signed-in member (of that item, meeting or order)."""
    page.goto(server["base"] + "/")
    sel = f'.work-item[data-act="{act}"]' + "".join(f'[data-{k}="{v}"]' for k, v in data.items())
    entry = page.locator(sel)
    assert entry.count() == 1, f"{act} {data} not in my work: " + page.locator("main").inner_text()[:800]
    return entry


def test_a_quarter_in_the_browser(chromium, server):
    k, base, clock = server["kaigi"], server["base"], server["clock"]
    hq_place = "茨城県警察本部 4階 大会議室"

    # 1. the implementation manager files, convenes the staff meeting, refers (R-S1)
    yamamoto = person(chromium, server, "yamamoto")
    item = file_item(yamamoto, server, "外国人材受入れ企業に対する防犯指導の強化について",
                     "受入れ企業への巡回指導と連絡体制の整備。")
    assert yamamoto.locator("#state").get_attribute("data-state") == "filed"
    assert yamamoto.locator("#state").inner_text() == "起案"
    staff = convene(yamamoto, server, "staff", items=(item,), place="本部3階 小会議室")
    for login in ("nakamura", "yoshida"):  # the team's people, called by the convener (R-S2)
        box = yamamoto.locator(f'#people li[data-login="{login}"]')
        assert box.count() == 1
    hold(yamamoto, server, staff)
    entry = work_entry(yamamoto, server, "refer", item=item)
    entry.locator("input[name=note]").fill("班長会議で事前検討")
    entry.locator("button[type=submit]").click()
    yamamoto.wait_for_selector(f'.work-item[data-act="refer"][data-item="{item}"]', state="detached")
    assert state_of(yamamoto, server, item) == "pre_review"
    assert yamamoto.locator("#state").inner_text() == "班長会議事前検討"

    # 2. the general manager orders a team leader to investigate (R-T5); she answers
    watanabe = person(chromium, server, "watanabe")
    watanabe.goto(f"{base}/items/{item}")
    order_form = watanabe.locator("#order")
    order_form.locator("select[name=to]").select_option("nakamura")
    order_form.locator("input[name=note]").fill("受入れ企業の実態を調査のこと")
    order_form.locator("button").click()
    watanabe.wait_for_selector('.order[data-status="open"]')
    no_refusal(watanabe)
    order = int(watanabe.locator(".order").get_attribute("data-order"))
    nakamura = person(chromium, server, "nakamura")
    entry = work_entry(nakamura, server, "complete_order", order=order)
    entry.locator("textarea[name=finding]").fill("県内12社を調査、うち3社で指導が必要。")
    entry.locator("button[type=submit]").click()
    nakamura.wait_for_selector(f'.work-item[data-act="complete_order"][data-order="{order}"]', state="detached")
    no_refusal(nakamura)
    nakamura.goto(f"{base}/items/{item}")
    assert nakamura.locator(f'.order[data-order="{order}"]').get_attribute("data-status") == "complete"
    assert "県内12社" in nakamura.locator(f'.order[data-order="{order}"] .finding').inner_text()

    # 3. the team-lead meeting: convened with the item, its agenda kept (R-M3), held, referred (R-T1)
    second = file_item(yamamoto, server, "留学生向け交通安全講話の実施について", "")
    step(yamamoto, server, second, "skip")  # the implementation manager's own call (R-S1)
    team_lead = convene(watanabe, server, "team_lead", tick=(item,), place=hq_place, hours=1)
    watanabe.select_option("#agenda-add select[name=item]", str(second))
    watanabe.click("#agenda-add button")
    watanabe.wait_for_selector(f'#agenda li[data-item="{second}"]')
    no_refusal(watanabe)
    watanabe.locator(f'#agenda li[data-item="{second}"] form:has(input[value="up"]) button').click()
    watanabe.wait_for_function(f"() => document.querySelector('#agenda li').dataset.item === '{second}'")
    assert [int(x) for x in watanabe.locator("#agenda li").evaluate_all("els => els.map(e => e.dataset.item)")] \
        == [second, item]
    clock.advance(hours=1)  # the hour it sits
    hold(watanabe, server, team_lead)
    assert step(watanabe, server, item, "refer", team_lead) == "council"
    assert watanabe.locator("#state").inner_text() == "対策会議付議"

    # 4. the council: convened with a place by the chief, the agenda the general manager's
    sato = person(chromium, server, "sato")
    council = convene(sato, server, "council", place=hq_place, hours=1)
    assert hq_place in sato.locator("#place").inner_text()
    watanabe.goto(f"{base}/meetings/{council}")
    watanabe.select_option("#agenda-add select[name=item]", str(item))
    watanabe.click("#agenda-add button")
    watanabe.wait_for_selector(f'#agenda li[data-item="{item}"]')
    no_refusal(watanabe)
    clock.advance(hours=1)
    hold(sato, server, council)
    assert step(watanabe, server, item, "decide", council, note="実施計画のとおり推進する") == "in_progress"
    assert watanabe.locator("#state").inner_text() == "推進中"
    watanabe.goto(f"{base}/meetings/{council}")
    watanabe.fill("#minutes-record textarea[name=text]", "議題1 外国人材受入れ企業に対する防犯指導の強化について\n"
                  "実施計画のとおり推進することを決定した。")
    watanabe.click("#minutes-record button")
    watanabe.wait_for_selector('#minutes .minutes[data-entry="1"] .draft')
    no_refusal(watanabe)
    sato.goto(f"{base}/meetings/{council}")
    assert sato.locator("#approve").count() == 1
    if not (SHOTS_DIR / "meeting-minutes.png").exists():
        shot(sato, "meeting-minutes")
    entry = work_entry(sato, server, "approve_minutes", meeting=council)
    assert "実施計画のとおり推進" in entry.inner_text()
    entry.locator("button[type=submit]").click()
    sato.wait_for_selector(f'.work-item[data-act="approve_minutes"][data-meeting="{council}"]', state="detached")
    sato.goto(f"{base}/meetings/{council}")
    assert sato.locator('#minutes .minutes[data-entry="1"] .draft').count() == 0

    # 5. ninety days on, a new sitting checks the progress (R-C1); sessions have lapsed: sign in again
    clock.advance(days=90)
    sato, watanabe = person(chromium, server, "sato"), person(chromium, server, "watanabe")
    check = convene(sato, server, "council", items=(item,), place=hq_place)
    hold(sato, server, check)
    entry = work_entry(watanabe, server, "check", item=item)
    entry.locator("button[type=submit]").click()
    watanabe.wait_for_selector(f'.work-item[data-act="check"][data-item="{item}"]', state="detached")
    assert state_of(watanabe, server, item) == "in_progress"
    with k.store.read() as tx:
        assert [trigger(e) for e in tx.events(item=item) if e.type == "ItemAdvanced"][-1] == "check"

    # 6. a station report: filed, tabled and held at the station council (R-P2), reported with
    #    its document, relayed by the general manager and received by the chief (R-P3)
    matsumoto = person(chromium, server, "matsumoto")
    station_item = file_item(matsumoto, server, "管内技能実習生受入れ事業所への防犯指導結果について",
                             "水戸署管内の指導結果。", station="mito")
    station_council = convene(matsumoto, server, "station_council", items=(station_item,),
                              place="水戸警察署 2階 会議室")
    assert state_of(matsumoto, server, station_item) == "station_council"
    hold(matsumoto, server, station_council)
    document = {"name": "mito-report.txt", "mimeType": "text/plain",
                "buffer": "水戸警察署 署推進本部対策会議 結果報告\n受入れ事業所8か所を指導。\n".encode()}
    assert step(matsumoto, server, station_item, "report", station_council, document=document) == "reported"
    assert matsumoto.locator('.timeline-entry[data-type="ItemAdvanced"] .document a').count() == 1
    assert step(watanabe, server, station_item, "relay") == "relayed"
    assert step(sato, server, station_item, "receive") == "received"
    assert sato.locator("#state").inner_text() == "受理"
    link = sato.locator(".timeline .document a")
    assert link.count() == 1
    if not (SHOTS_DIR / "item-report.png").exists():
        shot(sato, "item-report")
    link.click()
    sato.wait_for_url("**/documents/*")
    assert "mito-report.txt" in sato.locator("main").inner_text()

    assert REFUSED == []  # every form worked with the policy on (no inline script)

    # 7. the log vouches for it all, and says who did each act, from the web
    from click.testing import CliRunner

    from cli import cli

    verify = CliRunner().invoke(cli, ["--db", k.store.url, "--json", "audit", "verify"], env={"KAIGI_LANG": "en"},
                                catch_exceptions=False)
    assert verify.exit_code == 0 and json.loads(verify.output)["ok"] is True, verify.output
    with k.store.read() as tx:
        events = [e for e in tx.events() if e.seq > 0]
        acts = {(e.actor, e.type, trigger(e)) for e in events if e.item in (item, second, station_item)}
        web = {e.identity for e in events if e.item in (item, station_item)}
    assert web == {"web"}
    assert {("yamamoto", "ItemFiled", None), ("yamamoto", "ItemAdvanced", "refer"),
            ("watanabe", "ItemAdvanced", "refer"), ("watanabe", "ItemAdvanced", "decide"),
            ("watanabe", "ItemAdvanced", "check"), ("matsumoto", "ItemFiled", None),
            ("matsumoto", "ItemAdvanced", "report"), ("watanabe", "ItemAdvanced", "relay"),
            ("sato", "ItemAdvanced", "receive")} <= acts, sorted(acts, key=str)
    by_type = {(e.actor, e.type) for e in events if e.identity == "web"}
    for who, what in (("yamamoto", "MeetingHeld"), ("watanabe", "MeetingHeld"), ("sato", "MeetingHeld"),
                      ("matsumoto", "MeetingHeld"), ("watanabe", "OrderIssued"), ("nakamura", "OrderCompleted"),
                      ("watanabe", "MinutesRecorded"), ("sato", "MinutesApproved"), ("watanabe", "AgendaChanged")):
        assert (who, what) in by_type, (who, what, sorted(by_type))


