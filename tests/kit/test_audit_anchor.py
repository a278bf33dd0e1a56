"""The keyed audit chain and its anchors outside the database (decision 0020), through `yilian audit
verify` as an operator runs it, on the engine under test."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, delete, func, insert, select
from typer.testing import CliRunner, Result

from tests.factories.audit import drop_guards, event
from yilian.cli import app as cli
from yilian.config import Settings, get_settings
from yilian.kit import audit as audit_module
from yilian.kit.audit import (
    GENESIS,
    AuditEvent,
    ChainKeyMissing,
    append_events,
    audit_table,
    chain_hash,
    legacy_chain_hash,
    load_chain_key,
)
from yilian.kit.audit_anchor import (
    AnchorKeeper,
    anchor_path,
    append_anchor,
    read_head,
    verify_log,
    write_anchor,
)
from yilian.kit.db import make_engine
from yilian.kit.migrate import upgrade
from yilian.models import AuditLog

KEY = bytes(range(32))


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    """The site's key in a file (what the test appends is chained under it too)."""
    path = tmp_path / "audit.key"
    path.write_text(KEY.hex() + "\n")
    return path


@pytest.fixture
def log(fresh_database_url: str) -> Iterator[Engine]:
    """A database of the engine under test with six audited reads of residents 7 and 8, committed."""
    upgrade(fresh_database_url)
    engine = make_engine(fresh_database_url)
    yield engine
    engine.dispose()


def write_reads(engine: Engine, minutes: range) -> None:
    with engine.begin() as connection:
        append_events(connection, [event(n, resident_id=7 + n % 2) for n in minutes], KEY)


def verify(engine: Engine, anchors: Path, key_file: Path) -> Result:
    """`yilian audit verify` in a site's environment: its database, key file and anchor file."""
    env = {
        "YILIAN_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "YILIAN_AUDIT_KEY_FILE": str(key_file),
        "YILIAN_AUDIT_ANCHOR_FILE": str(anchors),
        "YILIAN_DEMO": "0",
    }
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, ["audit", "verify"], env=env)
    finally:
        get_settings.cache_clear()


def said(result: Result) -> str:
    """The command's output with the terminal's line wrapping undone."""
    return " ".join(result.output.split())


def rechain_without(
    connection: Connection, resident_id: int, formula: Callable[[str, AuditEvent], str]
) -> None:
    """What someone with the database's rights but not the key does: remove a resident's rows and
    recompute every hash after them so that each row links to the one before."""
    drop_guards(connection)
    rows = connection.execute(select(audit_table).order_by(audit_table.c.id)).mappings().all()
    connection.execute(delete(audit_table))
    prev = GENESIS
    for row in rows:
        if row["resident_id"] == resident_id:
            continue
        fields = {name: row[name] for name in AuditEvent.__dataclass_fields__}
        digest = formula(prev, AuditEvent(**fields))
        connection.execute(insert(audit_table).values(id=row["id"], **fields, prev_hash=prev, hash=digest))
        prev = digest


def test_an_untouched_log_verifies(log: Engine, key_file: Path, tmp_path: Path) -> None:
    anchors = tmp_path / "site.anchors"
    write_reads(log, range(6))
    assert write_anchor(log, anchors, KEY) is not None
    write_reads(log, range(6, 8))  # written after the last anchor: still verified by the chain
    result = verify(log, anchors, key_file)
    assert result.exit_code == 0, result.output
    assert "8 rows" in said(result) and "2 rows after it are not anchored" in said(result)


def test_deleting_the_last_rows_fails_verify(log: Engine, key_file: Path, tmp_path: Path) -> None:
    """A prefix of a valid chain is a valid chain: only the anchor outside the table shows the cut."""
    anchors = tmp_path / "site.anchors"
    write_reads(log, range(6))
    write_anchor(log, anchors, KEY)
    with log.begin() as connection:
        drop_guards(connection)
        last_two = connection.scalars(select(AuditLog.id).order_by(AuditLog.id.desc()).limit(2)).all()
        connection.execute(delete(AuditLog).where(AuditLog.id.in_(last_two)))
    result = verify(log, anchors, key_file)
    assert result.exit_code == 1
    assert "log truncated" in said(result) and "vouches for 6 rows, the table has 4" in said(result)


@pytest.mark.parametrize(
    "formula",
    [legacy_chain_hash, lambda prev, e: chain_hash(prev, e, b"guessed-key-guessed-key-guessed!")],
    ids=["the-unkeyed-formula", "a-guessed-key"],
)
def test_deleting_a_residents_rows_and_rechaining_without_the_key_fails_verify(
    log: Engine, key_file: Path, tmp_path: Path, formula: Callable[[str, AuditEvent], str]
) -> None:
    anchors = tmp_path / "site.anchors"
    write_reads(log, range(6))
    write_anchor(log, anchors, KEY)
    with log.begin() as connection:
        rechain_without(connection, resident_id=8, formula=formula)
        assert connection.scalar(select(func.count()).select_from(AuditLog)) == 3
    result = verify(log, anchors, key_file)
    assert result.exit_code == 1, result.output
    # Without the anchor file too (deleted by the same hand), the unkeyed chain vouches for nothing.
    anchors.unlink()
    result = verify(log, anchors, key_file)
    assert result.exit_code == 1, result.output
    assert "no anchors" in said(result) or "chain broken" in said(result)


def test_a_forged_or_edited_anchor_line_is_reported(connection: Connection, tmp_path: Path) -> None:
    anchors = tmp_path / "site.anchors"
    append_events(connection, [event(1), event(2)], KEY)
    append_anchor(anchors, read_head(connection), KEY)
    line = json.loads(anchors.read_text())
    line["count"] = 1  # lowered to cover a truncation
    anchors.write_text(json.dumps(line) + "\n")
    report = verify_log(connection, anchors, KEY)
    assert not report.ok and any("anchor line 1" in problem for problem in report.problems)


def test_a_log_upgraded_in_place_verifies_only_while_an_anchor_vouches_for_its_unkeyed_rows(
    connection: Connection, tmp_path: Path
) -> None:
    """Rows written before decision 0020 carry SHA-256; they stay valid as a prefix that an anchor
    (written with the key once the platform is upgraded) vouches for, and never after keyed rows."""
    anchors = tmp_path / "site.anchors"
    base = connection.scalar(select(func.count()).select_from(AuditLog))
    assert base == 0
    prev = GENESIS
    for n in (1, 2):
        digest = legacy_chain_hash(prev, event(n))
        connection.execute(insert(audit_table).values(**vars(event(n)), prev_hash=prev, hash=digest))
        prev = digest
    key = KEY
    report = verify_log(connection, anchors, key)
    assert not report.ok and report.unanchored
    append_anchor(anchors, read_head(connection), key)  # `yilian audit anchor` after the upgrade
    append_events(connection, [event(3)], KEY)  # keyed from now on
    report = verify_log(connection, anchors, key)
    assert report.ok, report.problems
    # An unkeyed row after a keyed one is a forgery, whatever the anchors say.
    last = connection.scalar(select(AuditLog.hash).order_by(AuditLog.id.desc()).limit(1)) or ""
    connection.execute(
        insert(audit_table).values(**vars(event(4)), prev_hash=last, hash=legacy_chain_hash(last, event(4)))
    )
    report = verify_log(connection, anchors, key)
    assert not report.ok and report.first_bad_id is not None


def test_the_keeper_anchors_the_head_at_intervals_and_at_stop(tmp_path: Path, key_file: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    upgrade(url)
    engine = make_engine(url)
    anchors = tmp_path / "kept.anchors"
    keeper = AnchorKeeper(engine, anchors, seconds=0.05, key=KEY)

    def counts() -> list[int]:
        return (
            [json.loads(line)["count"] for line in anchors.read_text().splitlines()]
            if anchors.exists()
            else []
        )

    write_reads(engine, range(3))  # written while no server ran (an import, a synth build)
    keeper.start()
    for _ in range(200):
        if 3 in counts():
            break
        keeper._stop.wait(0.05)
    write_reads(engine, range(3, 5))
    keeper.stop()
    # At start, then at an interval or at stop, and never the same head twice in a row.
    assert counts() == [3, 5]
    with engine.connect() as connection:
        assert verify_log(connection, anchors, KEY).ok
        connection.rollback()
    engine.dispose()


def test_outside_demo_mode_there_is_no_default_key(tmp_path: Path) -> None:
    with pytest.raises(ChainKeyMissing):
        load_chain_key(Settings(demo=False, audit_key_file=None))
    short = tmp_path / "short.key"
    short.write_text("abcd")
    with pytest.raises(ChainKeyMissing):
        load_chain_key(Settings(demo=False, audit_key_file=str(short)))
    assert load_chain_key(Settings(demo=True)) == audit_module.DEMO_CHAIN_KEY


def test_each_database_has_its_own_anchor_file(tmp_path: Path) -> None:
    one = anchor_path(
        Settings(database_url=f"sqlite:///{tmp_path / 'a' / 'y.db'}", audit_anchor_dir=str(tmp_path))
    )
    two = anchor_path(
        Settings(database_url=f"sqlite:///{tmp_path / 'b' / 'y.db'}", audit_anchor_dir=str(tmp_path))
    )
    pg = anchor_path(
        Settings(database_url="postgresql+psycopg://u@db:5433/yilian", audit_anchor_dir=str(tmp_path))
    )
    assert one and two and pg and len({one, two, pg}) == 3 and pg.name == "postgresql-db-5433-yilian.anchors"
    assert anchor_path(Settings(database_url="sqlite://")) is None


def test_the_server_refuses_to_start_without_a_key_outside_demo_mode() -> None:
    from yilian.app import create_app
    from yilian.kit.audit import AuditWriter
    from yilian.kit.db import Database

    with pytest.raises(ChainKeyMissing):
        create_app(
            Settings(database_url="sqlite://", secret_key="test", demo=False),
            database=Database.__new__(Database),
            audit=AuditWriter(),
        )


def test_a_served_app_anchors_what_its_writer_wrote_when_it_stops(
    fresh_database_url: str, tmp_path: Path
) -> None:
    """create_app starts the keeper beside the audit writer; at shutdown, after the writer has
    drained, the anchor file says the chain's head, and the log verifies against it."""
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import sessionmaker

    from tests.factories.auth import bearer
    from tests.factories.residents import create_resident
    from tests.factories.world import build_world
    from yilian.app import create_app

    upgrade(fresh_database_url)
    engine = make_engine(fresh_database_url)
    with sessionmaker(engine, expire_on_commit=False)() as setup:
        world = build_world(setup)
        resident = create_resident(setup, grid=world.grid_a)
        doctor = bearer(setup, world.family_doctor_a)
        setup.commit()
    anchors = tmp_path / "served.anchors"
    settings = Settings(database_url=fresh_database_url, secret_key="test", audit_anchor_file=str(anchors))
    with TestClient(create_app(settings)) as client:
        assert client.get(f"/api/residents/{resident.id}", headers=doctor).status_code == 200
    with engine.connect() as connection:
        audited = connection.scalar(select(func.count()).select_from(AuditLog))
        report = verify_log(connection, anchors, load_chain_key(settings))
        connection.rollback()
    last = json.loads(anchors.read_text().splitlines()[-1])
    assert audited and last["count"] == audited and report.ok, report.problems
    engine.dispose()


def test_the_keeper_does_not_vouch_for_a_log_rewritten_with_the_public_formula(
    log: Engine, key_file: Path, tmp_path: Path
) -> None:
    """Rewrite every row with the unkeyed formula, delete the anchor file, restart the server: its
    keeper refuses to anchor a head it cannot verify, so the log still fails verify."""
    anchors = tmp_path / "site.anchors"
    write_reads(log, range(6))
    write_anchor(log, anchors, KEY)
    with log.begin() as connection:
        rechain_without(connection, resident_id=8, formula=legacy_chain_hash)
    anchors.unlink()
    assert AnchorKeeper(log, anchors, seconds=60, key=KEY).anchor_now() is None
    assert not anchors.exists()
    result = verify(log, anchors, key_file)
    assert result.exit_code == 1 and "no anchors" in said(result)
