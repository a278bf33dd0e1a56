"""Insurance on the database: claims import, the settlement's SQL inputs, capitation days, DRG costs."""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories.auth import actor_for, bearer
from tests.factories.encounters import create_encounter
from tests.factories.family_doctor import create_contract, create_package, create_team
from tests.factories.insurance import SETTLEMENT_TERMS, claims_csv, create_grouping, create_stay
from tests.factories.registry import create_division
from tests.factories.residents import create_resident
from tests.factories.world import build_world

from yilian.insurance import repository
from yilian.insurance.claims import do_import_claims
from yilian.insurance.config import parse_config
from yilian.insurance.drg import repository as drg_repository
from yilian.insurance.service import settlement_report
from yilian.kit.errors import ValidationFailed
from yilian.kit.sql import year_month
from yilian.models import Claim, ClaimSummary, DrgGrouping


def test_claims_import_is_all_or_nothing_and_names_row_and_field(session: Session) -> None:
    world = build_world(session)
    a = world.resident_a.id_number
    good = f"C1,{a},{world.township_a.code},,门诊,2025-03-01,100.00,60.00,否,"
    bad_rows = [
        good,
        f"C2,{a},{world.hospital.code},,住院,2025-13-01,5000,3000,否,",  # bad date
        "C3,110101199001010000,,省医院,住院,2025-04-01,9000,9500,是,",  # unknown person, fund > total
        "C1,,,,,2025-01-01,1,1,否,",  # duplicate number, missing fields
    ]
    actor = actor_for(session, world.insurance)
    with pytest.raises(ValidationFailed) as failure:
        do_import_claims(session, actor=actor, filename="claims.csv", data=claims_csv(bad_rows))
    problems = {(e.row, e.field) for e in failure.value.errors}
    assert {(3, "settled_on"), (4, "id_number"), (4, "fund_yuan"), (5, "claim_no"), (5, "kind")} <= problems
    assert session.scalar(select(func.count()).select_from(Claim)) == 0

    result = do_import_claims(session, actor=actor, filename="claims.csv", data=claims_csv([good]))
    assert (result.imported, result.fund_fen) == (1, 6000)
    claim = session.scalars(select(Claim)).one()
    assert (claim.insured_region_code, claim.kind, claim.out_of_county) == ("640181", "outpatient", False)


def test_claims_map_to_the_officers_own_residents_only(session: Session) -> None:
    """An ID number held only in another county is "not in the index" for this county's officer: a
    claim is not pinned on another county's resident, and the answer does not tell it exists
    (decision 0021). Today the row was imported onto that resident."""
    world = build_world(session)
    create_division(session, code="640122", name="贺兰县")
    far = create_resident(session, name="王秀英", region_code="640122")
    row = f"C7,{far.id_number},{world.township_a.code},,门诊,2025-03-01,100.00,60.00,否,"
    actor = actor_for(session, world.insurance)
    with pytest.raises(ValidationFailed) as failure:
        do_import_claims(session, actor=actor, filename="c.csv", data=claims_csv([row]))
    assert [(e.row, e.field) for e in failure.value.errors] == [(2, "id_number")]
    assert session.scalar(select(func.count()).select_from(Claim)) == 0


def test_claims_that_double_count_an_encounter_are_refused(session: Session) -> None:
    world = build_world(session)
    encounter = create_encounter(
        session, resident=world.resident_a, institution=world.township_a, on=date(2025, 5, 1)
    )
    a = world.resident_a.id_number
    row = f"C{{n}},{a},{world.township_a.code},,门诊,2025-05-01,80,40,否,{encounter.id}"
    actor = actor_for(session, world.insurance)
    rows = [row.format(n=1), row.format(n=2)]
    with pytest.raises(ValidationFailed) as failure:
        do_import_claims(session, actor=actor, filename="c.csv", data=claims_csv(rows))
    assert [(e.row, e.field) for e in failure.value.errors] == [(3, "encounter_id")]
    do_import_claims(session, actor=actor, filename="c.csv", data=claims_csv(rows[:1]))
    with pytest.raises(ValidationFailed):
        do_import_claims(session, actor=actor, filename="c.csv", data=claims_csv([row.format(n=9)]))


def test_claim_summary_equals_the_claims_after_every_kind_of_write(session: Session) -> None:
    """Import and claims made from encounters both rebuild their months; totals agree with the claims."""
    world = build_world(session)
    create_encounter(
        session, resident=world.resident_b, institution=world.hospital, on=date(2025, 3, 30), fund_fen=2_500
    )
    a = world.resident_a.id_number
    rows = [
        f"S1,{a},{world.hospital.code},,住院,2025-03-10,10000.00,8000.01,否,",
        f"S2,{a},,省人民医院,住院,2025-03-31,20000,12000,是,",
        f"S3,{a},{world.hospital.code},,门诊,2025-04-01,300,200,否,",
    ]
    do_import_claims(
        session, actor=actor_for(session, world.insurance), filename="c.csv", data=claims_csv(rows)
    )
    repository.claims_from_encounters(session, since=date(2025, 1, 1))
    assert session.scalar(select(func.count()).select_from(Claim)) == 4

    def by_month(table: type[Claim] | type[ClaimSummary]) -> set[tuple[object, ...]]:
        month = year_month(Claim.settled_on) if table is Claim else ClaimSummary.month
        count = func.count() if table is Claim else func.sum(ClaimSummary.claims)
        return {
            tuple(row)
            for row in session.execute(
                select(
                    month, table.institution_id, table.out_of_county, count, func.sum(table.fund_fen)
                ).group_by(month, table.institution_id, table.out_of_county)
            )
        }

    assert (
        by_month(ClaimSummary)
        == by_month(Claim)
        == {
            ("2025-03", world.hospital.id, False, 2, 800_001 + 2_500),
            ("2025-03", None, True, 1, 1_200_000),
            ("2025-04", world.hospital.id, False, 1, 20_000),
        }
    )
    assert set(repository.fund_by_payer(session, region_code="640181", year=2025)) == {
        (world.hospital.id, False, "2025-03", 802_501),
        (None, True, "2025-03", 1_200_000),
        (world.hospital.id, False, "2025-04", 20_000),
    }


def test_only_insurance_officers_import_claims(session: Session) -> None:
    world = build_world(session)
    with pytest.raises(Exception, match="医保经办"):
        do_import_claims(session, actor=actor_for(session, world.doctor), filename="c.csv", data=b"x")


def test_settlement_reads_the_county_year_from_claims(session: Session) -> None:
    world = build_world(session)
    a = world.resident_a.id_number
    rows = [
        f"K1,{a},{world.hospital.code},,住院,2025-02-10,10000,8000,否,",
        f"K2,{a},{world.township_a.code},,门诊,2025-02-11,300,200,否,",
        f"K3,{a},,省人民医院,住院,2025-03-05,20000,12000,是,",
        f"K4,{a},{world.township_b.code},,门诊,2024-12-31,999,999,否,",  # another year
    ]
    do_import_claims(
        session, actor=actor_for(session, world.insurance), filename="c.csv", data=claims_csv(rows)
    )
    config = parse_config(
        {
            "year": 2025,
            "budget_yuan": "24000",
            "withheld_share": "10%",
            "retained_share": "50%",
            "overrun_threshold": "10%",
            "overrun_fund_ratio": "50%",
            "assessment_score": 100,
        }
    )
    report = settlement_report(session, consortium=world.consortium, config=config, scheme="chs-drg-1.1")
    s = report.settlement
    # members 8,200 + outside 12,000 = 20,200 of 24,000: surplus 3,800, half retained
    assert (s.figure("inside"), s.figure("outside_county"), s.figure("spending")) == (
        820_000,
        1_200_000,
        2_020_000,
    )
    assert (s.figure("surplus"), s.figure("retained")) == (380_000, 190_000)
    # prepayment base: 24,000 − 12,000 charged in March = 12,000; 90% prepaid, 10% withheld, all returned
    assert (s.figure("prepaid"), s.figure("withheld"), s.figure("withheld_forfeited")) == (
        1_080_000,
        120_000,
        0,
    )
    assert s.figure("year_end_payment") == 820_000 + 190_000 - 1_080_000
    # March: 2,000 budgeted, 12,000 paid outside → base −10,000 × 90%: the fund recovers 9,000
    assert s.monthly_prepayment_fen[2] == -900_000
    figures = report.figures()
    assert figures["in_county_share_pct"] == pytest.approx(820_000 * 100 / 2_020_000, abs=0.01)
    assert figures["grassroots_fund_fen"] == 20_000


def test_capitation_counts_days_signed_within_the_year(session: Session) -> None:
    world = build_world(session)
    team, _ = create_team(session, world)
    package = create_package(session, world)
    create_contract(
        session,
        world,
        resident=world.resident_a,
        team=team,
        package=package,
        start=date(2024, 7, 1),
        end=date(2025, 6, 30),
    )  # 181 days of 2025
    late = create_resident(session, grid=world.grid_a)
    create_contract(
        session,
        world,
        resident=late,
        team=team,
        package=package,
        start=date(2025, 7, 1),
        end=date(2026, 6, 30),
    )  # 184 days of 2025
    days = repository.signed_days(session, consortium_id=world.consortium.id, year=2025)
    assert days == {world.township_a.id: (2, 181 + 184)}
    config = parse_config(
        {
            "year": 2025,
            "budget_yuan": 1,
            "withheld_share": 0,
            "retained_share": 0,
            "overrun_threshold": 0,
            "overrun_fund_ratio": 0,
            "capitation": {"per_capita_yuan": 73},
        }
    )
    report = settlement_report(session, consortium=world.consortium, config=config, scheme="x")
    assert [(c.code, c.amount_fen) for c in report.capitation] == [
        (world.township_a.code, 7_300)
    ]  # 73 × 365/365


def test_drg_costs_trim_by_rank_on_the_database(session: Session) -> None:
    world = build_world(session)
    costs = [1_000 * k for k in range(1, 21)]  # 20 cases: ranks 2–19 kept (5% = 1 case each end)
    for cost in costs:
        stay = create_stay(
            session,
            resident=world.resident_a,
            institution=world.hospital,
            admitted=date(2025, 3, 1),
            discharged=date(2025, 3, 5),
            total_fen=cost,
            diagnoses=("J18.900",),
        )
        create_grouping(session, stay, scheme="s", mdc="MDCE", adrg="ES3", drg="ES35")
    found = drg_repository.drg_costs(
        session, scheme="s", year=2025, institution_ids=[world.hospital.id], trim=Fraction(5, 100)
    )
    assert [(c.drg, c.cases, c.trimmed_cases, c.trimmed_sum_fen) for c in found] == [
        ("ES35", 20, 18, sum(costs[1:-1]))
    ]


def test_what_if_api_and_settlement_page(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.insurance)
    terms = SETTLEMENT_TERMS
    response = client.post(
        f"/api/insurance/consortia/{world.consortium.id}/settlement", json=terms, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["lines"][0] == {
        "key": "budget",
        "label": "总额预算 B",
        "formula": "按年度协议",
        "fen": 100_000,
    }
    bad = client.post(
        f"/api/insurance/consortia/{world.consortium.id}/settlement",
        json={**terms, "retained_share": "120%", "budget_yuan": "0"},
        headers=headers,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["error"]["fields"]} == {"retained_share", "budget_yuan"}
    doctor = client.post(
        f"/api/insurance/consortia/{world.consortium.id}/settlement",
        json=terms,
        headers=bearer(session, world.doctor),
    )
    assert doctor.status_code == 403


def test_group_one_case_over_the_api(client: TestClient, session: Session, drg_scheme_path: object) -> None:
    world = build_world(session)
    case = {
        "sex": 1,
        "age": 60,
        "diagnoses": ["K22.301", "J94.801", "J96.900x001"],
        "procedures": ["42.0902"],
    }
    response = client.post("/api/drg/group", json=case, headers=bearer(session, world.doctor))
    assert response.status_code == 200, response.text
    assert (response.json()["drg"], response.json()["status"]) == ("GC13", "分组成功")


def test_discharges_are_grouped_in_batches_each_starting_where_the_last_ended(
    session: Session, drg_scheme: object
) -> None:
    from yilian.insurance.drg.rules import Grouper
    from yilian.insurance.service import group_discharges

    world = build_world(session)
    for day in range(1, 6):
        create_stay(
            session,
            resident=world.resident_b,
            institution=world.hospital,
            admitted=date(2025, 3, day),
            discharged=date(2025, 3, day + 4),
            diagnoses=("K35.800x001",),
        )
    grouper = Grouper(drg_scheme)  # type: ignore[arg-type]
    batches: list[int] = []
    done = group_discharges(
        session,
        grouper=grouper,
        institution_ids=[world.hospital.id],
        now=datetime(2026, 1, 1),
        chunk=2,
        progress=batches.append,
    )
    assert (done, batches) == (5, [2, 2, 1])
    assert session.scalar(select(func.count()).select_from(DrgGrouping)) == 5
    assert (
        group_discharges(
            session, grouper=grouper, institution_ids=[world.hospital.id], now=datetime(2026, 1, 1)
        )
        == 0
    )
