"""A served synthetic county with Synthea's sample Bundles imported, for tests that walk what a
reader receives (references resolve, an independent R4 validator, bulk export). Built once per
test session on the engine under test."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import Engine, select, text

from tests.factories.auth import CHEAP_SETTINGS
from yilian.app import create_app
from yilian.auth import repository
from yilian.auth.context import Actor
from yilian.auth.service import do_create_api_token, subject_of
from yilian.config import Settings
from yilian.fhir.api import _context
from yilian.fhir.ingest import transaction
from yilian.kit.audit import DEMO_CHAIN_KEY, AuditWriter
from yilian.kit.clock import SystemClock
from yilian.kit.db import Database
from yilian.kit.migrate import upgrade
from yilian.models import User
from yilian.synth.build import build_synthetic_region

RESIDENTS = 400


@dataclass
class County:
    url: str
    client: TestClient
    commission: dict[str, str]  # Authorization headers
    doctor: dict[str, str]
    settings: Settings


def synthea_folder(shared_root: Path) -> Path:
    folder = Path(os.environ.get("YILIAN_SYNTHEA_DIR") or shared_root / "fhir-samples" / "synthea-r4")
    if not folder.is_dir():
        pytest.fail(f"no Synthea samples at {folder}: set YILIAN_SYNTHEA_DIR or YILIAN_SHARED_DIR")
    return folder


def import_synthea(database: Database, folder: Path, username: str) -> None:
    """Every Bundle of the folder, as `yilian fhir import` does."""
    writer = AuditWriter(database.engine, key=DEMO_CHAIN_KEY)
    writer.start()
    try:
        with database.session_factory.begin() as session:
            user = repository.user_by_username(session, username)
            assert user is not None
            actor = Actor(
                subject=subject_of(session, user), endpoint="test import", audit=writer, clock=SystemClock()
            )
            context = _context(session, actor)
            for path in sorted(folder.glob("*.json")):
                context.references.clear()
                transaction(session, context, json.loads(path.read_text(encoding="utf-8")))
            context.audit(session)
    finally:
        writer.stop()


def module_database_url(engine: Engine, folder: Path, name: str) -> Iterator[str]:
    if engine.dialect.name == "sqlite":
        yield f"sqlite:///{folder / 'county.db'}"
        return
    database = f"yilian_{name}_{os.getpid()}"
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {database}"))
        connection.execute(text(f"CREATE DATABASE {database}"))
    yield engine.url.set(database=database).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))


@pytest.fixture(scope="session")
def county(engine: Engine, tmp_path_factory: pytest.TempPathFactory, shared_root: Path) -> Iterator[County]:
    folder = tmp_path_factory.mktemp("fhir-county")
    for url in module_database_url(engine, folder, "fhircounty"):
        upgrade(url)
        build_synthetic_region(
            url,
            residents_per_county=RESIDENTS,
            seed=11,
            years=1,
            demo_password="Demo-Pass-2026",
            console=Console(quiet=True),
            settings=CHEAP_SETTINGS,
            today=date(2026, 11, 24),
        )
        database = Database(url, pool_size=4, max_overflow=4)
        import_synthea(database, synthea_folder(shared_root), "yy1")
        with database.session_factory.begin() as session:
            tokens = {}
            for username in ("wjj1", "ys1"):
                user = session.scalar(select(User).where(User.username == username))
                assert user is not None
                tokens[username] = {
                    "Authorization": "Bearer "
                    + do_create_api_token(
                        session, user=user, name="fhir", now=datetime(2026, 11, 1), scopes="user/*.*"
                    )
                }
        database.engine.dispose()
        settings = Settings(
            database_url=url, dicom_dir=str(folder / "dicom"), fhir_export_dir=str(folder / "exports")
        )
        with TestClient(create_app(settings)) as client:
            yield County(url, client, tokens["wjj1"], tokens["ys1"], settings)
