"""Alembic environment: the URL comes from the caller (``api.storage.db.upgrade``) or
``DATABASE_URL``."""

from __future__ import annotations

from alembic import context

from api.config import Config
from api.storage.db import make_engine
from api.storage.models import Base

config = context.config
url = config.attributes.get("database_url") or Config().DATABASE_URL
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
