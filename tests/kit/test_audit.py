"""The audit log: hash chain, tamper detection, append-only in the database, the writer thread."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import DBAPIError

from tests.factories.audit import drop_guards, event
from yilian.kit.audit import (
    DEMO_CHAIN_KEY,
    GENESIS,
    AuditWriter,
    append_events,
    chain_hash,
    legacy_chain_hash,
    verify_chain,
)
from yilian.kit.db import make_engine
from yilian.kit.migrate import upgrade
from yilian.models import AuditLog

KEY = DEMO_CHAIN_KEY  # what the test app's settings (demo) give its writer


def test_the_hash_is_the_documented_formula() -> None:
    """HMAC-SM3 under the chain key of the previous hash and the event as sorted JSON (time to the
    microsecond): rows written by any version of the writer verify with this formula, so it must
    not drift (decision 0020). Rows from before the key keep plain SHA-256 of the same payload."""
    from cryptography.hazmat.primitives import hashes, hmac

    fields = {**dataclasses.asdict(event(3)), "at": "2026-11-24T09:03:00.000000"}
    payload = (GENESIS + json.dumps(fields, ensure_ascii=False, sort_keys=True)).encode()
    mac = hmac.HMAC(b"k" * 32, hashes.SM3())
    mac.update(payload)
    assert chain_hash(GENESIS, event(3), b"k" * 32) == mac.finalize().hex()
    assert legacy_chain_hash(GENESIS, event(3)) == hashlib.sha256(payload).hexdigest()


def test_chain_links_each_row_to_the_previous(connection: Connection) -> None:
    append_events(connection, [event(1), event(2), event(3)], KEY)
    rows = connection.execute(select(AuditLog.prev_hash, AuditLog.hash).order_by(AuditLog.id)).all()[-3:]
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert rows[1].hash == chain_hash(rows[0].hash, event(2), KEY)
    report = verify_chain(connection, KEY)
    assert report.ok and report.checked >= 3


def test_every_character_of_an_event_reaches_the_table_as_it_was_hashed(connection: Connection) -> None:
    """PostgreSQL writes a batch with COPY, whose text format escapes tabs, newlines and backslashes:
    a row stored with one character changed would no longer verify."""
    awkward = dataclasses.replace(
        event(4), detail='原因:\t外伤\n复诊\\N "引号" \\ 结束', client_ip=None, entity_id=None
    )
    append_events(connection, [awkward, event(5)], KEY)
    stored = connection.execute(
        select(AuditLog.detail, AuditLog.client_ip, AuditLog.entity_id).order_by(AuditLog.id.desc()).limit(2)
    ).all()[-1]
    assert tuple(stored) == (awkward.detail, None, None)
    assert verify_chain(connection, KEY).ok


def test_edited_row_is_detected(connection: Connection) -> None:
    append_events(connection, [event(1), event(2), event(3)], KEY)
    middle = connection.execute(select(AuditLog.id).order_by(AuditLog.id.desc()).limit(2)).all()[-1].id
    drop_guards(connection)
    connection.execute(text("UPDATE audit_log SET username = 'someone-else' WHERE id = :id"), {"id": middle})
    report = verify_chain(connection, KEY)
    assert not report.ok and report.first_bad_id == middle


def test_deleted_row_is_detected(connection: Connection) -> None:
    append_events(connection, [event(1), event(2), event(3)], KEY)
    last_two = connection.execute(select(AuditLog.id).order_by(AuditLog.id.desc()).limit(2)).all()
    drop_guards(connection)
    connection.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": last_two[1].id})
    report = verify_chain(connection, KEY)
    assert not report.ok and report.first_bad_id == last_two[0].id


def test_database_refuses_update_and_delete(connection: Connection) -> None:
    append_events(connection, [event(1)], KEY)
    for statement in ("UPDATE audit_log SET username = 'x'", "DELETE FROM audit_log"):
        savepoint = connection.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement))
        savepoint.rollback()


def test_writer_thread_writes_without_the_request_waiting(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    upgrade(url)
    engine = make_engine(url)
    writer = AuditWriter(engine, batch_size=50, key=KEY)
    writer.start()
    for n in range(120):
        writer.submit(event(n % 60, resident_id=n))
    writer.stop()
    with engine.connect() as connection:
        resident_ids = connection.scalars(select(AuditLog.resident_id).order_by(AuditLog.id)).all()
        assert resident_ids == list(range(120))
        first = connection.scalar(select(AuditLog.prev_hash).order_by(AuditLog.id).limit(1))
        assert first == GENESIS
        assert verify_chain(connection, KEY).ok
    engine.dispose()


def test_a_running_writer_writes_what_is_submitted_without_being_stopped(tmp_path: Path) -> None:
    """The writer polls its queue (it is not woken per event): what a request submits reaches the
    table within a poll, not only when the process stops."""
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    upgrade(url)
    engine = make_engine(url)
    writer = AuditWriter(engine, batch_size=50, linger=0.02, key=KEY)
    writer.start()
    try:
        for n in range(75):  # a full batch and a part of one
            writer.submit(event(n % 60, resident_id=n))
        written = 0
        for _ in range(200):  # up to 10 s on a slow machine; normally one or two polls
            with engine.connect() as connection:
                written = connection.scalar(select(func.count()).select_from(AuditLog)) or 0
            if written == 75:
                break
            time.sleep(0.05)
        assert written == 75 and writer.pending() == 0
    finally:
        writer.stop()
        engine.dispose()


def test_two_writers_keep_one_chain(fresh_database_url: str) -> None:
    """Two writers with their own engines — as two application processes would be — interleave safely."""
    import threading

    upgrade(fresh_database_url)
    engines = [make_engine(fresh_database_url), make_engine(fresh_database_url)]
    writers = [AuditWriter(engine, batch_size=7, key=KEY) for engine in engines]
    for writer in writers:
        writer.start()

    def produce(writer: AuditWriter, offset: int) -> None:
        for n in range(150):
            writer.submit(event(n % 60, resident_id=offset + n))

    threads = [threading.Thread(target=produce, args=(w, i * 1000)) for i, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for writer in writers:
        writer.stop()
    with engines[0].connect() as connection:
        report = verify_chain(connection, KEY)
        count = connection.scalar(select(func.count()).select_from(AuditLog))
    assert report.ok and report.checked == count == 300
    for engine in engines:
        engine.dispose()
