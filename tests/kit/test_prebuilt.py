"""Prebuilt statements: on PostgreSQL they run on psycopg's cursor, and must behave as SQLAlchemy's
own execution does: named rows, the caller's transaction, errors as DBAPIError, a lost connection
invalidated."""

from __future__ import annotations

import pytest
from sqlalchemy import JSON, Connection, Engine, Integer, String, bindparam, cast, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.factories.registry import create_institution
from yilian.kit.db import Prebuilt
from yilian.models import Institution

by_code = Prebuilt(
    select(Institution.id, Institution.name.label("institution_name")).where(
        Institution.code == bindparam("code")
    )
)


def only_on_postgresql(connection: Connection) -> None:
    if connection.dialect.name != "postgresql":
        pytest.skip("SQLite runs prebuilt statements through SQLAlchemy itself")


def test_rows_are_named_and_see_the_callers_transaction(session: Session) -> None:
    made = create_institution(session, name="测试卫生院")  # flushed, not committed
    row = by_code.first(session.connection(), {"code": made.code})
    assert (row.id, row.institution_name) == (made.id, "测试卫生院")
    assert by_code.first(session.connection(), {"code": "T-NONE"}) is None


def test_runs_on_the_driver_unless_a_type_converts_values(connection: Connection) -> None:
    only_on_postgresql(connection)
    assert by_code._direct(connection) is not None
    converting = Prebuilt(select(bindparam("doc", type_=JSON).label("doc")))
    assert converting._direct(connection) is None  # JSON's bind processor serialises the value
    assert converting.first(connection, {"doc": {"科室": [1, 2]}}).doc == {"科室": [1, 2]}


def test_a_failure_is_sqlalchemys_error_and_a_savepoint_keeps_the_transaction(connection: Connection) -> None:
    only_on_postgresql(connection)
    number = Prebuilt(select(cast(bindparam("digits", type_=String), Integer).label("n")))
    assert number._direct(connection) is not None
    savepoint = connection.begin_nested()
    with pytest.raises(DBAPIError) as raised:
        number.first(connection, {"digits": "十二"})
    savepoint.rollback()
    assert raised.value.orig is not None
    assert raised.value.orig.sqlstate == "22P02"  # type: ignore[attr-defined]  # invalid_text_representation
    assert not raised.value.connection_invalidated
    assert number.first(connection, {"digits": "12"}).n == 12


def test_a_lost_connection_is_invalidated_and_the_next_one_works(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL backend is what is lost")
    with engine.connect() as connection:
        pid = connection.scalar(select(func.pg_backend_pid()))
        connection.commit()
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            other.commit()
        with pytest.raises(DBAPIError) as raised:
            by_code.first(connection, {"code": "T-NONE"})
        assert raised.value.connection_invalidated
        assert connection.invalidated
    with engine.connect() as fresh:
        assert fresh.scalar(select(func.pg_backend_pid())) != pid
        assert by_code.first(fresh, {"code": "T-NONE"}) is None
