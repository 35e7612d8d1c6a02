"""List filters for the verification status, NIBRS codes derived from trafficking types, and
Spanish stems in the SQLite search index.

Records written before ``verification_status`` existed are verified when they carry a check date
(``schemas.records.verification_status_of``), and an indicator's related NIBRS codes now follow
from its trafficking types (``schemas.records.nibrs_for``). Responses derive both when they
render; this files the filter terms (``record_terms``) to match, and starts a new data version
so that no cached answer survives the change. On SQLite, each Spanish search document gets
its shadow document of Spanish stems (``api.storage.stemming``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import json
import secrets

import sqlalchemy as sa
from alembic import op

from api.storage.stemming import STEM_LANG, stems

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NIBRS = {"sex": "64A", "labor": "64B"}

records = sa.table("records", sa.column("id", sa.String), sa.column("type", sa.String),
                   sa.column("content", sa.JSON))
docs = sa.table("search_docs", sa.column("record_id", sa.String), sa.column("lang", sa.String),
                sa.column("label", sa.Text), sa.column("body", sa.Text))
terms = sa.table("record_terms", sa.column("record_id", sa.String),
                 sa.column("name", sa.String), sa.column("value", sa.String))


def _content(value: object) -> dict:
    return json.loads(value) if isinstance(value, str) else dict(value or {})  # type: ignore[call-overload]


def upgrade() -> None:
    bind = op.get_bind()
    rows = []
    for record_id, record_type, raw in bind.execute(
            sa.select(records.c.id, records.c.type, records.c.content)):
        content = _content(raw)
        status = content.get("verification_status") or (
            "verified" if content.get("verified_on") else "unverified")
        rows.append({"record_id": record_id, "name": "verification_status", "value": status})
        if record_type == "indicator":
            for code in sorted({NIBRS[t] for t in content.get("trafficking_types") or []
                                if t in NIBRS}):
                rows.append({"record_id": record_id, "name": "nibrs", "value": code})
    bind.execute(terms.delete().where(terms.c.name.in_(("verification_status", "nibrs"))))
    if rows:
        bind.execute(terms.insert(), rows)
    if bind.dialect.name == "sqlite":
        bind.execute(docs.delete().where(docs.c.lang == STEM_LANG))
        shadows = [{"record_id": row.record_id, "lang": STEM_LANG, "label": stems(row.label),
                    "body": stems(row.body)}
                   for row in bind.execute(sa.select(docs).where(docs.c.lang == "es"))]
        if shadows:
            bind.execute(docs.insert(), shadows)
    op.execute(sa.text("UPDATE write_lock SET counter = counter + 1, epoch = :epoch")
               .bindparams(epoch=secrets.token_hex(8)))


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(terms.delete().where(terms.c.name == "verification_status"))
    bind.execute(docs.delete().where(docs.c.lang == STEM_LANG))
