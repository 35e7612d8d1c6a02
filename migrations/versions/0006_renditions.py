"""Render once: every published version rendered in each language and in every language
(``renditions``), so a read fetches bytes instead of rendering (``api.storage.renditions``). The
existing versions are rendered here.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "renditions",
        sa.Column("record_id", sa.String(64), sa.ForeignKey("records.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("lang", sa.String(8), primary_key=True),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("etag", sa.String(34), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    from api.storage import renditions  # the rendering code of this release

    session = Session(bind=op.get_bind())
    renditions.refresh(session)  # the same bytes as rendering on read: no new data version
    session.flush()


def downgrade() -> None:
    op.drop_table("renditions")
