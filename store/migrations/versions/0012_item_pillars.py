"""An item's pillars of 第3 (R-X1)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 01:10:00

A filed item now names the pillars of 第3 it serves (`ItemFiled.pillars`, an optional field:
the events of items filed before keep their payload and hash). The item projection gets the
column, a JSON list of rulebook keys; an item of an older database names none, as replay folds it.
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("item") as batch:
        batch.add_column(sa.Column("pillars", sa.String(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("item") as batch:
        batch.drop_column("pillars")
