"""The store as the application sees it: its errors become domain errors at this edge,
so faces never meet a storage exception (and never need to import `store`)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from store.ports import Act, Reads, Store
from store.records import ReadSet

from engine.core.errors import Conflict, NotPermitted, NotPossible, Unavailable
from store.errors import (Busy, ClockBehind, ConcurrencyConflict, Lost, NotInitialised, OutcomeUnknown, PoolBusy,
                          ReadOnly, Refused, StoreError, Unreachable)


@contextmanager
def translated() -> Iterator[None]:
    try:
        yield
    except Busy as err:  # another holds the head: written nowhere, not a refusal (TRUST.md)
        raise Conflict("conflict.head_busy", seconds=f"{err.waited:g}") from None
    except PoolBusy as err:  # every connection of this process in use: nothing began
        raise Conflict("conflict.pool_busy", size=err.size, seconds=f"{err.waited:g}") from None
    except ClockBehind as err:
        raise NotPossible("time.behind", rule="R-I2", now=err.now, last=err.last) from None
    except ConcurrencyConflict as err:
        raise Conflict("conflict.busy", detail=str(err)) from None
    except NotInitialised as err:
        raise Unavailable("store.not_initialised", detail=str(err)) from None
    except Refused as err:
        raise NotPermitted("store.refused", rule="R-I3", detail=str(err)) from None
    except ReadOnly as err:
        raise Unavailable("store.read_only", detail=str(err)) from None
    except Unreachable as err:
        raise Unavailable("store.unreachable", detail=str(err)) from None
    except Lost:
        raise Unavailable("store.lost") from None
    except OutcomeUnknown:
        raise Unavailable("store.outcome_unknown") from None
    except StoreError as err:
        raise Unavailable("store.error", detail=str(err)) from None


class Guarded:
    """A store whose transactions raise domain errors; everything else passes through."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    @property
    def inner(self) -> Store:
        return self._store

    @contextmanager
    def act(self, *, rollback: bool = False, head: bool = True, item: int | None = None,
            role: str | None = None, expect: ReadSet | None = None) -> Iterator[Act]:
        with translated(), self._store.act(rollback=rollback, head=head, item=item, role=role,
                                           expect=expect) as tx:
            yield tx

    @contextmanager
    def read(self) -> Iterator[Reads]:
        with translated(), self._store.read() as tx:
            yield tx

    def revision(self) -> str | None:
        with translated():
            return self._store.revision()
