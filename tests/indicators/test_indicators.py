"""Indicators against hand counts on a small county, on DuckDB over the platform's own database
(SQLite, or PostgreSQL in the second run), and the same compiled suite on Apache Spark."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import PASSWORD, actor_for, bearer, create_user, login
from tests.factories.chronic import create_register
from tests.factories.encounters import create_encounter
from tests.factories.family_doctor import create_contract, create_package, create_team
from tests.factories.registry import create_institution
from tests.factories.world import World, build_world
from yilian.app import create_app
from yilian.auth import rules as roles
from yilian.config import Settings
from yilian.evaluation import intake
from yilian.evaluation import service as evaluation
from yilian.evaluation.rules import Entry as EvaluationEntry
from yilian.indicators.catalogue import compile_queries, load_catalogue
from yilian.indicators.engine import DuckEngine, rows_to_counts
from yilian.indicators.figures import Entry as FigureEntry
from yilian.indicators.figures import do_enter
from yilian.indicators.service import catalogue, compute
from yilian.kit.audit import AuditWriter
from yilian.kit.db import make_engine
from yilian.kit.errors import ValidationFailed
from yilian.kit.migrate import upgrade
from yilian.models import CentreMember, DiagnosticCentre, EnteredFigure


def small_county(session: Session) -> World:
    """Two residents of 灵武市 and what they did in 2025 (plus one visit in 2024 that must not count).

    张桂兰 (grid A): three township visits, one county-hospital visit; signed; hypertensive.
    李建国 (grid B): a county-hospital stay, a provincial visit and a provincial stay; not signed."""
    world = build_world(session)
    provincial = create_institution(
        session, name="宁夏医科大学总医院", type="综合医院", level="三级", region_code="640104"
    )
    a, b = world.resident_a, world.resident_b
    # Five shared centres at the county hospital serving the hospital and both townships, not the
    # village clinic: 3 of 4 members covered.
    for kind in ("imaging", "ecg", "ultrasound", "pathology", "laboratory"):
        centre = DiagnosticCentre(
            consortium_id=world.consortium.id, host_institution_id=world.hospital.id, kind=kind, name=kind
        )
        session.add(centre)
        session.flush()
        session.add_all(
            CentreMember(centre_id=centre.id, institution_id=i)
            for i in (world.hospital.id, world.township_a.id, world.township_b.id)
        )
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
    create_register(session, resident=a, disease="hypertension", registered_on=date(2025, 2, 1))
    office = actor_for(session, world.commission)
    do_enter(
        session,
        actor=office,
        entries=[
            FigureEntry(world.hospital.code, 2025, "personnel_spending", "4,200,000.00"),
            FigureEntry(world.hospital.code, 2025, "operating_spending", "10000000"),
            FigureEntry(
                world.hospital.code, 2025, "医疗服务收入（不含药品、耗材、检查、化验收入）", "3000000"
            ),
            FigureEntry(world.hospital.code, 2025, "medical_revenue", "10000000"),
            FigureEntry(world.township_a.code, 2025, "personnel_spending", "1300000.50"),
            FigureEntry(world.township_a.code, 2025, "operating_spending", "2000000"),
            FigureEntry(world.township_a.code, 2025, "fiscal_subsidy", "600000"),
            FigureEntry(world.township_a.code, 2025, "total_spending", "2000000"),
            FigureEntry(world.township_a.code, 2024, "personnel_spending", "1"),  # another year
            # 002 item 29 and item 22: licensed village doctors this year and last, training.
            FigureEntry(world.township_a.code, 2025, "village_licensed", "6"),
            FigureEntry(world.township_a.code, 2024, "village_licensed", "5"),
            FigureEntry(world.township_b.code, 2025, "village_licensed", "3"),
            FigureEntry(world.township_b.code, 2024, "village_licensed", "3"),
            FigureEntry(world.township_a.code, 2025, "trained_staff", "38"),
            FigureEntry(world.township_a.code, 2025, "grassroots_staff", "40"),
            FigureEntry(world.township_b.code, 2025, "trained_staff", "20"),
            FigureEntry(world.township_b.code, 2025, "grassroots_staff", "20"),
        ],
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
        # outpatient visits at the county's institutions: 3 township of 4 (the hospital stay is not a
        # visit, 诊疗人次; the 2024 visit is another year)
        "grassroots_visit_share": (3, 4, Decimal("75.00"), True),
        # the county's residents: 5 of 7 visits inside the county
        "in_county_visit_rate": (5, 7, Decimal("71.43"), False),
        "inpatient_in_county_rate": (1, 2, Decimal("50.00"), False),
        "signing_rate": (1, 2, Decimal("50.00"), True),
        "chronic_signed_rate": (1, 1, Decimal("100.00"), True),
        # entered yuan: (4,200,000 + 1,300,000.50) / 12,000,000 = 45.83 %, inside 35–50 %
        "personnel_spending_share": (Decimal("5500000.50"), 12_000_000, Decimal("45.83"), True),
        "medical_service_revenue_share": (3_000_000, 10_000_000, Decimal("30.00"), False),
        "fiscal_subsidy_share": (600_000, 2_000_000, Decimal("30.00"), True),
        # (6 + 3) licensed this year against (5 + 3) last year: 112.5 %, short of +20 %
        "village_doctor_growth": (9, 8, Decimal("112.50"), False),
        # 58 of 60 grassroots workers trained: 96.67 %, short of everyone
        "training_coverage": (58, 60, Decimal("96.67"), False),
        # every member but the village clinic is served by all five shared centres
        "shared_centre_coverage": (3, 4, Decimal("75.00"), False),
    }
    drill = compute(
        session, actor=actor_for(session, world.commission), database_url=url, year=2025, county="640181"
    )
    assert {(v.code, v.unit_name, v.numerator, v.denominator) for v in drill if v.code.endswith("rate")} == {
        ("signing_rate", "崇兴镇卫生院", 1, 1),
        ("signing_rate", "郝家桥镇卫生院", 0, 1),
        ("chronic_signed_rate", "崇兴镇卫生院", 1, 1),
        ("chronic_signed_rate", "郝家桥镇卫生院", 0, 0),
    }
    personnel = {v.unit_name: (v.value, v.met) for v in drill if v.code == "personnel_spending_share"}
    assert personnel == {
        "灵武市人民医院": (Decimal("42.00"), True),
        "崇兴镇卫生院": (Decimal("65.00"), False),
        "郝家桥镇卫生院": (None, None),  # it entered other figures, not these: no value, not a miss
    }
    with pytest.raises(ValidationFailed):
        compute(
            session, actor=actor_for(session, world.commission), database_url=url, year=2025, county="640104"
        )


def test_the_values_drill_down_and_export(county_url: tuple[str, World, Session]) -> None:
    url, world, _ = county_url
    app = create_app(Settings(database_url=url, secret_key="test"), audit=AuditWriter(engine=None))
    with TestClient(app) as client:
        assert login(client, world.commission.username, PASSWORD) == 200
        counties = client.get("/api/indicators", params={"period": "2025"}).json()
        missed = next(r for r in counties if r["code"] == "in_county_visit_rate" and r["unit_code"] == "640181")
        assert (missed["value"], missed["target"], missed["met"]) == ("71.43", "90", False)
        api = client.get("/api/indicators", params={"year": 2025, "county": "640181"})
        assert api.status_code == 200 and {r["unit_code"] for r in api.json()} == {
            world.hospital.code,  # its entered figures
            world.township_a.code,
            world.township_b.code,
            world.clinic_a.code,  # a member: shared-centre coverage is counted per member
        }
        exported = client.get(
            "/api/indicators/export",
            params={"period": "2025", "county": "640181", "code": "personnel_spending_share"},
        )
        assert exported.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(exported.content)).active
        assert sheet is not None
        rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
        # every institution of the county, highest value first, the one without figures last
        assert [(r[1], r[2], r[6]) for r in rows] == [
            ("崇兴镇卫生院", 65, "未达标"),
            ("灵武市人民医院", 42, "达标"),
            *[(r[1], None, None) for r in rows[2:]],
        ]
        assert len(rows) == sum(1 for r in api.json() if r["code"] == "personnel_spending_share")


def test_a_catalogue_with_a_bad_definition_is_refused() -> None:
    bad = '[[indicator]]\ncode = "x"\nfact = "visits"\nnumerator = "kind = "\ndenominator = "true"\ndirection = ">"\nlevels = {}\n'
    with pytest.raises(ValidationFailed) as failure:
        load_catalogue(bad)
    assert [e.field for e in failure.value.errors] == [
        "indicator x.numerator",
        "indicator x.direction",
        "indicator x.levels",
        "indicator x.source",  # neither a clause of a notice nor the county's own
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


def test_figures_are_entered_all_or_nothing_by_their_own_institution(session: Session) -> None:
    world = build_world(session)
    admin = create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.township_a.id)
    actor = actor_for(session, admin)
    bad = [
        FigureEntry(world.township_a.code, 2025, "personnel_spending", "120000.00", 2),
        FigureEntry(world.hospital.code, 2025, "personnel_spending", "1", 3),  # not its institution
        FigureEntry(world.township_a.code, 2025, "差旅费", "1", 4),
        FigureEntry(world.township_a.code, 2025, "total_spending", "-5", 5),
        FigureEntry(world.township_a.code, 2025, "total_spending", "1.234", 6),
    ]
    with pytest.raises(ValidationFailed) as failure:
        do_enter(session, actor=actor, entries=bad)
    assert [(e.row, e.field) for e in failure.value.errors] == [
        (3, "机构编码"),
        (4, "项目"),
        (5, "金额"),
        (6, "金额"),
    ]
    assert session.scalar(select(func.count()).select_from(EnteredFigure)) == 0
    assert do_enter(session, actor=actor, entries=bad[:1]) == 1
    do_enter(session, actor=actor, entries=[FigureEntry(world.township_a.code, 2025, "人员支出", "130000")])
    stored = session.scalars(select(EnteredFigure)).one()  # the correction replaced the value
    assert (stored.value, stored.entered_by) == (Decimal("130000.00"), admin.id)


def test_an_institution_enters_its_figures_through_the_api(client: TestClient, session: Session) -> None:
    world = build_world(session)
    admin = create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.township_a.id)
    headers = bearer(session, admin)
    shown = client.get("/api/figures", params={"year": 2025}, headers=headers).json()
    assert shown["institution"]["name"] == world.township_a.name
    assert "人员支出" in [f["name"] for f in shown["items"]]
    bad = client.put("/api/figures", json={"year": 2025, "values": {"personnel_spending": "一百万"}}, headers=headers)
    assert bad.status_code == 422 and "金额应为不小于0" in bad.text
    saved = client.put(
        "/api/figures", json={"year": 2025, "values": {"personnel_spending": "1000000.00", "x": " "}}, headers=headers
    )
    assert saved.json() == {"saved": 1}
    again = client.get("/api/figures", params={"year": 2025}, headers=headers).json()
    entry = next(f for f in again["items"] if f["code"] == "personnel_spending")
    assert entry["value"] == "1000000.00" and entry["entered_by"] == admin.display_name
    other = client.get(
        "/api/figures", params={"year": 2025, "institution_id": world.township_b.id}, headers=headers
    )
    assert other.status_code == 403
    assert client.get("/api/figures", params={"year": 2025}, headers=bearer(session, world.doctor)).status_code == 403

def test_an_item_tied_to_an_indicator_scores_from_the_computed_value(
    county_url: tuple[str, World, Session],
) -> None:
    """签约率 item worth 60 with target 50 %: 崇兴 (1 of 1 signed) earns 60, 郝家桥 (0 of 1) earns 0,
    unless a value was entered by hand, which wins (40 % → 48)."""
    url, world, session = county_url
    actor = actor_for(session, world.commission)
    rows = [
        ["序号", "监测评价内容", "权重", "评分方式", "目标值", "指标代码"],
        ["", "一、家庭医生签约(100分)", "", "", "", ""],
        ["1", "签约率达到50%", "60", "指标", "50", "signing_rate"],
        ["2", "个性化签约服务包", "40", "", "", ""],
    ]
    intake.do_import_scheme_rows(
        session, actor=actor, rows=rows, code="QX", name="乡镇卫生院考核", version="1"
    )
    units = [
        (world.township_a.code, "崇兴镇卫生院", "pilot"),
        (world.township_b.code, "郝家桥镇卫生院", "pilot"),
    ]
    intake.do_register_unit_rows(session, programme="QX", rows=units, year=2025)
    entries = {code: [EvaluationEntry(2, given=Decimal(30))] for code, _, _ in units}
    intake.store_entries(session, actor=actor, code="QX", year=2025, entries=entries)
    result = evaluation.do_evaluate_year(
        session, actor=actor, code="QX", version=None, year=2025, deadline=date(2026, 6, 30), database_url=url
    )
    assert [(u.name, s.items[1], s.total) for u, s in result.pilots] == [
        ("崇兴镇卫生院", Decimal("60.00"), Decimal("90.00")),
        ("郝家桥镇卫生院", Decimal("0"), Decimal("30.00")),
    ]
    entries[world.township_b.code].append(EvaluationEntry(1, value=Decimal(40)))
    intake.store_entries(session, actor=actor, code="QX", year=2025, entries=entries)
    again = evaluation.do_evaluate_year(
        session, actor=actor, code="QX", version=None, year=2025, deadline=date(2026, 6, 30), database_url=url
    )
    assert dict((u.name, s.items[1]) for u, s in again.pilots)["郝家桥镇卫生院"] == Decimal("48.00")


def test_periods() -> None:
    from yilian.indicators.catalogue import parse_period

    q4 = parse_period("2025-Q4")
    assert (q4.first, q4.after, q4.last) == (date(2025, 10, 1), date(2026, 1, 1), date(2025, 12, 31))
    feb = parse_period("2024-02")
    assert (feb.first, feb.last, feb.year) == (date(2024, 2, 1), date(2024, 2, 29), 2024)
    assert parse_period("2025").last == date(2025, 12, 31)
    for bad in ("2025-13", "25", "2025Q1", "2025-Q0"):
        with pytest.raises(ValidationFailed):
            parse_period(bad)


def test_indicators_as_fhir_measure_reports(county_url: tuple[str, World, Session]) -> None:
    from yilian.auth.service import do_create_api_token
    from yilian.fhir.validate import validate

    url, world, session = county_url
    token = do_create_api_token(session, user=world.commission, name="fhir", now=datetime(2026, 11, 1))
    session.commit()
    app = create_app(Settings(database_url=url, secret_key="test"), audit=AuditWriter(engine=None))
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        found = client.get(
            "/fhir/MeasureReport", params={"period": "2025", "measure": "signing_rate"}, headers=headers
        )
        assert found.status_code == 200, found.text
        bundle = validate(found.json())
        assert bundle["total"] == 1
        report = validate(bundle["entry"][0]["resource"])
        counts = {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}
        assert counts == {"numerator": 1, "denominator": 2}
        assert report["group"][0]["measureScore"]["value"] == 50.0
        assert report["period"] == {"start": "2025-01-01", "end": "2025-12-31"}
        # A FHIR id is [A-Za-z0-9-.]{1,64}: the indicator code's `_` are not in it (issue 24).
        assert report["id"] == "signing-rate.640181.2025"
        read = client.get(f"/fhir/MeasureReport/{report['id']}", headers=headers)
        # Computed on each request: the same report, stamped with when it was computed.
        assert read.status_code == 200
        assert {**read.json(), "meta": None} == {**report, "meta": None}
        assert read.json()["meta"]["lastUpdated"] >= report["meta"]["lastUpdated"]
        # A plain search (no period) is the current year, not a 400; every id is a FHIR id.
        plain = client.get("/fhir/MeasureReport", headers=headers)
        assert plain.status_code == 200, plain.text
        plain_bundle = validate(plain.json())
        assert plain_bundle["total"] > 0
        for entry in plain_bundle["entry"]:
            assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", entry["resource"]["id"]), entry["resource"]["id"]
        # Its search parameters are declared.
        declared = next(
            r
            for r in client.get("/fhir/metadata").json()["rest"][0]["resource"]
            if r["type"] == "MeasureReport"
        )
        assert {"period", "measure", "subject"} <= {p["name"] for p in declared["searchParam"]}
