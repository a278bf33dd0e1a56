"""Alembic environment: the URL comes from the caller or YILIAN_DATABASE_URL; batch mode for SQLite."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import yilian.models  # noqa: F401  registers every table
from yilian.config import get_settings
from yilian.kit.db import Base, make_engine

target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        run(conn)
    engine.dispose()


run_migrations_online()
