"""The pages of the shared centres: order with the recognition prompt, upload, worklist, report, dashboard."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.auth.test_web_login import login
from tests.factories.auth import PASSWORD, create_user
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
    assert login(client, township.username, PASSWORD) == 200
    form = client.get(f"/diagnostics/order?resident_id={world.resident_a.id}")
    assert "胸部正位片" in form.text and "60.00元" in form.text
    token = csrf(client, f"/diagnostics/order?resident_id={world.resident_a.id}")
    placed = client.post(
        "/diagnostics/order",
        data={
            "csrf": token,
            "resident_id": world.resident_a.id,
            "item_code": "DR-CHEST",
            "clinical_note": "发热咳嗽",
        },
        follow_redirects=False,
    )
    assert placed.status_code == 303
    order = session.scalar(select(ExamOrder).order_by(ExamOrder.id.desc()))
    assert order is not None and placed.headers["location"] == f"/diagnostics/orders/{order.id}"
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
    assert login(client, world.doctor.username, PASSWORD) == 200
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
    token = csrf(client, f"/diagnostics/order?resident_id={world.resident_a.id}")
    prompt = client.post(
        "/diagnostics/order",
        data={"csrf": token, "resident_id": world.resident_a.id, "item_code": "DR-CHEST"},
    )
    assert 'data-testid="recognition-prompt"' in prompt.text and "支气管炎" in prompt.text
    assert session.scalar(select(func.count()).select_from(ExamOrder)) == 1
    reused = client.post(
        "/diagnostics/reuse",
        data={"csrf": token, "resident_id": world.resident_a.id, "item_code": "DR-CHEST"},
        follow_redirects=False,
    )
    assert reused.headers["location"] == f"/diagnostics/orders/{order.id}?reused=1"
    assert session.scalar(select(RecognitionEvent.price_fen)) == 6000
