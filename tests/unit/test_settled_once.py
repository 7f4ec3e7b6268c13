"""Each message is settled as it is handed over, and a resend is recognised (issue 15 item 7).

The processes-and-SIGKILL proof is tests/cli/test_sent_once.py; these are the pieces, on
every store: a scheduler that dies between handing a message over and settling it leaves
that one message unsettled; the next scheduler sends it as a `resend` with the same
Message-ID, and the outbox, finding the line already there, does not write it again. A
line torn by a kill in the middle of writing it is cut before the next append.
"""

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

from engine.reminders.dispatch import Dispatcher
from engine.reminders.senders import Message, OutboxSender


class Died(BaseException):
    """What SIGKILL is to a scheduler, for a test in one process: nothing after it runs."""


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_scheduler_dead_after_its_third_send_leaves_only_that_message_unsettled_over_smtp_like_senders(
        fast: Any, clock: Any) -> None:
    """A sender that cannot look for a resend (SMTP) has each message settled as it is handed
    over: a death after the third send leaves that one unsettled, and only it goes again."""
    clock.advance(days=14)  # the demo's four HQ items are due
    handed: list[str] = []
    got: list[Message] = []

    class Wire:
        def send(self, msg: Message) -> None:
            got.append(msg)

    def die_on_third(d: Any) -> None:
        handed.append(d.message_id)
        if len(handed) == 3:
            raise Died

    first = Dispatcher(fast, {"email": Wire()}, worker="a", lease=dt.timedelta(minutes=5), after_send=die_on_third)
    with pytest.raises(Died):
        first.run_once()
    rows = {d.message_id: d for d in fast.peek.deliveries()}
    assert [rows[m].status for m in handed] == ["sent", "sent", "sending"]  # settled as handed over
    clock.advance(minutes=6)  # the dead scheduler's lease runs out
    got.clear()
    stats = Dispatcher(fast, {"email": Wire()}, worker="b").run_once()
    assert stats.sent == len(rows) - 2
    assert [m.message_id for m in got if m.message_id in handed] == [handed[2]]  # only the one in flight again


def _outbox_run_dies(fast: Any, out: Path, die: Any, after_send: Any = None) -> None:
    class Dying(Dispatcher):
        def _flushed(self, settled: Any) -> Any:
            done = super()._flushed(settled)
            die()
            return done

    first = Dying(fast, {"outbox": OutboxSender(out)}, worker="a", lease=dt.timedelta(minutes=5),
                  after_send=after_send)
    with pytest.raises(Died):
        first.run_once()


def _rerun_writes_none_twice(fast: Any, clock: Any, out: Path) -> list[Message]:
    rows = {d.message_id: d for d in fast.peek.deliveries()}
    clock.advance(minutes=6)  # the dead scheduler's lease runs out
    got: list[Message] = []

    class Watching(OutboxSender):
        def send(self, msg: Message) -> None:
            got.append(msg)
            super().send(msg)

    stats = Dispatcher(fast, {"outbox": Watching(out)}, worker="b").run_once()
    assert stats.failed == stats.retried == 0
    ids = [r["message_id"] for r in lines(out)]
    assert sorted(ids) == sorted(rows) and len(ids) == len(set(ids))  # the outbox has each once
    assert all(d.status == "sent" for d in fast.peek.deliveries())
    sent_events = [e for e in fast.peek.events() if e.type == "ReminderSent"]
    assert len(sent_events) == len(rows)  # each settled once
    return got


def test_a_scheduler_dead_in_its_outbox_batch_leaves_the_batch_unsettled_and_the_rerun_writes_none_twice(
        fast: Any, clock: Any, tmp_path: Path) -> None:
    """The outbox takes a batch's lines with one fsync, and the batch is settled after it: a
    death after the third line leaves the batch `sending`; the next scheduler sends it again
    as resends, and the outbox, finding the lines already there, writes none of them twice."""
    out = tmp_path / "outbox.jsonl"
    clock.advance(days=14)  # the demo's four HQ items are due
    handed: list[str] = []

    def die_on_third(d: Any) -> None:
        handed.append(d.message_id)
        if len(handed) == 3:
            raise Died

    first = Dispatcher(fast, {"outbox": OutboxSender(out)}, worker="a", lease=dt.timedelta(minutes=5),
                       after_send=die_on_third)
    with pytest.raises(Died):
        first.run_once()
    rows = {d.message_id: d for d in fast.peek.deliveries()}
    assert {rows[m].status for m in handed} == {"sending"}  # the batch is in flight: none settled
    assert [r["message_id"] for r in lines(out)] == handed  # its lines were written
    got = _rerun_writes_none_twice(fast, clock, out)
    assert all(m.resend for m in got) and len(got) == len(rows)  # all of the batch again, flagged
    assert {m.message_id for m in got} >= set(handed)


def test_a_crash_after_the_outbox_fsync_before_settling_writes_nothing_twice(fast: Any, clock: Any,
                                                                              tmp_path: Path) -> None:
    """The window batching opens: the batch's lines are fsynced, then the process dies before
    its settling transaction. Nothing was settled; the rerun finds every line and writes none."""
    out = tmp_path / "outbox.jsonl"
    clock.advance(days=14)

    def die() -> None:
        raise Died

    _outbox_run_dies(fast, out, die)
    rows = {d.message_id: d for d in fast.peek.deliveries()}
    assert rows and {d.status for d in rows.values()} == {"sending"}
    assert sorted(r["message_id"] for r in lines(out)) == sorted(rows)  # all written, all durable
    before = out.read_bytes()
    got = _rerun_writes_none_twice(fast, clock, out)
    assert len(got) == len(rows) and all(m.resend for m in got)
    assert out.read_bytes() == before  # not one byte more


def test_a_crash_between_the_claim_and_the_first_send_loses_nothing_and_writes_nothing_twice(
        fast: Any, clock: Any, tmp_path: Path) -> None:
    """The messages are claimed in the transaction that fires them (one commit for both): a
    death right after it, before anything is sent, leaves them claimed and unsent; once the
    lease runs out the next scheduler sends each once, and the rung that fired is not fired
    again (one ReminderDue per message)."""
    out = tmp_path / "outbox.jsonl"
    clock.advance(days=14)

    class DiesAfterClaiming(Dispatcher):
        def deliver_due(self, stats: Any, claim: Any = None) -> int:
            if claim is not None:
                raise Died
            return super().deliver_due(stats, claim)

    with pytest.raises(Died):
        DiesAfterClaiming(fast, {"outbox": OutboxSender(out)}, worker="a", lease=dt.timedelta(minutes=5)).run_once()
    rows = {d.message_id: d for d in fast.peek.deliveries()}
    assert rows and {d.status for d in rows.values()} == {"sending"}  # claimed with the firing
    assert not out.exists() or not lines(out)  # nothing handed over
    got = _rerun_writes_none_twice(fast, clock, out)
    assert sorted(m.message_id for m in got) == sorted(rows)
    due = [e for e in fast.peek.events() if e.type == "ReminderDue"]
    assert sum(len(e.data["recipients"]) for e in due) == len(rows)  # each rung fired once


def test_a_reminder_and_its_overdue_rung_both_due_fire_in_one_pass_each_once(fast: Any, clock: Any,
                                                                               tmp_path: Path) -> None:
    """After downtime a reminder and its escalation are both due: one pass fires both (in one
    transaction) and sends every message once."""
    out = tmp_path / "outbox.jsonl"
    clock.advance(days=60)  # far past every deadline: the overdue rungs are due as well
    stats = Dispatcher(fast, {"outbox": OutboxSender(out)}, worker="a").run_once()
    rows = fast.peek.deliveries()
    assert stats.fired > 0 and stats.sent == len(rows) and {d.status for d in rows} == {"sent"}
    assert max(d.rung for d in rows) >= 1  # the escalation went out in the same pass
    ids = [r["message_id"] for r in lines(out)]
    assert sorted(ids) == sorted(d.message_id for d in rows) and len(ids) == len(set(ids))
    keys = [(d.reminder, d.rung, d.recipient) for d in rows]
    assert len(keys) == len(set(keys))
    assert Dispatcher(fast, {"outbox": OutboxSender(out)}, worker="b").run_once().fired == 0  # nothing left


def message(mid: str, *, resend: bool = False, body: str = "本文\n") -> Message:
    return Message(message_id=mid, to=("sato",), subject="件名", body=body, resend=resend)


def test_a_resend_already_in_the_outbox_is_not_written_again(tmp_path: Path) -> None:
    out = OutboxSender(tmp_path / "outbox.jsonl")
    out.send(message("<a@k>"))
    out.send(message("<b@k>"))
    out.send(message("<a@k>", resend=True))
    out.send(message("<c@k>", resend=True))  # a resend that never got out the first time: written
    assert [r["message_id"] for r in lines(tmp_path / "outbox.jsonl")] == ["<a@k>", "<b@k>", "<c@k>"]


def test_a_message_id_quoted_in_a_body_does_not_count_as_sent(tmp_path: Path) -> None:
    out = OutboxSender(tmp_path / "outbox.jsonl")
    out.send(message("<x@k>", body='{"message_id": "<y@k>", "to": []}\n<y@k>'))
    out.send(message("<y@k>", resend=True))
    assert [r["message_id"] for r in lines(tmp_path / "outbox.jsonl")] == ["<x@k>", "<y@k>"]


def test_a_line_torn_by_a_kill_is_cut_before_the_next_line(tmp_path: Path) -> None:
    """A writer SIGKILLed in the middle of a long line leaves part of it; the next append
    removes the part (that message is still unsettled and goes again whole)."""
    path = tmp_path / "outbox.jsonl"
    out = OutboxSender(path)
    out.send(message("<a@k>"))
    whole = path.read_bytes()
    torn = json.dumps({"message_id": "<b@k>", "to": ["sato"], "subject": "件名", "body": "長" * 5000},
                      ensure_ascii=False).encode()[:7000]
    with open(path, "ab") as f:
        f.write(torn)
    out.send(message("<b@k>", resend=True))
    assert path.read_bytes().startswith(whole)
    assert [r["message_id"] for r in lines(path)] == ["<a@k>", "<b@k>"]


def test_only_a_resend_reads_the_outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A first send costs one append and one fsync, however long the file is."""
    import engine.reminders.senders as senders

    out = OutboxSender(tmp_path / "outbox.jsonl")
    for n in range(50):
        out.send(message(f"<{n}@k>"))
    looked: list[str] = []
    real = senders._holds
    monkeypatch.setattr(senders, "_holds", lambda fd, size, mid: (looked.append(mid), real(fd, size, mid))[1])
    out.send(message("<new@k>"))
    out.send(message("<7@k>", resend=True))
    assert looked == ["<7@k>"]
    assert os.path.getsize(tmp_path / "outbox.jsonl") > 0 and len(lines(tmp_path / "outbox.jsonl")) == 51


# ------------------------------------------------------------------ SMTP: settled after the 250
def test_over_smtp_each_message_is_settled_after_its_250_on_one_connection(fast: Any, clock: Any) -> None:
    """One connection for the batch: `send` returns on the server's 250 for the message (no
    QUIT in between), and the message is settled before the next one is handed over."""
    from aiosmtpd.controller import Controller

    from engine.reminders.senders import SmtpConfig, SmtpSender
    from tests.unit.test_delivery import Collector, free_port

    collector, port = Collector(), free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.advance(days=14)
        seen: list[tuple[str, list[str]]] = []

        def check(d: Any) -> None:  # called after each send, before its settling
            seen.append((d.message_id, [x.message_id for x in fast.peek.deliveries() if x.status == "sent"]))

        sender = SmtpSender(SmtpConfig("127.0.0.1", port, timeout=5.0), "kaigi@example.jp")
        stats = Dispatcher(fast, {"email": sender}, after_send=check).run_once()
    finally:
        controller.stop()
    assert stats.sent == len(seen) == 4
    for n, (_, settled) in enumerate(seen):
        assert sorted(settled) == sorted(mid for mid, _ in seen[:n])  # all before it, not it
    assert len({r.peer for r in collector.received}) == 1  # one connection for the four


def test_an_unreachable_smtp_server_costs_one_connection_attempt_per_batch(
        fast: Any, clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a connect timeout per message: the batch's messages are put back with that one error."""
    from engine.reminders.senders import SmtpConfig, SmtpSender
    from tests.unit.test_delivery import free_port

    attempts: list[int] = []
    sender = SmtpSender(SmtpConfig("127.0.0.1", free_port(), timeout=1.0), "kaigi@example.jp")
    real = sender._connect
    monkeypatch.setattr(sender, "_connect", lambda: (attempts.append(1), real())[1])
    clock.advance(days=14)
    stats = Dispatcher(fast, {"email": sender}).run_once()
    assert (stats.sent, stats.retried, len(attempts)) == (0, 4, 1)
    rows = fast.peek.deliveries()
    assert all(d.status == "pending" and (d.last_error or "").startswith("SMTP 127.0.0.1:") for d in rows), \
        [(d.status, d.last_error) for d in rows]


def test_a_scheduler_asked_to_stop_settles_the_message_in_flight_and_hands_the_rest_back(
        fast: Any, clock: Any) -> None:
    """SIGTERM mid-pass (the scheduler's `stopping`): the pass ends within the message in
    flight, settled; the rest of its claim goes back unsent and unleased, and the next
    scheduler sends exactly those, none twice."""
    clock.advance(days=14)
    got: list[Message] = []

    class Wire:
        def send(self, msg: Message) -> None:
            got.append(msg)

    first = Dispatcher(fast, {"email": Wire()}, worker="a", after_send=lambda d: len(got) == 2 and first.stopping.set())
    stats = first.run_once()
    assert stats.sent == 2 == len(got)
    rows = fast.peek.deliveries()
    assert len(rows) > 2 and sorted(d.status for d in rows).count("sent") == 2
    assert {d.status for d in rows} == {"sent", "pending"}  # handed back, not left leased to a stopped process
    before = {m.message_id for m in got}
    got.clear()
    again = Dispatcher(fast, {"email": Wire()}, worker="b").run_once()  # at once: no lease to wait out
    assert again.sent == len(rows) - 2 and not before & {m.message_id for m in got}
