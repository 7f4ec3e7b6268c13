"""A meeting's place (場所)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 21:10:00

A convened meeting now says where it sits (`MeetingConvened.place`, an optional field: the
events of meetings convened before keep their payload and hash). The meeting projection
gets the column; a meeting of an older database has the empty place, as replay folds it.
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        batch.add_column(sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        batch.drop_column("place")
