"""The screens' lists of the shared centres: the reading worklist paged and filtered by modality with
waiting time against the centre's target, the orderer's results paged, both exported whole; the
patient's prior reports beside the editor; open critical values with the patient named."""

from __future__ import annotations

import io

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.diagnostics import open_centres, order
from tests.factories.residents import create_resident
from tests.factories.world import build_world
from yilian.kit.clock import FixedClock


def _acquired(client: TestClient, headers: dict[str, str], order_id: int) -> None:
    response = client.post(f"/api/diagnostics/orders/{order_id}/acquired", json={}, headers=headers)
    assert response.status_code == 200, response.text


def test_worklist_pages_filters_by_modality_and_times_the_wait(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    world = build_world(session)
    centres = open_centres(client, session, world)
    films = [order(client, centres.township_doctor, world.resident_a.id) for _ in range(3)]
    ecg = order(client, centres.township_doctor, world.resident_a.id, item="ECG-12")
    waiting = client.get(
        "/api/diagnostics/worklist", params={"status": "ordered", "limit": 2}, headers=centres.reader
    ).json()
    assert waiting["total"] == 4 and len(waiting["items"]) == 2  # three films and the ECG
    first = waiting["items"][0]
    assert first["may_mark_acquired"] is False and first["may_cancel"] is False  # the township's orders
    assert first["other_party_name"] == world.township_a.name
    for f in films[:2]:
        _acquired(client, centres.township_doctor, f["id"])
    _acquired(client, centres.township_doctor, ecg["id"])
    clock.advance(minutes=90)
    listed = client.get("/api/diagnostics/worklist", headers=centres.reader).json()
    assert listed["total"] == 3  # two films and the ECG (the hospital hosts both centres)
    assert {(w["modality"], w["waiting_minutes"], w["target_minutes"]) for w in listed["items"]} == {
        ("DX", 90, 120),
        ("ECG", 90, 30),
    }
    only_ecg = client.get("/api/diagnostics/worklist", params={"modality": "ECG"}, headers=centres.reader)
    assert [w["id"] for w in only_ecg.json()["items"]] == [ecg["id"]]
    by_number = client.get(
        "/api/diagnostics/worklist", params={"q": ecg["accession_number"]}, headers=centres.reader
    )
    assert [w["id"] for w in by_number.json()["items"]] == [ecg["id"]]
    by_name = client.get("/api/diagnostics/worklist", params={"q": "张"}, headers=centres.reader)
    assert by_name.json()["total"] == 3
    second_page = client.get(
        "/api/diagnostics/worklist", params={"limit": 2, "offset": 2}, headers=centres.reader
    ).json()
    assert len(second_page["items"]) == 1 and second_page["total"] == 3
    assert (
        client.get("/api/diagnostics/worklist", params={"modality": "XX"}, headers=centres.reader).status_code
        == 422
    )

    exported = client.get(
        "/api/diagnostics/worklist/export", params={"modality": "DX"}, headers=centres.reader
    )
    assert exported.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(exported.content)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][0] == "检查号" and len(rows) == 3 and rows[1][3] == "数字X线摄影(DR)"
    assert rows[1][-2:] == (90, 120)

    # The township's results, paged and exported; it may cancel what it ordered.
    results = client.get(
        "/api/diagnostics/results", params={"limit": 3}, headers=centres.township_doctor
    ).json()
    assert results["total"] == 4 and len(results["items"]) == 3
    assert all(r["may_cancel"] for r in results["items"])
    assert results["items"][0]["other_party_name"] in ("县影像诊断中心", "县心电诊断中心")
    whole = client.get("/api/diagnostics/results/export", headers=centres.township_doctor)
    assert len(list(openpyxl.load_workbook(io.BytesIO(whole.content)).active.iter_rows())) == 5  # type: ignore[union-attr]
    assert client.get("/api/diagnostics/worklist", headers=centres.township_doctor).json()["total"] == 0


def test_prior_reports_beside_the_editor_and_the_named_critical_value(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    world = build_world(session)
    centres = open_centres(client, session, world)
    earlier = order(client, centres.township_doctor, world.resident_a.id)
    _acquired(client, centres.township_doctor, earlier["id"])
    clock.advance(minutes=30)
    client.post(
        f"/api/diagnostics/orders/{earlier['id']}/report",
        json={
            "findings": "双肺纹理增多",
            "impression": "支气管炎",
            "is_critical": True,
            "critical_note": "气胸",
        },
        headers=centres.reader,
    )
    clock.advance(days=40)
    later = order(client, centres.township_doctor, world.resident_a.id, repeat_reason="复查")
    other = order(client, centres.township_doctor, create_resident(session, grid=world.grid_a).id)
    priors = client.get(f"/api/diagnostics/orders/{later['id']}/priors", headers=centres.reader).json()
    assert [(p["order_id"], p["impression"], p["is_critical"]) for p in priors] == [
        (earlier["id"], "支气管炎", True)
    ]
    assert client.get(f"/api/diagnostics/orders/{other['id']}/priors", headers=centres.reader).json() == []
    assert (
        client.get(
            f"/api/diagnostics/orders/{later['id']}/priors", headers=centres.township_b_doctor
        ).status_code
        == 404
    )

    alerts = client.get("/api/diagnostics/alerts", headers=centres.township_doctor).json()
    assert [(a["resident_name"], a["item_name"], a["order_id"]) for a in alerts] == [
        ("张桂兰", "胸部正位片", earlier["id"])
    ]
