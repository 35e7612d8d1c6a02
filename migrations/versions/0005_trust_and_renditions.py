"""Trust fields, Spanish stems and render once: every record filed and rendered again.

This release adds the verification status (a list filter), derives indicators' NIBRS codes
from their trafficking types, relabels vocabulary codes whose labels are searchable, gives each
Spanish search document a shadow of Spanish stems on SQLite (``api.storage.stemming``), and
renders every published version once, into ``renditions`` (``api.storage.renditions``). So
this migration creates that table, files every record's filter terms and search text again
(``api.storage.publish.index_record``) and renders every version, with this release's code,
then starts a new data version so that no cached answer survives.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import secrets

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0005"
down_revision = "0004"
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
    from api.storage import publish, renditions  # the rules of this release
    from api.storage.models import Record

    session = Session(bind=op.get_bind())
    for record in session.scalars(sa.select(Record).order_by(Record.id)).all():
        publish.index_record(session, record.type, record.content)
    renditions.refresh(session)
    session.flush()
    op.execute(sa.text("UPDATE write_lock SET counter = counter + 1, epoch = :epoch")
               .bindparams(epoch=secrets.token_hex(8)))


def downgrade() -> None:
    from api.storage.stemming import STEM_LANG

    op.drop_table("renditions")
    docs = sa.table("search_docs", sa.column("lang", sa.String))
    op.get_bind().execute(docs.delete().where(docs.c.lang == STEM_LANG))
