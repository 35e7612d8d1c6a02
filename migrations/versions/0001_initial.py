"""Initial schema: records, their versions, the change sequence, terms and full-text search.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The search index: FTS5 on SQLite (kept in step with search_docs by triggers), a generated,
# weighted tsvector on PostgreSQL (English and Spanish dictionaries by row language).
SQLITE_SEARCH = [
    """CREATE VIRTUAL TABLE search_fts USING fts5(
        label, body, content='search_docs', content_rowid='doc_id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
        INSERT INTO search_fts(rowid, label, body) VALUES (new.doc_id, new.label, new.body);
    END""",
    """CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
        INSERT INTO search_fts(search_fts, rowid, label, body)
        VALUES ('delete', old.doc_id, old.label, old.body);
    END""",
    """CREATE TRIGGER search_docs_au AFTER UPDATE ON search_docs BEGIN
        INSERT INTO search_fts(search_fts, rowid, label, body)
        VALUES ('delete', old.doc_id, old.label, old.body);
        INSERT INTO search_fts(rowid, label, body) VALUES (new.doc_id, new.label, new.body);
    END""",
]
POSTGRES_SEARCH = [
    """ALTER TABLE search_docs ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
        CASE WHEN lang = 'es' THEN
            setweight(to_tsvector('spanish'::regconfig, label), 'A')
            || setweight(to_tsvector('spanish'::regconfig, body), 'B')
        ELSE
            setweight(to_tsvector('english'::regconfig, label), 'A')
            || setweight(to_tsvector('english'::regconfig, body), 'B')
        END) STORED""",
    "CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)",
]


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("visibility", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("retired_at", sa.DateTime, nullable=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("available_langs", sa.JSON, nullable=False),
    )
    op.create_index("ix_records_seq", "records", ["seq"])
    op.create_index("ix_records_type_status_id", "records", ["type", "status", "id"])
    op.create_index("ix_records_type_updated", "records", ["type", "updated_at", "id"])
    op.create_table(
        "record_versions",
        sa.Column("record_id", sa.String(64), sa.ForeignKey("records.id"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("visibility", sa.String(32), nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("published_at", sa.DateTime, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
    )
    op.create_table(
        "changes",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("visibility", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_changes_record_id", "changes", ["record_id"])
    op.create_table(
        "record_terms",
        sa.Column(
            "record_id",
            sa.String(64),
            sa.ForeignKey("records.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(64), primary_key=True),
    )
    op.create_index("ix_record_terms_name_value", "record_terms", ["name", "value", "record_id"])
    op.create_table(
        "search_docs",
        sa.Column("doc_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "record_id",
            sa.String(64),
            sa.ForeignKey("records.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ux_search_docs_record_lang", "search_docs", ["record_id", "lang"],
                    unique=True)
    statements = POSTGRES_SEARCH if op.get_bind().dialect.name == "postgresql" else SQLITE_SEARCH
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("search_docs_au", "search_docs_ad", "search_docs_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    for table in ("search_docs", "record_terms", "changes", "record_versions", "records"):
        op.drop_table(table)
