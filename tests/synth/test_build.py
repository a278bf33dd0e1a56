"""The synthetic county: deterministic, realistic shares, valid identifiers, working demo logins."""

from __future__ import annotations

from datetime import date

import pytest
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import CHEAP_SETTINGS
from tests.factories.synth import DEMO_PASSWORD, TODAY
from tests.factories.synth import build_county as build
from yilian.auth.passwords import verify_password
from yilian.kit.db import make_engine
from yilian.kit.errors import AppError
from yilian.kit.id_numbers import parse_id_number
from yilian.models import (
    CareRelation,
    Consortium,
    ConsortiumMember,
    Encounter,
    Grid,
    Institution,
    Resident,
    Staff,
    User,
)
from yilian.synth.build import build_synthetic_region


def test_default_county_shape(fresh_database_url: str) -> None:
    report = build(fresh_database_url)
    engine = make_engine(fresh_database_url)
    with Session(engine) as session:
        by_type = dict(
            session.execute(select(Institution.type, func.count()).group_by(Institution.type)).all()
        )
        assert by_type["综合医院"] == 1 + 2  # the county people's hospital + two provincial general hospitals
        assert by_type["乡镇卫生院"] == 12 and by_type["社区卫生服务中心"] == 4 and by_type["村卫生室"] == 150
        assert by_type["中医医院"] == 2 and by_type["妇幼保健院"] == 1
        hubs = session.scalar(
            select(func.count()).select_from(ConsortiumMember).where(ConsortiumMember.role == "次中心")
        )
        assert hubs == 2
        kinds = set(session.scalars(select(Consortium.kind)))
        assert kinds == {"县域医共体", "专科联盟", "远程医疗协作网"}
        staff = session.scalar(select(func.count()).select_from(Staff)) or 0
        assert 900 <= staff <= 1300
        assert session.scalar(select(func.count()).select_from(Resident)) == 3000
        assert session.scalar(select(func.count()).select_from(Grid)) == 150 + 12
        rural = (
            session.scalar(
                select(func.count())
                .select_from(Resident)
                .join(Grid, Grid.id == Resident.grid_id)
                .where(Grid.clinic_id.is_not(None))
            )
            or 0
        )
        assert 0.72 <= rural / 3000 <= 0.78
        encounters = session.scalar(select(func.count()).select_from(Encounter)) or 0
        assert 3000 * 2 * 4 <= encounters <= 3000 * 2 * 7  # ≈ 5 visits a resident a year
        grassroots = (
            session.scalar(
                select(func.count())
                .select_from(Encounter)
                .join(Institution)
                .where(Institution.is_grassroots.is_(True))
            )
            or 0
        )
        outside = (
            session.scalar(
                select(func.count()).select_from(Encounter).where(Encounter.out_of_county.is_(True))
            )
            or 0
        )
        assert 0.50 <= grassroots / encounters <= 0.62
        # The bulk load (COPY on PostgreSQL) went through care_relation's triggers: exact counts
        pairs = select(Encounter.institution_id, Encounter.resident_id, func.count()).group_by(
            Encounter.institution_id, Encounter.resident_id
        )
        counted = set(map(tuple, session.execute(pairs)))
        kept = select(CareRelation.institution_id, CareRelation.resident_id, CareRelation.encounters)
        assert set(map(tuple, session.execute(kept))) == counted and len(counted) > 3000
        assert 0.07 <= outside / encounters <= 0.13
        numbers = session.scalars(select(Resident.id_number)).all()
        assert len(set(numbers)) == len(numbers)
        for number in numbers[:500]:
            parse_id_number(number, today=TODAY)
        elderly = session.scalar(
            select(func.count()).select_from(Resident).where(Resident.birth_date <= date(1966, 11, 24))
        )
        assert 0.15 <= (elderly or 0) / 3000 <= 0.30  # aged 60+
        admin = session.scalar(select(User).where(User.username == "admin"))
        assert admin is not None and verify_password(admin.password_hash, DEMO_PASSWORD)
    assert report.encounters == encounters
    engine.dispose()


def test_same_seed_same_county(tmp_path: pytest.TempPathFactory) -> None:
    def fingerprint(url: str) -> tuple[object, ...]:
        build(url, residents=400)
        engine = make_engine(url)
        with Session(engine) as session:
            names = tuple(session.scalars(select(Resident.name).order_by(Resident.id).limit(50)))
            total = session.scalar(select(func.sum(Encounter.total_fen)))
        engine.dispose()
        return names, total

    assert fingerprint(f"sqlite:///{tmp_path}/a.db") == fingerprint(f"sqlite:///{tmp_path}/b.db")  # type: ignore[operator]


def test_refuses_a_database_that_has_data(fresh_database_url: str) -> None:
    build(fresh_database_url, residents=50)
    with pytest.raises(AppError) as caught:
        build_synthetic_region(
            fresh_database_url, residents_per_county=50, console=Console(quiet=True), today=TODAY,
            settings=CHEAP_SETTINGS,
        )
    assert caught.value.status == 409


def test_several_counties_under_one_province(fresh_database_url: str) -> None:
    build(fresh_database_url, residents=200, counties=3)
    engine = make_engine(fresh_database_url)
    with Session(engine) as session:
        counties = session.scalars(
            select(Consortium.region_code).where(Consortium.kind == "县域医共体")
        ).all()
        assert sorted(counties) == ["640121", "640122", "640181"]
        assert session.scalar(select(User.region_code).where(User.username == "admin")) == "640000"
    engine.dispose()
