"""Anchors of the audit chain: its head (row count + last hash) appended to a file outside the database.

The keyed chain (`kit/audit.py`) stops anyone without the key from removing rows in the middle and
recomputing what follows; it cannot show that the last rows were deleted, since a prefix of a valid
chain is valid. An anchor says "the chain had N rows and the N-th row's hash was H" at a time: if
the table later has fewer rows, or another row N, the log was cut or rewritten. Each line carries
an HMAC under the chain key, so an anchor cannot be forged without it. The file is appended with
O_APPEND and fsync'd; whoever runs the database should not be able to rewrite it (decision 0020).

A restore writes a `restore` line: anchors before it that vouch for more rows than the restored
chain has are superseded (those rows were lost with the restore, and the line says how many).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, func, make_url, select

from yilian.kit.audit import (
    GENESIS,
    AuditEvent,
    audit_table,
    chain_hash,
    keyed_digest,
    verify_chain,
)
from yilian.kit.db import READ_ONLY

if TYPE_CHECKING:
    from yilian.config import Settings


@dataclass(frozen=True)
class Anchor:
    kind: str  # head | restore
    at: str
    count: int
    last_id: int
    hash: str

    def body(self) -> dict[str, object]:
        return {
            "v": 1,
            "kind": self.kind,
            "at": self.at,
            "count": self.count,
            "last_id": self.last_id,
            "hash": self.hash,
        }


def _canonical(body: dict[str, object]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def anchor_path(settings: Settings) -> Path | None:
    """The anchor file of the configured database: one file per database, named after it (an
    in-memory SQLite database has none)."""
    if settings.audit_anchor_file:
        return Path(settings.audit_anchor_file)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return None
        path = Path(url.database).resolve()
        label = f"sqlite-{path.stem}-{hashlib.sha256(str(path).encode()).hexdigest()[:10]}"
    else:
        label = f"{url.get_backend_name()}-{url.host or 'local'}-{url.port or 5432}-{url.database}"
    return Path(settings.audit_anchor_dir) / f"{label}.anchors"


def _append_line(path: Path, line: bytes) -> None:
    """One write(2) with O_APPEND (processes of one server append to the same file), then fsync."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def append_anchor(path: Path, anchor: Anchor, key: bytes) -> None:
    body = anchor.body()
    body["mac"] = keyed_digest(key, _canonical(anchor.body()))
    _append_line(path, json.dumps(body, sort_keys=True).encode() + b"\n")


@dataclass
class AnchorFile:
    anchors: list[Anchor] = field(default_factory=list)
    # 1-based line numbers that do not parse or whose MAC is wrong.
    bad_lines: list[int] = field(default_factory=list)


def read_anchors(path: Path, key: bytes) -> AnchorFile:
    if not path.exists():
        return AnchorFile()
    return _parse(path.read_bytes().splitlines(), key)


def last_anchor(path: Path, key: bytes) -> Anchor | None:
    """The file's last line, read from its tail (the file grows by a line a minute per process;
    the keeper must not read all of it every minute). None if it is missing or not valid."""
    if not path.exists():
        return None
    with path.open("rb") as file:
        file.seek(0, os.SEEK_END)
        file.seek(max(0, file.tell() - 4096))
        lines = [line for line in file.read().splitlines() if line.strip()]
    if not lines:
        return None
    parsed = _parse(lines[-1:], key)
    return parsed.anchors[0] if parsed.anchors else None


def _parse(lines: list[bytes], key: bytes) -> AnchorFile:
    result = AnchorFile()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            body = json.loads(line)
            mac = body.pop("mac")
            anchor = Anchor(
                kind=str(body["kind"]),
                at=str(body["at"]),
                count=int(body["count"]),
                last_id=int(body["last_id"]),
                hash=str(body["hash"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            result.bad_lines.append(number)
            continue
        if anchor.body() != body or keyed_digest(key, _canonical(body)) != mac:
            result.bad_lines.append(number)
            continue
        result.anchors.append(anchor)
    return result


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_head(connection: Connection, since: Anchor | None = None) -> Anchor:
    """The chain's head now: count, last id and hash. Counts only the rows after `since` when the
    chain has grown from it (the table's primary key makes that cheap on a long log)."""
    last = connection.execute(
        select(audit_table.c.id, audit_table.c.hash).order_by(audit_table.c.id.desc()).limit(1)
    ).first()
    if last is None:
        return Anchor("head", _now(), 0, 0, GENESIS)
    table_id = audit_table.c.id
    if since is not None and 0 < since.last_id <= last.id:
        newer = connection.scalar(
            select(func.count()).select_from(audit_table).where(table_id > since.last_id, table_id <= last.id)
        )
        count = since.count + int(newer or 0)
    else:
        count = int(
            connection.scalar(select(func.count()).select_from(audit_table).where(table_id <= last.id)) or 0
        )
    return Anchor("head", _now(), count, int(last.id), str(last.hash))


class HeadNotKeyed(RuntimeError):
    """The last row's hash is not the keyed one: nothing is anchored without a person checking."""


def _head_is_keyed(connection: Connection, head: Anchor, key: bytes) -> bool:
    """Whether the head row carries the keyed hash of its own link and fields. Only the key's holder
    can write such a row, and it fixes every row before it (each hash covers the previous one)."""
    if head.count == 0:
        return True
    columns = [audit_table.c[name] for name in AuditEvent.__dataclass_fields__]
    row = connection.execute(
        select(audit_table.c.prev_hash, *columns).where(audit_table.c.id == head.last_id)
    ).one()
    event = AuditEvent(**{name: getattr(row, name) for name in AuditEvent.__dataclass_fields__})
    return chain_hash(row.prev_hash, event, key) == head.hash


def write_anchor(
    engine: Engine, path: Path, key: bytes, *, kind: str = "head", checked: bool = False
) -> Anchor | None:
    """Append the current head to the file unless the file's last anchor already says it.

    Unattended (the keeper), a head that is not keyed is refused: whoever rewrote the whole log with
    the public formula and removed the anchor file would otherwise have the server vouch for it.
    `checked`: a person verified the chain first (`yilian audit anchor` on a log from before the key)."""
    since = last_anchor(path, key)
    with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        head = read_head(connection, since if kind == "head" else None)
        keyed = checked or _head_is_keyed(connection, head, key)
        connection.rollback()
    if not keyed:
        raise HeadNotKeyed(
            f"审计链末行未按密钥计算 / the audit log's last row (id {head.last_id}) does not carry the keyed "
            "hash: check it with `yilian audit verify`, then `yilian audit anchor`"
        )
    anchor = Anchor(kind, head.at, head.count, head.last_id, head.hash)
    if kind == "head" and since is not None and (since.count, since.hash) == (anchor.count, anchor.hash):
        return None
    append_anchor(path, anchor, key)
    return anchor


@dataclass
class LogReport:
    """What `yilian audit verify` says: the chain, then what the anchors vouch for."""

    ok: bool
    rows: int
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    first_bad_id: int | None = None
    # Rows and no anchor at all: nothing rules out truncation (a log from before anchors, or a
    # deleted anchor file). `yilian audit anchor` may then write the first one.
    unanchored: bool = False


def effective_anchors(anchors: list[Anchor]) -> tuple[list[Anchor], list[str]]:
    """Anchors still in force: a restore supersedes earlier ones beyond the restored count."""
    kept: list[Anchor] = []
    notes: list[str] = []
    for anchor in anchors:
        if anchor.kind == "restore":
            lost = max((a.count for a in kept), default=0) - anchor.count
            kept = [a for a in kept if a.count <= anchor.count]
            if lost > 0:
                notes.append(
                    f"{anchor.at} 从备份恢复，丢失 {lost} 行审计 / restored from a backup at {anchor.at}: "
                    f"{lost} audit rows anchored earlier were lost with it"
                )
        kept.append(anchor)
    return kept, notes


def verify_log(connection: Connection, path: Path | None, key: bytes) -> LogReport:
    """The chain recomputed under the key, then every anchor in force checked against it."""
    anchor_file = read_anchors(path, key) if path is not None else AnchorFile()
    anchors, notes = effective_anchors(anchor_file.anchors)
    chain = verify_chain(connection, key=key, positions={a.count for a in anchors if a.count > 0})
    report = LogReport(ok=True, rows=chain.checked, notes=notes, first_bad_id=chain.first_bad_id)
    problems = report.problems
    if not chain.ok:
        problems.append(
            f"审计链在第 {chain.first_bad_id} 行断开 / chain broken at row {chain.first_bad_id} "
            "(edited, removed before it, or recomputed without the key)"
        )
    for number in anchor_file.bad_lines:
        problems.append(f"锚点文件第 {number} 行被改动 / anchor line {number} of {path} is damaged or forged")
    if chain.ok:
        for anchor in anchors:
            if anchor.count == 0:
                continue
            if anchor.count > chain.checked:
                problems.append(
                    f"审计日志被截断：{anchor.at} 的锚点记录 {anchor.count} 行，现有 {chain.checked} 行 / "
                    f"log truncated: the anchor of {anchor.at} vouches for {anchor.count} rows, "
                    f"the table has {chain.checked}"
                )
            elif chain.hashes_at.get(anchor.count) != anchor.hash:
                problems.append(
                    f"审计日志被改写：第 {anchor.count} 行与 {anchor.at} 的锚点不符 / log rewritten: "
                    f"row {anchor.count} differs from the anchor of {anchor.at}"
                )
        vouched = max((a.count for a in anchors), default=0)
        if chain.legacy > vouched:
            problems.append(
                f"{chain.legacy} 行未加密钥且无锚点担保 / {chain.legacy} rows carry the unkeyed hash and "
                f"no anchor vouches for them (only {vouched})"
            )
        if path is None:
            notes.append("内存数据库无锚点 / an in-memory database has no anchors")
        elif not anchors and chain.checked:
            report.unanchored = True
            problems.append(
                f"没有锚点，无法排除截断 / no anchors in {path}: truncation cannot be ruled out "
                "(`yilian audit anchor` writes one once the chain is checked)"
            )
        elif anchors:
            after = chain.checked - vouched
            notes.append(
                f"最后锚点 {anchors[-1].at}，其后 {max(after, 0)} 行尚未锚定 / last anchor {anchors[-1].at}; "
                f"{max(after, 0)} rows after it are not anchored yet"
            )
        if chain.legacy:
            notes.append(f"{chain.legacy} 行为升级前的无密钥链 / {chain.legacy} rows predate the keyed chain")
    report.ok = not problems
    return report


class AnchorKeeper:
    """A thread that appends the head at start, every `seconds` when it has moved, and at stop."""

    def __init__(self, engine: Engine, path: Path, seconds: float, key: bytes) -> None:
        self.engine = engine
        self.path = path
        self.seconds = seconds
        self.key = key
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="audit-anchor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # At start too: what was written while no server ran (an import, a synth build, rows from
        # before the key) is vouched for from the first minute, not only after the first interval.
        self.anchor_now()
        while not self._stop.wait(self.seconds):
            self.anchor_now()

    def anchor_now(self) -> Anchor | None:
        """Never raises: a failed anchor is retried at the next interval (and logged)."""
        try:
            return write_anchor(self.engine, self.path, self.key)
        except Exception:  # noqa: BLE001 - the keeper must outlive a locked database or a full disk
            import logging

            logging.getLogger("yilian.audit").exception("audit anchor not written to %s", self.path)
            return None

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        self.anchor_now()
