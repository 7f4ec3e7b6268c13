"""Time is injected: `SystemClock` in the CLI, `FrozenClock` in tests and benchmarks."""

import datetime as dt
from datetime import UTC
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when told to: `advance(days=14)`."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.at = at.astimezone(UTC)

    def now(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> dt.datetime:
        self.at += dt.timedelta(**delta)
        return self.at

    def set(self, at: dt.datetime) -> None:
        self.at = at.astimezone(UTC)
