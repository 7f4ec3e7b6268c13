"""Hooks the test suite sets from outside a `kaigi` process (KAIGI_TEST_*), kept out of the faces.

A subprocess cannot be monkeypatched, so the suite names a hook in the environment: each
function here returns at once when its variable is unset, which it always is in production.
They are read here, not in `engine.infra.settings`: they are no setting a person makes.
"""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


# read once: the suite sets it in the environment a process starts with (every act asked
# os.environ, a failed lookup raising KeyError inside it: ~1% of an act's CPU)
_BARRIER = os.environ.get("KAIGI_TEST_BARRIER")


def barrier() -> None:
    """KAIGI_TEST_BARRIER=DIR:N: wait before acting until N processes are ready (it makes a
    race deterministic: two `advance` calls that start together)."""
    spec = _BARRIER
    if not spec:
        return
    import time

    folder, _, count = spec.rpartition(":")
    if not count.isdigit() or not Path(folder).is_dir():
        return
    Path(folder, str(os.getpid())).touch()
    deadline = time.monotonic() + 20
    while len(os.listdir(folder)) < int(count) and time.monotonic() < deadline:
        time.sleep(0.01)


def after_send() -> Callable[[Any], None] | None:
    """KAIGI_TEST_KILL_AFTER_SENDS=N: SIGKILL ourselves after the N-th send, before it is
    settled (the crash between sending and marking)."""
    spec = os.environ.get("KAIGI_TEST_KILL_AFTER_SENDS")
    if not spec or not spec.isdigit():
        return None
    sent = [0]

    def hook(_delivery: Any) -> None:
        import signal

        sent[0] += 1
        if sent[0] >= int(spec):
            os.kill(os.getpid(), signal.SIGKILL)
    return hook
