"""`yilian backup` / `yilian restore` on the engine under test: a backup taken while the platform writes
restores to exactly what its manifest counted, with the audit chain intact."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, text
from typer.testing import CliRunner

from tests.factories.audit import event
from yilian.cli import app as cli
from yilian.config import get_settings
from yilian.kit.audit import DEMO_CHAIN_KEY, AuditEvent, append_events
from yilian.kit.audit_anchor import verify_log
from yilian.kit.backup import BackupError, Manifest, backup, manifest_path, restore
from yilian.kit.db import make_engine
from yilian.kit.migrate import upgrade
from yilian.models.institution import AdminDivision


@pytest.fixture
def target_database_url(engine: Engine, tmp_path: Path) -> Iterator[str]:
    """A second empty database of the engine under test, to restore into."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"yilian_restored_{os.getpid()}"
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield engine.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def reads(start: int, count: int) -> list[AuditEvent]:
    at = datetime(2026, 11, 24, 9, 0)
    return [
        AuditEvent(
            at=at + timedelta(seconds=n),
            user_id=1,
            username="jtys1",
            role="家庭医生",
            action="read",
            entity="resident",
            entity_id=str(n % 500),
            resident_id=n % 500,
            endpoint=f"GET /api/residents/{n % 500}",
        )
        for n in range(start, start + count)
    ]


class Load:
    """Two writers as a server has them: audit batches, and registry rows, each in its own transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.stop = threading.Event()
        self.audit_rows = 0
        self.divisions = 0
        self.threads = [threading.Thread(target=self._audit), threading.Thread(target=self._registry)]

    def _audit(self) -> None:
        while not self.stop.is_set():
            with self.engine.begin() as connection:
                append_events(connection, reads(100_000 + self.audit_rows, 20), DEMO_CHAIN_KEY)
            self.audit_rows += 20
            self.stop.wait(0.005)  # a server's pace, not a loop that holds the GIL and the write lock

    def _registry(self) -> None:
        while not self.stop.is_set():
            with self.engine.begin() as connection:
                code = f"{900000 + self.divisions}"
                connection.execute(insert(AdminDivision).values(code=code, name=f"乡{code}", level="county"))
            self.divisions += 1
            self.stop.wait(0.005)

    def written(self) -> tuple[int, int]:
        return self.audit_rows, self.divisions

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def test_a_backup_under_write_load_restores_with_equal_counts_and_an_intact_chain(
    fresh_database_url: str, target_database_url: str, tmp_path: Path
) -> None:
    upgrade(fresh_database_url)
    source = make_engine(fresh_database_url)
    with source.begin() as connection:
        append_events(connection, reads(0, 5_000), DEMO_CHAIN_KEY)
    archive = tmp_path / "yilian.backup"
    key = DEMO_CHAIN_KEY
    with Load(source) as load:
        while min(load.written()) < 5:
            load.stop.wait(0.01)
        before = load.written()
        manifest = backup(fresh_database_url, archive, key)
        during = load.written()
    # The platform kept writing while the backup was taken, and kept its chain.
    assert during[0] > before[0] and during[1] > before[1]
    assert Manifest.load(manifest_path(archive)) == manifest
    assert manifest.audit_chain_ok and manifest.counts["audit_log"] == manifest.audit_rows
    assert 5_000 < manifest.audit_rows < 5_000 + load.audit_rows
    assert manifest.revision is not None and manifest.counts["admin_division"] > 0

    anchors = tmp_path / "restored.anchors"
    report = restore(archive, target_database_url, key, anchors=anchors)
    assert report.ok, report.mismatches
    assert report.counts == manifest.counts
    assert (report.audit_rows, report.audit_head) == (manifest.audit_rows, manifest.audit_head)
    target = make_engine(target_database_url)
    with target.connect() as connection:
        log = verify_log(connection, anchors, key)  # the restore line anchors the restored head
        assert log.ok and log.rows == manifest.audit_rows, log.problems
        connection.rollback()
    # The restored database goes on: the chain continues from the restored head.
    with target.begin() as connection:
        append_events(connection, [event(1)], DEMO_CHAIN_KEY)
    with target.connect() as connection:
        assert verify_log(connection, anchors, key).ok
        connection.rollback()
    target.dispose()
    source.dispose()


def test_restore_refuses_a_database_that_has_tables_unless_told(
    fresh_database_url: str, target_database_url: str, tmp_path: Path
) -> None:
    upgrade(fresh_database_url)
    upgrade(target_database_url)
    archive = tmp_path / "yilian.backup"
    backup(fresh_database_url, archive, DEMO_CHAIN_KEY)
    with pytest.raises(BackupError, match="--replace"):
        restore(archive, target_database_url, DEMO_CHAIN_KEY)
    assert restore(archive, target_database_url, DEMO_CHAIN_KEY, replace=True).ok


def test_the_commands_back_up_and_restore(
    fresh_database_url: str, target_database_url: str, tmp_path: Path
) -> None:
    upgrade(fresh_database_url)
    source = make_engine(fresh_database_url)
    with source.begin() as connection:
        append_events(connection, reads(0, 50), DEMO_CHAIN_KEY)
    source.dispose()
    archive = tmp_path / "nightly.backup"
    runner = CliRunner()
    env = {"YILIAN_AUDIT_ANCHOR_DIR": str(tmp_path / "anchors")}
    try:
        get_settings.cache_clear()
        made = runner.invoke(
            cli, ["backup", str(archive)], env={**env, "YILIAN_DATABASE_URL": fresh_database_url}
        )
        assert made.exit_code == 0, made.output
        get_settings.cache_clear()
        back = runner.invoke(
            cli, ["restore", str(archive)], env={**env, "YILIAN_DATABASE_URL": target_database_url}
        )
        assert back.exit_code == 0, back.output
        assert "audit chain 50 rows intact" in " ".join(back.output.split())
        get_settings.cache_clear()
        checked = runner.invoke(
            cli, ["audit", "verify"], env={**env, "YILIAN_DATABASE_URL": target_database_url}
        )
        assert checked.exit_code == 0, checked.output
    finally:
        get_settings.cache_clear()


def test_restoring_over_the_database_rewinds_its_anchors_and_says_what_was_lost(
    fresh_database_url: str, tmp_path: Path
) -> None:
    """Anchors written after the backup vouch for rows the restore removes: the restore's line
    supersedes them, so verify passes and says how many anchored rows were lost with the restore."""
    from yilian.kit.audit_anchor import write_anchor

    upgrade(fresh_database_url)
    engine = make_engine(fresh_database_url)
    anchors, archive, key = tmp_path / "live.anchors", tmp_path / "live.backup", DEMO_CHAIN_KEY
    with engine.begin() as connection:
        append_events(connection, reads(0, 30), DEMO_CHAIN_KEY)
    write_anchor(engine, anchors, key)
    backup(fresh_database_url, archive, key)
    with engine.begin() as connection:
        append_events(connection, reads(30, 12), DEMO_CHAIN_KEY)
    write_anchor(engine, anchors, key)
    engine.dispose()
    assert restore(archive, fresh_database_url, key, anchors=anchors, replace=True).ok
    with engine.connect() as connection:
        report = verify_log(connection, anchors, key)
        connection.rollback()
    assert report.ok and report.rows == 30, report.problems
    assert any("12 audit rows anchored earlier were lost" in note for note in report.notes)
    engine.dispose()
