"""A random epoch beside the write counter, so the data version never comes back.

The read caches (``api.accel.response_cache``, ``api.accel.memo.VersionMemo``,
``api.accel.facets``) key what they keep on the data version. ``write_lock.counter`` alone
starts again at 0 when the database is rebuilt (``db downgrade base`` + ``db upgrade``) and
goes back when a backup is restored, so a running instance could take the new database's
version 5 for the old one's. The epoch is set here and replaced by every write
(``api.storage.publish.lock_writes``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("write_lock") as batch:
        batch.add_column(sa.Column("epoch", sa.String(32), nullable=False, server_default=""))
    op.execute(sa.text("UPDATE write_lock SET epoch = :epoch").bindparams(
        epoch=secrets.token_hex(8)))


def downgrade() -> None:
    with op.batch_alter_table("write_lock") as batch:
        batch.drop_column("epoch")
