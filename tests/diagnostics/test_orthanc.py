"""The shared imaging centre and its PACS: a real Orthanc on 127.0.0.1, reached through its REST API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.diagnostics import open_centres, study_files, upload
from tests.factories.world import build_world
from yilian.config import Settings
from yilian.diagnostics.orthanc import OrthancClient
from yilian.models import ExamOrder, ImagingStudy


def order(client: TestClient, headers: dict[str, str], resident_id: int) -> dict:
    response = client.post(
        "/api/diagnostics/orders", json={"resident_id": resident_id, "item_code": "DR-CHEST"}, headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_push_to_orthanc_find_it_and_pull_a_study_sent_straight_to_the_pacs(
    client: TestClient, session: Session, settings: Settings, orthanc_url: str
) -> None:
    settings.orthanc_url = orthanc_url
    world = build_world(session)
    centres = open_centres(client, session, world)

    # A township's study filed with the platform, then pushed to the centre's PACS.
    first = order(client, centres.township_doctor, world.resident_a.id)
    files = study_files(
        patient_id=world.resident_a.id_number, accession=first["accession_number"], instances=2
    )
    upload(client, centres.township_doctor, files)
    study_uid = session.scalar(select(ImagingStudy.study_uid).where(ImagingStudy.order_id == first["id"]))
    pushed = client.post(f"/api/diagnostics/studies/{study_uid}/push", headers=centres.reader)
    assert pushed.status_code == 200, pushed.text
    orthanc_id = pushed.json()["orthanc_id"]
    found = client.get(
        "/api/diagnostics/pacs/studies",
        params={"accession_number": first["accession_number"]},
        headers=centres.reader,
    ).json()
    assert [(s["orthanc_id"], s["study_uid"], s["instances"]) for s in found] == [(orthanc_id, study_uid, 2)]
    assert (
        session.scalar(select(ImagingStudy.orthanc_id).where(ImagingStudy.study_uid == study_uid))
        == orthanc_id
    )

    # A modality sends a second study straight to Orthanc; the centre looks it up and pulls it in.
    second = order(client, centres.township_doctor, world.resident_a.id)
    pacs = OrthancClient(orthanc_url)
    for _, data in study_files(
        patient_id=world.resident_a.id_number, accession=second["accession_number"], instances=3
    ):
        pacs.push_instance(data)
    by_patient = pacs.find_studies(patient_id=world.resident_a.id_number)
    assert sorted(s.instances for s in by_patient) == [2, 3]
    pacs.close()
    (direct,) = [s for s in by_patient if s.accession_number == second["accession_number"]]
    pulled = client.post(f"/api/diagnostics/pacs/studies/{direct.orthanc_id}/pull", headers=centres.reader)
    assert pulled.status_code == 200, pulled.text
    assert (pulled.json()["filed"], pulled.json()["orders_acquired"]) == (3, 1)
    assert session.get(ExamOrder, second["id"]).status == "acquired"  # type: ignore[union-attr]
    assert session.scalar(select(ImagingStudy.orthanc_id).where(ImagingStudy.order_id == second["id"])) == (
        direct.orthanc_id
    )


def test_unreachable_pacs_is_a_clear_error(client: TestClient, session: Session, settings: Settings) -> None:
    settings.orthanc_url = "http://127.0.0.1:9"
    world = build_world(session)
    centres = open_centres(client, session, world)
    response = client.get("/api/diagnostics/pacs/studies", params={"patient_id": "x"}, headers=centres.reader)
    assert response.status_code == 502
    assert "无法连接" in response.json()["error"]["message_zh"]
