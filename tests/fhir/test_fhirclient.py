"""A real FHIR client against a live server: the `fhirclient` package reads, searches and creates,
and what it parses into its R4 models round-trips to the same JSON the platform sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
import requests
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.auth import CHEAP_SETTINGS
from tests.factories.live import live_app
from yilian.auth.service import do_create_api_token
from yilian.config import Settings
from yilian.kit.db import make_engine
from yilian.kit.migrate import upgrade
from yilian.models import User
from yilian.synth.build import build_synthetic_region


@pytest.fixture
def live(fresh_database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    upgrade(fresh_database_url)
    build_synthetic_region(
        fresh_database_url,
        residents_per_county=300,
        demo_password="Demo-Pass-2026",
        console=Console(quiet=True),
        settings=CHEAP_SETTINGS,
        today=date(2026, 11, 24),
    )
    engine = make_engine(fresh_database_url)
    with Session(engine) as session:
        user = session.scalar(select(User).where(User.username == "yy1"))
        assert user is not None
        token = do_create_api_token(session, user=user, name="fhirclient", now=datetime.now())
        session.commit()
    engine.dispose()
    settings = Settings(database_url=fresh_database_url, dicom_dir=str(tmp_path / "dicom"), secret_key="test")
    with live_app(settings) as base:
        yield f"{base}/fhir/", token


def test_fhirclient_reads_searches_and_creates(live: tuple[str, str]) -> None:
    from fhirclient import client
    from fhirclient.models.encounter import Encounter
    from fhirclient.models.observation import Observation
    from fhirclient.models.organization import Organization
    from fhirclient.models.patient import Patient

    base, token = live
    smart = client.FHIRClient(settings={"app_id": "yilian-test", "api_base": base})
    smart.server.session.headers["Authorization"] = f"Bearer {token}"
    statement = smart.server.capabilityStatement
    assert statement.fhirVersion == "4.0.1"

    # fhirclient follows the Bundle's next links: pages of 50 add up to the total.
    auth = {"Authorization": f"Bearer {token}"}
    total = requests.get(f"{base}Patient?_count=1", headers=auth, timeout=10).json()["total"]
    patients = list(Patient.where(struct={"_count": "50"}).perform_resources_iter(smart.server))
    assert total > 50 and len(patients) == total == len({p.id for p in patients})
    raw = requests.get(
        f"{base}Patient/{patients[0].id}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).json()
    read = Patient.read(patients[0].id, smart.server)
    assert read.as_json() == raw  # parsed into R4 models and back: the same JSON
    assert read.identifier[0].system == "urn:yilian:sid:cn-resident-id"

    encounters = list(
        Encounter.where(struct={"patient": f"Patient/{read.id}"}).perform_resources_iter(smart.server)
    )
    for encounter in encounters:
        assert encounter.subject.reference == f"Patient/{read.id}"
    organization = (
        Organization.read(encounters[0].serviceProvider.reference.split("/")[1], smart.server)
        if encounters
        else None
    )
    assert organization is None or organization.name

    glucose = Observation(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0", "display": "Glucose"}]},
            "subject": {"reference": f"Patient/{read.id}"},
            "effectiveDateTime": "2026-11-20T08:10:00+08:00",
            "valueQuantity": {"value": 6.1, "unit": "mmol/L"},
        }
    )
    created = glucose.create(smart.server)
    assert created is not None and created["resourceType"] == "Observation"
    found = list(
        Observation.where(struct={"patient": read.id, "code": "2339-0"}).perform_resources_iter(smart.server)
    )
    assert [o.valueQuantity.value for o in found] == [6.1]
    assert json.loads(json.dumps(found[0].as_json()))["subject"] == {"reference": f"Patient/{read.id}"}
