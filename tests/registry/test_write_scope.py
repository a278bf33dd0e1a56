"""Registry writes are scoped like reads (decision 0022): outside the county the caller reads, an
object is "not found" (404 in the path, 422 "does not exist" in the body); read but not run, 403."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, create_user
from tests.factories.registry import create_consortium, create_division, create_institution, create_staff
from tests.factories.world import World, build_world
from yilian.auth import rules as roles
from yilian.models import Consortium, ConsortiumMember, Grid, Institution, Posting, Staff

MISSING = 987654


@dataclass
class Two:
    world: World
    far_hospital: Institution
    far_consortium: Consortium
    institution_admin: dict[str, str]
    commission: dict[str, str]
    consortium_admin: dict[str, str]


def two_counties(session: Session) -> Two:
    world = build_world(session)
    create_division(session, code="640121", name="永宁县", parent_code="640100")
    far_hospital = create_institution(
        session, name="永宁县人民医院", type="综合医院", level="二级", region_code="640121"
    )
    far_consortium = create_consortium(session, lead=far_hospital)
    admin = create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.township_a.id)
    return Two(
        world=world,
        far_hospital=far_hospital,
        far_consortium=far_consortium,
        institution_admin=bearer(session, admin),
        commission=bearer(session, world.commission),
        consortium_admin=bearer(session, world.consortium_admin),
    )


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def institution_body(code: str, region_code: str, **more: object) -> dict[str, object]:
    return {
        "code": code,
        "name": "某卫生室",
        "level": "未定级",
        "type": "村卫生室",
        "region_code": region_code,
        **more,
    }


def test_an_institution_admin_registers_institutions_in_its_own_county_only(
    client: TestClient, session: Session
) -> None:
    two = two_counties(session)
    before = count(session, Institution)
    far = client.post(
        "/api/institutions", json=institution_body("W1", "640121"), headers=two.institution_admin
    )
    assert far.status_code == 403 and "region_code" in far.json()["error"]["message_en"]
    # The province's code is not the county either: a county user registers inside the county.
    province = client.post("/api/institutions", json=institution_body("W2", "640000"), headers=two.commission)
    assert province.status_code == 403
    # A parent in another county is as unknown as one that does not exist.
    hidden = client.post(
        "/api/institutions",
        json=institution_body("W3", "640181", parent_id=two.far_hospital.id),
        headers=two.commission,
    )
    missing = client.post(
        "/api/institutions", json=institution_body("W3", "640181", parent_id=MISSING), headers=two.commission
    )
    assert hidden.status_code == missing.status_code == 422
    assert hidden.json()["error"]["fields"][0]["message_en"] == missing.json()["error"]["fields"][0][
        "message_en"
    ].replace(str(MISSING), str(two.far_hospital.id))
    assert count(session, Institution) == before
    own = client.post(
        "/api/institutions",
        json=institution_body("W4", "640181", parent_id=two.world.township_a.id),
        headers=two.institution_admin,
    )
    assert own.status_code == 201, own.text


def test_consortia_are_created_in_the_callers_division_with_a_lead_it_runs(
    client: TestClient, session: Session
) -> None:
    two = two_counties(session)
    before = count(session, Consortium)
    body = {"code": "ZK9", "name": "专科联盟", "kind": "专科联盟", "region_code": "640121"}
    far = client.post(
        "/api/consortia", json={**body, "lead_institution_id": two.world.hospital.id}, headers=two.commission
    )
    assert far.status_code == 403
    far_lead = client.post(
        "/api/consortia",
        json={**body, "region_code": "640181", "lead_institution_id": two.far_hospital.id},
        headers=two.commission,
    )
    assert (
        far_lead.status_code == 422
        and far_lead.json()["error"]["fields"][0]["field"] == "lead_institution_id"
    )
    # A township's administrator does not found a consortium led by the county hospital.
    not_theirs = client.post(
        "/api/consortia",
        json={**body, "region_code": "640181", "lead_institution_id": two.world.hospital.id},
        headers=two.institution_admin,
    )
    assert not_theirs.status_code == 403
    assert count(session, Consortium) == before


def test_members_are_added_to_consortia_the_caller_runs(client: TestClient, session: Session) -> None:
    two = two_counties(session)
    before = count(session, ConsortiumMember)
    township = create_institution(session, name="梧桐树乡卫生院")
    far = client.post(
        f"/api/consortia/{two.far_consortium.id}/members",
        json={"institution_id": township.id},
        headers=two.consortium_admin,
    )
    missing = client.post(
        f"/api/consortia/{MISSING}/members",
        json={"institution_id": township.id},
        headers=two.consortium_admin,
    )
    assert far.status_code == missing.status_code == 404 and far.json() == missing.json()
    # Another consortium of the same county: visible in the registry, not theirs to change.
    neighbour = create_consortium(session, lead=township, kind="专科联盟")
    assert (
        client.post(
            f"/api/consortia/{neighbour.id}/members",
            json={"institution_id": two.world.township_b.id},
            headers=two.consortium_admin,
        ).status_code
        == 403
    )
    # An institution administrator maintains its institution, not a consortium's membership.
    assert (
        client.post(
            f"/api/consortia/{two.world.consortium.id}/members",
            json={"institution_id": township.id},
            headers=two.institution_admin,
        ).status_code
        == 403
    )
    far_member = client.post(
        f"/api/consortia/{two.world.consortium.id}/members",
        json={"institution_id": two.far_hospital.id},
        headers=two.consortium_admin,
    )
    assert (
        far_member.status_code == 422 and far_member.json()["error"]["fields"][0]["field"] == "institution_id"
    )
    assert count(session, ConsortiumMember) == before + 1  # the neighbour's lead, by the factory
    joined = client.post(
        f"/api/consortia/{two.world.consortium.id}/members",
        json={"institution_id": township.id},
        headers=two.consortium_admin,
    )
    assert joined.status_code == 201, joined.text


def test_grids_are_drawn_in_the_callers_consortium_and_division(client: TestClient, session: Session) -> None:
    two = two_counties(session)
    before = count(session, Grid)
    body = {"code": "GW", "name": "某村", "region_code": "640181", "institution_id": two.world.township_a.id}
    far = client.post(f"/api/consortia/{two.far_consortium.id}/grids", json=body, headers=two.commission)
    assert far.status_code == 404
    far_region = client.post(
        f"/api/consortia/{two.world.consortium.id}/grids",
        json={**body, "region_code": "640121"},
        headers=two.commission,
    )
    assert far_region.status_code == 403
    far_clinic = client.post(
        f"/api/consortia/{two.world.consortium.id}/grids",
        json={**body, "clinic_id": two.far_hospital.id},
        headers=two.consortium_admin,
    )
    assert far_clinic.status_code == 422 and far_clinic.json()["error"]["fields"][0]["field"] == "clinic_id"
    assert count(session, Grid) == before
    own = client.post(
        f"/api/consortia/{two.world.consortium.id}/grids", json=body, headers=two.consortium_admin
    )
    assert own.status_code == 201, own.text


def test_staff_are_registered_at_institutions_the_caller_runs(client: TestClient, session: Session) -> None:
    two = two_counties(session)
    before = count(session, Staff)
    body = {"code": "SW1", "name": "王医生", "sex": "M", "practitioner_type": "执业医师"}
    far = client.post(
        "/api/staff", json={**body, "home_institution_id": two.far_hospital.id}, headers=two.commission
    )
    missing = client.post("/api/staff", json={**body, "home_institution_id": MISSING}, headers=two.commission)
    assert far.status_code == missing.status_code == 422
    assert far.json()["error"]["fields"][0]["field"] == "home_institution_id"
    # The county hospital is in the township administrator's county, but not theirs to staff.
    hospital = client.post(
        "/api/staff",
        json={**body, "home_institution_id": two.world.hospital.id},
        headers=two.institution_admin,
    )
    assert hospital.status_code == 403
    assert count(session, Staff) == before
    own = client.post(
        "/api/staff",
        json={**body, "home_institution_id": two.world.township_a.id},
        headers=two.institution_admin,
    )
    assert own.status_code == 201, own.text


def test_postings_are_recorded_for_staff_the_caller_runs(client: TestClient, session: Session) -> None:
    two = two_counties(session)
    body = {"institution_id": two.world.township_a.id, "kind": "县管乡用", "start_on": "2026-01-10"}
    far_staff = create_staff(session, institution=two.far_hospital)
    far = client.post(f"/api/staff/{far_staff.id}/postings", json=body, headers=two.commission)
    missing = client.post(f"/api/staff/{MISSING}/postings", json=body, headers=two.commission)
    assert far.status_code == missing.status_code == 404 and far.json() == missing.json()
    hospital_doctor = create_staff(session, institution=two.world.hospital)
    not_theirs = client.post(
        f"/api/staff/{hospital_doctor.id}/postings", json=body, headers=two.institution_admin
    )
    assert not_theirs.status_code == 403
    far_target = client.post(
        f"/api/staff/{hospital_doctor.id}/postings",
        json={**body, "institution_id": two.far_hospital.id},
        headers=two.commission,
    )
    assert (
        far_target.status_code == 422 and far_target.json()["error"]["fields"][0]["field"] == "institution_id"
    )
    assert count(session, Posting) == 0
    own = client.post(f"/api/staff/{hospital_doctor.id}/postings", json=body, headers=two.commission)
    assert own.status_code == 201, own.text
