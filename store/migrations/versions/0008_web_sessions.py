"""Web sessions live in the database (R-I6)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 21:00:00

A web sign-in was a signed cookie only: it could not be ended before it expired, so a
cookie replayed after sign-out still read and acted. The cookie now carries a random id;
this table keeps its sha256, the member, when it began and ends, and when it was ended.
Every server process checks it on every request, so a sign-out is seen at once by all.
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    T = store.types.UTCDateTime(timezone=True)
    op.create_table(
        "web_session",
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("login", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("credential", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", T, nullable=False),
        sa.Column("expires_at", T, nullable=False),
        sa.Column("ended_at", T, nullable=True),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_web_session")),
    )
    with op.batch_alter_table("web_session") as batch:
        batch.create_index("ix_web_session_login", ["login"], unique=False)
    _grant_existing_web_group()


def _grant_existing_web_group() -> None:
    """On a PostgreSQL database `kaigi db grant` already ran on, the web face's group gets
    what `kaigi db grant` now gives it on the new table (members get nothing)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from store.pg import group_name, quote_ident

    schema = bind.execute(sa.text("SELECT current_schema()")).scalar()
    database = bind.execute(sa.text("SELECT current_database()")).scalar()
    group = group_name(str(database), str(schema), "web")
    if bind.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :g"), {"g": group}).first() is None:
        return
    bind.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE ON web_session TO {quote_ident(group)}")


def downgrade() -> None:
    with op.batch_alter_table("web_session") as batch:
        batch.drop_index("ix_web_session_login")
    op.drop_table("web_session")
