"""Reminders that climb the chain, with a controlled clock (no sleeping), on every engine.

RULES.md "Deadlines and reminders": a filed item without a staff meeting reminds the
implementation manager after 14 days and the general manager 7 days later; convening
the meeting cancels both. Sent, escalated and failed reminders are events in the log.
"""

import datetime as dt
import json

import pytest

from engine.app.audit import verify
from engine.core import plan
from engine.core.events import RulebookAdopted
from engine.infra.clock import FrozenClock
from engine.infra.timeutil import JST
from engine.reminders.dispatch import Dispatcher
from engine.reminders.senders import DeliveryError, OutboxSender
from tests.conftest import held, make_svc, walk_to
from workflows import bundled_rulebooks, parse_rulebook


@pytest.fixture
def svc(fast):
    """The rule tests run on the memory store too (the fast tier), and on SQLite and PostgreSQL."""
    return fast


class Collect:
    """A sender that keeps what it was given (and can be told to fail)."""

    def __init__(self, fail=None):
        self.sent, self.fail = [], fail

    def send(self, msg):
        if self.fail is not None:
            raise self.fail
        self.sent.append(msg)


def sent_to(sender):
    return sorted((m.to[0].split("@")[0], m.subject.split("」")[0]) for m in sender.sent)


@pytest.fixture
def mail(svc):
    box = Collect()
    return box, Dispatcher(svc, {"email": box})


class TestStaffMeetingReminder:
    def test_reminded_after_14_days_then_escalated_after_7(self, svc, clock, mail):
        """Filed, no staff meeting: day 14 the implementation manager, day 21 the general manager."""
        box, d = mail
        clock.advance(days=13, hours=23)
        assert 0 == d.run_once().sent
        clock.advance(hours=1)  # day 14
        assert 4 == d.run_once().sent
        assert {"yamamoto"} == {who for who, _ in sent_to(box)}
        assert 0 == d.run_once().sent  # once only
        clock.advance(days=7)  # day 21: the next rung
        assert 4 == d.run_once().sent
        assert ["watanabe"] * 4 == [m.to[0].split("@")[0] for m in box.sent[4:]]
        assert all(m.subject.startswith("【督促】") for m in box.sent[4:])

    def test_convening_cancels_both_rungs(self, svc, clock, mail):
        """Convening a staff meeting with the item on its agenda cancels its reminders."""
        box, d = mail
        clock.advance(days=3)
        svc.convene("yamamoto", "staff", clock.now() + dt.timedelta(days=1), items=[1], attendees=["yoshida"])
        clock.advance(days=30)
        d.run_once()
        assert not any("案件1「" in m.subject for m in box.sent)
        # planned reminders are a projection: nothing waits, so none is planned, and no event says so
        assert [] == [r for r in svc.reminders() if r.item == 1]
        assert not {"ReminderSet", "ReminderCancelled"} & {e.type for e in svc.peek.events()}

    def test_convening_after_the_first_rung_cancels_the_escalation(self, svc, clock, mail):
        box, d = mail
        clock.advance(days=15)
        d.run_once()
        svc.convene("yamamoto", "staff", clock.now(), items=[1], attendees=["yoshida"])
        clock.advance(days=10)
        d.run_once()
        item1 = [m for m in box.sent if "案件1「" in m.subject]
        assert ["yamamoto"] == [m.to[0].split("@")[0] for m in item1]

    def test_skip_moves_the_wait_to_the_team_lead_meeting(self, svc, clock, mail):
        """The act that changes what waits moves the reminder: skip → the general manager's."""
        box, d = mail
        svc.advance("yamamoto", 1, "skip")
        clock.advance(days=14)
        d.run_once()
        item1 = [m for m in box.sent if "案件1「" in m.subject]
        assert ["watanabe"] == [m.to[0].split("@")[0] for m in item1]
        assert "班長会議" in item1[0].subject

    def test_after_downtime_everything_overdue_goes_out_once(self, svc, clock, mail):
        """Down for 60 days: both rungs of every item go out in one pass, then nothing more."""
        box, d = mail
        clock.advance(days=60)
        stats = d.run_once()
        assert 8 == stats.sent
        assert 0 == d.run_once().sent
        assert 8 == len({m.message_id for m in box.sent})

    def test_every_reminder_sent_is_an_event(self, svc, clock, mail):
        _box, d = mail
        clock.advance(days=21)
        d.run_once()
        types = [e.type for e in svc.peek.events()]
        assert 8 == types.count("ReminderDue") and 8 == types.count("ReminderSent")
        due = [e for e in svc.peek.events(item=1) if e.type == "ReminderDue"]
        assert [(0, ["yamamoto"]), (1, ["watanabe"])] == [(e.data["rung"], e.data["recipients"]) for e in due]
        assert verify(svc.store).ok

    def test_recipients_are_decided_when_sending(self, svc, clock, mail):
        """The implementation manager rotates before the deadline: the successor is reminded."""
        box, d = mail
        from tests.unit.test_roster_time import rotate
        rotate(svc, "yamamoto", "kobayashi", "soshiki2_kacho", at=clock.now() + dt.timedelta(days=10))
        clock.advance(days=14)
        d.run_once()
        assert {"kobayashi"} == {m.to[0].split("@")[0] for m in box.sent}


class TestProgressCheck:
    def test_decision_creates_the_first_progress_check(self, svc, clock, mail):
        """A council decision starts the 90-day progress check; a check restarts it."""
        _box, _d = mail
        item = walk_to(svc, "in_progress")
        rem = [r for r in svc.reminders() if r.item == item]
        assert [("progress_check", clock.now() + dt.timedelta(days=90))] == [(r.key, r.due_at) for r in rem]
        clock.advance(days=30)
        m = held(svc, "sato", "council", [item])
        svc.advance("watanabe", item, "check", meeting=m)
        rem = [r for r in svc.reminders() if r.item == item]
        assert [clock.now() + dt.timedelta(days=90)] == [r.due_at for r in rem]

    def test_three_rungs(self, svc, clock, mail):
        """Progress check: implementation manager, then general manager, then chief."""
        box, d = mail
        item = walk_to(svc, "in_progress")
        for days in (90, 7, 7):
            clock.advance(days=days)
            d.run_once()
        mine = [m.to[0].split("@")[0] for m in box.sent if f"案件{item}「" in m.subject]
        assert ["yamamoto", "watanabe", "sato"] == mine


class TestMeetingNotice:
    def test_attendees_get_an_invitation_at_once_and_a_reminder_a_day_before(self, svc, clock, mail):
        """R-N5: the invitation at convening, the reminder the day before, nothing between."""
        box, d = mail
        starts = clock.now() + dt.timedelta(days=5)
        svc.convene("watanabe", "team_lead", starts, invited=["yoshida"])
        assert 6 == d.run_once().sent
        clock.advance(days=3, hours=23)
        assert 0 == d.run_once().sent
        clock.advance(hours=1)
        assert 6 == d.run_once().sent
        to = sorted(m.to[0].split("@")[0] for m in box.sent[6:])
        assert ["kato", "kobayashi", "nakamura", "watanabe", "yamamoto", "yoshida"] == to
        assert all(m.ics and "BEGIN:VEVENT" in m.ics for m in box.sent)
        assert all(m.subject.startswith("【招集】") for m in box.sent[:6])
        assert all(m.subject.startswith("【開催前のお知らせ】") for m in box.sent[6:])

    def test_cancelling_the_meeting_cancels_the_notice(self, svc, clock, mail):
        _box, d = mail
        m = svc.convene("sato", "council", clock.now() + dt.timedelta(days=5)).event.meeting
        svc.cancel("sato", m)
        clock.advance(days=10)
        assert 0 == d.run_once().sent


class TestDelivery:
    def test_transient_failures_retry_with_backoff_then_fail_visibly(self, svc, clock):
        """A server that keeps failing: retried with backoff, then `failed`, an event, and listed."""
        box = Collect(fail=DeliveryError("421 try later", transient=True))
        d = Dispatcher(svc, {"email": box}, max_attempts=3)
        clock.advance(days=14)
        s1 = d.run_once()
        assert (4, 0, 0) == (s1.retried, s1.sent, s1.failed)
        clock.advance(minutes=1)
        assert 4 == d.run_once().retried
        clock.advance(minutes=2)
        assert 4 == d.run_once().failed
        with svc.read() as q:
            rows = [r for r in q.reminders() if r["status"] == "failed"]
        assert 4 == len(rows) and "421 try later" in rows[0]["error"]
        assert 4 == [e.type for e in svc.peek.events()].count("ReminderFailed")

    def test_permanent_failure_is_not_retried(self, svc, clock):
        box = Collect(fail=DeliveryError("550 no such user", transient=False))
        d = Dispatcher(svc, {"email": box})
        clock.advance(days=14)
        assert 4 == d.run_once().failed

    def test_outbox_file_in_the_members_language(self, svc, clock, tmp_path):
        """The JSON Lines outbox: the item, what waits, the deadline, who may act, the command."""
        out = tmp_path / "outbox.jsonl"
        d = Dispatcher(svc, {"outbox": OutboxSender(out)})
        clock.advance(days=14)
        d.run_once()
        lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
        first = next(x for x in lines if "案件1「" in x["subject"])
        assert "担当者会議" in first["subject"] and "令和8年12月9日(水) 10:00" in first["body"]
        assert "山本 七子 様" in first["body"] and "次の操作を行ってください" in first["body"]
        assert "kaigi --as yamamoto meeting convene staff --at WHEN --item 1 --attendee LOGIN" in first["body"]
        assert "kaigi --as yamamoto item advance 1 skip" in first["body"]


class TestWorkingDays:
    def test_working_day_deadline_skips_new_year_closure_and_a_holiday(self, tmp_path):
        """R-N4: a prefecture's rulebook counts working days, across 29 Dec - 3 Jan and 成人の日,
        and a working-day deadline ends at the end of that working day."""
        text = bundled_rulebooks()[-1].text.replace(
            'due = 14\nunit = "days"\nescalate = [{ after = 7, to = ["general_manager"] }]\ncancelled_by = "meeting:staff"',
            'due = 5\nunit = "working_days"\nescalate = [{ after = 3, to = ["general_manager"] }]\n'
            'cancelled_by = "meeting:staff"', 1)
        assert 'unit = "working_days"' in text
        clock = FrozenClock(dt.datetime(2026, 12, 25, 10, 0, tzinfo=JST))  # a Friday
        svc = make_svc(f"sqlite:///{tmp_path}/wd.db", clock)
        _adopt_variant(svc, text)
        item = svc.file_item("yamamoto", "年末の案件").fact.item
        (r,) = [r for r in svc.reminders() if r.item == item]
        # Mon 28 Dec = 1; closure 29 Dec - 3 Jan; Mon 4 Jan .. Thu 7 Jan = 2..5
        assert dt.datetime(2027, 1, 7, 23, 59, 59, 999999, tzinfo=JST) == r.due_at
        # escalation 3 working days on: Fri 8 Jan, (Mon 11 Jan 成人の日), Tue 12, Wed 13
        book = svc.book()
        assert dt.datetime(2027, 1, 13, 23, 59, 59, 999999, tzinfo=JST) == plan.rung_at(
            book, plan.rule_of(book, r.key), r.due_at, 1)


def _adopt_variant(svc, text):
    """Adopt a changed rulebook as a new version in force from the day before (a prefecture's edit)."""
    day = (svc.clock.now().astimezone(JST) - dt.timedelta(days=1)).date().isoformat()
    text = text.replace('version = "2024-10-01"', f'version = "{day}"').replace(
        'effective_from = "2024-10-01"', f'effective_from = "{day}"')
    book = parse_rulebook(text, "variant")
    svc.system([RulebookAdopted(version=book.version, effective_from=day, sha256=book.sha256, text=book.text)])


class TestLease:
    def test_a_slow_batch_hands_back_what_it_cannot_send_in_its_lease(self, svc, clock):
        """Sends outlasting the lease: the rest goes back unsent, so another scheduler that
        takes over after the lease never sends a message twice."""
        b_box = Collect()
        b = Dispatcher(svc, {"email": b_box}, worker="b", lease=dt.timedelta(minutes=5))

        class Slow(Collect):
            def send(self, msg):
                super().send(msg)
                clock.advance(minutes=2)  # each send takes two minutes
                if len(self.sent) == 3:
                    b.run_once()  # meanwhile, another scheduler sweeps

        a_box = Slow()
        a = Dispatcher(svc, {"email": a_box}, worker="a", lease=dt.timedelta(minutes=5))
        clock.advance(days=14)
        a.run_once()
        b.run_once()
        ids = [m.message_id for m in a_box.sent + b_box.sent]
        assert 4 == len(ids) == len(set(ids))


class TestMovedDeadline:
    def test_moving_a_deadline_makes_one_more_reminder_not_zero_not_two(self, svc, clock, mail):
        """A council defers the item after its reminder went out: the wait restarts, and the new
        deadline gets a new key, so exactly one more reminder is sent for it."""
        box, d = mail
        item = walk_to(svc, "council")
        clock.advance(days=30)
        d.run_once()
        first = [m for m in box.sent if f"案件{item}「" in m.subject]
        assert 2 == len(first)  # general manager and chief, rung 0
        m = held(svc, "sato", "council", [item])
        svc.advance("watanabe", item, "defer", meeting=m)  # carried to the next sitting
        d.run_once()
        assert 2 == len([x for x in box.sent if f"案件{item}「" in x.subject])  # nothing new yet
        clock.advance(days=30)
        d.run_once()
        d.run_once()
        again = [x for x in box.sent if f"案件{item}「" in x.subject][2:]
        assert 2 == len(again) and not {x.message_id for x in again} & {x.message_id for x in first}


class TestWordsByRole:
    """Issue 17: reminders say what is due and what to do (〜の期限が到来しています、〜して
    ください), and someone who cannot act is told whom to report to and consult when the one
    who can is above them in the rulebook's chains, whom to instruct or ask only when not
    (R-N1, R-N2). Nobody is told to press a superior."""

    @pytest.fixture
    def composed(self, monkeypatch):
        """Every message the dispatcher composes, with its arguments, to render again in English."""
        import dataclasses

        from engine.reminders import dispatch

        calls = []
        original = dispatch.compose

        def spy(*args, **kw):
            text = original(*args, **kw)
            calls.append((args, kw, text))
            return text

        monkeypatch.setattr(dispatch, "compose", spy)

        def english(args, kw):
            args = list(args)
            args[5] = dataclasses.replace(args[5], lang="en")
            return original(*args, **kw)
        return calls, english

    def test_r_n1_the_progress_check_tells_the_implementation_manager_to_report_not_to_press(
            self, svc, clock, mail, composed):
        """R-N1: the implementation manager cannot call the council; the chief can, and stands
        above him, so the mail says to report to and consult the chief, by name, and never
        to press him; in English too."""
        _box, d = mail
        calls, english = composed
        item = walk_to(svc, "in_progress")
        clock.advance(days=90)
        d.run_once()
        (args, kw, text), = [c for c in calls if c[0][5].login == "yamamoto" and c[0][2].key == "progress_check"]
        body = text.body
        assert "本部長 佐藤 一郎" in body and "報告" in body and "相談" in body
        for pressing in ("督促", "働きかけ", "指示", "促して", "依頼"):
            assert pressing not in body, (pressing, body)
        assert "推進本部対策会議での進捗確認の期限" in body and "が到来しています" in body
        en = english(args, kw).body
        assert "Ichiro Sato (HQ chief), above you: please report the situation to them and consult them." in en
        assert "Press" not in en and "tell" not in en.lower().replace("to see", "")
        assert f"Regarding item {item}" in en and "has come" in en

    def test_r_n1_an_escalation_to_a_superior_says_to_instruct_the_one_below(self, svc, clock, mail, composed):
        """R-N1: the general manager, reached when the staff meeting is overdue, is told to
        have the implementation manager (below him in the chain) act — by name."""
        _box, d = mail
        calls, english = composed
        clock.advance(days=21)
        d.run_once()
        args, kw, text = next(c for c in calls if c[0][5].login == "watanabe" and c[0][4] == 1)
        assert "実施責任者 山本 七子に、対応するよう指示してください。" in text.body
        assert "の期限を過ぎています。" in text.body
        en = english(args, kw).body
        assert "Please tell Nanako Yamamoto (implementation manager) to act on it." in en, en
        assert "the deadline for" in en and "has passed" in en

    def test_r_n2_rank_comes_from_the_rulebooks_reminder_chains(self):
        """R-N2: who stands above whom is read from the chains (remind, then escalate[].to),
        not from role keys in code: a rulebook without reminders ranks nobody."""
        import dataclasses

        from engine.reminders import rank

        book = bundled_rulebooks()[-1]
        assert rank.relation(book, {"implementation_manager"}, {"chief"}) == rank.SUPERIOR
        assert rank.relation(book, {"implementation_manager"}, {"general_manager"}) == rank.SUPERIOR
        assert rank.relation(book, {"general_manager"}, {"implementation_manager"}) == rank.SUBORDINATE
        assert rank.relation(book, {"general_manager"}, {"team_leader"}) == rank.SUBORDINATE  # via `ordered`
        assert rank.relation(book, {"team_leader"}, {"implementation_manager"}) == rank.PEER  # no chain joins them
        flat = dataclasses.replace(book, reminders=())
        assert rank.relation(flat, {"implementation_manager"}, {"chief"}) == rank.PEER

    def test_no_mail_message_says_it_waits(self):
        """The words of reminders: 期限が到来/過ぎています and 〜してください, never 待たれています."""
        from engine.i18n import catalog

        mail = {k: v for k, v in catalog().items() if k.startswith("mail.")}
        assert mail
        for key, entry in mail.items():
            assert "待たれています" not in entry["ja"], key
            assert "waits for" not in entry["en"], key
        assert "期限" in mail["mail.waits"]["ja"] and "到来しています" in mail["mail.waits"]["ja"]
        assert "過ぎています" in mail["mail.late"]["ja"]
        assert "ください" in mail["mail.todo"]["ja"] and "Please" in mail["mail.todo"]["en"]
