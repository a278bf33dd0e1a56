"""A township orders a chest film, the county files the images and reports, and ordering the same
film again brings the recognition prompt; reusing the result is priced (all through the JSON API the
staff screens use)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, create_user
from tests.factories.diagnostics import open_centres, study_files
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.kit.clock import FixedClock
from yilian.models import ExamOrder, RecognitionEvent


def test_order_upload_read_report_and_the_recognition_prompt(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    world = build_world(session)
    centres = open_centres(client, session, world)
    township = create_user(session, role=roles.DOCTOR, institution_id=world.township_a.id)
    session.flush()
    township_api = bearer(session, township)
    placed = client.post(
        "/api/diagnostics/orders",
        json={"resident_id": world.resident_a.id, "item_code": "DR-CHEST", "clinical_note": "发热咳嗽"},
        headers=township_api,
    )
    assert placed.status_code == 201
    order = session.scalar(select(ExamOrder).order_by(ExamOrder.id.desc()))
    assert order is not None and placed.json()["id"] == order.id
    files = study_files(patient_id=world.resident_a.id_number, accession=order.accession_number)
    uploaded = client.post(
        "/api/diagnostics/dicom",
        files=[("files", (n, d, "application/dicom")) for n, d in files]
        + [("files", ("x.txt", b"x", "text/plain"))],
        headers=township_api,
    )
    assert uploaded.status_code == 200, uploaded.text
    assert (uploaded.json()["filed"], uploaded.json()["quarantined"]) == (2, 1)

    # The county reader finds it on the worklist and reports.
    reader = bearer(session, world.doctor)
    worklist = client.get("/api/diagnostics/worklist", params={"q": order.accession_number}, headers=reader)
    assert [row["id"] for row in worklist.json()["items"]] == [order.id]
    clock.advance(minutes=20)
    done = client.post(
        f"/api/diagnostics/orders/{order.id}/report",
        json={"findings": "双肺纹理增多", "impression": "支气管炎"},
        headers=reader,
    )
    assert done.status_code == 200, done.text

    # Back at the township: the report, then the prompt when ordering the same film again.
    assert client.get(f"/api/diagnostics/orders/{order.id}", headers=township_api).json()["report"]["impression"] == "支气管炎"
    client.post(
        "/api/diagnostics/qc",
        json={"kind": "internal", "checked_on": "2026-11-01", "valid_until": "2026-11-30", "passed": True},
        headers=centres.hospital_admin,
    )
    prompt = client.post(
        "/api/diagnostics/orders",
        json={"resident_id": world.resident_a.id, "item_code": "DR-CHEST"},
        headers=township_api,
    )
    assert prompt.status_code == 409 and prompt.json()["recognised_result"]["impression"] == "支气管炎"
    assert session.scalar(select(func.count()).select_from(ExamOrder)) == 1
    reused = client.post(
        "/api/diagnostics/recognition/reuse",
        json={"resident_id": world.resident_a.id, "item_code": "DR-CHEST"},
        headers=township_api,
    )
    assert reused.json()["prior_order_id"] == order.id
    assert session.scalar(select(RecognitionEvent.price_fen)) == 6000
