"""Registration, search, merge and import through the API, with scoping and audit."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import drain_audit
from tests.factories.auth import bearer
from tests.factories.world import build_world
from yilian.kit.audit import AuditWriter
from yilian.kit.id_numbers import make_id_number
from yilian.models import AuditLog, Encounter, Resident, ResidentMerge

NEW_ID = make_id_number("640181", date(1958, 3, 8), 41, "M")


def count_residents(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Resident)) or 0


def test_registration_is_idempotent(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.family_doctor_a)
    body = {"id_number": NEW_ID, "name": "马福贵", "phone": "13995112233", "grid_id": world.grid_a.id}
    first = client.post("/api/residents", json=body, headers=headers)
    assert first.status_code == 201, first.text
    created = first.json()["resident"]
    assert created["birth_date"] == "1958-03-08" and created["sex"] == "M"
    assert created["id_number"] == NEW_ID  # a family doctor sees the full number on the record
    again = client.post("/api/residents", json=body, headers=headers)
    assert again.status_code == 200
    assert again.json() == {"created": False, "resident": created}
    assert session.scalar(select(func.count()).select_from(Resident).where(Resident.id_number == NEW_ID)) == 1


def test_same_number_under_another_name_is_a_conflict(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.family_doctor_a)
    before = count_residents(session)
    response = client.post(
        "/api/residents",
        json={"id_number": world.resident_a.id_number, "name": "王某", "grid_id": world.grid_a.id},
        headers=headers,
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["fields"][0]["field"] == "id_number"
    assert "姓名" in error["message_zh"] and "name" in error["message_en"]
    assert count_residents(session) == before


def test_invalid_id_number_gets_422_naming_the_field(client: TestClient, session: Session) -> None:
    world = build_world(session)
    bad = NEW_ID[:-1] + ("0" if NEW_ID[-1] != "0" else "1")
    response = client.post(
        "/api/residents",
        json={"id_number": bad, "name": "马福贵", "grid_id": world.grid_a.id},
        headers=bearer(session, world.family_doctor_a),
    )
    assert response.status_code == 422
    field = response.json()["error"]["fields"][0]
    assert (
        field["field"] == "id_number"
        and "校验码" in field["message_zh"]
        and "check digit" in field["message_en"]
    )


def test_malformed_request_names_the_missing_field(client: TestClient, session: Session) -> None:
    world = build_world(session)
    response = client.post(
        "/api/residents", json={"id_number": NEW_ID}, headers=bearer(session, world.family_doctor_a)
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "name"


def test_family_doctor_cannot_read_another_grid(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.family_doctor_a)
    assert client.get(f"/api/residents/{world.resident_a.id}", headers=headers).status_code == 200
    other = client.get(f"/api/residents/{world.resident_b.id}", headers=headers)
    assert other.status_code == 404
    assert "无权" in other.json()["error"]["message_zh"]
    names = [r["name"] for r in client.get("/api/residents?q=李", headers=headers).json()["items"]]
    assert names == []


def test_resident_sees_only_themself(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.resident_user_a)
    assert client.get(f"/api/residents/{world.resident_a.id}", headers=headers).json()["name"] == "张桂兰"
    assert client.get(f"/api/residents/{world.resident_b.id}", headers=headers).status_code == 404


def test_commission_sees_the_county_but_masked_on_the_record(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.commission)
    record = client.get(f"/api/residents/{world.resident_b.id}", headers=headers).json()
    assert (
        record["id_number"] == world.resident_b.id_number[:6] + "********" + world.resident_b.id_number[-4:]
    )
    assert record["phone"] == "139****5678"


def test_lists_mask_identifiers_except_for_insurance(client: TestClient, session: Session) -> None:
    world = build_world(session)
    page = client.get("/api/residents?q=张桂兰", headers=bearer(session, world.consortium_admin)).json()
    assert page["total"] == 1
    assert page["items"][0]["id_number"].count("*") == 8 and page["items"][0]["phone"] == "139****5678"
    insurance = client.get("/api/residents?q=张桂兰", headers=bearer(session, world.insurance)).json()
    assert insurance["items"][0]["id_number"] == world.resident_a.id_number


def test_search_by_full_id_number_and_phone(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.commission)
    by_id = client.get(f"/api/residents?q={world.resident_b.id_number}", headers=headers).json()
    assert [r["name"] for r in by_id["items"]] == ["李建国"]
    by_phone = client.get("/api/residents?q=13912345678", headers=headers).json()
    assert by_phone["total"] == 2


def test_reads_and_lists_are_audited(client: TestClient, session: Session, audit: AuditWriter) -> None:
    world = build_world(session)
    headers = bearer(session, world.family_doctor_a)
    client.get(f"/api/residents/{world.resident_a.id}", headers=headers)
    client.get("/api/residents?q=张", headers=headers)
    assert drain_audit(audit, session) == 2
    rows = session.scalars(
        select(AuditLog).where(AuditLog.resident_id == world.resident_a.id).order_by(AuditLog.id)
    ).all()
    assert [(r.action, r.username, r.endpoint) for r in rows] == [
        ("read", world.family_doctor_a.username, f"GET /api/residents/{world.resident_a.id}"),
        ("list", world.family_doctor_a.username, "GET /api/residents"),
    ]


def test_refused_read_writes_no_audit_of_a_read(
    client: TestClient, session: Session, audit: AuditWriter
) -> None:
    world = build_world(session)
    client.get(f"/api/residents/{world.resident_b.id}", headers=bearer(session, world.family_doctor_a))
    assert drain_audit(audit, session) == 0


def test_merge_moves_encounters_and_keeps_history(
    client: TestClient, session: Session, audit: AuditWriter
) -> None:
    world = build_world(session)
    duplicate = world.resident_b
    session.add(
        Encounter(
            resident_id=duplicate.id,
            institution_id=world.township_b.id,
            kind="outpatient",
            start_date=date(2026, 3, 1),
            end_date=date(2026, 3, 1),
            total_fen=8000,
            fund_fen=4400,
        )
    )
    session.flush()
    response = client.post(
        "/api/residents/merge",
        json={"survivor_id": world.resident_a.id, "merged_id": duplicate.id, "reason": "同一人重复建档"},
        headers=bearer(session, world.consortium_admin),
    )
    assert response.status_code == 200, response.text
    assert response.json()["moved_encounters"] == 1
    session.refresh(duplicate)
    assert duplicate.status == "merged" and duplicate.merged_into_id == world.resident_a.id
    history = session.scalar(select(ResidentMerge).where(ResidentMerge.merged_id == duplicate.id))
    assert history is not None and "李建国" in history.snapshot_json and history.moved_encounters == 1
    owner = session.scalar(
        select(Encounter.resident_id).where(Encounter.institution_id == world.township_b.id)
    )
    assert owner == world.resident_a.id
    drain_audit(audit, session)
    actions = session.scalars(select(AuditLog.action).where(AuditLog.action == "merge")).all()
    assert len(actions) == 2
    # Registering the merged person's number again lands on the survivor.
    again = client.post(
        "/api/residents",
        json={"id_number": duplicate.id_number, "name": "李建国"},
        headers=bearer(session, world.family_doctor_a),
    )
    assert again.status_code == 200 and again.json()["resident"]["id"] == world.resident_a.id


def test_merge_twice_is_refused(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.consortium_admin)
    body = {"survivor_id": world.resident_a.id, "merged_id": world.resident_b.id, "reason": "重复建档"}
    assert client.post("/api/residents/merge", json=body, headers=headers).status_code == 200
    second = client.post("/api/residents/merge", json=body, headers=headers)
    assert second.status_code == 422 and second.json()["error"]["fields"][0]["field"] == "merged_id"


def test_family_doctor_cannot_merge(client: TestClient, session: Session) -> None:
    world = build_world(session)
    body = {"survivor_id": world.resident_a.id, "merged_id": world.resident_b.id, "reason": "重复建档"}
    assert (
        client.post(
            "/api/residents/merge", json=body, headers=bearer(session, world.family_doctor_a)
        ).status_code
        == 403
    )


def csv_bytes(rows: list[str]) -> bytes:
    return ("身份证号,姓名,电话,网格编码\n" + "\n".join(rows) + "\n").encode("utf-8")


def test_half_valid_import_writes_nothing(client: TestClient, session: Session) -> None:
    world = build_world(session)
    good = make_id_number("640181", date(1970, 1, 1), 1, "M")
    bad = make_id_number("640181", date(1971, 1, 1), 2, "F")[:-1] + "0"
    before = count_residents(session)
    content = csv_bytes(
        [
            f"{good},王一,13900000001,{world.grid_a.code}",
            f"{bad},王二,,{world.grid_a.code}",
            f"{good},王一,,{world.grid_a.code}",
            f"{make_id_number('640181', date(1972, 1, 1), 3, 'M')},,,NOPE",
        ]
    )
    response = client.post(
        "/api/residents/import",
        files={"file": ("居民.csv", content, "text/csv")},
        headers=bearer(session, world.consortium_admin),
    )
    assert response.status_code == 422
    fields = {(f["row"], f["field"]) for f in response.json()["error"]["fields"]}
    assert fields == {(3, "id_number"), (4, "id_number"), (5, "name"), (5, "grid_code")}
    assert "未写入" in response.json()["error"]["message_zh"]
    assert count_residents(session) == before


def test_valid_import_writes_every_row_and_skips_known_people(
    client: TestClient, session: Session, audit: AuditWriter
) -> None:
    world = build_world(session)
    rows = [
        f"{make_id_number('640181', date(1980, 1, 1), n, 'F')},赵{n},,{world.grid_a.code}"
        for n in range(1, 6)
    ]
    rows.append(f"{world.resident_a.id_number},张桂兰,,{world.grid_a.code}")
    before = count_residents(session)
    response = client.post(
        "/api/residents/import",
        files={"file": ("r.csv", csv_bytes(rows), "text/csv")},
        headers=bearer(session, world.consortium_admin),
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 5, "already_registered": 1}
    assert count_residents(session) == before + 5
    # The rows' audit committed with them (decision 0019), not through the writer's queue.
    assert drain_audit(audit, session) == 0
    imported = select(func.count()).select_from(AuditLog).where(AuditLog.action == "import")
    assert session.scalar(imported) == 5


def test_excel_import_reads_the_first_sheet(client: TestClient, session: Session) -> None:
    from yilian.kit.tabular import write_xlsx

    world = build_world(session)
    content = write_xlsx(
        ["身份证号", "姓名", "网格编码"],
        [[make_id_number("640181", date(1990, 6, 1), 9, "M"), "周强", world.grid_a.code]],
    )
    response = client.post(
        "/api/residents/import",
        files={"file": ("r.xlsx", content, "application/octet-stream")},
        headers=bearer(session, world.consortium_admin),
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1


def test_export_masks_neutralises_formulas_and_is_audited(
    client: TestClient, session: Session, audit: AuditWriter
) -> None:
    import csv
    import io

    world = build_world(session)
    world.resident_a.address = '=HYPERLINK("http://evil")'
    session.flush()
    response = client.get(
        "/api/residents/export",
        params={"q": "张", "format": "csv"},
        headers=bearer(session, world.consortium_admin),
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["姓名", "性别", "年龄", "身份证号"]
    name, sex, age, id_number, phone, grid, address, status = rows[1]
    assert (name, sex, age) == ("张桂兰", "女", "66")
    assert id_number == world.resident_a.id_number[:6] + "********" + world.resident_a.id_number[-4:]
    assert phone == "139****5678" and address.startswith("'=")
    assert drain_audit(audit, session) == 1
    assert (
        session.scalar(select(AuditLog.action).where(AuditLog.resident_id == world.resident_a.id)) == "export"
    )


def test_excel_export_opens_with_openpyxl(client: TestClient, session: Session) -> None:
    import io

    import openpyxl

    world = build_world(session)
    response = client.get(
        "/api/residents/export", params={"q": "李"}, headers=bearer(session, world.insurance)
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert (
        values[1][0] == "李建国" and values[1][3] == world.resident_b.id_number
    )  # insurance sees full numbers
