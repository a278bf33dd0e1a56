"""Audit events and the audit table as an attacker or another process would leave it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from yilian.kit.audit import AuditEvent, AuditWriter
from yilian.kit.db import make_engine


def event(n: int, resident_id: int = 7) -> AuditEvent:
    return AuditEvent(
        at=datetime(2026, 11, 24, 9, n),
        user_id=1,
        username="jtys1",
        role="家庭医生",
        action="read",
        entity="resident",
        entity_id=str(resident_id),
        resident_id=resident_id,
        endpoint=f"GET /api/residents/{resident_id}",
    )


def drop_guards(connection: Connection) -> None:
    """What an attacker with DBA rights would do first."""
    if connection.dialect.name == "sqlite":
        connection.execute(text("DROP TRIGGER audit_log_no_update"))
        connection.execute(text("DROP TRIGGER audit_log_no_delete"))
    else:
        connection.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))


@contextmanager
def audit_table_locked(url: str) -> Iterator[None]:
    """Another connection (as another process would) holds the lock the writer needs: SQLite's
    write lock (BEGIN IMMEDIATE), or an exclusive lock on audit_log (PostgreSQL)."""
    if url.startswith("sqlite"):
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.exec_driver_sql("LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            transaction.rollback()
    engine.dispose()


def drain_audit(audit: AuditWriter, session: Session) -> int:
    """Writes what the test's audit writer has queued through the test's own connection (the writer
    has no thread in tests); how many events."""
    return audit.drain(session.connection())
