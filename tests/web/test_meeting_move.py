"""Moving a meeting in the browser (R-M6): the form "日時・場所の変更" on the meeting's page,
shown only to who may move it now (`offers.meeting_acts`), prefilled with the present time
(Japan time) and place; `POST /meetings/{id}/move` moves it and comes back to the page; a
refusal is the page again with its line and the status of its kind, nothing written. Both
engines."""

import datetime as dt

from engine.infra.timeutil import JST
from tests.conftest import fingerprint
from tests.web.test_meetings import Forms, as_, post  # noqa: F401 (as_ is a fixture)

DAY = dt.timedelta(days=1)


def field(form, name):
    return next(f for f in form["fields"] if f["name"] == name)


def test_r_m6_the_chief_moves_the_council_from_its_page(training, as_):
    starts = training.clock.now() + 3 * DAY
    m = training.convene("sato", "council", starts, place="本部4階大会議室").fact.meeting
    chief = as_("sato")
    page = chief.get(f"/meetings/{m}")
    assert 'id="move"' in page.text and "日時・場所の変更" in page.text
    form = Forms(page.text).one(action=f"/meetings/{m}/move")
    assert field(form, "at")["type"] == "datetime-local"
    assert field(form, "at")["value"] == starts.astimezone(JST).strftime("%Y-%m-%dT%H:%M")
    assert field(form, "place")["value"] == "本部4階大会議室"
    new_at = (training.clock.now() + 5 * DAY).astimezone(JST).replace(hour=14, minute=30, second=0, microsecond=0)
    r = post(chief, f"/meetings/{m}/move", {"at": new_at.strftime("%Y-%m-%dT%H:%M"), "place": "第二会議室",
                                           "reason": "本部長の日程"}, f"/meetings/{m}")
    assert r.status_code == 200 and r.url.path == f"/meetings/{m}"
    assert "場所: 第二会議室" in r.text and "14:30" in r.text
    assert training.meeting(m).starts_at == new_at and training.meeting(m).place == "第二会議室"
    ics = chief.get(f"/meetings/{m}.ics").text
    assert "LOCATION:第二会議室" in ics and "SEQUENCE:1" in ics
    assert "DTSTART:" + new_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ") in ics
    r = post(chief, f"/meetings/{m}/move", {"at": "", "place": "署長室"}, f"/meetings/{m}")  # the time kept
    assert r.status_code == 200 and training.meeting(m).starts_at == new_at and training.meeting(m).place == "署長室"
    assert training.verify().ok


def test_r_m6_r_c3_the_form_is_the_conveners_and_others_are_refused(training, as_):
    m = training.convene("sato", "council", training.clock.now() + 3 * DAY).fact.meeting
    gm = as_("watanabe")
    page = gm.get(f"/meetings/{m}").text
    assert 'data-act="move"' not in page and 'id="move"' not in page
    before = fingerprint(training.store)
    r = post(gm, f"/meetings/{m}/move", {"place": "別室"}, f"/meetings/{m}")
    assert r.status_code == 403 and 'id="refusal"' in r.text and "R-C3" in r.text
    assert fingerprint(training.store) == before


def test_r_m6_refusals_keep_the_meeting_where_it_was(training, as_):
    m = training.convene("sato", "council", training.clock.now() + 3 * DAY, place="本部").fact.meeting
    chief = as_("sato")
    before = fingerprint(training.store)
    past = (training.clock.now() - DAY).astimezone(JST).strftime("%Y-%m-%dT%H:%M")
    for data, status, words in [({"at": past, "place": "本部"}, 409, "過ぎています"),
                                ({"at": "", "place": "本部"}, 409, "変わりません"),
                                ({"at": "来週", "place": "本部"}, 400, ""),
                                ({"at": "", "place": "一行\n二行"}, 400, "")]:
        r = post(chief, f"/meetings/{m}/move", data, f"/meetings/{m}")
        assert r.status_code == status and 'id="refusal"' in r.text and words in r.text, data
    assert fingerprint(training.store) == before


def test_r_m6_no_form_once_it_started_sat_or_was_called_off(training, as_):
    chief = as_("sato")
    started = training.convene("sato", "council", training.clock.now() - dt.timedelta(hours=1)).fact.meeting
    held = training.convene("sato", "council", training.clock.now() - dt.timedelta(hours=1)).fact.meeting
    training.hold("watanabe", held)
    off = training.convene("sato", "council", training.clock.now() + DAY).fact.meeting
    training.cancel("sato", off)
    for m in (started, held, off):
        assert 'data-act="move"' not in chief.get(f"/meetings/{m}").text
        before = fingerprint(training.store)
        at = (training.clock.now() + 2 * DAY).astimezone(JST).strftime("%Y-%m-%dT%H:%M")
        r = post(chief, f"/meetings/{m}/move", {"at": at, "place": "別室"}, f"/meetings/{m}")
        assert r.status_code == 409 and "R-M6" in r.text
        assert fingerprint(training.store) == before


def test_r_m6_the_time_as_the_form_shows_it_is_kept_to_the_second(training, as_):
    """The form shows the start to the minute; posting it back unchanged keeps the start as it
    was (seconds included), so a change of place alone does not move the time."""
    starts = training.clock.now() + 2 * DAY + dt.timedelta(seconds=42)
    m = training.convene("sato", "council", starts, place="本部").fact.meeting
    chief = as_("sato")
    form = Forms(chief.get(f"/meetings/{m}").text).one(action=f"/meetings/{m}/move")
    r = post(chief, f"/meetings/{m}/move", {"at": field(form, "at")["value"], "place": "別室"}, f"/meetings/{m}")
    assert r.status_code == 200
    assert (training.meeting(m).starts_at, training.meeting(m).place) == (starts, "別室")
