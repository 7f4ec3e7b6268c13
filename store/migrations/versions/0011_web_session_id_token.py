"""A web session's ID token (OpenID Connect)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 00:20:00

A sign-in through the intranet's identity provider keeps the ID token it was given beside
its session row, server side, for the provider's logout (`id_token_hint`, RP-initiated
logout). Password sign-ins and the sessions of older databases have none.
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("web_session") as batch:
        batch.add_column(sa.Column("id_token", sqlmodel.sql.sqltypes.AutoString(length=8000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_session") as batch:
        batch.drop_column("id_token")
