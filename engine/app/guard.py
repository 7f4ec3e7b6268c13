"""The store as the application sees it: its errors become domain errors at this edge,
so faces never meet a storage exception (and never need to import `store`)."""

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from store.ports import Act, Reads, Store
from store.records import ReadSet

from engine.core.errors import Conflict, NotPermitted, NotPossible, Unavailable
from store.errors import (Busy, ClockBehind, ConcurrencyConflict, Lost, NotInitialised, OutcomeUnknown, PoolBusy,
                          ReadOnly, Refused, StoreError, Unreachable)


def domain_error(err: StoreError) -> Exception:
    """The domain error a face shows for a storage error."""
    if isinstance(err, Busy):  # another holds the head: written nowhere, not a refusal (TRUST.md)
        return Conflict("conflict.head_busy", seconds=f"{err.waited:g}")
    if isinstance(err, PoolBusy):  # every connection of this process in use: nothing began
        return Conflict("conflict.pool_busy", size=err.size, seconds=f"{err.waited:g}")
    if isinstance(err, ClockBehind):
        return NotPossible("time.behind", rule="R-I2", now=err.now, last=err.last)
    if isinstance(err, ConcurrencyConflict):
        return Conflict("conflict.busy", detail=str(err))
    if isinstance(err, NotInitialised):
        return Unavailable("store.not_initialised", detail=str(err))
    if isinstance(err, Refused):
        return NotPermitted("store.refused", rule="R-I3", detail=str(err))
    if isinstance(err, ReadOnly):
        return Unavailable("store.read_only", detail=str(err))
    if isinstance(err, Unreachable):
        return Unavailable("store.unreachable", detail=str(err))
    if isinstance(err, Lost):
        return Unavailable("store.lost")
    if isinstance(err, OutcomeUnknown):
        return Unavailable("store.outcome_unknown")
    return Unavailable("store.error", detail=str(err))


@contextmanager
def translated() -> Iterator[None]:
    try:
        yield
    except StoreError as err:
        raise domain_error(err) from None


class _Translated:
    """`with translated(), cm as x:` as one plain context manager: an act enters and leaves
    it once, without the two generators `contextmanager` makes and steps."""

    __slots__ = ("cm",)

    def __init__(self, cm: Any) -> None:
        self.cm = cm

    def __enter__(self) -> Any:
        try:
            return self.cm.__enter__()
        except StoreError as err:
            raise domain_error(err) from None

    def __exit__(self, typ: Any, value: Any, tb: Any) -> bool:
        try:
            handled = bool(self.cm.__exit__(typ, value, tb))
        except StoreError as err:
            raise domain_error(err) from None
        if not handled and isinstance(value, StoreError):
            raise domain_error(value) from None
        return handled


class Guarded:
    """A store whose transactions raise domain errors; everything else passes through."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    @property
    def inner(self) -> Store:
        return self._store

    def act(self, *, rollback: bool = False, head: bool = True, item: int | None = None,
            role: str | None = None, expect: ReadSet | None = None) -> AbstractContextManager[Act]:
        return _Translated(self._store.act(rollback=rollback, head=head, item=item, role=role, expect=expect))

    def keep(self, on: bool) -> None:
        keep = getattr(self._store, "keep", None)
        if keep is not None:
            keep(on)

    @property
    def decides_outside_head(self) -> bool:
        """The store's word (found here, not through `__getattr__`: asked on every act)."""
        return bool(getattr(self._store, "decides_outside_head", False))

    @contextmanager
    def read(self) -> Iterator[Reads]:
        with translated(), self._store.read() as tx:
            yield tx

    def revision(self) -> str | None:
        with translated():
            return self._store.revision()
