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

import asyncio
import hashlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import hashes, hmac
from sqlalchemy import Connection, Engine, Table, insert, select, text

from yilian.kit.audit_log import AuditLog
from yilian.kit.db import psycopg_connection
from yilian.kit.errors import AppError

if TYPE_CHECKING:
    from yilian.config import Settings

log = logging.getLogger("yilian.audit")

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


class AuditUnavailable(AppError):
    """The audit log cannot take the event now (its queue is full, or the writer is failing)."""

    def __init__(self) -> None:
        super().__init__(
            "审计日志暂时无法写入，请稍后重试", "The audit log cannot be written now; retry later", 503
        )


@dataclass
class AuditScope:
    """The events one request handed to the writer: the number of the last one (0: none)."""

    last: int = 0


# Set per request by `DurableAudit`; worker threads run in a copy of the request's context, which
# holds the same scope object.
_scope: ContextVar[AuditScope | None] = ContextVar("yilian_audit_scope", default=None)


@contextmanager
def audit_scope() -> Iterator[AuditScope]:
    """Collect the numbers of the events submitted inside the block (a request, a CLI command)."""
    scope = AuditScope()
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


@dataclass
class _Waiter:
    number: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _short(error: BaseException) -> str:
    """The error's kind and first line, without SQLAlchemy's echo of the statement's parameters
    (which would carry the events' personal data into logs and the health answer)."""
    origin = getattr(error, "orig", None) or error
    first = (str(origin).splitlines() or [""])[0]
    return f"{type(origin).__name__}: {first[:200]}"


class AuditWriter:
    """Queue in front of the audit table, with one writer thread; `submit` never touches the database.

    The audit of a change does not pass through here: it is written in the change's transaction
    (`auth.context.Actor.record_change`). Reads are submitted here and numbered; a request's
    response waits until its reads' events are written (`DurableAudit`), so a response that
    returned personal data is never without its durable audit row, and a killed process loses only
    events whose responses were never sent. Waiting requests wake the writer; what queued
    meanwhile is written in one transaction and one chain lock (group commit). Without waiters it
    polls every `linger` seconds (a thread woken per event costs a GIL hand-over per event,
    decision 0011).

    A failed write (a locked database, a lost connection) is retried with a growing pause, the
    events kept in order at the head of the queue; the writer thread never dies of it. The queue is
    bounded: beyond `max_pending` events, `submit` raises `AuditUnavailable` (503) rather than
    grow. `health()` shows the backlog and its age; a log line says when writes fail, when the
    backlog is older than `lag_warning` seconds, and when the writer recovers."""

    def __init__(
        self,
        engine: Engine | None = None,
        batch_size: int = 500,
        linger: float = 0.05,
        *,
        max_pending: int = 100_000,
        retry_first: float = 0.1,
        retry_max: float = 30.0,
        lag_warning: float = 5.0,
    ) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.linger = linger
        self.max_pending = max_pending
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.lag_warning = lag_warning
        self._lock = threading.Condition()
        self._events: deque[tuple[float, AuditEvent]] = deque()  # (monotonic time submitted, event)
        self._submitted = 0  # events are numbered from 1 in the order submitted
        self._taken = 0  # numbered up to here: handed to a write (done or under way)
        self._written = 0  # numbered up to here: in the table
        self._in_flight_since: float | None = None
        self._waiters: list[_Waiter] = []
        self.failures = 0  # consecutive failed writes
        self.last_error: str | None = None
        self._lag_logged_at = 0.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._quit = threading.Event()  # stop() gave up waiting: leave even with events unwritten

    def submit(self, event: AuditEvent) -> int:
        """Queue an event; its number. Raises AuditUnavailable when the queue is full."""
        with self._lock:
            if len(self._events) >= self.max_pending:
                raise AuditUnavailable()
            self._events.append((time.monotonic(), event))
            self._submitted += 1
            number = self._submitted
        scope = _scope.get()
        if scope is not None:
            scope.last = number
        return number

    def pending(self) -> int:
        """Events submitted and not yet in the table."""
        return self._submitted - self._written

    def _take(self) -> tuple[list[tuple[float, AuditEvent]], int]:
        with self._lock:
            count = min(len(self._events), self.batch_size)
            taken = [self._events.popleft() for _ in range(count)]
            if taken:
                self._in_flight_since = taken[0][0]
            self._taken += count
            return taken, self._taken

    def _written_up_to(self, number: int) -> None:
        with self._lock:
            self._written = number
            self._in_flight_since = None
            ready = [w for w in self._waiters if w.number <= number]
            if ready:
                self._waiters = [w for w in self._waiters if w.number > number]
            self._lock.notify_all()
        for waiter in ready:
            waiter.loop.call_soon_threadsafe(_resolve, waiter.future)

    def _put_back(self, taken: list[tuple[float, AuditEvent]]) -> None:
        with self._lock:
            self._events.extendleft(reversed(taken))
            self._taken -= len(taken)
            self._in_flight_since = None

    def take(self) -> list[AuditEvent]:
        """Up to a batch of queued events, counted as written (for callers that write them)."""
        taken, number = self._take()
        self._written_up_to(number)
        return [event for _, event in taken]

    def drain(self, connection: Connection) -> int:
        """Write everything queued through `connection` (tests and batch jobs call this directly)."""
        written = 0
        while True:
            taken, number = self._take()
            if not taken:
                return written
            try:
                append_events(connection, [event for _, event in taken])
            except BaseException:
                self._put_back(taken)
                raise
            self._written_up_to(number)
            written += len(taken)

    async def written(self, number: int, timeout: float) -> bool:
        """Whether every event up to `number` is in the table, waiting up to `timeout` seconds
        without holding a thread. A writer without a database (tests) is drained by hand: True."""
        if self._written >= number or self.engine is None:
            return True
        loop = asyncio.get_running_loop()
        waiter = _Waiter(number, loop, loop.create_future())
        with self._lock:
            if self._written >= number:
                return True
            self._waiters.append(waiter)
            self._lock.notify_all()  # someone waits: the writer writes now, not at its next poll
        try:
            await asyncio.wait_for(waiter.future, timeout)
            return True
        except TimeoutError:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            return self._written >= number

    def wait_written(self, number: int, timeout: float) -> bool:
        """`written` for a thread (a CLI command, a test)."""
        if self.engine is None:
            return True
        deadline = time.monotonic() + timeout
        waiter = _Waiter(number, _NO_LOOP, _NO_FUTURE)
        with self._lock:
            if self._written >= number:
                return True
            self._waiters.append(waiter)
            self._lock.notify_all()
            while self._written < number:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
                    return False
                self._lock.wait(remaining)
        return True

    def health(self) -> dict[str, Any]:
        """The writer's backlog, its age, and whether it is failing."""
        with self._lock:
            pending = self._submitted - self._written
            oldest = self._in_flight_since
            if oldest is None and self._events:
                oldest = self._events[0][0]
        lag = time.monotonic() - oldest if pending and oldest is not None else 0.0
        running = self._thread is not None and self._thread.is_alive()
        return {
            "ok": (running or self.engine is None) and self.failures == 0 and lag < self.lag_warning,
            "running": running,
            "pending": pending,
            "lag_seconds": round(lag, 3),
            "written": self._written,
            "failures": self.failures,
            "last_error": self.last_error,
            "max_pending": self.max_pending,
        }

    def start(self) -> None:
        if self.engine is None or self._thread is not None:
            return
        self._stop.clear()
        self._quit.clear()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            stopping = self._stop.is_set()  # read before taking: nothing queued before stop is left
            taken, number = self._take()
            if taken and not self._write(taken, number):
                delay = min(self.retry_max, self.retry_first * 2 ** min(self.failures - 1, 16))
                if self._quit.wait(delay):
                    log.error(
                        "审计写入线程放弃 / audit writer gave up: %d events not written", self.pending()
                    )
                    return
                continue
            self._log_lag()
            with self._lock:
                if len(taken) == self.batch_size or (self._events and (self._waiters or stopping)):
                    continue
                if stopping:
                    return
                if not self._stop.is_set():
                    self._lock.wait(self.linger)

    def _write(self, taken: list[tuple[float, AuditEvent]], number: int) -> bool:
        assert self.engine is not None
        try:
            with self.engine.begin() as connection:
                append_events(connection, [event for _, event in taken])
        except Exception as error:
            self._put_back(taken)
            self.failures += 1
            self.last_error = _short(error)
            log.warning(
                "审计日志写入失败 / audit write failed (%d in a row): %s; %d events waiting, oldest %.1f s",
                self.failures,
                self.last_error,
                self.pending(),
                self.health()["lag_seconds"],
            )
            return False
        self._written_up_to(number)
        if self.failures:
            log.warning("审计日志写入恢复 / audit writer recovered after %d failed writes", self.failures)
            self.failures = 0
        return True

    def _log_lag(self) -> None:
        health = self.health()
        now = time.monotonic()
        if health["lag_seconds"] >= self.lag_warning and now - self._lag_logged_at >= 10:
            self._lag_logged_at = now
            log.warning(
                "审计日志积压 / audit writer lag: %d events waiting, oldest %.1f s",
                health["pending"],
                health["lag_seconds"],
            )

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread (give up after `timeout` seconds)."""
        if self._thread is None:
            return
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._quit.set()
            self._thread.join(1.0)
        self._thread = None

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until the queue is written (restarts the thread afterwards)."""
        if self._thread is None:
            return
        self.stop(timeout)
        self.start()


class _NoLoop:
    def call_soon_threadsafe(self, *_args: Any) -> None:
        """A thread's waiter (`wait_written`) is woken by the condition, not by a loop."""


_NO_LOOP: Any = _NoLoop()
_NO_FUTURE: Any = None


class DurableAudit:
    """ASGI wrapper: a response starts only once the audit events its request submitted are in the
    table (convention 3: the audit of a read is durable before the response). If they are not
    written within `timeout` seconds, the request is answered 503 instead, without its data; the
    events stay queued and are written when the database allows. A body streamed in parts waits
    again before its last part for events submitted meanwhile (and is cut off if they fail)."""

    def __init__(self, app: Any, writer: AuditWriter, timeout: float) -> None:
        self.app = app
        self.writer = writer
        self.timeout = timeout

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with audit_scope() as audit:
            refused = False
            waited = 0

            async def send_when_written(message: Any) -> None:
                nonlocal refused, waited
                if refused:
                    return
                kind = message["type"]
                if audit.last > waited and (
                    kind == "http.response.start"
                    or (kind == "http.response.body" and not message.get("more_body"))
                ):
                    number = audit.last
                    if not await self.writer.written(number, self.timeout):
                        log.error(
                            "审计日志未能写入，响应已拒绝 / audit not written in %.0f s: %s %s answered 503",
                            self.timeout,
                            scope.get("method"),
                            scope.get("path"),
                        )
                        if kind != "http.response.start":
                            raise AuditUnavailable()
                        refused = True
                        await _send_unavailable(send)
                        return
                    waited = number
                await send(message)

            await self.app(scope, receive, send_when_written)


async def _send_unavailable(send: Any) -> None:
    body = json.dumps(AuditUnavailable().as_dict(), ensure_ascii=False).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"retry-after", b"5"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
