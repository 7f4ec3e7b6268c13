"""Lists that stay fast: an item's earliest deadline as a column, and the indexes lists use

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 03:30:00

An item is overdue (R-N3) from the earliest deadline of its planned reminders until the wait
ends, whatever rungs have gone out (`engine.core.plan.overdue`). That time was only inside the
`reminders` JSON, so `--overdue` decoded every item; `next_due_at` (the next rung to fire, the
scheduler's column) is another time: a rung before the deadline, or none once every rung has
gone out. The item projection gets `deadline_at` (the earliest planned deadline, None when
nothing waits) with `ix_item_deadline`, filled here from the stored reminders; `updated_at`
(the API's `since`) and (state, updated_at) (the board's columns, latest first) get indexes.
"""
import datetime as dt

import orjson
import sqlalchemy as sa
from alembic import op

import store.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

T = store.types.UTCDateTime(timezone=True)


def _earliest(text: str | None) -> dt.datetime | None:
    """The earliest deadline of a stored `reminders` list ([key, subject, book, started, due, …])."""
    if not text or text == "[]":
        return None
    dues = [dt.datetime.fromisoformat(p[4]) for p in orjson.loads(text) if p[4]]
    return min(dues).astimezone(dt.UTC) if dues else None


def upgrade() -> None:
    with op.batch_alter_table("item") as batch:
        batch.add_column(sa.Column("deadline_at", T, nullable=True))
    op.create_index("ix_item_deadline", "item", ["deadline_at", "state"])
    op.create_index("ix_item_updated", "item", ["updated_at"])
    op.create_index("ix_item_state_updated", "item", ["state", "updated_at"])
    conn = op.get_bind()
    table = sa.table("item", sa.column("id", sa.Integer()), sa.column("deadline_at", T))
    rows = conn.execute(sa.text("SELECT id, reminders FROM item WHERE reminders <> '[]'")).fetchall()
    values = [{"i": r[0], "d": d} for r in rows if (d := _earliest(r[1])) is not None]
    if values:
        conn.execute(table.update().where(table.c.id == sa.bindparam("i")).values(deadline_at=sa.bindparam("d")),
                     values)


def downgrade() -> None:
    op.drop_index("ix_item_state_updated", "item")
    op.drop_index("ix_item_updated", "item")
    op.drop_index("ix_item_deadline", "item")
    with op.batch_alter_table("item") as batch:
        batch.drop_column("deadline_at")
