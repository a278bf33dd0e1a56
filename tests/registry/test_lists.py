"""The registry screens' lists: filtered, sorted, server-paged, and exported whole."""

from __future__ import annotations

import io

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import bearer
from tests.factories.registry import create_division, create_institution, create_staff
from tests.factories.world import build_world


def _sheet(content: bytes) -> list[tuple[object, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return list(book.worksheets[0].iter_rows(values_only=True))


def test_institutions_filter_sort_page_and_export_the_whole_list(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    headers = bearer(session, world.commission)
    for n in range(7):
        create_institution(session, name=f"测试镇{n}卫生院", type="乡镇卫生院")
    create_division(session, code="640121", name="永宁县", parent_code="640100")
    create_institution(session, name="测试镇外县卫生院", region_code="640121")  # not the commission's county
    page = client.get(
        "/api/institutions", params={"q": "测试镇", "sort": "-name", "limit": 3, "offset": 3}, headers=headers
    ).json()
    assert page["total"] == 7 and page["offset"] == 3 and page["limit"] == 3
    assert [i["name"] for i in page["items"]] == ["测试镇3卫生院", "测试镇2卫生院", "测试镇1卫生院"]
    typed = client.get("/api/institutions", params={"type": "综合医院"}, headers=headers).json()
    assert [i["name"] for i in typed["items"]] == [world.hospital.name]
    exported = client.get("/api/institutions/export", params={"q": "测试镇"}, headers=headers)
    rows = _sheet(exported.content)
    assert rows[0][1] == "机构名称" and len(rows) == 1 + 7  # the whole filtered list, not one page
    bad_sort = client.get("/api/institutions", params={"sort": "password"}, headers=headers)
    assert bad_sort.status_code == 422 and bad_sort.json()["error"]["fields"][0]["field"] == "sort"


def test_consortia_list_counts_members_and_grids_and_exports(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.commission)
    page = client.get("/api/consortia", headers=headers).json()
    assert page["total"] == 1
    row = page["items"][0]
    assert row["name"] == world.consortium.name and row["lead_institution_name"] == world.hospital.name
    assert row["member_count"] >= 2 and row["grid_count"] == 2
    assert client.get("/api/consortia", params={"kind": "专科联盟"}, headers=headers).json()["total"] == 0
    grids = client.get(f"/api/consortia/{world.consortium.id}/grids", headers=headers).json()
    assert grids["total"] == 2 and {g["name"] for g in grids["items"]} == {
        world.grid_a.name,
        world.grid_b.name,
    }
    rows = _sheet(client.get("/api/consortia/export", headers=headers).content)
    assert rows[1][1] == world.consortium.name and rows[1][3] == world.hospital.name


def test_staff_list_masks_pages_and_shows_postings(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.commission)
    doctors = [create_staff(session, institution=world.township_a) for _ in range(3)]
    create_staff(session, institution=world.hospital, practitioner_type="护士")
    posted = client.post(
        f"/api/staff/{doctors[0].id}/postings",
        json={"institution_id": world.township_b.id, "kind": "派驻", "start_on": "2026-03-01"},
        headers=headers,
    )
    assert posted.status_code == 201
    page = client.get(
        "/api/staff", params={"institution_id": world.township_a.id, "limit": 2}, headers=headers
    ).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    first = page["items"][0]
    assert first["home_institution_name"] == world.township_a.name
    assert first["phone"] == "139****1111"  # masked as in every list
    assert first["open_postings"] == 1
    nurses = client.get("/api/staff", params={"practitioner_type": "护士"}, headers=headers).json()
    assert [s["home_institution_name"] for s in nurses["items"]] == [world.hospital.name]
    postings = client.get(f"/api/staff/{doctors[0].id}/postings", headers=headers).json()
    assert [(p["institution_name"], p["kind"], p["end_on"]) for p in postings] == [
        (world.township_b.name, "派驻", None)
    ]
    rows = _sheet(
        client.get(
            "/api/staff/export", params={"institution_id": world.township_a.id}, headers=headers
        ).content
    )
    assert len(rows) == 1 + 3 and rows[1][4] == "139****1111"


def test_residents_cannot_read_the_staff_register(client: TestClient, session: Session) -> None:
    world = build_world(session)
    staff = create_staff(session, institution=world.township_a)
    headers = bearer(session, world.resident_user_a)
    assert client.get("/api/staff", headers=headers).status_code == 403
    assert client.get(f"/api/staff/{staff.id}/postings", headers=headers).status_code == 403


def test_staff_of_another_county_is_not_found(client: TestClient, session: Session) -> None:
    world = build_world(session)
    create_division(session, code="640121", name="永宁县", parent_code="640100")
    elsewhere = create_institution(session, name="永宁县医院", region_code="640121")
    stranger = create_staff(session, institution=elsewhere)
    headers = bearer(session, world.commission)
    assert client.get(f"/api/staff/{stranger.id}/postings", headers=headers).status_code == 404
    names = {
        s["name"] for s in client.get("/api/staff", params={"limit": 500}, headers=headers).json()["items"]
    }
    assert stranger.name not in names


def test_the_grids_a_registrar_serves(client: TestClient, session: Session) -> None:
    world = build_world(session)
    mine = client.get("/api/grids", headers=bearer(session, world.family_doctor_a)).json()
    assert [g["name"] for g in mine["items"]] == [world.grid_a.name]  # a family doctor's own grid only
    county = client.get("/api/grids", headers=bearer(session, world.commission)).json()
    assert {g["name"] for g in county["items"]} == {world.grid_a.name, world.grid_b.name}
    assert client.get("/api/grids", headers=bearer(session, world.resident_user_a)).status_code == 403
