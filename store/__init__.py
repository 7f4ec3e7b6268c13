"""Persistence: the event log and the projections, in memory, on SQLite or on PostgreSQL.

Importing `store` pulls in only pure names; `store.sql` (the drivers) and `store.db`
(SQLAlchemy, Alembic, SQLModel) are imported by whoever opens a database, so commands
that need none stay fast. The store knows no rules: records in, records out.
"""

__kaigi__ = "store"  # cli.py checks this mark: the top-level `store` is kaigi's own

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from store.chain import GENESIS, canonical, envelope, instant, link
from store.errors import ConcurrencyConflict, NotInitialised, ReadOnly, StoreError

if TYPE_CHECKING:
    from store.ports import Store

__all__ = ["GENESIS", "ConcurrencyConflict", "NotInitialised", "ReadOnly", "StoreError", "canonical", "envelope",
           "instant", "link"]


def open_store(url: str, clock: Callable[[], dt.datetime] | None = None, readonly: bool = False,
               pool: int | None = None) -> "Store":
    """The store at `url`: `memory://`, `sqlite:///FILE` or `postgresql+psycopg://…` (`pool`:
    PostgreSQL connections this process keeps at most, store.sql.POOL by default)."""
    if url.startswith("memory:"):
        from store.memory import MemoryStore

        return MemoryStore(clock=clock, url=url)
    from store.sql import SqlStore

    return SqlStore(url, clock=clock, readonly=readonly, pool=pool)
