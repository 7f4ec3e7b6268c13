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
        if isinstance(value, str):  # raw text read through a SQLite function
            value = dt.datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
