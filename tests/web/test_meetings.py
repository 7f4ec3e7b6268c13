"""Meetings in the browser (issue 16): convening, the agenda, the sitting, the minutes and
calling off, each a form on the page where it belongs, offering only what the rules accept.

Every offered choice is submitted to the engine as a dry run (`Kaigi.convene(...,
dry_run=True)`, `Kaigi.agenda(..., dry_run=True)`) and none is refused; every route refuses
what the rules refuse with the status of its kind and writes nothing. Each member is signed
in as themselves (a training database's member menu); both engines.
"""

import datetime as dt
import json
from html.parser import HTMLParser
from typing import Any

import pytest

from engine.core.errors import DomainError
from engine.infra.timeutil import JST
from tests.conftest import fingerprint, walk_to

# ---------------------------------------------------------------- reading forms as a browser would


class Forms(HTMLParser):
    """The forms of a page: for each, its action, id and fields (inputs, checkboxes with their
    checked state, selects with their options)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: dict[str, Any] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "id": a.get("id", ""), "method": a.get("method", "get"),
                          "act": a.get("data-act", ""), "fields": []}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input":
            self._form["fields"].append({"tag": "input", "type": a.get("type", "text"), "name": a.get("name", ""),
                                         "value": a.get("value", ""), "checked": "checked" in a,
                                         "required": "required" in a})
        elif tag == "select":
            self._select = {"tag": "select", "name": a.get("name", ""), "options": []}
            self._form["fields"].append(self._select)
        elif tag == "option" and self._select is not None:
            self._select["options"].append({"value": a.get("value", ""), "selected": "selected" in a})
        elif tag == "textarea":
            self._form["fields"].append({"tag": "textarea", "name": a.get("name", "")})

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None

    def by(self, **match: str) -> list[dict[str, Any]]:
        return [f for f in self.forms if all(f.get(k) == v for k, v in match.items())]

    def one(self, **match: str) -> dict[str, Any]:
        found = self.by(**match)
        assert len(found) == 1, (match, [(f["id"], f["action"]) for f in self.forms])
        return found[0]


def boxes(form: dict[str, Any], name: str) -> dict[str, bool]:
    """Checkbox value -> checked."""
    return {f["value"]: f["checked"] for f in form["fields"] if f.get("type") == "checkbox" and f["name"] == name}


def options(form: dict[str, Any], name: str) -> list[str]:
    return [o["value"] for f in form["fields"] if f["tag"] == "select" and f["name"] == name for o in f["options"]]


def hidden(form: dict[str, Any], name: str) -> str | None:
    return next((f["value"] for f in form["fields"] if f.get("type") == "hidden" and f["name"] == name), None)


def local(at: dt.datetime) -> str:
    """A time as a datetime-local field holds it: Japan time, to the minute."""
    return at.astimezone(JST).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def as_(training, browser):
    """A browser signed in as a member of the training database (its member menu)."""
    made: dict[str, Any] = {}

    def sign_in(login: str) -> Any:
        if login not in made:
            made[login] = browser(training)
            made[login].switch(login)
        return made[login]
    return sign_in


def post(b: Any, path: str, data: dict[str, Any], page: str) -> Any:
    return b.post(path, data, page=page)


# ---------------------------------------------------------------- convening
CONVENES = {"sato": ["council"], "watanabe": ["team_lead"], "yamamoto": ["staff"],
            "matsumoto": ["station_council:mito"], "nakamura": [], "yoshida": []}


@pytest.mark.parametrize("login", sorted(CONVENES))
def test_convene_offers_only_the_kinds_the_member_may_convene_r_c3_r_t3_r_s1_r_p2(training, as_, login):
    """The kind list is the engine's answer: a station chief is offered his station's council
    alone (not the HQ's four kinds); a team leader is offered none and no form."""
    r = as_(login).get("/meetings/new")
    assert r.status_code == 200
    page = Forms(r.text)
    offered = options(page.one(id="pick-kind"), "kind") if CONVENES[login] else []
    assert offered == CONVENES[login]
    if not offered:
        assert 'id="no-kinds"' in r.text and not page.by(id="convene")
    for kind in ("council", "team_lead", "staff", "station_council"):  # what is not offered is refused
        if not any(o.split(":")[0] == kind for o in offered):
            with pytest.raises(DomainError):
                training.convene(login, kind, training.clock.now(), attendees=["yoshida"] if kind == "staff" else [],
                                 dry_run=True)


@pytest.mark.parametrize("login", ["sato", "watanabe", "yamamoto", "matsumoto"])
def test_every_offered_kind_item_and_attendee_is_accepted_as_a_dry_run_r_c3_r_t3_r_s1_r_s2_r_p2(training, as_,
                                                                                                  login):
    """Each kind offered, each item checkbox alone, the attendees as ticked and each invitation
    offered: `Kaigi.convene(..., dry_run=True)` accepts every one."""
    council_item = walk_to(training, "council", title="本部会議に付議する案件")
    pre_review = walk_to(training, "pre_review", title="班長会議に付議する案件")
    b = as_(login)
    checked = 0
    for kind in CONVENES[login]:
        form = Forms(b.get(f"/meetings/new?kind={kind}").text).one(id="convene")
        key, station = hidden(form, "kind"), hidden(form, "station")
        attendees = [v for v, on in boxes(form, "attendee").items() if on]
        at = training.clock.now() + dt.timedelta(days=1)
        training.convene(login, key, at, attendees=attendees, station=station, dry_run=True)
        for item in boxes(form, "item"):
            training.convene(login, key, at, items=[int(item)], attendees=attendees, station=station, dry_run=True)
            checked += 1
        for guest in boxes(form, "invite"):
            training.convene(login, key, at, attendees=attendees, invited=[guest], station=station, dry_run=True)
        items = set(boxes(form, "item"))
        if key == "council":
            assert items == {str(council_item)}
        if key == "team_lead":
            assert items == {str(pre_review)}
        if key == "staff":
            assert {"1", "2", "3", "4"} <= items and str(council_item) not in items
    assert checked or login == "matsumoto"


def test_item_checkboxes_are_unticked_unless_the_query_asks_r_s1(training, as_):
    b = as_("yamamoto")
    form = Forms(b.get("/meetings/new?kind=staff").text).one(id="convene")
    assert boxes(form, "item") == {"1": False, "2": False, "3": False, "4": False}
    form = Forms(b.get("/meetings/new?kind=staff&item=2&item=4").text).one(id="convene")
    assert boxes(form, "item") == {"1": False, "2": True, "3": False, "4": True}


def test_attendees_are_grouped_by_role_by_name_with_the_members_ticked_r_c2_r_s2(training, as_):
    r = as_("watanabe").get("/meetings/new?kind=team_lead")
    form = Forms(r.text).one(id="convene")
    assert set(boxes(form, "attendee")) == {"watanabe", "yamamoto", "nakamura", "kobayashi", "kato"}
    assert all(boxes(form, "attendee").values())
    assert 'data-role="team_leader"' in r.text and "<legend>班長</legend>" in r.text
    assert "中村 八郎" in r.text
    r = as_("yamamoto").get("/meetings/new?kind=staff")  # R-S2: whom the convener may call, ticked
    called = boxes(Forms(r.text).one(id="convene"), "attendee")
    assert {"yoshida", "yamada", "sasaki", "nakamura"} <= set(called) and all(called.values())
    assert 'name="invite"' not in r.text  # a staff meeting invites no one (R-S2)


def test_invitations_only_for_those_who_may_invite_r_c4_r_t4(training, as_):
    r = as_("sato").get("/meetings/new?kind=council")
    guests = boxes(Forms(r.text).one(id="convene"), "invite")
    assert "matsumoto" in guests and not any(guests.values())
    assert "suzuki" not in guests  # a member of the council is called, not invited


def test_convening_posts_place_items_and_japan_time_r_s1(training, as_):
    b = as_("yamamoto")
    page = "/meetings/new?kind=staff"
    r = post(b, "/meetings", {"kind": "staff", "starts_at": "2026-12-03T10:00", "place": "本部4階 大会議室",
                              "item": ["1", "3"], "attendee": ["yamamoto", "nakamura", "yoshida"]}, page)
    assert r.status_code == 200 and r.url.path.startswith("/meetings/"), r.text[:400]
    m = int(r.url.path.rsplit("/", 1)[1])
    with training.read() as q:
        rec = q.meeting_record(m)
    assert rec.items == (1, 3) and rec.place == "本部4階 大会議室"
    assert rec.starts_at == dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.UTC)
    assert 'id="place"' in r.text and "本部4階 大会議室" in r.text


def test_a_refused_convening_shows_its_line_and_keeps_what_was_typed_r_s2(training, as_):
    """The chief cannot be called to a staff meeting: 403, the line in #refusal, the form as
    it was typed, nothing written."""
    b = as_("yamamoto")
    before = fingerprint(training.store)
    r = post(b, "/meetings", {"kind": "staff", "starts_at": "2026-12-03T10:00", "place": "第2会議室",
                              "item": ["2"], "attendee": ["yamamoto", "sato"]}, "/meetings/new?kind=staff")
    assert r.status_code == 403
    assert ('id="refusal"' in r.text and "R-S2" in r.text) or "担当者会議" in r.text
    form = Forms(r.text).one(id="convene")
    assert boxes(form, "item")["2"] and not boxes(form, "item")["1"]
    assert 'value="第2会議室"' in r.text and 'value="2026-12-03T10:00"' in r.text
    assert boxes(form, "attendee")["yamamoto"] and not boxes(form, "attendee").get("nakamura")
    assert fingerprint(training.store) == before


def test_an_agenda_typed_as_one_line_is_refused_not_convened_empty(training, as_):
    """`1 3 4 7` in the old text box convened a council with an empty agenda and no message."""
    b = as_("yamamoto")
    before = fingerprint(training.store)
    r = post(b, "/meetings", {"kind": "staff", "starts_at": "2026-12-03T10:00", "item": "1 3 4 7",
                              "attendee": ["yamamoto", "nakamura"]}, "/meetings/new?kind=staff")
    assert r.status_code == 400 and 'id="refusal"' in r.text
    assert fingerprint(training.store) == before


def test_a_kind_not_offered_is_refused_403_nothing_written_r_c3(training, as_):
    b = as_("matsumoto")
    before = fingerprint(training.store)
    r = post(b, "/meetings", {"kind": "council", "starts_at": "2026-12-03T10:00"}, "/meetings/new")
    assert r.status_code == 403 and 'id="refusal"' in r.text
    assert fingerprint(training.store) == before


@pytest.mark.parametrize("bad", ["本部\u202e室議会", "本部\u200b会議室", "一行目\n二行目", "x" * 201])
def test_a_place_is_one_visible_line(training, as_, bad):
    b = as_("yamamoto")
    before = fingerprint(training.store)
    r = post(b, "/meetings", {"kind": "staff", "starts_at": "2026-12-03T10:00", "place": bad,
                              "attendee": ["yamamoto", "nakamura"]}, "/meetings/new?kind=staff")
    assert r.status_code == 400 and 'id="refusal"' in r.text
    assert fingerprint(training.store) == before


def test_the_station_council_posts_its_station_r_p2(training, as_):
    b = as_("matsumoto")
    form = Forms(b.get("/meetings/new").text).one(id="convene")  # his one kind, chosen for him
    assert (hidden(form, "kind"), hidden(form, "station")) == ("station_council", "mito")
    for asked in ("station_council", "station_council&station=mito", "station_council:mito"):  # as "my work" links
        form = Forms(b.get(f"/meetings/new?kind={asked}").text).one(id="convene")
        assert (hidden(form, "kind"), hidden(form, "station")) == ("station_council", "mito")
    r = post(b, "/meetings", {"kind": "station_council", "station": "mito", "starts_at": "2026-12-03T10:00",
                              "place": "水戸警察署 3階講堂"}, "/meetings/new")
    assert r.status_code == 200 and "水戸警察署 3階講堂" in r.text


# ---------------------------------------------------------------- the place everywhere
def test_the_place_reaches_show_json_the_page_and_the_ics_location(training, as_, kaigi):
    import icalendar

    out = training.convene("yamamoto", "staff", training.clock.now() + dt.timedelta(days=1),
                           attendees=["nakamura"], place="本部4階 大会議室")
    m = out.fact.meeting
    shown = json.loads(kaigi("--json", "--as", "yamamoto", "meeting", "show", str(m)).stdout)
    assert shown["place"] == "本部4階 大会議室"
    assert "本部4階 大会議室" in as_("yamamoto").get(f"/meetings/{m}").text
    cal = icalendar.Calendar.from_ical(as_("yamamoto").get(f"/meetings/{m}.ics").content)
    event = next(c for c in cal.walk("VEVENT"))
    assert str(event["LOCATION"]) == "本部4階 大会議室"


def test_the_cli_convenes_with_a_place(training, kaigi):
    r = kaigi("--json", "--as", "yamamoto", "meeting", "convene", "staff", "--at", "2026-12-03T10:00",
                  "--attendee", "nakamura", "--place", "本部 第1会議室")
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)
    assert m["place"] == "本部 第1会議室"
    text = kaigi("--as", "yamamoto", "meeting", "show", str(m["id"])).stdout
    assert "本部 第1会議室" in text
    r = kaigi("--as", "yamamoto", "meeting", "convene", "staff", "--at", "now", "--attendee", "nakamura",
                  "--place", "本部\u202e室議会")
    assert r.exit_code == 2 and "U+202E" in r.stderr


def test_a_meeting_without_a_place_keeps_its_event_hash(training):
    """`place` is optional: an event of a meeting convened with none has the payload (and so
    the hash) it had before kaigi knew places; the log still verifies."""
    from engine.core.events import MeetingConvened

    at = dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.UTC)
    plain = MeetingConvened(meeting=1, kind="staff", body="hq", chair="yamamoto", starts_at=at,
                            attendees=("yamamoto",), invited=(), items=())
    assert "place" not in plain.payload()
    training.convene("yamamoto", "staff", training.clock.now(), attendees=["nakamura"], place="第2会議室")
    training.convene("yamamoto", "staff", training.clock.now(), attendees=["nakamura"])
    assert training.verify().ok


# ---------------------------------------------------------------- the agenda (R-M3)
@pytest.fixture
def staff_tomorrow(training) -> int:
    out = training.convene("yamamoto", "staff", training.clock.now() + dt.timedelta(days=1), items=[1],
                           attendees=["nakamura", "yoshida"])
    return int(out.fact.meeting)


def agenda(k: Any, m: int) -> tuple[int, ...]:
    with k.read() as q:
        return q.meeting_record(m).items


def test_every_agenda_add_offered_is_accepted_as_a_dry_run_r_m3(training, as_, staff_tomorrow):
    m = staff_tomorrow
    walk_to(training, "council", title="本部会議の案件")  # open, but not a staff meeting's
    page = Forms(as_("yamamoto").get(f"/meetings/{m}").text)
    add = page.one(id="agenda-add")
    offered = options(add, "item")
    assert sorted(offered) == ["2", "3", "4"]
    for i in offered:
        training.agenda("yamamoto", m, "add", int(i), dry_run=True)


def test_the_agenda_is_kept_by_forms_r_m3(training, as_, staff_tomorrow):
    m = staff_tomorrow
    b = as_("yamamoto")
    page = f"/meetings/{m}"
    assert post(b, f"/meetings/{m}/agenda", {"item": "2", "action": "add"}, page).status_code == 200
    assert post(b, f"/meetings/{m}/agenda", {"item": "3", "action": "add"}, page).status_code == 200
    assert agenda(training, m) == (1, 2, 3)
    post(b, f"/meetings/{m}/agenda", {"item": "3", "action": "up"}, page)
    assert agenda(training, m) == (1, 3, 2)
    post(b, f"/meetings/{m}/agenda", {"item": "1", "action": "down"}, page)
    assert agenda(training, m) == (3, 1, 2)
    before = fingerprint(training.store)
    for edge, action in ((3, "up"), (2, "down")):  # off the list: refused, nothing moved
        assert post(b, f"/meetings/{m}/agenda", {"item": str(edge), "action": action}, page).status_code == 400
    assert fingerprint(training.store) == before
    r = post(b, f"/meetings/{m}/agenda", {"item": "1", "action": "remove"}, page)
    assert r.status_code == 200 and agenda(training, m) == (3, 2)
    forms = Forms(r.text)
    assert {hidden(f, "action") for f in forms.by(action=f"/meetings/{m}/agenda")} >= {"up", "down", "remove", "add"}


def test_the_agenda_is_refused_to_others_and_after_the_start_r_m3(training, as_):
    m = training.convene("yamamoto", "staff", training.clock.now() + dt.timedelta(hours=1), items=[1],
                         attendees=["nakamura", "yoshida"]).fact.meeting
    b = as_("nakamura")
    r = b.get(f"/meetings/{m}")
    assert f'action="/meetings/{m}/agenda"' not in r.text  # not offered to an attendee
    before = fingerprint(training.store)
    r = post(b, f"/meetings/{m}/agenda", {"item": "2", "action": "add"}, f"/meetings/{m}")
    assert r.status_code == 403 and 'id="refusal"' in r.text
    assert fingerprint(training.store) == before
    r = post(as_("yamamoto"), f"/meetings/{m}/agenda", {"item": "2", "action": "sideways"}, f"/meetings/{m}")
    assert r.status_code == 400 and fingerprint(training.store) == before
    training.clock.advance(hours=2)  # the sitting has begun: its agenda is what it was
    r = as_("yamamoto").get(f"/meetings/{m}")
    assert 'id="agenda-add"' not in r.text
    r = post(as_("yamamoto"), f"/meetings/{m}/agenda", {"item": "2", "action": "add"}, f"/meetings/{m}")
    assert r.status_code == 409 and fingerprint(training.store) == before


# ---------------------------------------------------------------- the sitting (R-M5)
def test_holding_records_sat_at_for_a_sitting_recorded_afterwards_r_m5(training, as_, kaigi):
    start = training.clock.now() - dt.timedelta(days=1)
    m = training.convene("yamamoto", "staff", start, items=[1], attendees=["nakamura", "yoshida"]).fact.meeting
    b = as_("yamamoto")
    form = Forms(b.get(f"/meetings/{m}").text).one(id="hold")
    assert boxes(form, "present") == {"nakamura": True, "yoshida": True, "yamamoto": True}
    sat = start + dt.timedelta(minutes=30)
    r = post(b, f"/meetings/{m}/hold", {"present": ["yamamoto", "nakamura"], "sat_at": local(sat)}, f"/meetings/{m}")
    assert r.status_code == 200
    with training.read() as q:
        rec = q.meeting_record(m)
    assert rec.status == "held" and rec.sat_at == sat and rec.present == ("nakamura", "yamamoto")
    shown = json.loads(kaigi("--json", "--as", "yamamoto", "meeting", "show", str(m)).stdout)
    assert dt.datetime.fromisoformat(shown["sat_at"]) == sat


def test_holding_refuses_a_future_sat_at_and_strangers_r_m5_r_s2(training, as_):
    m = training.convene("yamamoto", "staff", training.clock.now() - dt.timedelta(hours=2),
                         attendees=["nakamura"]).fact.meeting
    b = as_("yamamoto")
    before = fingerprint(training.store)
    r = post(b, f"/meetings/{m}/hold", {"sat_at": local(training.clock.now() + dt.timedelta(hours=3))},
             f"/meetings/{m}")
    assert r.status_code == 409 and 'id="refusal"' in r.text
    r = post(b, f"/meetings/{m}/hold", {"present": ["yamamoto", "sato"]}, f"/meetings/{m}")
    assert r.status_code == 403
    r = post(b, f"/meetings/{m}/hold", {"listed": "1"}, f"/meetings/{m}")  # every box unticked
    assert r.status_code == 400 and 'id="refusal"' in r.text
    r = post(as_("nakamura"), f"/meetings/{m}/hold", {}, f"/meetings/{m}")
    assert r.status_code == 403
    assert fingerprint(training.store) == before
    assert 'id="hold"' not in as_("nakamura").get(f"/meetings/{m}").text


# ---------------------------------------------------------------- the minutes (R-M4)
@pytest.fixture
def council_held(training) -> int:
    m = training.convene("sato", "council", training.clock.now() - dt.timedelta(hours=1)).fact.meeting
    training.hold("watanabe", m)
    return int(m)


def test_minutes_recorded_then_approved_by_the_chair_r_m4(training, as_, council_held):
    m = council_held
    gm, chief = as_("watanabe"), as_("sato")
    page = Forms(gm.get(f"/meetings/{m}").text)
    assert page.one(id="minutes-record")["act"] == "record_minutes"
    assert not Forms(chief.get(f"/meetings/{m}").text).by(id="minutes-record")  # the chief keeps no minutes
    r = post(gm, f"/meetings/{m}/minutes", {"text": "一　開会\n二　議事"}, f"/meetings/{m}")
    assert r.status_code == 200 and 'id="minutes-waiting"' in r.text and 'id="approve"' not in r.text
    r = chief.get(f"/meetings/{m}")
    assert "議事録 第1版が議長の承認を待っています" in r.text
    approve = Forms(r.text).one(id="approve")
    assert hidden(approve, "n") == "1"
    before = fingerprint(training.store)
    r = post(gm, f"/meetings/{m}/minutes/approve", {"n": "1"}, f"/meetings/{m}")
    assert r.status_code == 403 and fingerprint(training.store) == before  # only the chair (R-M4)
    r = post(chief, f"/meetings/{m}/minutes/approve", {"n": "1"}, f"/meetings/{m}")
    assert r.status_code == 200 and 'id="approve"' not in r.text
    with training.read() as q:
        assert q.meeting_record(m).minutes[0].approved_by == "sato"
    r = post(chief, f"/meetings/{m}/minutes/approve", {"n": "1"}, f"/meetings/{m}")
    assert r.status_code == 409  # approved minutes are approved once


def test_a_correction_is_a_new_entry_awaiting_approval_r_m4(training, as_, council_held):
    m = council_held
    gm, chief = as_("watanabe"), as_("sato")
    post(gm, f"/meetings/{m}/minutes", {"text": "第一版"}, f"/meetings/{m}")
    post(chief, f"/meetings/{m}/minutes/approve", {"n": "1"}, f"/meetings/{m}")
    post(gm, f"/meetings/{m}/minutes", {"text": "第二版（訂正）"}, f"/meetings/{m}")
    with training.read() as q:
        entries = q.meeting_record(m).minutes
    assert [(e.n, e.approved_by) for e in entries] == [(1, "sato"), (2, None)]
    r = chief.get(f"/meetings/{m}")
    assert hidden(Forms(r.text).one(id="approve"), "n") == "2"
    before = fingerprint(training.store)
    r = post(chief, f"/meetings/{m}/minutes/approve", {"n": "1"}, f"/meetings/{m}")  # not the latest
    assert r.status_code == 409 and fingerprint(training.store) == before
    r = post(gm, f"/meetings/{m}/minutes", {"text": "   "}, f"/meetings/{m}")
    assert r.status_code == 400 and fingerprint(training.store) == before


# ---------------------------------------------------------------- calling off (R-C3)
def test_cancel_is_the_conveners_behind_a_confirmation_r_c3(training, as_):
    m = training.convene("sato", "council", training.clock.now() + dt.timedelta(days=3)).fact.meeting
    gm, chief = as_("watanabe"), as_("sato")
    assert 'id="cancel"' not in gm.get(f"/meetings/{m}").text
    r = chief.get(f"/meetings/{m}")
    form = Forms(r.text).one(action=f"/meetings/{m}/cancel")
    assert any(f["name"] == "confirm" and f["required"] for f in form["fields"])
    before = fingerprint(training.store)
    assert post(gm, f"/meetings/{m}/cancel", {"confirm": "yes"}, f"/meetings/{m}").status_code == 403
    assert post(chief, f"/meetings/{m}/cancel", {"reason": "延期"}, f"/meetings/{m}").status_code == 400
    assert fingerprint(training.store) == before
    r = post(chief, f"/meetings/{m}/cancel", {"confirm": "yes", "reason": "延期"}, f"/meetings/{m}")
    assert r.status_code == 200 and 'data-status="cancelled"' in r.text and "中止" in r.text
    assert 'id="cancel"' not in r.text


# ---------------------------------------------------------------- in words
def test_the_meeting_page_speaks_in_words_not_keys(training, as_, council_held):
    m = council_held
    r = as_("sato").get(f"/meetings/{m}")
    status = r.text.split('data-status="held">', 1)[1].split("<", 1)[0]
    assert status == "開催済"
    assert "佐藤 一郎" in r.text and ">sato<" not in r.text


def test_the_acts_shown_are_those_offered_r_m4_r_m5(training, as_, council_held, staff_tomorrow):
    from engine.app import offers

    for login in ("sato", "watanabe", "yamamoto", "nakamura"):
        for m in (council_held, staff_tomorrow):
            with training.read(viewer=login) as q:
                offered = {a["act"] for a in offers.meeting_acts(q, login, q.meeting_record(m))}
            html = as_(login).get(f"/meetings/{m}").text
            shown = {act for act in ("hold", "record_minutes", "approve_minutes", "cancel", "agenda", "move")
                     if f'data-act="{act}"' in html}
            assert shown == offered, (login, m)


# ---------------------------------------------------------------- the calendar on a phone
def test_the_list_view_lists_the_months_meetings(training, as_, staff_tomorrow):
    training.convene("sato", "council", training.clock.now() + dt.timedelta(days=40), place="本部大会議室")
    r = as_("yamamoto").get("/meetings?view=list")
    assert r.status_code == 200 and 'id="meeting-list"' in r.text
    assert f'data-meeting="{staff_tomorrow}"' in r.text and "本部大会議室" in r.text
    assert '<table class="calendar"' not in r.text
    assert '<table class="calendar"' in as_("yamamoto").get("/meetings").text


def test_the_month_collapses_to_a_list_on_a_narrow_screen_css_only():
    from pathlib import Path

    css = (Path(__file__).parents[2] / "web" / "static" / "kaigi.css").read_text(encoding="utf-8")
    narrow = css.split("@media (max-width: 600px)", 1)[1]
    assert ".calendar td" in narrow and "display: block" in narrow and ".calendar thead { display: none; }" in narrow
