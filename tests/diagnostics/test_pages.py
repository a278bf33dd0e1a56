"""The pages of the shared centres: upload, worklist, report, dashboard (ordering with the recognition
prompt is the staff app's screen over the API)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.auth.test_web_login import login
from tests.factories.auth import PASSWORD, bearer, create_user
from tests.factories.diagnostics import open_centres, study_files
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.kit.clock import FixedClock
from yilian.models import ExamOrder, RecognitionEvent


def csrf(client: TestClient, url: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(url).text).group(1)  # type: ignore[union-attr]


def test_order_upload_read_report_and_the_recognition_prompt(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    world = build_world(session)
    centres = open_centres(client, session, world)
    township = create_user(session, role=roles.DOCTOR, institution_id=world.township_a.id)
    session.flush()
    assert login(client, township.username, PASSWORD) == 303
    township_api = bearer(session, township)
    # Ordering is the staff app's screen over the API (the Jinja order page is gone, issue 22).
    placed = client.post(
        "/api/diagnostics/orders",
        json={"resident_id": world.resident_a.id, "item_code": "DR-CHEST", "clinical_note": "发热咳嗽"},
        headers=township_api,
    )
    assert placed.status_code == 201
    order = session.scalar(select(ExamOrder).order_by(ExamOrder.id.desc()))
    assert order is not None and placed.json()["id"] == order.id
    token = csrf(client, "/diagnostics/results")
    files = study_files(patient_id=world.resident_a.id_number, accession=order.accession_number)
    uploaded = client.post(
        "/diagnostics/upload",
        data={"csrf": token},
        files=[("files", (n, d, "application/dicom")) for n, d in files]
        + [("files", ("x.txt", b"x", "text/plain"))],
    )
    assert "归档2个" in uploaded.text and "隔离1个" in uploaded.text and "不是DICOM文件" in uploaded.text

    # The county reader.
    client.cookies.clear()
    assert login(client, world.doctor.username, PASSWORD) == 303
    worklist = client.get("/diagnostics/worklist").text
    assert order.accession_number in worklist and "张桂兰" in worklist
    token = csrf(client, f"/diagnostics/orders/{order.id}")
    clock.advance(minutes=20)
    done = client.post(
        f"/diagnostics/orders/{order.id}/report",
        data={"csrf": token, "findings": "双肺纹理增多", "impression": "支气管炎"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    dashboard = client.get("/diagnostics/dashboard").text
    assert 'data-testid="tat-DX"' in dashboard and "echarts.init" in dashboard

    # Back at the township: the report, then the prompt when ordering the same film again.
    client.cookies.clear()
    login(client, township.username, PASSWORD)
    assert "支气管炎" in client.get(f"/diagnostics/orders/{order.id}").text
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
    assert (
        prompt.status_code == 409 and prompt.json()["recognised_result"]["impression"] == "支气管炎"
    )
    assert session.scalar(select(func.count()).select_from(ExamOrder)) == 1
    reused = client.post(
        "/api/diagnostics/recognition/reuse",
        json={"resident_id": world.resident_a.id, "item_code": "DR-CHEST"},
        headers=township_api,
    )
    assert reused.json()["prior_order_id"] == order.id
    assert session.scalar(select(RecognitionEvent.price_fen)) == 6000
