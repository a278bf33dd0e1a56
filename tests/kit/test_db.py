"""The engine under test is the one asked for, and migrations go up, down and up again."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Engine, inspect, text

from yilian.kit.db import make_engine
from yilian.kit.migrate import downgrade, upgrade


def test_engine_is_the_one_requested(engine: Engine) -> None:
    wanted = os.environ.get("YILIAN_TEST_DATABASE_URL", "sqlite")
    assert engine.dialect.name == ("postgresql" if wanted.startswith("postgresql") else "sqlite")


def test_migrations_round_trip(fresh_database_url: str) -> None:
    upgrade(fresh_database_url)
    probe = make_engine(fresh_database_url)
    tables = set(inspect(probe).get_table_names())
    assert {"resident", "encounter", "institution", "consortium", "audit_log", "app_user"} <= tables
    downgrade(fresh_database_url, revision="base")
    assert set(inspect(probe).get_table_names()) <= {"alembic_version"}
    upgrade(fresh_database_url)
    assert "resident" in inspect(probe).get_table_names()
    probe.dispose()


def test_postgresql_connections_do_not_jit_compile(engine: Engine) -> None:
    """A report of a few milliseconds was JIT-compiled for 100 ms at the default threshold."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's JIT")
    with engine.connect() as connection:
        assert connection.scalar(text("SHOW jit")) == "off"
