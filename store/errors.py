"""Store errors, translated from driver errors at the edge of `store/sql.py`."""


class StoreError(Exception):
    """Root of the store errors."""


class ConcurrencyConflict(StoreError):
    """Someone else changed the row first, or the database was busy; nothing was written."""


class Busy(ConcurrencyConflict):
    """Another transaction held the log's head (or the SQLite file's write lock) longer than
    this store waits for it (`head_wait` seconds); the act gave up before writing anything."""

    def __init__(self, waited: float) -> None:
        super().__init__(f"another act held the log for over {waited:g} s; nothing was written, try again")
        self.waited = waited


class Unreachable(StoreError):
    """The database server cannot be reached (down, restarting, or the connection refused)."""


class Lost(StoreError):
    """The connection to the database broke in the middle of a transaction, before its
    COMMIT was sent: the server rolls such a transaction back, so nothing was written."""


class OutcomeUnknown(StoreError):
    """The connection broke while the COMMIT was under way: the act may or may not have been
    recorded. It must not be re-run blindly; look at the log first."""


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


class PoolBusy(ConcurrencyConflict):
    """Every PostgreSQL connection of this process's pool (`size`, KAIGI_PG_POOL) stayed in
    use for `waited` seconds; the transaction never began, so nothing was written."""

    def __init__(self, size: int, waited: float) -> None:
        super().__init__(f"all {size} database connections of this process were in use for {waited:g} s; "
                         "nothing was written, try again")
        self.size, self.waited = size, waited
