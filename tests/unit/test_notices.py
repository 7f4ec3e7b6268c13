"""A meeting's notices when they matter (R-N5) as one stable calendar event (R-N6), with a
controlled clock: the invitation at convening, the reminder the day before, an update on
a change, a cancellation to those notified, nothing once the meeting has started; every
copy of the calendar with one UID, read back by two calendar parsers (icalendar, vobject).
"""

import datetime as dt

import icalendar
import pytest
import vobject

from engine.app.audit import verify
from engine.core import plan
from engine.core.events import RulebookAdopted
from engine.infra.timeutil import JST
from engine.reminders.dispatch import Dispatcher
from engine.reminders.ics import meeting_uid
from workflows import bundled_rulebooks, parse_rulebook
from workflows.errors import RulebookInvalid

NOTIFY = 'notify = ["convened", "changed", "cancelled"]\n'


@pytest.fixture
def svc(fast):
    return fast


class Box:
    """A sender that keeps each message with the time it was handed over."""

    def __init__(self, clock):
        self.clock, self.sent = clock, []

    def send(self, msg):
        self.sent.append((self.clock.now(), msg))

    def meeting(self, since=0):
        """The meeting notices (they carry a calendar) handed over, from the `since`th on."""
        return [(at, m) for at, m in self.sent if m.ics is not None][since:]


@pytest.fixture
def box(svc, clock):
    b = Box(clock)
    return b, Dispatcher(svc, {"email": b})


def jst(day, hour=10, minute=0):
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=JST)


def to(msgs):
    return sorted(m.to[0].split("@")[0] if m.to else "?" for _, m in msgs)


def event(ics):
    """The one VEVENT, as icalendar and as vobject read it, checked to agree."""
    cal = icalendar.Calendar.from_ical(ics)
    (ev,) = cal.walk("VEVENT")
    vcal = vobject.readOne(ics)
    vev = vcal.vevent
    facts = {"method": str(cal["method"]), "uid": str(ev["uid"]), "sequence": int(ev["sequence"]),
             "status": str(ev["status"]), "dtstart": ev.decoded("dtstart"),
             "location": str(ev["location"]) if "location" in ev else None,
             "attendees": sorted(str(a) for a in _listed(ev.get("attendee", [])))}
    seen = {"method": vcal.method.value, "uid": vev.uid.value, "sequence": int(vev.sequence.value),
            "status": vev.status.value, "dtstart": vev.dtstart.value,
            "location": vev.location.value if hasattr(vev, "location") else None,
            "attendees": sorted(a.value for a in vev.contents.get("attendee", []))}
    assert facts == seen
    return facts


def at_convening(svc, clock, kind="council", day=13, starts=20, **kw):
    """Move the clock to 10:00 JST on `day` December and convene for 10:00 on `starts`."""
    clock.advance(seconds=(jst(day) - clock.now()).total_seconds())
    return svc.convene("sato" if kind == "council" else "yamamoto", kind, jst(starts), **kw).event.meeting


class TestWhenNoticesGo:
    def test_convened_on_the_13th_for_the_20th_mailed_on_the_13th_and_the_19th(self, svc, clock, box):
        """R-N5: the invitation at the next pass after convening (not only 24 hours before),
        the reminder the day before, and nothing after that."""
        b, d = box
        m = at_convening(svc, clock, invited=["nakamura"], place="本部4階 大会議室")
        clock.advance(minutes=1)
        d.run_once()
        first = b.meeting()
        assert 8 == len(first) and {at.astimezone(JST).day for at, _ in first} == {13}
        assert all(msg.subject.startswith("【招集】会議1(") for _, msg in first)
        clock.advance(seconds=(jst(19, 9, 59) - clock.now()).total_seconds())
        d.run_once()
        assert [] == b.meeting(8)
        clock.advance(minutes=1)  # 19 December, 10:00 JST: the day before
        d.run_once()
        second = b.meeting(8)
        assert to(first) == to(second) and {at.astimezone(JST).day for at, _ in second} == {19}
        assert all(msg.subject.startswith("【開催前のお知らせ】") for _, msg in second)
        clock.advance(days=3)
        d.run_once()
        assert 16 == len(b.meeting())
        ev = event(first[0][1].ics)
        assert (ev["uid"], ev["sequence"], ev["method"], ev["status"]) == (
            _uid(svc, m), 0, "REQUEST", "CONFIRMED")
        assert ev["dtstart"] == jst(20) and ev["location"] == "本部4階 大会議室"
        assert verify(svc.store).ok

    def test_an_english_reader_gets_english_words(self, svc, clock, box):
        b, d = box
        svc.add_member("sato", "smith", name="スミス", name_en="Jo Smith", email="smith@example.org", lang="en")
        at_convening(svc, clock, invited=["smith"])
        clock.advance(minutes=1)
        d.run_once()
        (msg,) = [msg for _, msg in b.meeting() if msg.to == ("smith@example.org",)]
        assert msg.subject.startswith("[kaigi] Meeting notice: meeting 1 (")
        assert msg.body.startswith("Dear Jo Smith,\n\nYou are called to meeting 1")

    def test_convened_the_day_before_gets_one_notice_not_two(self, svc, clock, box):
        """The day-before reminder goes only when that is after the notice."""
        b, d = box
        at_convening(svc, clock, day=19, starts=20, invited=["nakamura"])
        clock.advance(minutes=1)
        d.run_once()
        clock.advance(days=2)
        d.run_once()
        assert 8 == len(b.meeting()) and all(m.subject.startswith("【招集】") for _, m in b.meeting())


class TestUpdates:
    def test_an_agenda_change_is_an_update_with_the_same_uid_and_the_next_sequence(self, svc, clock, box):
        """R-N5, R-N6: after the invitation, a changed agenda goes as 【変更】 with SEQUENCE+1."""
        b, d = box
        m = at_convening(svc, clock, kind="staff", items=[1], attendees=["yoshida"])
        clock.advance(minutes=1)
        d.run_once()
        sent = b.meeting()
        clock.advance(hours=2)
        svc.agenda("yamamoto", m, "add", 2)
        clock.advance(minutes=1)
        d.run_once()
        update = b.meeting(len(sent))
        assert to(update) == to(sent) and all(msg.subject.startswith("【変更】") for _, msg in update)
        assert "付議案件:\n  案件1「" in update[0][1].body and "\n  案件2「" in update[0][1].body
        before, after = event(sent[0][1].ics), event(update[0][1].ics)
        assert after["uid"] == before["uid"] == _uid(svc, m)
        assert (before["sequence"] + 1, "REQUEST") == (after["sequence"], after["method"])
        assert all(msg.ics_method == "REQUEST" for _, msg in b.meeting())
        assert verify(svc.store).ok

    def test_a_moved_meeting_is_an_update_with_the_new_time_and_place(self, svc, clock, box):
        """R-N5, R-N6, R-M6: moving a notified meeting sends 【変更】 with the new DTSTART and
        LOCATION, the same UID and the next SEQUENCE; the day-before reminder follows the new day."""
        b, d = box
        m = at_convening(svc, clock, kind="staff", items=[1], attendees=["yoshida"], place="本部3階 小会議室")
        clock.advance(minutes=1)
        d.run_once()
        sent = b.meeting()
        clock.advance(hours=1)
        svc.move("yamamoto", m, starts_at=jst(22, 14), place="本部4階 大会議室")
        clock.advance(minutes=1)
        d.run_once()
        update = b.meeting(len(sent))
        assert to(update) == to(sent) and all(msg.subject.startswith("【変更】") for _, msg in update)
        before, after = event(sent[0][1].ics), event(update[0][1].ics)
        assert after["uid"] == before["uid"] == _uid(svc, m)
        assert after["sequence"] == before["sequence"] + 1
        assert (after["dtstart"], after["location"]) == (jst(22, 14), "本部4階 大会議室")
        clock.advance(seconds=(jst(20, 10, 1) - clock.now()).total_seconds())
        d.run_once()
        assert [] == b.meeting(2 * len(sent))  # the old day passes without a reminder
        clock.advance(seconds=(jst(21, 14, 1) - clock.now()).total_seconds())
        d.run_once()
        again = b.meeting(2 * len(sent))
        assert again and all(msg.subject.startswith("【開催前のお知らせ】") for _, msg in again)
        assert verify(svc.store).ok

    def test_a_change_before_the_notice_went_replaces_it(self, svc, clock, box):
        """A superseded notice never goes: one invitation, as the meeting stands."""
        b, d = box
        m = at_convening(svc, clock, kind="staff", items=[1], attendees=["yoshida"])
        svc.agenda("yamamoto", m, "add", 2)
        clock.advance(minutes=1)
        d.run_once()
        sent = b.meeting()
        assert 2 == len(sent) and all(msg.subject.startswith("【招集】") for _, msg in sent)
        assert "案件2「" in sent[0][1].body and 1 == event(sent[0][1].ics)["sequence"]
        assert verify(svc.store).ok

    def test_the_plan_is_one_notice_due_at_the_last_change(self, svc, clock):
        m = at_convening(svc, clock, kind="staff", items=[1], attendees=["yoshida"])
        clock.advance(hours=1)
        svc.agenda("yamamoto", m, "add", 2)
        planned = sorted(r.due_at for r in svc.reminders() if r.meeting == m)
        assert [jst(13, 11), jst(19)] == planned


class TestCancellation:
    def test_a_cancellation_goes_to_those_notified_with_the_same_uid(self, svc, clock, box):
        """R-N5, R-N6: METHOD:CANCEL, STATUS:CANCELLED, the same UID, a newer SEQUENCE."""
        b, d = box
        svc.add_member("sato", "noaddr", name="無田 宛名", name_en="Atena Muda", channel="outbox")
        m = at_convening(svc, clock, invited=["nakamura", "noaddr"], place="本部 大会議室")
        clock.advance(minutes=1)
        d.run_once()
        sent = b.meeting()
        clock.advance(days=1)
        svc.cancel("sato", m, reason="台風接近のため")
        clock.advance(minutes=1)
        d.run_once()
        gone = b.meeting(len(sent))
        assert to(gone) == to(sent) and all(msg.subject.startswith("【中止】") for _, msg in gone)
        assert all(msg.ics_method == "CANCEL" for _, msg in gone)
        before, after = event(sent[0][1].ics), event(gone[0][1].ics)
        assert (after["method"], after["status"]) == ("CANCEL", "CANCELLED")
        assert after["uid"] == before["uid"] and after["sequence"] == before["sequence"] + 1
        assert after["dtstart"] == jst(20) and after["location"] == "本部 大会議室"
        # R-N6: the member without an address is no attendee (no `invalid:nomail`)
        assert "mailto:nakamura@police.pref.ibaraki.example" in after["attendees"]
        assert not any("nomail" in a or "noaddr" in a for a in after["attendees"])
        assert "nomail" not in gone[0][1].ics
        clock.advance(days=10)
        d.run_once()
        assert len(sent) + len(gone) == len(b.meeting())  # no day-before for a called-off meeting
        assert verify(svc.store).ok

    def test_called_off_before_any_notice_sends_nothing(self, svc, clock, box):
        b, d = box
        m = at_convening(svc, clock, invited=["nakamura"])
        svc.cancel("sato", m)
        clock.advance(days=10)
        d.run_once()
        assert [] == b.meeting()


class TestTooLate:
    def test_a_scheduler_down_until_after_the_start_mails_nothing(self, svc, clock, box):
        """R-N5: a notice the scheduler reaches after the start lapses: recorded, sent to no one."""
        b, d = box
        m = at_convening(svc, clock, invited=["nakamura"])
        clock.advance(days=8)  # the 21st: the meeting started on the 20th
        d.run_once()
        assert [] == b.meeting()
        due = [e for e in svc.peek.events() if e.type == "ReminderDue" and e.meeting == m]
        assert due and all('"recipients":[]' in e.payload.replace(" ", "") for e in due)
        assert [] == [x for x in svc.peek.deliveries() if x.meeting == m]
        assert verify(svc.store).ok

    def test_no_notice_is_planned_at_or_after_the_start(self, svc, clock):
        m = at_convening(svc, clock, kind="staff", items=[1], attendees=["yoshida"])
        clock.advance(seconds=(jst(20) - clock.now()).total_seconds() + 60)
        record = svc.meeting(m)
        changed = plan.plan_meeting(svc.book(), _with(record, changed_at=jst(20, 10, 1)))
        assert all(p.due_at < jst(20) for p in changed)


class TestOldRulebooks:
    def test_a_rulebook_without_notify_keeps_the_day_before_notice_alone(self, svc, clock, box):
        """A log adopted under a rulebook without `notify` replays as kaigi 0.2 sent it."""
        b, d = box
        text = bundled_rulebooks()[-1].text
        assert text.count(NOTIFY) == 1
        _adopt_variant(svc, clock, text.replace(NOTIFY, ""))
        m = at_convening(svc, clock, invited=["nakamura"])
        clock.advance(minutes=1)
        d.run_once()
        assert [] == b.meeting()
        clock.advance(days=7)  # after the day before (a late scheduler still sends it, as 0.2 did)
        d.run_once()
        assert 8 == len(b.meeting()) and all(m_.subject.startswith("【kaigi】") for _, m_ in b.meeting())
        assert svc.meeting(m).changed_at is None
        assert verify(svc.store).ok

    def test_notify_names_only_what_it_knows(self):
        text = bundled_rulebooks()[-1].text.replace(NOTIFY, 'notify = ["convened", "moved_house"]\n')
        with pytest.raises(RulebookInvalid, match="notify"):
            parse_rulebook(text, "x.toml")

    def test_both_bundled_versions_notify(self):
        for book in bundled_rulebooks():
            assert ("convened", "changed", "cancelled") == book.reminder("meeting_notice").notify


def _listed(value):
    return value if isinstance(value, list) else [value]


def _uid(svc, meeting):
    with svc.store.read() as tx:
        return meeting_uid(tx.meta("log_id"), meeting)


def _with(record, **kw):
    import dataclasses

    return dataclasses.replace(record, **kw)


def _adopt_variant(svc, clock, text):
    day = (clock.now().astimezone(JST) - dt.timedelta(days=1)).date().isoformat()
    text = text.replace('version = "2024-10-01"', f'version = "{day}"').replace(
        'effective_from = "2024-10-01"', f'effective_from = "{day}"')
    book = parse_rulebook(text, "variant")
    svc.system([RulebookAdopted(version=book.version, effective_from=day, sha256=book.sha256, text=book.text)])
