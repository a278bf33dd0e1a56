"""Backup and restore of either engine, each checked against a manifest taken in the backup's snapshot.

SQLite: the online backup API copies the live file in one step (one read transaction, so one
consistent snapshot while the server keeps writing). PostgreSQL: `pg_dump -Fc` under a snapshot
exported from a REPEATABLE READ transaction, in which the rows of every table are also counted and
the audit chain verified, so the manifest describes exactly what the archive holds. A restore
replaces the configured database with the backup (`pg_restore --clean --single-transaction`, or the
backup API in the other direction), then compares every table's row count and the audit chain's
head with the manifest, and appends a `restore` line to the database's anchor file (decision 0020).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, inspect, make_url, select, table, text

from yilian.kit.audit import verify_chain
from yilian.kit.audit_anchor import write_anchor
from yilian.kit.db import READ_ONLY, make_engine


class BackupError(RuntimeError):
    """A backup or restore that could not be made or does not match its manifest."""


@dataclass
class Manifest:
    engine: str
    taken_at: str
    revision: str | None
    counts: dict[str, int]
    audit_rows: int
    audit_head: str
    audit_chain_ok: bool
    audit_first_bad_id: int | None = None

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> Manifest:
        return cls(**json.loads(path.read_text()))


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + ".manifest.json")


@dataclass
class RestoreReport:
    manifest: Manifest
    counts: dict[str, int]
    audit_rows: int
    audit_head: str
    audit_chain_ok: bool
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _count_tables(connection: Connection) -> dict[str, int]:
    names = sorted(inspect(connection).get_table_names())
    return {
        name: int(connection.scalar(select(func.count()).select_from(table(name))) or 0) for name in names
    }


def _revision(connection: Connection, counts: dict[str, int]) -> str | None:
    if "alembic_version" not in counts:
        return None
    return connection.scalar(text("SELECT version_num FROM alembic_version"))


def _describe(connection: Connection, engine_name: str, key: bytes) -> Manifest:
    """Counts, revision and audit chain as one snapshot sees them (the caller holds it)."""
    counts = _count_tables(connection)
    chain = verify_chain(connection, key=key) if "audit_log" in counts else None
    return Manifest(
        engine=engine_name,
        taken_at=datetime.now(UTC).isoformat(timespec="seconds"),
        revision=_revision(connection, counts),
        counts=counts,
        audit_rows=chain.checked if chain else 0,
        audit_head=chain.head if chain else "",
        audit_chain_ok=chain.ok if chain else True,
        audit_first_bad_id=chain.first_bad_id if chain else None,
    )


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: YILIAN_PG_BIN_DIR, else the newest Debian cluster's, else the PATH."""
    configured = os.environ.get("YILIAN_PG_BIN_DIR")
    if configured:
        return str(Path(configured) / name)
    debian = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if debian:
        return str(debian[-1])
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"找不到 {name} / {name} not found: install PostgreSQL's client or set YILIAN_PG_BIN_DIR"
        )
    return found


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL for libpq (no driver name; the password through the environment, not the argv)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(argv: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(
            f"{Path(argv[0]).name} failed ({result.returncode}): {result.stderr.strip()[-2000:]}"
        )


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("内存数据库无法备份 / an in-memory database cannot be backed up")
    return Path(database)


def backup(url: str, destination: Path, key: bytes) -> Manifest:
    """Write a consistent backup of the database at `url` to `destination` and its manifest beside it."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    if make_url(url).get_backend_name() == "sqlite":
        source = sqlite3.connect(_sqlite_file(url), timeout=30)
        target = sqlite3.connect(partial)
        try:
            source.backup(target)  # pages=-1: the whole file in one step, one snapshot
        finally:
            target.close()
            source.close()
        engine = make_engine(f"sqlite:///{partial}")
        try:
            with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
                manifest = _describe(connection, "sqlite", key)
        finally:
            engine.dispose()
    else:
        manifest = _pg_dump(url, partial, key)
    partial.replace(destination)
    manifest.save(manifest_path(destination))
    return manifest


def _pg_dump(url: str, partial: Path, key: bytes) -> Manifest:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            uri, env = _libpq(url)
            # The dump reads the same snapshot the manifest is computed in, while it stays open.
            _run(
                [pg_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", f"--file={partial}", uri],
                env,
            )
            manifest = _describe(connection, "postgresql", key)
            connection.rollback()
    finally:
        engine.dispose()
    _run([pg_tool("pg_restore"), "--list", str(partial)], dict(os.environ))  # the archive reads back
    return manifest


def _has_tables(engine: Engine) -> bool:
    with engine.connect() as connection:
        names = inspect(connection).get_table_names()
        connection.rollback()
    return bool(names)


def restore(
    source: Path, url: str, key: bytes, *, anchors: Path | None = None, replace: bool = False
) -> RestoreReport:
    """Replace the database at `url` with the backup, then compare it with the backup's manifest."""
    manifest = Manifest.load(manifest_path(source))
    backend = make_url(url).get_backend_name()
    if backend != manifest.engine:
        raise BackupError(
            f"备份来自 {manifest.engine} / the backup is of {manifest.engine}, the target is {backend}"
        )
    engine = make_engine(url)
    try:
        if not replace and _has_tables(engine):
            raise BackupError(
                "目标数据库非空 / the target database has tables: restore with --replace to overwrite it"
            )
        if backend == "sqlite":
            engine.dispose()
            reader = sqlite3.connect(source)
            target = sqlite3.connect(_sqlite_file(url), timeout=30)
            try:
                reader.backup(target)
            finally:
                target.close()
                reader.close()
        else:
            uri, env = _libpq(url)
            _run(
                [
                    pg_tool("pg_restore"),
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                    f"--dbname={uri}",
                    str(source),
                ],
                env,
            )
        report = _compare(engine, manifest, key)
        if anchors is not None and report.ok:
            write_anchor(engine, anchors, key, kind="restore", checked=True)
        return report
    finally:
        engine.dispose()


def _compare(engine: Engine, manifest: Manifest, key: bytes) -> RestoreReport:
    with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
        found = _describe(connection, manifest.engine, key)
        connection.rollback()
    report = RestoreReport(manifest, found.counts, found.audit_rows, found.audit_head, found.audit_chain_ok)
    for name in sorted(set(manifest.counts) | set(found.counts)):
        expected, got = manifest.counts.get(name), found.counts.get(name)
        if expected != got:
            report.mismatches.append(f"{name}: 备份 backup {expected}, 恢复后 restored {got}")
    if (found.audit_rows, found.audit_head) != (manifest.audit_rows, manifest.audit_head):
        report.mismatches.append(
            f"audit_log 链头 head: backup {manifest.audit_rows} rows {manifest.audit_head[:16]}, "
            f"restored {found.audit_rows} rows {found.audit_head[:16]}"
        )
    if manifest.audit_chain_ok and not found.audit_chain_ok:
        report.mismatches.append(f"审计链断开 / audit chain broken at row {found.audit_first_bad_id}")
    return report
