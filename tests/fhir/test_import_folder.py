"""`yilian fhir import DIR` twice: the second run adds nothing (decision 0021). The Synthea samples
are read where they are configured (YILIAN_SHARED_DIR); the test folder only links to a few."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from tests.factories.auth import CHEAP_SETTINGS
from tests.factories.fhir import synthea_dir
from yilian.cli import app
from yilian.config import get_settings
from yilian.fhir.rules import is_foreign_code
from yilian.kit.db import make_engine
from yilian.kit.migrate import upgrade
from yilian.models import (
    CareRelation,
    ClinicalObservation,
    Encounter,
    EncounterDiagnosis,
    FhirResource,
    Institution,
    Resident,
    ResidentIdentifier,
    VisitSummary,
)
from yilian.synth.build import build_synthetic_region

COUNTED = (
    Resident,
    ResidentIdentifier,
    Institution,
    Encounter,
    EncounterDiagnosis,
    CareRelation,
    ClinicalObservation,
    FhirResource,
)


def snapshot(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        out = {
            model.__tablename__: connection.scalar(select(func.count()).select_from(model)) or 0
            for model in COUNTED
        }
        out["visit_summary.visits"] = connection.scalar(
            select(func.coalesce(func.sum(VisitSummary.visits), 0))
        )
        return out


def foreign_visits(engine: Engine) -> tuple[int, int]:
    """Encounters at the imported hospitals, and the visits the monthly summary counts for them."""
    with engine.connect() as connection:
        codes = {i: code for i, code in connection.execute(select(Institution.id, Institution.code))}
        foreign = [i for i, code in codes.items() if is_foreign_code(code)]
        encounters = connection.scalar(
            select(func.count()).select_from(Encounter).where(Encounter.institution_id.in_(foreign))
        )
        visits = connection.scalar(
            select(func.coalesce(func.sum(VisitSummary.visits), 0)).where(
                VisitSummary.institution_id.in_(foreign)
            )
        )
        return encounters or 0, visits or 0


def test_importing_a_folder_twice_adds_nothing(
    fresh_database_url: str, tmp_path: Path, shared_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(fresh_database_url)
    build_synthetic_region(
        fresh_database_url,
        residents_per_county=30,
        demo_password="Demo-Pass-2026",
        console=Console(quiet=True),
        settings=CHEAP_SETTINGS,
        today=date(2026, 11, 24),
    )
    monkeypatch.setenv("YILIAN_DATABASE_URL", fresh_database_url)
    get_settings.cache_clear()
    samples = synthea_dir(shared_root)
    folder = tmp_path / "synthea"
    folder.mkdir()
    patients = sorted(p for p in samples.glob("*.json") if p.name[0].isupper())[:2]
    for path in [*patients, *samples.glob("hospitalInformation*.json")]:
        (folder / path.name).symlink_to(path)
    engine = make_engine(fresh_database_url)
    before = snapshot(engine)

    first = CliRunner().invoke(app, ["fhir", "import", str(folder), "--as", "yy1"])
    assert first.exit_code == 0, first.output
    once = snapshot(engine)
    assert once["resident"] == before["resident"] + 2
    assert once["encounter"] > before["encounter"] and once["fhir_resource"] > before["fhir_resource"]
    encounters, visits = foreign_visits(engine)
    assert encounters > 0 and visits == encounters

    # Today: every Encounter, Observation and stored resource again, and the visits counted twice.
    second = CliRunner().invoke(app, ["fhir", "import", str(folder), "--as", "yy1"])
    assert second.exit_code == 0, second.output
    assert snapshot(engine) == once
    assert foreign_visits(engine) == (encounters, visits)
    assert "新建 created 0 个资源" in second.output
    engine.dispose()
    get_settings.cache_clear()
