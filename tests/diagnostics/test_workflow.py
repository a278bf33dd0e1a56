"""乡检查、县诊断 end to end through the API, with real DICOM files made by pydicom."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.audit import drain_audit
from tests.factories.auth import bearer, create_user
from tests.factories.chronic import create_register
from tests.factories.diagnostics import open_centres, order, study_files, upload
from tests.factories.registry import create_division
from tests.factories.residents import create_resident
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.config import Settings
from yilian.kit.audit import AuditWriter
from yilian.kit.clock import FixedClock
from yilian.models import (
    AuditLog,
    CriticalAlert,
    DicomQuarantine,
    ExamOrder,
    ExamOrderEvent,
    ExamReport,
    ImagingInstance,
    ImagingStudy,
)


def test_township_orders_county_reads_township_sees_the_report(
    client: TestClient, session: Session, clock: FixedClock, settings: Settings, audit: AuditWriter
) -> None:
    world = build_world(session)
    centres = open_centres(client, session, world)
    ordered = order(client, centres.township_doctor, world.resident_a.id)
    assert (ordered["status"], ordered["modality"], ordered["price_fen"], ordered["priority_label"]) == (
        "ordered",
        "DX",
        6000,
        "普通",
    )
    assert ordered["accession_number"] == f"261124{ordered['id']:08d}"

    # The township takes the films at 09:40 and sends them at 10:00.
    clock.advance(minutes=30)
    files = study_files(
        patient_id=world.resident_a.id_number,
        accession=ordered["accession_number"],
        instances=3,
        study_at=datetime(2026, 11, 24, 9, 40),
    )
    filed = upload(client, centres.township_doctor, files)
    assert {
        k: filed[k] for k in ("received", "filed", "duplicates", "quarantined", "studies", "orders_acquired")
    } == {
        "received": 3,
        "filed": 3,
        "duplicates": 0,
        "quarantined": 0,
        "studies": 1,
        "orders_acquired": 1,
    }
    # Sending the same files again files nothing twice.
    again = upload(client, centres.township_doctor, files[:1])
    assert (again["filed"], again["duplicates"]) == (0, 1)
    stored = session.scalars(select(ImagingInstance.path)).all()
    assert len(stored) == 3 and all(
        (Path(settings.dicom_dir) / p).read_bytes()[128:132] == b"DICM" for p in stored
    )

    # The county reader's worklist; the record is open to the centre because of the order.
    worklist = client.get("/api/diagnostics/worklist", headers=centres.reader).json()
    assert [w["id"] for w in worklist["items"]] == [ordered["id"]] and worklist["total"] == 1
    assert client.get(f"/api/residents/{world.resident_a.id}", headers=centres.reader).status_code == 200
    assert client.get(f"/api/residents/{world.resident_b.id}", headers=centres.reader).status_code == 404

    clock.advance(minutes=50)  # reported at 10:50: 70 minutes after acquisition
    reported = client.post(
        f"/api/diagnostics/orders/{ordered['id']}/report",
        json={
            "findings": "右下肺野见片状高密度影，边界模糊",
            "impression": "右下肺炎",
            "is_critical": True,
            "critical_note": "右侧大量气胸，请立即处理",
        },
        headers=centres.reader,
    )
    assert reported.status_code == 200, reported.text
    assert reported.json()["status"] == "reported"

    # The township: the critical value is waiting, the report is in its results.
    alerts = client.get("/api/diagnostics/alerts", headers=centres.township_doctor).json()
    assert len(alerts) == 1 and "气胸" in alerts[0]["message"]
    results = client.get("/api/diagnostics/results", headers=centres.township_doctor).json()["items"]
    assert [(r["id"], r["status_label"]) for r in results] == [(ordered["id"], "已出报告")]
    clock.advance(minutes=4)
    detail = client.get(f"/api/diagnostics/orders/{ordered['id']}", headers=centres.township_doctor).json()
    assert detail["report"]["impression"] == "右下肺炎"
    assert detail["studies"][0]["series"] == 1 and detail["studies"][0]["instances"] == 3
    assert detail["acquired_at"] == "2026-11-24T09:40:00" and detail["reported_at"] == "2026-11-24T10:50:00"
    assert detail["report_read_at"] == "2026-11-24T10:54:00"
    ack = client.post(
        f"/api/diagnostics/alerts/{alerts[0]['id']}/acknowledge",
        json={"action_taken": "已电话通知患者，转县医院急诊"},
        headers=centres.township_doctor,
    )
    assert ack.status_code == 200 and ack.json()["acknowledged_at"] == "2026-11-24T10:54:00"
    twice = client.post(
        f"/api/diagnostics/alerts/{alerts[0]['id']}/acknowledge",
        json={"action_taken": "再次确认"},
        headers=centres.township_doctor,
    )
    assert twice.status_code == 409
    assert client.get("/api/diagnostics/alerts", headers=centres.township_doctor).json() == []

    history = session.scalars(
        select(ExamOrderEvent.to_status)
        .where(ExamOrderEvent.order_id == ordered["id"])
        .order_by(ExamOrderEvent.id)
    ).all()
    assert history == ["ordered", "acquired", "reported"]
    drain_audit(audit, session)
    audited = set(
        session.scalars(
            select(AuditLog.action).where(
                AuditLog.entity.in_(("exam_order", "imaging_study", "critical_alert"))
            )
        )
    )
    assert {"create", "file_dicom", "report", "read", "list", "acknowledge"} <= audited

    # The turnaround figure: one DX reported in 70 minutes against a 120-minute target.
    figures = client.get(
        "/api/diagnostics/figures",
        params={"consortium_id": world.consortium.id, "start": "2026-11-01", "end": "2026-11-30"},
        headers=centres.admin,
    ).json()
    assert figures["turnaround"] == [
        {
            "modality": "DX",
            "reported": 1,
            "median_minutes": 70,
            "p90_minutes": 70,
            "target_minutes": 120,
            "within_target_share": 1.0,
        }
    ]
    assert (figures["reported_for_grassroots"], figures["reported_total"]) == (1, 1)
    assert (
        figures["critical_raised"],
        figures["critical_acknowledged"],
        figures["median_minutes_to_acknowledge"],
    ) == (
        1,
        1,
        4,
    )


def test_bad_files_are_quarantined_and_kept_and_nothing_else_changes(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world = build_world(session)
    centres = open_centres(client, session, world)
    ordered = order(client, centres.township_doctor, world.resident_a.id)
    good = study_files(
        patient_id=world.resident_a.id_number, accession=ordered["accession_number"], instances=1
    )
    stranger = study_files(patient_id="110101199003074518", accession="", instances=1)
    truncated = good[0][1][:400]
    result = upload(
        client,
        centres.township_doctor,
        [
            ("notes.txt", b"this is not an image"),
            ("broken.dcm", truncated),
            ("stranger.dcm", stranger[0][1]),
            *good,
        ],
    )
    assert (result["received"], result["filed"], result["quarantined"]) == (4, 1, 3)
    rows = client.get("/api/diagnostics/quarantine/page", headers=centres.township_doctor).json()["items"]
    reasons = {r["original_name"]: r["reason_zh"] for r in rows}
    assert set(reasons) == {"notes.txt", "broken.dcm", "stranger.dcm"}
    assert "不是DICOM" in reasons["notes.txt"]
    assert "找不到对应居民" in reasons["stranger.dcm"]
    kept = session.scalars(select(DicomQuarantine.path)).all()
    assert all((Path(settings.dicom_dir) / p).is_file() for p in kept)
    assert (Path(settings.dicom_dir) / kept[0]).stat().st_size > 0
    # A person resolves one; it leaves the open list but stays on disk.
    resolved = client.post(
        f"/api/diagnostics/quarantine/{rows[0]['id']}/resolve",
        json={"resolution": "外院影像，退回"},
        headers=centres.township_doctor,
    )
    assert resolved.status_code == 200
    assert client.get("/api/diagnostics/quarantine/page", headers=centres.township_doctor).json()["total"] == 2

    # Reporting an order whose study has not arrived: refused, nothing written.
    second = order(
        client, centres.township_doctor, create_resident(session, grid=world.grid_a).id, item="CT-HEAD"
    )
    refused = client.post(
        f"/api/diagnostics/orders/{second['id']}/report",
        json={"findings": "未见异常", "impression": "未见异常"},
        headers=centres.reader,
    )
    assert refused.status_code == 422 and "尚未完成" in refused.json()["error"]["message_zh"]
    assert session.scalar(select(func.count()).select_from(ExamReport)) == 0
    assert session.get(ExamOrder, second["id"]).status == "ordered"  # type: ignore[union-attr]
    # A township doctor cannot report, and cannot see another institution's order.
    assert (
        client.post(
            f"/api/diagnostics/orders/{ordered['id']}/report",
            json={"findings": "自己读片", "impression": "正常"},
            headers=centres.township_doctor,
        ).status_code
        == 403
    )
    assert (
        client.get(f"/api/diagnostics/orders/{ordered['id']}", headers=centres.township_b_doctor).status_code
        == 404
    )


def read_and_report(client: TestClient, centres, world, clock: FixedClock, item: str = "DR-CHEST") -> dict:  # type: ignore[no-untyped-def]
    ordered = order(client, centres.township_doctor, world.resident_a.id, item=item)
    upload(
        client,
        centres.township_doctor,
        study_files(
            patient_id=world.resident_a.id_number,
            accession=ordered["accession_number"],
            instances=1,
            modality="DX" if item == "DR-CHEST" else "CT",
        ),
    )
    clock.advance(minutes=45)
    done = client.post(
        f"/api/diagnostics/orders/{ordered['id']}/report",
        json={"findings": "双肺纹理清晰", "impression": "心肺未见异常"},
        headers=centres.reader,
    )
    assert done.status_code == 200, done.text
    return ordered


def test_recognition_prompt_reuse_repeat_and_qc(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    world = build_world(session)
    centres = open_centres(client, session, world)
    first = read_and_report(client, centres, world, clock)
    body = {"resident_id": world.resident_a.id, "item_code": "DR-CHEST"}

    # The hospital's lab has no quality control on record: its result is not recognised.
    check = client.get(
        "/api/diagnostics/recognition/check", params=body, headers=centres.township_doctor
    ).json()
    assert (check["status"], check["result"]["prior_order_id"]) == ("qc_failed", first["id"])
    qc = client.post(
        "/api/diagnostics/qc",
        json={"kind": "internal", "checked_on": "2026-11-01", "valid_until": "2026-11-30", "passed": True},
        headers=centres.hospital_admin,
    )
    assert qc.status_code == 201, qc.text

    # Now it is: ordering again without a reason shows the result (409) and creates nothing.
    orders_before = session.scalar(select(func.count()).select_from(ExamOrder))
    prompt = client.post("/api/diagnostics/orders", json=body, headers=centres.township_doctor)
    assert prompt.status_code == 409
    shown = prompt.json()["recognised_result"]
    assert (shown["prior_order_id"], shown["impression"], shown["price_fen"], shown["valid_until"]) == (
        first["id"],
        "心肺未见异常",
        6000,
        "2026-12-24",
    )
    assert session.scalar(select(func.count()).select_from(ExamOrder)) == orders_before
    # The doctor takes the result: a repeat avoided, 60 yuan saved.
    reused = client.post("/api/diagnostics/recognition/reuse", json=body, headers=centres.township_doctor)
    assert reused.status_code == 201 and reused.json()["saved_fen"] == 6000
    # Another time the doctor repeats it, with a reason.
    too_short = client.post(
        "/api/diagnostics/orders", json={**body, "repeat_reason": "复查"}, headers=centres.township_doctor
    )
    assert too_short.status_code == 422 and too_short.json()["error"]["fields"][0]["field"] == "repeat_reason"
    repeated = order(
        client, centres.township_doctor, world.resident_a.id, repeat_reason="咯血加重，需复查胸片"
    )
    assert repeated["repeat_reason"] == "咯血加重，需复查胸片"

    # A failed external assessment of the same lab withdraws recognition again.
    failed = client.post(
        "/api/diagnostics/qc",
        json={
            "item_code": "DR-CHEST",
            "kind": "external",
            "checked_on": "2026-10-15",
            "valid_until": "2027-04-14",
            "passed": False,
            "score": 62,
        },
        headers=centres.hospital_admin,
    )
    assert failed.status_code == 201
    check = client.get(
        "/api/diagnostics/recognition/check", params=body, headers=centres.township_doctor
    ).json()
    assert check["status"] == "qc_failed"

    figures = client.get(
        "/api/diagnostics/figures",
        params={"consortium_id": world.consortium.id, "start": "2026-11-01", "end": "2026-11-30"},
        headers=centres.admin,
    ).json()
    assert (figures["repeats_avoided"], figures["saved_fen"], figures["repeated_with_reason"]) == (1, 6000, 1)


def test_expired_recognition_rule_does_not_prompt(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    world = build_world(session)
    centres = open_centres(client, session, world)
    read_and_report(client, centres, world, clock, item="CT-HEAD")
    client.post(
        "/api/diagnostics/qc",
        json={"kind": "internal", "checked_on": "2026-11-01", "valid_until": "2026-11-30", "passed": True},
        headers=centres.hospital_admin,
    )
    body = {"resident_id": world.resident_a.id, "item_code": "CT-HEAD"}
    assert (
        client.post("/api/diagnostics/orders", json=body, headers=centres.township_doctor).status_code == 409
    )
    expired = (
        "项目编码,项目名称,类别,检查类型,有效期(天),需质控合格,价格(元),生效日期,失效日期\n"
        "CT-HEAD,头颅CT平扫,影像诊断中心,CT,90,是,280.50,2026-01-01,2026-10-31\n"
    )
    client.post(
        "/api/diagnostics/recognition/catalogue",
        files={"file": ("目录.csv", expired.encode(), "text/csv")},
        headers=centres.admin,
    )
    check = client.get(
        "/api/diagnostics/recognition/check", params=body, headers=centres.township_doctor
    ).json()
    assert (check["status"], check["status_label"]) == ("rule_expired", "互认规则已失效")
    assert (
        client.post("/api/diagnostics/orders", json=body, headers=centres.township_doctor).status_code == 201
    )


def test_catalogue_import_is_all_or_nothing_with_rows_named(client: TestClient, session: Session) -> None:
    world = build_world(session)
    admin = bearer(session, world.consortium_admin)
    bad = (
        "项目编码,项目名称,类别,检查类型,有效期(天),需质控合格,价格(元),生效日期\n"
        "DR-CHEST,胸部正位片,影像诊断中心,DX,30,是,60,2026-01-01\n"
        "US-ABD,腹部超声,超声诊断中心,XX,0,也许,-5,2026/01/01\n"
    )
    response = client.post(
        "/api/diagnostics/recognition/catalogue",
        files={"file": ("目录.csv", bad.encode(), "text/csv")},
        headers=admin,
    )
    assert response.status_code == 422
    fields = {(f["row"], f["field"]) for f in response.json()["error"]["fields"]}
    assert fields == {(3, "检查类型"), (3, "有效期(天)"), (3, "需质控合格"), (3, "价格(元)"), (3, "生效日期")}
    assert "未导入" in response.json()["error"]["message_zh"]
    listed = client.get(
        "/api/diagnostics/recognition/catalogue", params={"consortium_id": world.consortium.id}, headers=admin
    )
    assert listed.json() == []


@pytest.mark.parametrize("price", ["nan", "inf", "1e400", "12.345"])
def test_catalogue_price_is_an_amount_in_yuan(client: TestClient, session: Session, price: str) -> None:
    """The price goes through kit.money like every other amount: a number that is not an amount in
    yuan (not finite, more than two decimals) is the price column's 422, never a 500 or a rounding."""
    world = build_world(session)
    csv = (
        "项目编码,项目名称,类别,检查类型,有效期(天),需质控合格,价格(元),生效日期\n"
        f"DR-CHEST,胸部正位片,影像诊断中心,DX,30,是,{price},2026-01-01\n"
    )
    response = client.post(
        "/api/diagnostics/recognition/catalogue",
        files={"file": ("目录.csv", csv.encode(), "text/csv")},
        headers=bearer(session, world.consortium_admin),
    )
    assert response.status_code == 422
    assert [(f["row"], f["field"]) for f in response.json()["error"]["fields"]] == [(2, "价格(元)")]


def test_worklist_puts_critical_then_signed_or_chronic_first(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    world = build_world(session)
    centres = open_centres(client, session, world)

    routine = order(client, centres.township_doctor, world.resident_a.id)
    chronic_resident = create_resident(session, grid=world.grid_a, name="王秀英")
    create_register(session, resident=chronic_resident, disease="hypertension", registered_on=clock.now().date())
    clock.advance(minutes=5)
    chronic = order(client, centres.township_doctor, chronic_resident.id)
    clock.advance(minutes=5)
    urgent = order(
        client, centres.township_doctor, create_resident(session, grid=world.grid_a).id, urgent=True
    )
    assert [routine["priority"], chronic["priority"], urgent["priority"]] == [2, 1, 0]
    listed = client.get(
        "/api/diagnostics/worklist", params={"status": "ordered"}, headers=centres.reader
    ).json()["items"]
    assert [w["id"] for w in listed] == [urgent["id"], chronic["id"], routine["id"]]


def test_ecg_export_lands_on_orders_all_rows_or_none(client: TestClient, session: Session) -> None:
    world = build_world(session)
    centres = open_centres(client, session, world)
    first = order(client, centres.township_doctor, world.resident_a.id, item="ECG-12")
    bad = f"检查号,心率,PR间期,QRS时限,QT间期,QTc,心律,采集时间\n{first['accession_number']},75,160,88,400,,窦性心律,2026-11-24 09:20\n999,15,160,88,abc,,,\n"
    refused = client.post(
        "/api/diagnostics/ecg",
        files={"file": ("ecg.csv", bad.encode(), "text/csv")},
        headers=centres.township_doctor,
    )
    assert refused.status_code == 422
    assert {(f["row"], f["field"]) for f in refused.json()["error"]["fields"]} == {(3, "检查号")}
    assert session.get(ExamOrder, first["id"]).status == "ordered"  # type: ignore[union-attr]
    bad_values = f"检查号,心率,PR间期,QRS时限,QT间期\n{first['accession_number']},15,160,88,abc\n"
    refused = client.post(
        "/api/diagnostics/ecg",
        files={"file": ("ecg.csv", bad_values.encode(), "text/csv")},
        headers=centres.township_doctor,
    )
    assert {(f["row"], f["field"]) for f in refused.json()["error"]["fields"]} == {(2, "心率"), (2, "QT间期")}
    good = f"检查号,心率,PR间期,QRS时限,QT间期,QTc,心律,采集时间\n{first['accession_number']},75,160,88,400,,窦性心律,2026-11-24 09:20\n"
    accepted = client.post(
        "/api/diagnostics/ecg",
        files={"file": ("ecg.csv", good.encode(), "text/csv")},
        headers=centres.township_doctor,
    )
    assert accepted.status_code == 201 and accepted.json() == {"imported": 1}
    detail = client.get(f"/api/diagnostics/orders/{first['id']}", headers=centres.township_doctor).json()
    assert detail["status"] == "acquired" and detail["acquired_at"] == "2026-11-24T09:20:00"
    assert detail["ecg"] == {
        "heart_rate": 75,
        "pr_ms": 160,
        "qrs_ms": 88,
        "qt_ms": 400,
        "qtc_ms": 447,
        "rhythm": "窦性心律",
    }


def test_teleconsultation_from_request_to_rating(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    world = build_world(session)
    centres = open_centres(client, session, world)
    specialties = [f"专科{n:02d}" for n in range(1, 22)] + ["心血管内科"]
    set_list = client.put(
        "/api/diagnostics/remote-specialties",
        json={"specialties": specialties},
        headers=centres.hospital_admin,
    )
    assert len(set_list.json()["specialties"]) == 22
    request = {
        "resident_id": world.resident_a.id,
        "kind": "consult",
        "consultant_institution_id": world.hospital.id,
        "specialty": "心血管内科",
        "question": "反复胸闷一月，心电图ST段压低，请协助诊治",
    }
    unknown = client.post(
        "/api/diagnostics/teleconsults",
        json={**request, "specialty": "眼科"},
        headers=centres.township_doctor,
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["fields"][0]["field"] == "specialty"
    created = client.post("/api/diagnostics/teleconsults", json=request, headers=centres.township_doctor)
    assert created.status_code == 201, created.text
    consult_id = created.json()["id"]
    # The requester cannot accept its own request.
    wrong_side = client.post(
        f"/api/diagnostics/teleconsults/{consult_id}/step",
        json={"status": "accepted"},
        headers=centres.township_doctor,
    )
    assert wrong_side.status_code == 422
    steps = [
        ({"status": "accepted"}, centres.reader),
        ({"status": "scheduled", "scheduled_for": "2026-11-25T15:00:00"}, centres.reader),
        ({"status": "answered", "opinion": "考虑冠心病，建议上转行冠脉CTA"}, centres.reader),
        ({"status": "rated", "rating": 5, "rating_note": "及时"}, centres.township_doctor),
    ]
    for body, who in steps:
        step = client.post(f"/api/diagnostics/teleconsults/{consult_id}/step", json=body, headers=who)
        assert step.status_code == 200, step.text
    final = step.json()
    assert (final["status_label"], final["rating"], final["opinion"]) == (
        "已评价",
        5,
        "考虑冠心病，建议上转行冠脉CTA",
    )
    # Each side's box, paged, with the patient and both institutions named.
    incoming = client.get("/api/diagnostics/teleconsults", headers=centres.reader).json()
    assert incoming["total"] == 1 and incoming["items"][0]["resident_name"] == world.resident_a.name
    assert incoming["items"][0]["requesting_institution_name"] == world.township_a.name
    assert incoming["items"][0]["kind_label"] == "远程会诊"
    outgoing = client.get(
        "/api/diagnostics/teleconsults",
        params={"box": "outgoing", "status": "requested"},
        headers=centres.township_doctor,
    ).json()
    assert outgoing == {"items": [], "total": 0, "offset": 0, "limit": 20}
    exported = client.get("/api/diagnostics/teleconsults/export", headers=centres.reader)
    assert exported.status_code == 200 and exported.content[:2] == b"PK"
    figures = client.get(
        "/api/diagnostics/figures",
        params={"consortium_id": world.consortium.id, "start": "2026-11-01", "end": "2026-11-30"},
        headers=centres.admin,
    ).json()
    assert figures["remote_specialties"] == {str(world.hospital.id): 22}


def test_coverage_and_capability_figures(client: TestClient, session: Session) -> None:
    world = build_world(session)
    centres = open_centres(client, session, world)
    township_admin = bearer(
        session, create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.township_a.id)
    )
    device = client.post(
        "/api/diagnostics/equipment",
        json={"modality": "DX", "name": "数字化X线摄影系统", "installed_on": "2025-06-01"},
        headers=township_admin,
    )
    assert device.status_code == 201, device.text
    figures = client.get(
        "/api/diagnostics/figures",
        params={"consortium_id": world.consortium.id, "start": "2026-01-01", "end": "2026-12-31"},
        headers=centres.admin,
    ).json()
    coverage = {c["kind"]: (c["served"], c["members"]) for c in figures["coverage"]}
    # Four members (hospital, two townships, one village clinic): imaging serves all, ECG the host and one township.
    assert coverage["imaging"] == (4, 4) and coverage["ecg"] == (2, 4) and coverage["laboratory"] == (0, 4)
    township = figures["capability"][0]
    assert (township["able"], township["total"], township["share"]) == (1, 2, 0.5)
    # Commission of another county cannot see it: not found, as for any object outside its scope
    # (decision 0022).
    create_division(session, code="640381", name="青铜峡市", level="county", parent_code="640100")
    other = bearer(session, create_user(session, role=roles.COMMISSION, region_code="640381"))
    assert (
        client.get(
            "/api/diagnostics/figures",
            params={"consortium_id": world.consortium.id, "start": "2026-01-01", "end": "2026-12-31"},
            headers=other,
        ).status_code
        == 404
    )


def test_alert_rows_do_not_leak_across_institutions(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    world = build_world(session)
    centres = open_centres(client, session, world)
    ordered = read_and_report(client, centres, world, clock)
    assert session.scalar(select(func.count()).select_from(CriticalAlert)) == 0
    assert session.scalar(select(ImagingStudy.order_id)) == ordered["id"]
    assert client.get("/api/diagnostics/alerts", headers=centres.township_b_doctor).json() == []
