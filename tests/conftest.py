"""Migrations run once per test session; each test runs inside a transaction rolled back at the end.
Requests go through the production session dependency; their sessions join the test's transaction
as savepoints (`test_database`).

The database is SQLite by default; set YILIAN_TEST_DATABASE_URL to a PostgreSQL URL to run the same
tests on PostgreSQL (scripts/test does both).

scripts/test runs the suite in one process per core (pytest-xdist, decision 0037): each worker has its
own database (SQLite under its own temporary directory; on PostgreSQL `<database>_<worker>`, made
here), and the tests that share a costly session fixture (the journeys' served county, the FHIR
county, Orthanc) are kept on one worker each, so each is built once.
"""

from __future__ import annotations

import os

# Tests run as a demo install: the audit chain's public demo key (decision 0020). A test that needs
# another setting says so in its own Settings.
os.environ.setdefault("YILIAN_DEMO", "1")

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from tests.factories.auth import CHEAP_PASSWORDS
from yilian.app import create_app
from yilian.config import Settings, drg_scheme_dir, get_settings
from yilian.insurance.drg.scheme import Scheme, cached_scheme
from yilian.kit.audit import DEMO_CHAIN_KEY, AuditWriter
from yilian.kit.clock import FixedClock
from yilian.kit.db import Database, make_engine
from yilian.kit.migrate import upgrade

NOW = datetime(2026, 11, 24, 9, 30)


def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("YILIAN_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = make_engine(url)
    name = f"{base.url.database}_{worker}"
    with base.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    base.dispose()
    return base.url.set(database=name).render_as_string(hide_password=False)


# Session fixtures built once per worker: the tests that use one run on the same worker.
SHARED_FIXTURES = {"orthanc_url": "orthanc"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        fixtures = set(getattr(item, "fixturenames", ()))
        if "journeys" in path.parts:
            group = "journeys"
        elif "fhir" in path.parts and "county" in fixtures:
            group = "fhir-county"
        else:
            group = next((g for name, g in SHARED_FIXTURES.items() if name in fixtures), "")
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(autouse=True)
def settings_read_afresh() -> Iterator[None]:
    """A CLI test points the environment at its own database and clears get_settings' cache; the
    environment is restored after the test, and so is the cache, so no later test reads its values."""
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = database_url(tmp_path_factory)
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    with engine.begin() as connection:
        upgrade(connection=connection)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def audit_anchor_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A served app's anchor keeper writes under the test run's temporary directory, not var/."""
    path = tmp_path_factory.mktemp("audit-anchors")
    previous = os.environ.get("YILIAN_AUDIT_ANCHOR_DIR")
    os.environ["YILIAN_AUDIT_ANCHOR_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("YILIAN_AUDIT_ANCHOR_DIR", None)
    else:
        os.environ["YILIAN_AUDIT_ANCHOR_DIR"] = previous


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    with Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as session:
        yield session


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def audit() -> AuditWriter:
    """No thread in tests: tests drain the queue through their own connection."""
    return AuditWriter(engine=None, key=DEMO_CHAIN_KEY)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url="sqlite://",
        secret_key="test",
        dicom_dir=str(tmp_path / "dicom"),
        **CHEAP_PASSWORDS,  # type: ignore[arg-type]
    )


def test_database(connection: Connection) -> Database:
    """A Database whose sessions join the test's connection: each request's session (made by the
    production `get_session`) begins a SAVEPOINT on it, and its commit or rollback releases or rolls
    back that savepoint — the request commits, rolls back, closes its session and runs its
    after-commit work as in production, while the test's outer transaction still undoes everything.
    Its `url` is empty: what would open the database itself (DuckDB) would see none of the test's
    uncommitted data, so it is told there is no database to open (`not url`), as production is
    never told."""
    database = Database.__new__(Database)
    database.url = ""
    database.engine = connection.engine
    database.session_factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    database.read_session_factory = database.session_factory
    return database


@pytest.fixture
def client(
    connection: Connection, session: Session, clock: FixedClock, audit: AuditWriter, settings: Settings
) -> Iterator[TestClient]:
    """Requests through the production session dependency, on the test's connection.

    The test's own session (factories, assertions) is a second session on the same connection: what
    it holds is flushed before each request, and it forgets what it loaded after each response, so
    it reads what the request committed."""
    app = create_app(settings, database=test_database(connection), clock=clock, audit=audit)

    def before_request(_request: Any) -> None:
        session.flush()

    def after_response(_response: Any) -> None:
        session.expire_all()

    with TestClient(app) as test_client:
        test_client.event_hooks = {"request": [before_request], "response": [after_response]}
        yield test_client


@pytest.fixture(scope="session")
def shared_root() -> Path:
    """../shared, where the third-party data sets live (configurable)."""
    return Path(os.environ.get("YILIAN_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))


@pytest.fixture(scope="session")
def drg_scheme_path() -> Path:
    """The CHS-DRG 1.1 scheme: YILIAN_DRG_SCHEME_DIR, else ../shared/drg/chs-drg-1.1 (as the app)."""
    path = drg_scheme_dir(Settings())
    if not (path / "rules" / "mdc_rules.json").is_file():
        pytest.fail(f"no CHS-DRG scheme at {path}: set YILIAN_DRG_SCHEME_DIR to the scheme directory")
    return path


@pytest.fixture(scope="session")
def drg_scheme(drg_scheme_path: Path) -> Scheme:
    return cached_scheme(str(drg_scheme_path))


@pytest.fixture
def fresh_database_url(engine: Engine, tmp_path: Path) -> Iterator[str]:
    """An empty database of the engine under test, for work that needs its own (synth, migrations)."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"yilian_fresh_{os.getpid()}"
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield engine.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
