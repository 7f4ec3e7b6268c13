"""Web sessions live in the database (R-I6)

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-06 21:00:00

A web sign-in was a signed cookie only: it could not be ended before it expired, so a
cookie replayed after sign-out still read and acted. The cookie now carries a random id;
this table keeps its sha256, the member, when it began and ends, and when it was ended.
Every server process checks it on every request, so a sign-out is seen at once by all.
(0007 is written in parallel; the lead re-points `down_revision` when both are merged.)
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.types

revision = "0008"
down_revision = "0006"
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


def downgrade() -> None:
    with op.batch_alter_table("web_session") as batch:
        batch.drop_index("ix_web_session_login")
    op.drop_table("web_session")
