"""One meeting, one calendar event (R-N6): the `.ics` the CLI prints, the web serves and the
mail carries hold the same UID (made from the log's name, not a host or a sender), and
both calendar parsers read the same event from each."""

import datetime as dt

import icalendar
import vobject

from engine.reminders.dispatch import Dispatcher
from engine.reminders.ics import meeting_uid


class Box:
    def __init__(self):
        self.sent = []

    def send(self, msg):
        self.sent.append(msg)


def read(ics):
    cal = icalendar.Calendar.from_ical(ics)
    (ev,) = cal.walk("VEVENT")
    v = vobject.readOne(ics).vevent
    assert (str(ev["uid"]), int(ev["sequence"]), ev.decoded("dtstart"), str(ev["location"])) == (
        v.uid.value, int(v.sequence.value), v.dtstart.value, v.location.value)
    return str(cal["method"]), str(ev["uid"]), int(ev["sequence"]), ev.decoded("dtstart"), str(ev["location"])


def test_the_cli_the_web_and_the_mail_carry_one_uid(training, browser, kaigi):
    """R-N6: a calendar holding the mailed invitation and a downloaded file keeps one event,
    whatever the mail's sender (a display name, another domain) or the web's host."""
    starts = training.clock.now() + dt.timedelta(days=3)
    m = training.convene("yamamoto", "staff", starts, items=[1], attendees=["nakamura"],
                         place="本部4階 大会議室").event.meeting
    box = Box()
    Dispatcher(training, {"email": box}, domain="Kaigi <kaigi@police.pref.ibaraki.example>").run_once()
    mailed = [msg.ics for msg in box.sent if msg.ics is not None]
    assert mailed
    cli = kaigi("--as", "yamamoto", "meeting", "ics", str(m))
    assert 0 == cli.exit_code, cli.output
    b = browser(training)
    b.switch("yamamoto")
    web = b.get(f"/meetings/{m}.ics")
    assert 200 == web.status_code
    with training.store.read() as tx:
        uid = meeting_uid(tx.meta("log_id"), m)
    seen = {read(text) for text in (*mailed, cli.stdout, web.text)}
    assert {("REQUEST", uid, 0, starts, "本部4階 大会議室")} == seen
    assert "localhost" not in uid and "example" not in uid
