"""Input that answered 500 under Schemathesis (issue 20), each the example that failed: now a 422
naming the field in Chinese and English (FHIR: a 400 OperationOutcome naming the parameter, a form
page: its 403), and a policy stored before its bounds were checked no longer breaks scheduling."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import PASSWORD, bearer, create_user, login
from tests.factories.registry import create_staff
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.evaluation import conduct_service
from yilian.indicators.catalogue import parse_period
from yilian.kit.errors import ValidationFailed
from yilian.kit.tabular import read_table
from yilian.models import ConductPolicy

BEYOND_64_BITS = 9223372036854775808  # 2**63
MAX_CELL_CHARS = 32_767  # Excel's limit for a cell, kit.tabular's too


def fields_of(response: object) -> dict[str, tuple[str, str]]:
    body = response.json()["error"]  # type: ignore[attr-defined]
    return {f["field"]: (f["message_zh"], f["message_en"]) for f in body["fields"]}


def test_an_id_beyond_64_bits_in_a_path_is_a_422_naming_it(client: TestClient, session: Session) -> None:
    world = build_world(session)
    response = client.get(f"/api/residents/{BEYOND_64_BITS}", headers=bearer(session, world.doctor))
    assert response.status_code == 422, response.text
    assert fields_of(response)["resident_id"] == (
        "不能大于2147483647",
        "Input should be less than or equal to 2147483647",
    )
    # PostgreSQL's int4 key: "integer out of range" (a 500) there, a 404 on SQLite.
    beyond_int4 = client.get(f"/api/residents/{2**31}", headers=bearer(session, world.doctor))
    assert beyond_int4.status_code == 422 and list(fields_of(beyond_int4)) == ["resident_id"]


def test_an_id_of_1e25_in_a_body_is_a_422_naming_it(client: TestClient, session: Session) -> None:
    world = build_world(session)
    response = client.post(
        "/api/bookings",
        json={"slot_id": 10**25, "resident_id": world.resident_a.id},
        headers=bearer(session, world.family_doctor_a),
    )
    assert response.status_code == 422, response.text
    assert list(fields_of(response)) == ["slot_id"]


def test_a_huge_offset_in_a_fhir_search_is_a_400_naming_it(client: TestClient, session: Session) -> None:
    world = build_world(session)
    response = client.get(
        "/fhir/Patient", params={"_offset": "1" + "0" * 25}, headers=bearer(session, world.doctor)
    )
    assert response.status_code == 400, response.text
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["_offset"] and "不是有效的整数" in issue["diagnostics"]
    unicode_digit = client.get("/fhir/Patient/²", headers=bearer(session, world.doctor))
    assert unicode_digit.status_code == 404


def test_a_cost_of_1e30_is_a_422_naming_it(client: TestClient, session: Session) -> None:
    world = build_world(session)
    body = {
        "resident_id": world.resident_a.id,
        "institution_id": world.hospital.id,
        "kind": "outpatient",
        "start_date": "2026-11-20",
        "diagnoses": ["I10.x00"],
        "total_cost": "1e30",
        "fund_paid": "0",
    }
    response = client.post("/api/encounters", json=body, headers=bearer(session, world.doctor))
    assert response.status_code == 422, response.text
    assert fields_of(response)["total_cost"][0] == "不能大于100000000"


def test_a_csv_field_over_128_kib_is_a_422_naming_its_column(client: TestClient, session: Session) -> None:
    world = build_world(session)
    long_name = "王" * (130 * 1024)
    content = f"身份证号,姓名,电话,网格编码\n640181197001010011,{long_name},,{world.grid_a.code}\n".encode()
    response = client.post(
        "/api/residents/import",
        files={"file": ("居民.csv", content, "text/csv")},
        headers=bearer(session, world.consortium_admin),
    )
    assert response.status_code == 422, response.text
    [field] = response.json()["error"]["fields"]
    assert (field["field"], field["row"]) == ("姓名", 2)
    assert field["message_zh"] == f"第B列的单元格超过{MAX_CELL_CHARS}个字符"


def test_a_long_cell_in_the_header_row_is_named_by_its_letter() -> None:
    raw = ("a," * 27 + "x" * (MAX_CELL_CHARS + 1) + "\n1\n").encode()
    try:
        read_table("t.csv", raw)
    except Exception as error:
        assert [(f.field, f.row) for f in error.errors] == [("AB", 1)]  # type: ignore[attr-defined]
    else:
        raise AssertionError("a cell longer than Excel allows was read")


def test_a_conduct_expiry_that_overflows_dates_is_a_422_naming_it(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    response = client.put(
        "/api/conduct/policy",
        json={"threshold": 12, "expiry_days": 10**9, "appeal_days": 15},
        headers=bearer(session, world.commission),
    )
    assert response.status_code == 422, response.text
    assert fields_of(response) == {"expiry_days": ("须在1到36500之间", "must be between 1 and 36500")}
    beyond = client.put(
        "/api/conduct/policy",
        json={"threshold": 12, "expiry_days": 365, "appeal_days": BEYOND_64_BITS},
        headers=bearer(session, world.commission),
    )
    assert beyond.status_code == 422 and list(fields_of(beyond)) == ["appeal_days"]


def test_a_stored_policy_whose_expiry_overflows_dates_does_not_break_scheduling(
    client: TestClient, session: Session
) -> None:
    """A policy stored before the bounds were checked: scheduling and postings ask for the standing."""
    world = build_world(session)
    staff = create_staff(session, institution=world.hospital)
    session.add(ConductPolicy(threshold=12, expiry_days=10**9, appeal_days=15, set_at=datetime(2026, 1, 1)))
    session.flush()
    standing = conduct_service.standing(session, today=datetime(2026, 11, 24).date(), staff_id=staff.id)
    assert (standing.points, standing.blacklisted) == (0, False)
    admin = create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.hospital.id)
    response = client.post(
        "/api/schedules",
        json={"institution_id": world.hospital.id, "kind": "clinic", "name": "门诊", "staff_id": staff.id},
        headers=bearer(session, admin),
    )
    assert response.status_code == 201, response.text


def test_a_form_token_with_a_non_ascii_character_is_refused_not_a_500(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    assert login(client, world.doctor.username, PASSWORD) == 200
    response = client.post(
        "/api/contracts/999999/terminate", json={"reason": "x"}, headers={"X-CSRF-Token": "é".encode("latin-1")}
    )
    assert response.status_code == 403, response.text


def test_an_offset_beyond_64_bits_is_a_422_naming_it(client: TestClient, session: Session) -> None:
    world = build_world(session)
    for url in ("/api/residents", "/api/institutions"):
        response = client.get(url, params={"offset": 10**20}, headers=bearer(session, world.commission))
        assert response.status_code == 422, response.text
        assert list(fields_of(response)) == ["offset"]


def test_a_year_and_hours_no_column_holds_are_a_422_naming_them(client: TestClient, session: Session) -> None:
    world = build_world(session)
    admin = bearer(
        session, create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.hospital.id)
    )
    for body, field in (
        ({"year": 10**20, "reserved_share": 30}, "year"),
        ({"year": 2026, "reserved_share": 30, "release_hours": 10**20}, "release_hours"),
    ):
        response = client.put("/api/booking-policy", json=body, headers=admin)
        assert response.status_code == 422, response.text
        assert list(fields_of(response)) == [field]


def test_the_last_day_of_the_calendar_is_a_422_naming_it(client: TestClient, session: Session) -> None:
    """9999-12-31 is a date, the day after it is not: publishing a session there was a 500."""
    world = build_world(session)
    admin = bearer(
        session, create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.hospital.id)
    )
    schedule = client.post(
        "/api/schedules",
        json={"institution_id": world.hospital.id, "kind": "clinic", "name": "门诊"},
        headers=admin,
    ).json()
    response = client.post(
        f"/api/schedules/{schedule['id']}/sessions",
        json={"day": "9999-12-31", "start": "23:59", "minutes": 480, "count": 200, "capacity": 100},
        headers=admin,
    )
    assert response.status_code == 422, response.text
    assert fields_of(response)["day"][0] == "不能大于2999-12-31"


def test_fhir_dates_and_periods_at_the_end_of_the_calendar_are_a_400(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    for url, user in (
        ("/fhir/Encounter?date=9999-12-31", world.doctor),
        ("/fhir/Appointment?date=gt9999-12-31T23:59:59", world.doctor),
    ):
        response = client.get(url, headers=bearer(session, user))
        assert response.status_code == 400, (url, response.text)
        assert response.json()["resourceType"] == "OperationOutcome"


def test_an_indicator_period_at_the_end_of_the_calendar_is_refused_naming_it() -> None:
    try:
        parse_period("9999-Q4")  # FHIR's MeasureReport?period= and /api/indicators?period=
    except ValidationFailed as error:
        assert [f.field for f in error.errors] == ["period"]
    else:
        raise AssertionError("a period ending after 9999-12-31 was accepted")


def test_text_with_a_nul_character_is_a_422_naming_the_field(client: TestClient, session: Session) -> None:
    """PostgreSQL refuses NUL in text (a 500 from psycopg); SQLite stored it. Now both refuse it."""
    world = build_world(session)
    headers = bearer(session, world.commission)
    search = client.get("/api/residents", params={"q": "张\x00"}, headers=headers)
    assert search.status_code == 422, search.text
    assert fields_of(search) == {
        "q": ("不能含空字符（U+0000）", "must not contain the NUL character (U+0000)")
    }
    body = {"code": "X\x00", "name": "新院", "level": "一级", "type": "乡镇卫生院", "region_code": "640181"}
    created = client.post("/api/institutions", json=body, headers=headers)
    assert created.status_code == 422 and list(fields_of(created)) == ["code"]
    fhir = client.get("/fhir/Patient", params={"name": "\x00"}, headers=bearer(session, world.doctor))
    assert fhir.status_code == 422 and fhir.json()["resourceType"] == "OperationOutcome"


def test_a_price_of_1e400_and_a_share_of_1e999999_are_a_422_naming_them(
    client: TestClient, session: Session
) -> None:
    """Turned into fen and per mille they raised decimal.InvalidOperation and Overflow (a 500)."""
    world = build_world(session)
    body = {
        "code": "GXY",
        "name": "高血压包",
        "category": "高血压",
        "price": "1e400",
        "insurance_share": "1e999999",
        "public_share": "0",
        "valid_from": "2026-01-01",
    }
    response = client.post("/api/packages", json=body, headers=bearer(session, world.consortium_admin))
    assert response.status_code == 422, response.text
    fields = fields_of(response)
    assert (fields["price"][0], fields["insurance_share"][0]) == ("不能大于100000000", "不能大于100")


def test_a_grid_or_staff_code_already_registered_is_a_409_naming_it(
    client: TestClient, session: Session
) -> None:
    """The unique constraint answered (IntegrityError, a 500) where the service should have."""
    world = build_world(session)
    headers = bearer(session, world.consortium_admin)
    grid = {
        "code": world.grid_a.code,
        "name": "新网格",
        "region_code": "640181",
        "institution_id": world.township_a.id,
    }
    taken = client.post(f"/api/consortia/{world.consortium.id}/grids", json=grid, headers=headers)
    assert taken.status_code == 409, taken.text
    assert list(fields_of(taken)) == ["code"]
    staff = {"code": "S900", "name": "王医生", "sex": "M", "practitioner_type": "执业医师"}
    staff["home_institution_id"] = world.hospital.id  # type: ignore[assignment]
    assert client.post("/api/staff", json=staff, headers=headers).status_code == 201
    again = client.post("/api/staff", json=staff, headers=headers)
    assert again.status_code == 409 and list(fields_of(again)) == ["code"]
