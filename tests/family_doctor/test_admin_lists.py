"""The administrator's paged lists of teams and packages, and the team export: filtered, scoped, whole."""

from __future__ import annotations

import io

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, create_user
from tests.factories.family_doctor import create_package, create_team
from tests.factories.world import build_far_county, build_world
from yilian.auth import rules as roles


def test_team_page_pages_filters_and_names_members(client: TestClient, session: Session) -> None:
    world = build_world(session)
    team, _ = create_team(session, world)
    far = build_far_county(session)
    headers = bearer(session, world.consortium_admin)
    page = client.get("/api/teams/page", params={"limit": 1}, headers=headers).json()
    assert (page["total"], page["offset"], page["limit"]) == (1, 0, 1)
    row = page["items"][0]
    assert row["name"] == team.name and row["institution_name"] == world.township_a.name
    assert sorted(m["role"] for m in row["members"]) == ["专科医生", "健康管理师", "全科医生", "村医"]
    assert all(set(m) == {"name", "role"} for m in row["members"])  # names, not ids
    assert client.get("/api/teams/page", params={"q": "没有这个团队"}, headers=headers).json()["total"] == 0
    other = client.get(
        "/api/teams/page", params={"institution_id": world.township_b.id}, headers=headers
    ).json()
    assert other["total"] == 0
    # Another county's administrator sees none of these teams.
    assert client.get("/api/teams/page", headers=bearer(session, far.consortium_admin)).json()["total"] == 0


def test_team_export_is_the_whole_filtered_list(client: TestClient, session: Session) -> None:
    world = build_world(session)
    team, _ = create_team(session, world)
    exported = client.get("/api/teams/export", headers=bearer(session, world.consortium_admin))
    assert exported.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(exported.content)).active
    assert sheet is not None
    assert [c.value for c in sheet[1]][:3] == ["团队编码", "团队名称", "所属机构"]
    assert [c.value for c in sheet[2]][:3] == [team.code, team.name, world.township_a.name]
    assert sheet.max_row == 2


def test_package_page_filters_by_category_and_pages(client: TestClient, session: Session) -> None:
    world = build_world(session)
    create_package(session, world, category="基础包")
    first, second = (create_package(session, world, category="高血压") for _ in range(2))
    codes = sorted([first.code, second.code])
    headers = bearer(session, world.consortium_admin)
    page = client.get("/api/packages/page", params={"category": "高血压", "limit": 1}, headers=headers).json()
    assert page["total"] == 2 and [p["code"] for p in page["items"]] == codes[:1]
    rest = client.get(
        "/api/packages/page", params={"category": "高血压", "offset": 1, "limit": 1}, headers=headers
    ).json()
    assert [p["code"] for p in rest["items"]] == codes[1:]
    # An account outside any consortium gets an empty page, not an error.
    outsider = bearer(session, create_user(session, role=roles.INSURANCE, region_code="640181"))
    assert client.get("/api/packages/page", headers=outsider).status_code == 200


def test_one_person_twice_in_a_team_is_a_field_error_not_a_500(client: TestClient, session: Session) -> None:
    """The screen lets an administrator pick the same person for two roles; the team's unique key
    (team, staff) made that a 500 at the flush. Now a 422 beside the members, and nothing saved."""
    from sqlalchemy import func, select

    from tests.factories.registry import create_staff
    from yilian.models import FamilyDoctorTeam

    world = build_world(session)
    staff = [create_staff(session, institution=world.township_a).id for _ in range(3)]
    body = {
        "code": "TD",
        "name": "重复成员团队",
        "consortium_id": world.consortium.id,
        "institution_id": world.township_a.id,
        "members": [
            {"staff_id": s, "role": r}
            for s, r in zip([*staff, staff[1]], ("村医", "全科医生", "专科医生", "健康管理师"), strict=True)
        ],
    }
    response = client.post("/api/teams", json=body, headers=bearer(session, world.consortium_admin))
    assert response.status_code == 422, response.text
    assert [(f["field"], f["message_zh"]) for f in response.json()["error"]["fields"]] == [
        ("members.staff_id", "同一人员不能在团队中出现两次")
    ]
    assert session.scalar(select(func.count()).select_from(FamilyDoctorTeam)) == 0
