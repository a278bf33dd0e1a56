"""A small county: a county hospital leading a consortium of two townships, each with a village grid."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tests.factories.auth import create_user
from tests.factories.registry import create_consortium, create_division, create_grid, create_institution
from tests.factories.residents import create_resident
from yilian.auth import rules as roles
from yilian.models import Consortium, Grid, Institution, Resident, User


@dataclass
class World:
    hospital: Institution
    township_a: Institution
    township_b: Institution
    clinic_a: Institution
    consortium: Consortium
    grid_a: Grid
    grid_b: Grid
    resident_a: Resident
    resident_b: Resident
    commission: User
    consortium_admin: User
    doctor: User
    family_doctor_a: User
    insurance: User
    resident_user_a: User


def build_world(session: Session) -> World:
    create_division(session, code="640000", name="宁夏回族自治区", level="province")
    create_division(session, code="640100", name="银川市", level="city", parent_code="640000")
    create_division(session, code="640181", name="灵武市", level="county", parent_code="640100")
    hospital = create_institution(session, name="灵武市人民医院", type="综合医院", level="二级")
    township_a = create_institution(session, name="崇兴镇卫生院")
    township_b = create_institution(session, name="郝家桥镇卫生院")
    clinic_a = create_institution(
        session, name="崇兴镇台子村卫生室", type="村卫生室", level="未定级", parent_id=township_a.id
    )
    consortium = create_consortium(session, lead=hospital, members=[township_a, township_b, clinic_a])
    grid_a = create_grid(
        session, consortium=consortium, institution=township_a, clinic=clinic_a, name="台子村"
    )
    grid_b = create_grid(session, consortium=consortium, institution=township_b, name="郝家桥村")
    resident_a = create_resident(session, grid=grid_a, name="张桂兰")
    resident_b = create_resident(session, grid=grid_b, name="李建国", sex="M")
    return World(
        hospital=hospital,
        township_a=township_a,
        township_b=township_b,
        clinic_a=clinic_a,
        consortium=consortium,
        grid_a=grid_a,
        grid_b=grid_b,
        resident_a=resident_a,
        resident_b=resident_b,
        commission=create_user(session, role=roles.COMMISSION, region_code="640181"),
        consortium_admin=create_user(session, role=roles.CONSORTIUM_ADMIN, consortium_id=consortium.id),
        doctor=create_user(session, role=roles.DOCTOR, institution_id=hospital.id),
        family_doctor_a=create_user(
            session, role=roles.FAMILY_DOCTOR, institution_id=township_a.id, grid_ids=(grid_a.id,)
        ),
        insurance=create_user(session, role=roles.INSURANCE, region_code="640181"),
        resident_user_a=create_user(session, role=roles.RESIDENT, resident_id=resident_a.id),
    )


@dataclass
class FarCounty:
    """A neighbouring county (永宁县 640121) that the county above must not reach into."""

    hospital: Institution
    township: Institution
    consortium: Consortium
    grid: Grid
    resident: Resident
    commission: User
    consortium_admin: User
    institution_admin: User


def build_far_county(session: Session) -> FarCounty:
    create_division(session, code="640000", name="宁夏回族自治区", level="province")
    create_division(session, code="640100", name="银川市", level="city", parent_code="640000")
    create_division(session, code="640121", name="永宁县", level="county", parent_code="640100")
    hospital = create_institution(
        session, name="永宁县人民医院", type="综合医院", level="二级", region_code="640121"
    )
    township = create_institution(session, name="望远镇卫生院", region_code="640121")
    consortium = create_consortium(session, lead=hospital, members=[township])
    grid = create_grid(session, consortium=consortium, institution=township, name="望远村")
    return FarCounty(
        hospital=hospital,
        township=township,
        consortium=consortium,
        grid=grid,
        resident=create_resident(session, grid=grid, name="马小梅", region_code="640121"),
        commission=create_user(session, role=roles.COMMISSION, region_code="640121"),
        consortium_admin=create_user(session, role=roles.CONSORTIUM_ADMIN, consortium_id=consortium.id),
        institution_admin=create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=hospital.id),
    )
