"""Store errors, translated from driver errors at the edge of `store/sql.py`."""


class StoreError(Exception):
    """Root of the store errors."""


class ConcurrencyConflict(StoreError):
    """Someone else changed the row first, or the database was busy; nothing was written."""


class NotInitialised(StoreError):
    """The database has no kaigi schema, or an older one: run `kaigi init`."""


class ReadOnly(StoreError):
    """The database can be read here but not written."""


class ClockBehind(StoreError):
    """The time an act would be recorded with is earlier than the log's last event (R-I2)."""

    def __init__(self, now: object, last: object) -> None:
        super().__init__(f"the clock ({now}) is behind the log's last event ({last}); nothing was written")
        self.now, self.last = now, last


class Refused(StoreError):
    """The database itself refused: a privilege it does not grant, or its witness (the append
    function on PostgreSQL) would not record the act as asked (R-I1..R-I3)."""
