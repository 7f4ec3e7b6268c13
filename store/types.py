"""Column types: `UTCDateTime` keeps instants right on SQLite, which drops UTC offsets.

Aware datetimes only go in; they are stored as UTC (naive on SQLite, timestamptz on
PostgreSQL) and always come back aware UTC (LIBRARIES.md 2.1).
"""

import datetime as dt
from datetime import UTC
from typing import Any

import sqlalchemy as sa


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: kaigi stores instants, give a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        # raw text when read through a SQLite function
        when: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
