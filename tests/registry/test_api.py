"""The registry through the API: institutions, consortia, members, grids, staff, postings."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, create_user
from tests.factories.registry import create_division, create_institution, create_staff
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.models import Institution


def test_create_institution_validates_every_field(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.commission)
    before = session.scalar(select(func.count()).select_from(Institution))
    bad = client.post(
        "/api/institutions",
        json={
            "code": "X1",
            "name": "某卫生院",
            "level": "四级",
            "type": "乡镇卫生院",
            "region_code": "640181",
        },
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "level"
    unknown_region = client.post(
        "/api/institutions",
        json={
            "code": "X1",
            "name": "某卫生院",
            "level": "一级",
            "type": "乡镇卫生院",
            "region_code": "640999",
        },
        headers=headers,
    )
    assert unknown_region.json()["error"]["fields"][0]["field"] == "region_code"
    unknown_parent = client.post(
        "/api/institutions",
        json={
            "code": "X1",
            "name": "某卫生室",
            "level": "未定级",
            "type": "村卫生室",
            "region_code": "640181",
            "parent_id": 99999,
        },
        headers=headers,
    )
    assert (
        unknown_parent.status_code == 422
        and unknown_parent.json()["error"]["fields"][0]["field"] == "parent_id"
    )
    assert session.scalar(select(func.count()).select_from(Institution)) == before
    good = client.post(
        "/api/institutions",
        json={
            "code": "X1",
            "name": "某卫生室",
            "level": "未定级",
            "type": "村卫生室",
            "region_code": "640181",
            "parent_id": world.township_a.id,
        },
        headers=headers,
    )
    assert good.status_code == 201 and good.json()["is_grassroots"] is True


def test_institution_may_join_several_consortia(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.commission)
    alliance = client.post(
        "/api/consortia",
        json={
            "code": "ZK1",
            "name": "胸痛专科联盟",
            "kind": "专科联盟",
            "region_code": "640181",
            "lead_institution_id": world.hospital.id,
        },
        headers=headers,
    )
    assert alliance.status_code == 201
    alliance_id = alliance.json()["id"]
    joined = client.post(
        f"/api/consortia/{alliance_id}/members", json={"institution_id": world.township_a.id}, headers=headers
    )
    assert joined.status_code == 201
    again = client.post(
        f"/api/consortia/{alliance_id}/members", json={"institution_id": world.township_a.id}, headers=headers
    )
    assert again.status_code == 409
    detail = client.get(f"/api/consortia/{alliance_id}", headers=headers).json()
    assert [(m["institution_name"], m["role"]) for m in detail["members"]] == [
        ("灵武市人民医院", "牵头"),
        ("崇兴镇卫生院", "成员"),
    ]


def test_grid_must_be_served_by_a_member(client: TestClient, session: Session) -> None:
    world = build_world(session)
    outsider = create_institution(session, name="外县卫生院")
    response = client.post(
        f"/api/consortia/{world.consortium.id}/grids",
        json={"code": "GX", "name": "某村", "region_code": "640181", "institution_id": outsider.id},
        headers=bearer(session, world.consortium_admin),
    )
    assert response.status_code == 422 and response.json()["error"]["fields"][0]["field"] == "institution_id"


def test_county_users_see_their_county_and_the_province_sees_all(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    create_division(session, code="640121", name="永宁县", parent_code="640100")
    create_institution(session, name="永宁县人民医院", type="综合医院", level="二级", region_code="640121")
    county = client.get("/api/institutions", headers=bearer(session, world.commission)).json()
    assert {i["region_code"] for i in county["items"]} == {"640181"}
    province = create_user(session, role=roles.COMMISSION, region_code="640000")
    everything = client.get("/api/institutions", headers=bearer(session, province)).json()
    assert {i["region_code"] for i in everything["items"]} == {"640181", "640121"}


def test_family_doctor_cannot_edit_the_registry(client: TestClient, session: Session) -> None:
    world = build_world(session)
    response = client.post(
        "/api/institutions",
        json={"code": "X2", "name": "x", "level": "一级", "type": "乡镇卫生院", "region_code": "640181"},
        headers=bearer(session, world.family_doctor_a),
    )
    assert response.status_code == 403


def test_postings_of_six_months_are_counted(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.commission)
    doctor = create_staff(session, institution=world.hospital)
    spans = [
        ("2026-01-10", "2026-07-10"),
        ("2026-03-01", "2026-08-31"),
        ("2026-05-24", None),
        ("2026-06-01", None),
    ]
    for start, end in spans:
        response = client.post(
            f"/api/staff/{doctor.id}/postings",
            json={
                "institution_id": world.township_a.id,
                "kind": "县管乡用",
                "start_on": start,
                "end_on": end,
            },
            headers=headers,
        )
        assert response.status_code == 201, response.text
    summary = client.get("/api/postings/summary?as_of=2026-11-24", headers=headers).json()
    # 01-10→07-10 is six months; 03-01→08-31 falls a day short; 05-24 open reached six months on 11-24; 06-01 not yet.
    assert summary["county_managed_township_used"] == 2
    backwards = client.post(
        f"/api/staff/{doctor.id}/postings",
        json={
            "institution_id": world.township_a.id,
            "kind": "县管乡用",
            "start_on": "2026-05-01",
            "end_on": "2026-04-01",
        },
        headers=headers,
    )
    assert backwards.status_code == 422 and backwards.json()["error"]["fields"][0]["field"] == "end_on"
