"""Indexes for reads at scale: lists of what a viewer may see, in id order, from the index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Anonymous lists filter on (type, status, visibility) and page by id: with this index a
    # page reads only its own rows and a total is counted from the index alone.
    op.create_index("ix_records_type_status_visibility_id", "records",
                    ["type", "status", "visibility", "id"])


def downgrade() -> None:
    op.drop_index("ix_records_type_status_visibility_id", table_name="records")
