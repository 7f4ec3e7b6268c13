"""The reminder daemon: APScheduler 3 drives the timing only; the truth is in the database.

A memory job store with two jobs: `sweep` on an interval (catches acts of other
processes, missed wakes, downtime) and `wake`, re-armed after every pass to the next due
time. Nothing durable lives in APScheduler (a missed date job is silently dropped, a
renamed function deletes a stored job: LIBRARIES.md 3.2-3.3). The only importer of
apscheduler.
"""

import datetime as dt
import fcntl
import os
import signal
import threading
from datetime import UTC
from pathlib import Path
from typing import IO, Any

from engine.core.errors import NotPossible
from engine.reminders.dispatch import Dispatcher, PassStats


class SingleScheduler:
    """On SQLite one scheduler at a time: an OS lock beside the database file.

    The kernel drops it when the process dies, so a crashed scheduler never blocks the next.
    """

    def __init__(self, db_file: Path) -> None:
        self.path = db_file.with_name(db_file.name + ".scheduler.lock")
        self._fh: IO[str] | None = None

    def __enter__(self) -> "SingleScheduler":
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the process's life)
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise NotPossible("scheduler.running", holder=holder) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        self._fh = fh
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()


class ReminderClock:
    """Wakes the dispatcher at the next due time, and sweeps every `sweep_seconds`."""

    def __init__(self, dispatcher: Dispatcher, sweep_seconds: float = 30.0) -> None:
        from apscheduler.schedulers.blocking import BlockingScheduler

        self.dispatcher = dispatcher
        self.sweep_seconds = sweep_seconds
        self.sched = BlockingScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        self._busy = threading.Lock()
        self.total = PassStats()

    @property
    def stopping(self) -> bool:
        return self.dispatcher.stopping.is_set()

    def run_pass(self) -> None:
        """One pass. A pass that fails (the database restarting, a file locked past the
        bound) logs one line and leaves the rest to the next sweep: the truth is in the
        database, so nothing is lost by waiting, and the store reconnects on its own."""
        if not self._busy.acquire(blocking=False):
            return  # the pass under way re-arms the wake
        if self.stopping:  # asked to stop after this job was queued: nothing more starts
            self._busy.release()
            return
        from engine.infra.logs import get_logger

        try:
            stats = self.dispatcher.run_once()
            for f in ("fired", "sent", "retried", "failed"):
                setattr(self.total, f, getattr(self.total, f) + getattr(stats, f))
            if stats.fired or stats.sent or stats.failed:
                get_logger().info("pass", fired=stats.fired, sent=stats.sent, retried=stats.retried,
                                  failed=stats.failed, worker=self.dispatcher.worker)
        except Exception as err:  # noqa: BLE001 (the daemon outlives a failed pass)
            get_logger().warning("pass failed", error=_one_line(err), worker=self.dispatcher.worker,
                                 retry_in=self.sweep_seconds)
        finally:
            self._busy.release()
            self.arm_wake()

    def arm_wake(self) -> None:
        if self.stopping:
            return
        try:
            nxt = self.dispatcher.next_due()
        except Exception:  # noqa: BLE001 (the failed pass said why; the sweep comes back)
            return
        if nxt is None:
            return
        when = max(nxt, dt.datetime.now(UTC))
        self.sched.add_job(self.run_pass, "date", run_date=when, id="wake", replace_existing=True)

    def stop(self) -> None:
        """Ask the clock to stop (safe from a signal handler: it takes no lock a pass holds)."""
        from apscheduler.schedulers import SchedulerNotRunningError

        self.dispatcher.stopping.set()
        try:
            self.sched.shutdown(wait=False)
        except SchedulerNotRunningError:  # a second signal, or one before it ran
            pass

    def start(self) -> None:
        """Block until SIGTERM or SIGINT; the first sweep runs at once (it sends all that is overdue).

        Returns only once no pass is under way. Why: APScheduler runs a pass in its own
        thread and `shutdown(wait=False)` (all a signal handler may safely do) leaves it
        running; the caller then closes the store, and a SQLite connection closed under a
        statement another thread is running crashed a stopping scheduler (SIGSEGV, seen in
        CI). The pass stops within the message in flight: it settles that one and hands
        the rest of its claim back."""
        self.sched.add_job(self.run_pass, "interval", seconds=self.sweep_seconds, id="sweep",
                           next_run_time=dt.datetime.now(UTC))
        before = {sig: signal.signal(sig, lambda *_: self.stop()) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.sched.start()
        finally:
            self.dispatcher.stopping.set()
            with self._busy:  # the pass under way, if any, has ended
                pass
            for sig, handler in before.items():
                signal.signal(sig, handler)


def _one_line(err: Exception) -> str:
    """An error as the one line a log keeps: its English text, else its type."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
