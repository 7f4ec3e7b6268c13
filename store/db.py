"""The schema and its migrations: Alembic over SQLAlchemy, used by `kaigi init` only.

Run-time access goes through the drivers (`store/sql.py`); this module is imported when
a database is created or upgraded, and to ask which revision a database is at (a plain
driver read, so every command need not import Alembic).
"""

from pathlib import Path
from typing import Any

MIGRATIONS = Path(__file__).with_name("migrations")
SCHEMA_HEAD = "0015"  # the newest migration; a test checks it against Alembic's own head


def normalise_url(url: str) -> str:
    """Spell the PostgreSQL driver out: `postgresql://` meant psycopg2 before SQLAlchemy 2.1."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def engine(url: str) -> Any:
    """A SQLAlchemy engine for migrations (SQLite: WAL, synchronous=FULL; foreign keys off,
    since migrations rebuild tables that older ones pointed at)."""
    import sqlalchemy as sa
    from sqlalchemy import event

    url = normalise_url(url)
    if url.startswith("sqlite"):
        eng = sa.create_engine(url)

        @event.listens_for(eng, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            for pragma in ("journal_mode=WAL", "busy_timeout=10000", "synchronous=FULL"):
                cur.execute(f"PRAGMA {pragma}")
            cur.close()

        @event.listens_for(eng, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return eng
    return sa.create_engine(url, pool_pre_ping=True)


def upgrade(url: str) -> bool:
    """Create or upgrade the schema to the newest migration (safe to run twice).
    Returns whether anything was migrated."""
    from alembic import command
    from alembic.config import Config

    import sqlalchemy as sa

    eng = engine(url)
    try:
        with eng.connect() as conn:
            before = None
            if sa.inspect(conn).has_table("alembic_version"):
                before = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        with eng.begin() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    finally:
        eng.dispose()
    return before != SCHEMA_HEAD


def migrations_head() -> str:
    """Alembic's own view of the newest migration (for the test that guards SCHEMA_HEAD)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""
