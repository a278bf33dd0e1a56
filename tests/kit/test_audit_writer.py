"""The audit writer under faults: a locked database does not kill it, its lag is visible, its queue
is bounded, and a waiting request is answered once its events are written."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select

from tests.factories.audit import audit_table_locked
from yilian.app import create_app
from yilian.config import Settings
from yilian.kit.audit import DEMO_CHAIN_KEY, AuditEvent, AuditUnavailable, AuditWriter, verify_chain
from yilian.kit.db import READ_ONLY, Database, make_engine
from yilian.kit.migrate import upgrade
from yilian.models import AuditLog


def read_event(n: int) -> AuditEvent:
    return AuditEvent(
        at=datetime(2026, 11, 24, 9, 0, n % 60),
        user_id=1,
        username="jtys1",
        role="家庭医生",
        action="read",
        entity="resident",
        entity_id=str(n),
        resident_id=n,
        endpoint=f"GET /api/residents/{n}",
    )


def impatient_engine(url: str) -> Engine:
    """The writer's engine, giving up on a lock after 0.1 s instead of SQLite's 30 s (PostgreSQL:
    lock_timeout), so that the test sees the error the server saw, sooner."""
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _short_wait(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA busy_timeout = 100")
        else:
            cursor.execute("SET lock_timeout = '100ms'")
        cursor.close()
        if engine.dialect.name == "postgresql":
            dbapi_connection.commit()

    return engine


def count_rows(engine: Engine) -> int:
    with engine.execution_options(**{READ_ONLY: True}).connect() as connection:  # beside the lock
        return connection.scalar(select(func.count()).select_from(AuditLog)) or 0


def wait_for(condition: Any, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def test_writer_survives_a_locked_database_and_catches_up(fresh_database_url: str) -> None:
    """One "database is locked" killed the writer thread for the life of the process: every event
    after it stayed in memory. It now retries with a pause, keeps the events in order, shows the
    failure in `health()`, and writes everything once the lock is released."""
    upgrade(fresh_database_url)
    engine = impatient_engine(fresh_database_url)
    writer = AuditWriter(
        engine, batch_size=50, linger=0.01, retry_first=0.05, retry_max=0.2, key=DEMO_CHAIN_KEY
    )
    writer.start()
    try:
        with audit_table_locked(fresh_database_url):
            for n in range(30):
                writer.submit(read_event(n))
            assert wait_for(lambda: writer.failures >= 2)
            health = writer.health()
            assert not health["ok"] and health["running"] and health["pending"] == 30
            assert "lock" in (
                health["last_error"] or ""
            )  # SQLite: database is locked; PostgreSQL: lock timeout
        for n in range(30, 45):  # after the fault, as the 59 unaudited reads were
            writer.submit(read_event(n))
        assert wait_for(lambda: count_rows(engine) == 45)
        assert writer.health()["ok"] and writer.failures == 0 and writer.pending() == 0
        with engine.connect() as connection:
            stored = connection.scalars(select(AuditLog.resident_id).order_by(AuditLog.id)).all()
            assert stored == list(range(45))  # in the order submitted, the retried ones first
            assert verify_chain(connection, DEMO_CHAIN_KEY).ok
    finally:
        writer.stop()
        engine.dispose()


def test_the_queue_is_bounded() -> None:
    """A writer that cannot write refuses new events (503) instead of growing without bound."""
    writer = AuditWriter(engine=None, max_pending=3)
    for n in range(3):
        writer.submit(read_event(n))
    with pytest.raises(AuditUnavailable) as refused:
        writer.submit(read_event(3))
    assert refused.value.status == 503 and writer.pending() == 3


def test_a_waiting_request_is_answered_once_its_events_are_written(fresh_database_url: str) -> None:
    """`written` wakes the writer (it does not wait for its next poll) and returns once the
    events up to the number are in the table; under a held lock it times out (False)."""
    upgrade(fresh_database_url)
    engine = impatient_engine(fresh_database_url)
    writer = AuditWriter(engine, linger=60.0, retry_first=0.05, retry_max=0.1, key=DEMO_CHAIN_KEY)
    writer.start()
    try:
        number = writer.submit(read_event(1))
        started = time.monotonic()
        assert asyncio.run(writer.written(number, timeout=10))
        assert time.monotonic() - started < 5 and count_rows(engine) == 1
        with audit_table_locked(fresh_database_url):
            number = writer.submit(read_event(2))
            assert not asyncio.run(writer.written(number, timeout=0.5))
        assert writer.wait_written(number, timeout=10) and count_rows(engine) == 2
    finally:
        writer.stop()
        engine.dispose()


def test_health_endpoint_shows_the_writers_lag(fresh_database_url: str, tmp_path: Any) -> None:
    upgrade(fresh_database_url)
    engine = impatient_engine(fresh_database_url)
    writer = AuditWriter(engine, linger=0.01, retry_first=0.05, retry_max=0.1, key=DEMO_CHAIN_KEY)
    settings = Settings(database_url=fresh_database_url, secret_key="test")
    database = Database(fresh_database_url, pool_size=2, max_overflow=0)
    app = create_app(settings, database=database, audit=writer)
    try:
        with TestClient(app) as client:
            healthy = client.get("/health")
            assert healthy.status_code == 200 and healthy.json()["audit"]["pending"] == 0
            with audit_table_locked(fresh_database_url):
                writer.submit(read_event(1))
                assert wait_for(lambda: writer.failures >= 1)
                failing = client.get("/health")
            assert failing.status_code == 503
            assert failing.json()["status"] == "degraded" and failing.json()["audit"]["pending"] == 1
            assert wait_for(lambda: client.get("/health").status_code == 200)
    finally:
        database.engine.dispose()
        engine.dispose()
