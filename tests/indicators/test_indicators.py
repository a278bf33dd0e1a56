"""Indicators against hand counts on a small county, on DuckDB over the platform's own database
(SQLite, or PostgreSQL in the second run), and the same compiled suite on Apache Spark."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.auth.test_web_login import login
from tests.factories.auth import PASSWORD
from tests.factories.encounters import create_encounter
from tests.factories.family_doctor import create_contract, create_package, create_team
from tests.factories.registry import create_institution
from tests.factories.world import World, build_world
from tests.insurance.test_service import actor_for
from yilian.app import create_app
from yilian.config import Settings
from yilian.indicators.catalogue import compile_queries, load_catalogue
from yilian.indicators.engine import DuckEngine, rows_to_counts
from yilian.indicators.service import catalogue, compute
from yilian.kit.audit import AuditWriter
from yilian.kit.db import make_engine
from yilian.kit.errors import ValidationFailed
from yilian.kit.migrate import upgrade
from yilian.models import ChronicRegister


def small_county(session: Session) -> World:
    """Two residents of 灵武市 and what they did in 2025 (plus one visit in 2024 that must not count).

    张桂兰 (grid A): three township visits, one county-hospital visit; signed; hypertensive.
    李建国 (grid B): a county-hospital stay, a provincial visit and a provincial stay; not signed."""
    world = build_world(session)
    provincial = create_institution(
        session, name="宁夏医科大学总医院", type="综合医院", level="三级", region_code="640104"
    )
    a, b = world.resident_a, world.resident_b
    for day in (3, 4, 5):
        create_encounter(session, resident=a, institution=world.township_a, on=date(2025, 3, day))
    create_encounter(session, resident=a, institution=world.hospital, on=date(2025, 4, 1))
    create_encounter(session, resident=b, institution=world.hospital, on=date(2025, 5, 1), kind="inpatient")
    create_encounter(session, resident=b, institution=provincial, on=date(2025, 6, 1), out_of_county=True)
    create_encounter(
        session, resident=b, institution=provincial, on=date(2025, 7, 1), kind="inpatient", out_of_county=True
    )
    create_encounter(session, resident=b, institution=world.township_b, on=date(2024, 12, 31))
    team, _ = create_team(session, world)
    create_contract(
        session,
        world,
        resident=a,
        team=team,
        package=create_package(session, world),
        start=date(2025, 1, 1),
        end=date(2025, 12, 31),
    )
    session.add(
        ChronicRegister(
            resident_id=a.id, disease="hypertension", source="diagnosis", registered_on=date(2025, 2, 1)
        )
    )
    session.commit()
    return world


@pytest.fixture
def county_url(fresh_database_url: str) -> tuple[str, World, Session]:  # type: ignore[misc]
    upgrade(fresh_database_url)
    engine = make_engine(fresh_database_url)
    session = Session(engine, expire_on_commit=False)
    world = small_county(session)
    yield fresh_database_url, world, session
    session.close()
    engine.dispose()


def test_county_values_equal_the_hand_counts(county_url: tuple[str, World, Session]) -> None:
    url, world, session = county_url
    values = compute(session, actor=actor_for(session, world.commission), database_url=url, year=2025)
    got = {v.code: (v.numerator, v.denominator, v.value, v.met) for v in values if v.unit_code == "640181"}
    assert got == {
        # visits at the county's institutions: 3 township of 5 (the 2024 visit is another year)
        "grassroots_visit_share": (3, 5, Decimal("60.00"), True),
        # the county's residents: 5 of 7 visits inside the county
        "in_county_visit_rate": (5, 7, Decimal("71.43"), False),
        "inpatient_in_county_rate": (1, 2, Decimal("50.00"), False),
        "signing_rate": (1, 2, Decimal("50.00"), True),
        "chronic_signed_rate": (1, 1, Decimal("100.00"), True),
    }
    drill = compute(
        session, actor=actor_for(session, world.commission), database_url=url, year=2025, county="640181"
    )
    assert {(v.code, v.unit_name, v.numerator, v.denominator) for v in drill} == {
        ("signing_rate", "崇兴镇卫生院", 1, 1),
        ("signing_rate", "郝家桥镇卫生院", 0, 1),
        ("chronic_signed_rate", "崇兴镇卫生院", 1, 1),
        ("chronic_signed_rate", "郝家桥镇卫生院", 0, 0),
    }
    with pytest.raises(ValidationFailed):
        compute(
            session, actor=actor_for(session, world.commission), database_url=url, year=2025, county="640104"
        )


def test_the_dashboard_shows_values_targets_and_misses(county_url: tuple[str, World, Session]) -> None:
    url, world, _ = county_url
    app = create_app(Settings(database_url=url, secret_key="test"), audit=AuditWriter(engine=None))
    with TestClient(app) as client:
        assert login(client, world.commission.username, PASSWORD) == 303
        page = client.get("/indicators", params={"year": 2025})
        assert page.status_code == 200
        row = re.search(
            r'data-testid="ind-in_county_visit_rate-640181" class="missed">(.*?)</tr>', page.text, re.S
        )
        assert row is not None and "71.43%" in row.group(1) and "&gt;= 90%" in row.group(1)
        assert 'data-testid="ind-grassroots_visit_share-640181" class="">' in page.text
        api = client.get("/api/indicators", params={"year": 2025, "county": "640181"})
        assert api.status_code == 200 and {r["unit_code"] for r in api.json()} == {
            world.township_a.code,
            world.township_b.code,
        }


def test_a_catalogue_with_a_bad_definition_is_refused() -> None:
    bad = '[[indicator]]\ncode = "x"\nfact = "visits"\nnumerator = "kind = "\ndenominator = "true"\ndirection = ">"\nlevels = {}\n'
    with pytest.raises(ValidationFailed) as failure:
        load_catalogue(bad)
    assert [e.field for e in failure.value.errors] == [
        "indicator x.numerator",
        "indicator x.direction",
        "indicator x.levels",
    ]


def test_spark_gives_the_same_counts(county_url: tuple[str, World, Session], tmp_path: Path) -> None:
    """The compiled suite translated by SQLGlot runs unchanged on Spark (local mode) over the same facts."""
    from pyspark.sql import SparkSession

    url, _, _ = county_url
    duck = DuckEngine(url)
    duck.create_facts(2025)
    files = duck.export_facts(tmp_path)
    spark = (
        SparkSession.builder.master("local[1]")
        .appName("yilian-indicators")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    try:
        for fact, path in files.items():
            spark.read.parquet(str(path)).createOrReplaceTempView(fact)
        for levels in (("county",), ("institution",), ("county", "institution")):
            queries = compile_queries(catalogue(), levels)
            on_duckdb = sorted(duck.run(queries), key=lambda c: (c.code, c.level, c.unit))
            on_spark = sorted(
                (
                    c
                    for q in queries
                    for c in rows_to_counts(q, [tuple(r) for r in spark.sql(q.in_dialect("spark")).collect()])
                ),
                key=lambda c: (c.code, c.level, c.unit),
            )
            assert on_spark == on_duckdb and on_duckdb
    finally:
        spark.stop()
        duck.close()
