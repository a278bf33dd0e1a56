"""The audit writer: requests hand events to a queue; one writer thread appends them, hash-chained.

Each row's hash is HMAC-SM3, under a key kept outside the database, over the previous row's hash and
the row's own fields, so an edited or deleted row breaks the chain at that point and `verify_chain`
names it, and nobody without the key can recompute the chain after removing rows (decision 0020;
rows written before that carry plain SHA-256 and verify only as an anchored prefix). Truncation of
the tail is caught by the anchors (`kit/audit_anchor.py`). The database refuses UPDATE and DELETE on
the table (triggers in the migration). Several application processes may write: each append takes
the database's write lock (SQLite) or an advisory lock (PostgreSQL) before it reads the chain's last
hash.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes, hmac
from sqlalchemy import Connection, Engine, Table, insert, select, text

from yilian.kit.db import psycopg_connection
from yilian.models.audit import AuditLog

if TYPE_CHECKING:
    from yilian.config import Settings

GENESIS = "0" * 64
audit_table: Table = AuditLog.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class AuditEvent:
    at: datetime
    user_id: int | None
    username: str
    role: str
    action: str
    entity: str
    entity_id: str | None
    resident_id: int | None
    endpoint: str
    client_ip: str | None = None
    detail: str | None = None


_FIELDS = tuple(AuditEvent.__dataclass_fields__)


def _fields(event: AuditEvent) -> dict[str, object]:
    """The event as a dict (what `dataclasses.asdict` gives for these flat fields, without its
    deep copy: the audit writer hashes every event of every request)."""
    return {name: getattr(event, name) for name in _FIELDS}


# Public, and accepted only in demo mode: a demo's chain detects edits but not a re-chaining.
DEMO_CHAIN_KEY = b"yilian-demo-audit-chain-key-not-secret"
MIN_KEY_BYTES = 32


class ChainKeyMissing(RuntimeError):
    """Outside demo mode the chain key must come from a file the database does not hold."""


def load_chain_key(settings: Settings) -> bytes:
    """The key from YILIAN_AUDIT_KEY_FILE (hex, or at least 32 raw bytes); the public demo key only
    in demo mode; otherwise refuse (decision 0020)."""
    if settings.audit_key_file:
        raw = Path(settings.audit_key_file).read_bytes().strip()
        try:
            key = bytes.fromhex(raw.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            key = raw
        if len(key) < MIN_KEY_BYTES:
            raise ChainKeyMissing(
                f"审计密钥太短 / the audit key in {settings.audit_key_file} has {len(key)} bytes, "
                f"at least {MIN_KEY_BYTES} are needed (`yilian audit keygen`)"
            )
        return key
    if settings.demo:
        return DEMO_CHAIN_KEY
    raise ChainKeyMissing(
        "未配置审计密钥 / no audit chain key: set YILIAN_AUDIT_KEY_FILE to a key file kept outside the "
        "database (`yilian audit keygen PATH` makes one), or YILIAN_DEMO=1 for a demo"
    )


_chain_key: bytes | None = None


def use_chain_key(key: bytes) -> None:
    """Set the process's chain key (create_app and the CLI set it from their settings)."""
    global _chain_key
    _chain_key = key


def chain_key() -> bytes:
    """The process's chain key; read from the environment's settings on first use."""
    global _chain_key
    if _chain_key is None:
        from yilian.config import get_settings

        _chain_key = load_chain_key(get_settings())
    return _chain_key


def _payload(prev_hash: str, event: AuditEvent) -> bytes:
    fields = _fields(event)
    fields["at"] = event.at.isoformat(timespec="microseconds")
    return (prev_hash + json.dumps(fields, ensure_ascii=False, sort_keys=True)).encode()


_keyed = threading.local()


def keyed_digest(key: bytes, data: bytes) -> str:
    """HMAC-SM3 of data. Each thread keeps a keyed context to copy: a third cheaper than keying
    a new one for every row (the writer hashes every event of every request)."""
    bases: dict[bytes, hmac.HMAC] = _keyed.__dict__.setdefault("bases", {})
    base = bases.get(key)
    if base is None:
        base = bases[key] = hmac.HMAC(key, hashes.SM3())
    mac = base.copy()
    mac.update(data)
    return mac.finalize().hex()


def chain_hash(prev_hash: str, event: AuditEvent, key: bytes | None = None) -> str:
    """HMAC-SM3 (GB/T 32905) under the chain key of the previous hash and the event as sorted JSON."""
    return keyed_digest(key if key is not None else chain_key(), _payload(prev_hash, event))


def legacy_chain_hash(prev_hash: str, event: AuditEvent) -> str:
    """The unkeyed SHA-256 of rows written before decision 0020 (anyone can recompute it)."""
    return hashlib.sha256(_payload(prev_hash, event)).hexdigest()


def last_hash(connection: Connection) -> str:
    row = connection.execute(select(audit_table.c.hash).order_by(audit_table.c.id.desc()).limit(1)).first()
    return row[0] if row else GENESIS


# Any constant: all writers of one database take the same PostgreSQL advisory lock.
CHAIN_LOCK_KEY = 0x59494C49414E  # "YILIAN"


def append_events(connection: Connection, events: list[AuditEvent]) -> None:
    """Append events in order, each chained to the one before (caller owns the transaction).

    Writers in several processes stay on one chain: PostgreSQL serialises them with a transaction
    advisory lock taken before the last hash is read; SQLite's BEGIN IMMEDIATE already does."""
    if not events:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    prev = last_hash(connection)
    key = chain_key()
    rows = []
    for event in events:
        digest = chain_hash(prev, event, key)
        rows.append({**_fields(event), "prev_hash": prev, "hash": digest})
        prev = digest
    if connection.dialect.name == "postgresql":
        _copy_rows(connection, rows)
    else:
        connection.execute(insert(audit_table), rows)


_COPY_COLUMNS = (*_FIELDS, "prev_hash", "hash")
_COPY = f"COPY audit_log ({', '.join(_COPY_COLUMNS)}) FROM STDIN"


def _copy_rows(connection: Connection, rows: list[dict[str, object]]) -> None:
    """PostgreSQL: the batch in one COPY, in the caller's transaction. An INSERT per row (what a
    driver's executemany sends) cost each row a statement on both sides (decision 0011)."""
    with psycopg_connection(connection).cursor() as cursor, cursor.copy(_COPY) as copy:
        for row in rows:
            copy.write_row([row[name] for name in _COPY_COLUMNS])


@dataclass
class ChainReport:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    # Rows at the start written with the unkeyed formula (before decision 0020).
    legacy: int = 0
    last_id: int = 0
    head: str = GENESIS
    # The hash of the row at each asked-for position (1-based), for the anchors.
    hashes_at: dict[int, str] = field(default_factory=dict)


def verify_chain(
    connection: Connection, batch: int = 5000, key: bytes | None = None, positions: Collection[int] = ()
) -> ChainReport:
    """Recompute every hash in id order; report the first row whose hash or link does not match.

    Unkeyed rows are accepted only before the first keyed one (a log upgraded in place); whether
    anything vouches for them is the anchors' business (`audit_anchor.verify_log`)."""
    key = key if key is not None else chain_key()
    wanted = set(positions)
    report = ChainReport(ok=True, checked=0)
    prev = GENESIS
    keyed_seen = False
    columns = [audit_table.c[name] for name in AuditEvent.__dataclass_fields__]
    while True:
        rows = connection.execute(
            select(audit_table.c.id, audit_table.c.prev_hash, audit_table.c.hash, *columns)
            .where(audit_table.c.id > report.last_id)
            .order_by(audit_table.c.id)
            .limit(batch)
        ).all()
        if not rows:
            return report
        for row in rows:
            event = AuditEvent(**{name: getattr(row, name) for name in AuditEvent.__dataclass_fields__})
            if row.prev_hash != prev:
                return _broken(report, row.id)
            if chain_hash(prev, event, key) == row.hash:
                keyed_seen = True
            elif keyed_seen or legacy_chain_hash(prev, event) != row.hash:
                return _broken(report, row.id)
            else:
                report.legacy += 1
            prev = row.hash
            report.checked += 1
            report.last_id = row.id
            report.head = row.hash
            if report.checked in wanted:
                report.hashes_at[report.checked] = row.hash


def _broken(report: ChainReport, row_id: int) -> ChainReport:
    report.ok = False
    report.first_bad_id = row_id
    return report


class AuditWriter:
    """Queue in front of the audit table. `submit` never touches the database.

    The queue is a deque (appending is atomic in CPython), and the writer thread polls it every
    `linger` seconds instead of waiting on it: a thread woken for each event costs a GIL hand-over
    per event, two per booking at hundreds of bookings a second (decision 0011). Each poll writes
    what has queued in batches of `batch_size`: one transaction and one chain lock per batch."""

    def __init__(self, engine: Engine | None = None, batch_size: int = 500, linger: float = 0.05) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.linger = linger
        self._events: deque[AuditEvent] = deque()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def submit(self, event: AuditEvent) -> None:
        self._events.append(event)

    def pending(self) -> int:
        return len(self._events)

    def take(self) -> list[AuditEvent]:
        events: list[AuditEvent] = []
        while len(events) < self.batch_size:
            try:
                events.append(self._events.popleft())
            except IndexError:
                break
        return events

    def drain(self, connection: Connection) -> int:
        """Write everything queued through `connection` (tests call this directly)."""
        written = 0
        while events := self.take():
            append_events(connection, events)
            written += len(events)
        return written

    def start(self) -> None:
        if self.engine is None or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self.engine is not None
        while True:
            stopping = self._stop.is_set()  # read before taking: nothing queued before stop is left
            events = self.take()
            if events:
                with self.engine.begin() as connection:
                    append_events(connection, events)
            if len(events) == self.batch_size:
                continue
            if stopping:
                return
            self._stop.wait(self.linger)

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout)
        self._thread = None

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until the queue is written (restarts the thread afterwards)."""
        if self._thread is None:
            return
        self.stop(timeout)
        self.start()
