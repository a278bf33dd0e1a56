"""Schemathesis against the OpenAPI document, once per role: no input answers 500.

The app runs in-process (ASGI, no server) on its own database, seeded with the small county of
tests/factories/world.py, through the production session dependency: every request commits or rolls
back as a served one would. Each role's run is bounded (examples per operation and a time limit), so
the whole module takes a few minutes on two cores. A failure names the operation, the status and the
request that caused it, as a curl command to replay.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events
from schemathesis.python import asgi
from sqlalchemy import Engine, text
from sqlalchemy.orm import sessionmaker

from tests.factories.auth import bearer, create_user
from tests.factories.world import build_world
from yilian.app import create_app
from yilian.auth import rules as roles
from yilian.auth.service import start_web_session
from yilian.config import Settings
from yilian.kit.clock import FixedClock
from yilian.kit.db import make_engine
from yilian.kit.migrate import upgrade
from yilian.models import User

NOW = datetime(2026, 11, 24, 9, 30)
ROLES = (
    "commission",
    "consortium_admin",
    "institution_admin",
    "doctor",
    "village_doctor",
    "insurance",
    "resident",
    "anonymous",
)
# Bounds of one role's run: examples per operation in the fuzzing phase (the coverage phase adds its
# boundary values: huge integers, long strings, missing fields), and seconds for the whole role.
MAX_EXAMPLES = int(os.environ.get("YILIAN_FUZZ_EXAMPLES", "4"))
MAX_SECONDS = int(os.environ.get("YILIAN_FUZZ_SECONDS", "0"))


@dataclass
class Fuzzed:
    app: object
    credentials: dict[str, dict[str, str]]


def _fresh_url(engine: Engine, tmp_path: Path) -> str:
    if engine.dialect.name == "sqlite":
        return f"sqlite:///{tmp_path / 'fuzz.db'}"
    name = f"yilian_fuzz_{os.getpid()}"
    with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    return engine.url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def fuzzed(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    tmp_path = tmp_path_factory.mktemp("fuzz")
    url = _fresh_url(engine, tmp_path)
    app = seeded_app(url, tmp_path)
    yield app
    asgi.shutdown_lifespans()
    app.app.state.db.engine.dispose()
    if engine.dialect.name == "postgresql":
        with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {make_engine(url).url.database} WITH (FORCE)"))


def seeded_app(url: str, tmp_path: Path) -> Fuzzed:
    """The platform on a database of its own (the engine under test), with a user and its
    credentials (a bearer token for the API, a session cookie for pages) for each role."""
    upgrade(url)
    setup_engine = make_engine(url)
    with sessionmaker(setup_engine, expire_on_commit=False)() as session:
        world = build_world(session)
        users: dict[str, User] = {
            "commission": world.commission,
            "consortium_admin": world.consortium_admin,
            "institution_admin": create_user(
                session, role=roles.INSTITUTION_ADMIN, institution_id=world.township_a.id
            ),
            "doctor": world.doctor,
            "village_doctor": create_user(
                session,
                role=roles.FAMILY_DOCTOR,
                institution_id=world.clinic_a.id,
                grid_ids=(world.grid_a.id,),
            ),
            "insurance": world.insurance,
            "resident": world.resident_user_a,
        }
        credentials = {"anonymous": {}}
        for role, user in users.items():
            credentials[role] = bearer(session, user) | {
                "Cookie": f"yl_session={start_web_session(session, user=user, now=NOW).session_token}"
            }
        session.commit()
    setup_engine.dispose()
    settings = Settings(database_url=url, secret_key="test", dicom_dir=str(tmp_path / "dicom"))
    return Fuzzed(create_app(settings, clock=FixedClock(NOW)), credentials)


def server_errors(
    app: object,
    headers: dict[str, str],
    *,
    max_examples: int = MAX_EXAMPLES,
    max_seconds: int = MAX_SECONDS,
    log: Callable[[str], None] | None = None,
) -> list[str]:
    """Runs Schemathesis' examples, coverage and fuzzing phases with `not_a_server_error` and
    returns one line per failing operation and status, with a request to replay it."""
    settings: dict[str, object] = {
        "seed": 20,
        "headers": headers,
        # A slow answer is not what this run looks for (a busy two-core machine takes seconds).
        "request-timeout": 300,
        "generation": {"max-examples": max_examples, "database": "none", "mode": "all", "no-shrink": True},
        "phases": {"stateful": {"enabled": False}},
        "checks": {"enabled": False, "not_a_server_error": {"enabled": True}},
        # No PACS is configured here: its operations answer 503 (none configured) by design, and 502
        # when one cannot be reached.
        "operations": [
            {
                "include-path-regex": "^/api/diagnostics/(pacs/|studies/)",
                "checks": {
                    "not_a_server_error": {"expected-statuses": ["1XX", "2XX", "3XX", "4XX", 502, 503]}
                },
            }
        ],
    }
    if max_seconds:
        settings["max-time"] = max_seconds
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, config=SchemathesisConfig.from_dict(settings)
    )
    found: dict[tuple[str, str], str] = {}
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            if log and event.elapsed_time > 2:
                log(f"slow: {event.phase.name} {event.recorder.label} {event.elapsed_time:.1f} s")
            for check in event.recorder.checks.values():
                for result in check:
                    if result.failure_info is not None:
                        failure = result.failure_info.failure
                        key = (event.recorder.label, f"{failure.title}: {failure.message}")
                        found.setdefault(key, result.failure_info.code_sample)
        elif isinstance(event, events.NonFatalError):
            found.setdefault((event.label, event.info.message), event.info.code_sample or "")
        elif isinstance(event, events.FatalError):
            raise event.exception
        elif isinstance(event, events.EngineFinished) and log:
            log(f"stopped: {event.stop_reason} after {event.running_time:.0f} s")
        elif isinstance(event, events.PhaseFinished) and log:
            log(f"{event.phase.name} done at {time.monotonic():.0f}")
    return [f"{label}: {what}\n    {sample}" for (label, what), sample in sorted(found.items())]


@pytest.mark.parametrize("role", ROLES)
def test_no_input_answers_500(fuzzed: Fuzzed, role: str) -> None:
    found = server_errors(fuzzed.app, fuzzed.credentials[role])
    assert not found, f"{len(found)} server errors for {role}:\n" + "\n".join(found)
