"""Database set-up: engines for SQLite (embedded default) and PostgreSQL, and migrations.

SQLite runs in WAL with synchronous=FULL (an acknowledged act survives a power cut),
foreign keys on, and BEGIN IMMEDIATE so writers serialise at BEGIN rather than failing
at COMMIT; read-only work opts out with `sqlite_begin="DEFERRED"` (LIBRARIES.md 2.3).
"""

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

MIGRATIONS = Path(__file__).with_name("migrations")
SCHEMA_HEAD = "0004"  # the newest migration; a test checks it against Alembic's own head


def normalise_url(url: str) -> str:
    """Spell the PostgreSQL driver out: `postgresql://` meant psycopg2 before SQLAlchemy 2.1."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        eng = sa.create_engine(url, **kwargs)

        @event.listens_for(eng, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # stop pysqlite's own deferred BEGIN
            cur = dbapi_conn.cursor()
            for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=10000",
                           "synchronous=FULL"):
                cur.execute(f"PRAGMA {pragma}")
            cur.close()

        @event.listens_for(eng, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return eng
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def reader(engine: sa.Engine) -> sa.Engine:
    """The same engine for read-only work: no write lock on SQLite."""
    return engine.execution_options(sqlite_begin="DEFERRED")


def _alembic_config(connection: sa.Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: sa.Engine) -> None:
    """Create or upgrade the schema to the newest migration (safe to run twice)."""
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")


def schema_state(engine: sa.Engine) -> tuple[str | None, str]:
    """(the database's migration revision or None, the newest revision kaigi ships).

    A plain read of Alembic's version table: every command asks this, and importing
    Alembic would cost each of them a tenth of a second.
    """
    with reader(engine).connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None, SCHEMA_HEAD
        current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return current, SCHEMA_HEAD


def migrations_head() -> str:
    """Alembic's own view of the newest migration (for the test that guards SCHEMA_HEAD)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""
