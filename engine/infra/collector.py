"""The garbage collector held off during a long pass over the log.

Replay builds a world that only grows: a million events leave a few million live
objects (records, events kept for the delivery checks) and almost no garbage. CPython's
collector nonetheless walks every one of them each time its oldest generation fills by a
quarter, about twenty times over such a log: a fifth of `audit verify`'s time at
1,000,000 events (68 s with it, 54 s without; `bench/verify.py`). Reference counting
still frees everything that is not a cycle; the collector runs again as soon as the pass
ends. Nested and concurrent passes are fine: only the outermost one that found the
collector on turns it back on.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def held_off() -> Iterator[None]:
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
