"""A scheduler told to stop (SIGTERM) returns only once its pass has ended.

Found by CI: a `kaigi scheduler run` SIGTERMed mid-pass died of SIGSEGV after printing its
totals. APScheduler ran the pass in its worker thread, the signal's `shutdown(wait=False)`
let the main thread return at once, and the command closed the store's SQLite connections
under the statement that thread was running. Now the clock waits for the pass, and the pass
stops within the message in flight.
"""

import os
import signal
import threading
import time

from engine.reminders.dispatch import PassStats
from engine.reminders.scheduler import ReminderClock


class SlowPass:
    """A dispatcher whose pass sends 50 messages, 20 ms each, looking at `stopping` between them."""

    worker = "test"

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.started, self.ended = threading.Event(), threading.Event()
        self.sent: list[int] = []

    def run_once(self) -> PassStats:
        self.started.set()
        for n in range(50):
            if self.stopping.is_set():
                break
            time.sleep(0.02)
            self.sent.append(n)
        self.ended.set()
        return PassStats(sent=len(self.sent))

    def next_due(self) -> None:
        return None


def test_sigterm_mid_pass_returns_after_the_pass_and_within_a_message() -> None:
    slow = SlowPass()
    clock = ReminderClock(slow, sweep_seconds=60)  # type: ignore[arg-type]

    def terminate() -> None:
        slow.started.wait(10)
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    threading.Thread(target=terminate, daemon=True).start()
    clock.start()
    assert slow.ended.is_set(), "start() returned while the pass still ran in APScheduler's thread"
    assert 1 <= len(slow.sent) < 50  # stopped within a message, not after the whole batch
    assert clock.total.sent == len(slow.sent)
    assert signal.getsignal(signal.SIGTERM) is before  # the process's own handler is back
