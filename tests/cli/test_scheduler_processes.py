"""The scheduler as real processes: killed mid-pass, a second one on SQLite, two at once on PostgreSQL.

Every test here runs `kaigi scheduler run` in subprocesses on the real clock. The due
reminders are made by filing items through a service whose clock stands 20 days back:
each filed HQ item gets a `staff_meeting` reminder due 14 days after filing, so at real
time rung 0 is overdue and rung 1 (21 days) is not yet due.
"""

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from engine.infra.clock import FrozenClock
from tests.conftest import PG_SKIP, PG_URL, Peek, make_svc, pg_schema_url

pytestmark = pytest.mark.slow

UTC = dt.UTC
MANAGER = "yamamoto"  # the implementation manager: rung 0 of `staff_meeting`
MANAGER_ADDRESS = f"{MANAGER}@police.pref.ibaraki.example"
KAIGI = [sys.executable, "-c", "from cli import main; main()"]


# ------------------------------------------------------------------ helpers
def due_now(svc: Any, now: dt.datetime) -> list[Any]:
    return [r for r in svc.reminders() if r.next_at is not None and r.next_at <= now]


def make_due(db_url: str, n: int) -> tuple[Any, list[str]]:
    """A demo database with `n` more items filed 20 days ago; returns the store and the due reminders."""
    now = dt.datetime.now(UTC)
    svc = make_svc(db_url, FrozenClock(now - dt.timedelta(days=20)))  # the demo's HQ items are due too
    for i in range(n):
        svc.file_item(MANAGER, f"item {i}")
    due = due_now(svc, now)
    assert len(due) >= n
    assert all(r.fired == 0 and r.key == "staff_meeting" for r in due)
    svc.store.close()
    return Peek(svc.store.inner), [r.ident for r in due]


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any KAIGI_* setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAIGI_")}
    env.update({"KAIGI_LANG": "en", **extra})
    return env


def scheduler(db_url: str, *args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([*KAIGI, "--db", db_url, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=cwd)


def audit_verify(db_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KAIGI, "--db", db_url, "--json", "audit", "verify"], capture_output=True, text=True,
                          env=clean_env(), cwd=cwd, timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorder:
    """An aiosmtpd handler: keeps (Message-ID, recipients) of each message accepted."""

    def __init__(self) -> None:
        self.got: list[tuple[str, tuple[str, ...]]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self._lock:
            self.got.append((str(parsed["Message-ID"]), tuple(envelope.rcpt_tos)))
        return "250 OK"

    def snapshot(self) -> list[tuple[str, tuple[str, ...]]]:
        with self._lock:
            return list(self.got)


@contextmanager
def smtp_server() -> Iterator[tuple[Recorder, int]]:
    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


# ------------------------------------------------------------------ a. killed between sending and marking
def test_killed_scheduler_resends_only_the_message_in_flight(db_url: str, tmp_path: Path) -> None:
    store, due = make_due(db_url, 30)
    try:
        with smtp_server() as (server, port):
            smtp = {"KAIGI_SMTP_URL": f"smtp://127.0.0.1:{port}", "KAIGI_MAIL_FROM": "kaigi@example.jp"}

            first = scheduler(db_url, "scheduler", "run", "--once", "--lease", "1", cwd=tmp_path,
                              env=clean_env(**smtp, KAIGI_TEST_KILL_AFTER_SENDS="10"))
            out, err = first.communicate(timeout=120)
            assert first.returncode == -signal.SIGKILL, (first.returncode, out, err)
            after_kill = server.snapshot()
            assert 0 < len(after_kill) < len(due), after_kill
            states = Counter(d.status for d in store.deliveries())
            assert set(states) <= {"sent", "sending"} and states["sent"] < len(due), states

            time.sleep(1.5)  # the killed scheduler's 1-second lease runs out: its claims are up for grabs

            second = scheduler(db_url, "scheduler", "run", "--once", "--lease", "1", cwd=tmp_path,
                               env=clean_env(**smtp))
            out, err = second.communicate(timeout=120)
            assert second.returncode == 0, (out, err)
            got = server.snapshot()

        rows = store.deliveries()
        arrived = Counter(mid for mid, _ in got)
        # Every due reminder arrived, once per reminder in the delivery table, to the right person.
        assert set(arrived) == {d.message_id for d in rows}
        assert len(arrived) == len(rows) == len(due)
        assert sorted(d.reminder for d in rows) == sorted(due)
        assert all(d.recipient == MANAGER and d.address == MANAGER_ADDRESS for d in rows)
        assert all(rcpts == (MANAGER_ADDRESS,) for _, rcpts in got), got
        assert all(d.status == "sent" for d in rows), Counter(d.status for d in rows)
        # The contract is at-least-once with a recognisable resend, not exactly-once on the wire.
        # The scheduler died after the server said 250 to the 10th message and before the
        # `sent` mark was committed; nothing in SMTP lets a restarted sender ask "did you
        # take it?", so when the lease ran out the next scheduler sent that message again.
        # It carries the same Message-ID (derived from reminder, rung, recipient, deadline:
        # engine/dispatch.py, store/tables.py `Delivery`), so a mail client or the recipient
        # sees the repeat for what it is. Only the one message in flight may repeat: the
        # nine before it were marked, the twenty after it were claimed but never sent.
        repeats = {mid: n for mid, n in arrived.items() if n > 1}
        assert len(repeats) <= 1 and all(n == 2 for n in repeats.values()), repeats
        assert len(got) == len(due) + len(repeats)
        if repeats:
            assert set(repeats) <= {mid for mid, _ in after_kill}  # the repeat is one the killed process sent
        # Exactly one ReminderDue and one ReminderSent event per reminder; the log verifies.
        events = Counter(e.type for e in store.stream() if e.type.startswith("Reminder"))
        assert events["ReminderDue"] == events["ReminderSent"] == len(due), events
        verdict = audit_verify(db_url, tmp_path)
        assert verdict.returncode == 0 and json.loads(verdict.stdout)["ok"], (verdict.stdout, verdict.stderr)
    finally:
        store.store.close()


# ------------------------------------------------------------------ b. one scheduler per SQLite file
def test_second_scheduler_on_sqlite_is_refused(tmp_path: Path) -> None:
    db_file = tmp_path / "kaigi.db"
    db_url = f"sqlite:///{db_file}"
    _store, due = make_due(db_url, 1)
    outbox = tmp_path / "outbox.jsonl"
    lock = tmp_path / "kaigi.db.scheduler.lock"
    env = clean_env(KAIGI_OUTBOX=str(outbox))

    daemon = scheduler(db_url, "scheduler", "run", "--sweep", "30", env=env, cwd=tmp_path)
    try:
        # Started = holds the lock (its pid written in it) and has run its first sweep: the outbox
        # holds what was due, so APScheduler is running and the SIGTERM handler is installed.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and daemon.poll() is None:
            held = lock.exists() and lock.read_text(encoding="utf-8").strip() == f"pid {daemon.pid}"
            if held and outbox.exists() and len(outbox.read_text(encoding="utf-8").splitlines()) == len(due):
                break
            time.sleep(0.05)
        else:
            daemon.kill()
            out, err = daemon.communicate(timeout=10)
            pytest.fail(f"the first scheduler did not start (exit {daemon.returncode}): {out} {err}")

        second = subprocess.run([*KAIGI, "--db", db_url, "scheduler", "run", "--once"], capture_output=True,
                                text=True, env=env, cwd=tmp_path, timeout=60)
        assert second.returncode == 4, (second.stdout, second.stderr)
        assert second.stdout == ""
        lines = second.stderr.splitlines()
        assert len(lines) == 1, second.stderr
        assert "a scheduler already runs on this database" in lines[0] and f"pid {daemon.pid}" in lines[0]
        assert daemon.poll() is None  # the refused one did not disturb the running one
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, (out, err)
    assert f"sent {len(due)}" in out, out
    # The kernel dropped the lock with the process: the next scheduler runs, with nothing left to send.
    again = subprocess.run([*KAIGI, "--db", db_url, "--json", "scheduler", "run", "--once"], capture_output=True,
                           text=True, env=env, cwd=tmp_path, timeout=60)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["sent"] == 0
    assert len(outbox.read_text(encoding="utf-8").splitlines()) == len(due)


# ------------------------------------------------------------------ c. two schedulers at once on PostgreSQL
@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_two_schedulers_on_postgres_send_each_message_once(tmp_path: Path) -> None:
    with contextmanager(pg_schema_url)() as db_url:
        now = dt.datetime.now(UTC)
        svc = make_svc(db_url, FrozenClock(now - dt.timedelta(days=20)))
        store = svc.peek
        # Only this test process's setup connection: 1,000 acts without waiting for each commit's
        # WAL flush (the schedulers, in their own processes, keep the defaults).
        svc.store.inner.connection().execute("SET synchronous_commit = off")
        try:
            demo_due = len(due_now(svc, now))
            for i in range(1000 - demo_due):
                svc.file_item(MANAGER, f"item {i}")
            assert len(due_now(svc, now)) == 1000

            outbox = tmp_path / "outbox.jsonl"  # ONE file both append to (OutboxSender flocks each line)
            env = clean_env(KAIGI_OUTBOX=str(outbox))
            started = time.monotonic()
            procs = [scheduler(db_url, "--json", "scheduler", "run", "--once", env=env, cwd=tmp_path)
                     for _ in range(2)]
            results = [p.communicate(timeout=120) for p in procs]
            for p, (out, err) in zip(procs, results, strict=True):
                assert p.returncode == 0, (out, err)
            split = [json.loads(out) for out, _ in results]
            print(f"\ntwo schedulers, 1,000 reminders: {time.monotonic() - started:.1f} s; "
                  f"(fired, sent) per process: {[(s['fired'], s['sent']) for s in split]}")
            assert sum(s["fired"] for s in split) == 1000
            assert sum(s["sent"] for s in split) == 1000
            assert all(s["failed"] == 0 and s["retried"] == 0 for s in split)

            lines = outbox.read_text(encoding="utf-8").splitlines()
            ids = [json.loads(line)["message_id"] for line in lines]
            assert len(lines) == 1000
            assert len(set(ids)) == 1000, [m for m, n in Counter(ids).items() if n > 1][:5]
            rows = store.deliveries()
            assert len(rows) == 1000 and {d.message_id for d in rows} == set(ids)
            assert all(d.status == "sent" for d in rows), Counter(d.status for d in rows)
            events = Counter(e.type for e in store.stream() if e.type.startswith("Reminder"))
            assert events["ReminderDue"] == events["ReminderSent"] == 1000, events
        finally:
            svc.store.close()
