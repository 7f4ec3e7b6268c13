"""Persistence: the event log and the projections, on SQLite or PostgreSQL.

Importing `store` pulls in only pure names; `store.sql` (SQLAlchemy, SQLModel) is
imported explicitly by whoever opens a database, so commands that need none stay fast.
"""

from store.chain import GENESIS, canonical, envelope, instant, link
from store.errors import ChainBroken, ConcurrencyConflict, NotInitialised, StoreError
from store.records import (AdoptionRecord, AssignmentRecord, BodyRecord, EventRecord, ItemRecord,
                           MeetingRecord, MemberRecord)

__all__ = ["GENESIS", "AdoptionRecord", "AssignmentRecord", "BodyRecord", "ChainBroken",
           "ConcurrencyConflict", "EventRecord", "ItemRecord", "MeetingRecord", "MemberRecord",
           "NotInitialised", "StoreError", "canonical", "envelope", "instant", "link"]
