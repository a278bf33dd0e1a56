"""Insurance: claim sheets as the fund sends them, inpatient stays and their DRG groupings, settlement
terms as the what-if form sends them."""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from tests.factories.encounters import create_encounter
from tests.factories.world import World
from yilian.insurance.drg.rules import Grouper
from yilian.insurance.service import compute_standards, group_discharges
from yilian.models import DrgGrouping, Encounter, EncounterProcedure, Institution, Resident

CLAIMS_HEADER = "结算单号,身份证号,机构编码,机构名称,就诊类型,结算日期,总费用,统筹支付,县外,就诊编号\n"

SETTLEMENT_TERMS = {
    "year": 2025,
    "budget_yuan": "1000",
    "withheld_share": "5%",
    "retained_share": "80%",
    "overrun_threshold": "5%",
    "overrun_fund_ratio": "50%",
}


def claims_csv(rows: list[str]) -> bytes:
    """A claims sheet: the fund's header and `rows` (one CSV line each)."""
    return (CLAIMS_HEADER + "\n".join(rows) + "\n").encode()


def create_stay(
    session: Session,
    *,
    resident: Resident,
    institution: Institution,
    admitted: date,
    discharged: date,
    total_fen: int = 8000,
    fund_fen: int = 4000,
    diagnoses: tuple[str, ...] = ("J18.900",),
    procedures: tuple[str, ...] = (),
) -> Encounter:
    """An inpatient stay from `admitted` to `discharged`, with its diagnoses and ICD-9 procedures."""
    stay = create_encounter(
        session,
        resident=resident,
        institution=institution,
        on=admitted,
        kind="inpatient",
        total_fen=total_fen,
        fund_fen=fund_fen,
        diagnoses=diagnoses,
    )
    stay.end_date = discharged
    session.add_all(
        EncounterProcedure(encounter_id=stay.id, seq=n, icd9_code=code) for n, code in enumerate(procedures)
    )
    session.flush()
    return stay


def create_grouping(
    session: Session,
    encounter: Encounter,
    *,
    drg: str,
    adrg: str,
    mdc: str,
    scheme: str = "s",
    grouped_at: datetime = datetime(2025, 3, 5),
) -> DrgGrouping:
    """A stored grouping of `encounter` (as the grouper would have left it)."""
    grouping = DrgGrouping(
        encounter_id=encounter.id,
        scheme=scheme,
        status_key="SUCCESS",
        mdc=mdc,
        adrg=adrg,
        drg=drg,
        grouped_at=grouped_at,
    )
    session.add(grouping)
    session.flush()
    return grouping


def appendicitis_year(session: Session, world: World, drg_scheme: Any) -> list[Encounter]:
    """Twenty appendectomies at the county hospital in 2025, one very dear and one very cheap, grouped
    by the scheme and the year's standards computed from them."""
    costs = [500_000] * 18 + [5_000_000, 100_000]
    stays = [
        create_stay(
            session,
            resident=world.resident_b if n % 2 else world.resident_a,
            institution=world.hospital,
            admitted=date(2025, 3, 1 + n),
            discharged=date(2025, 3, 6 + n),
            total_fen=cost,
            fund_fen=cost // 2,
            diagnoses=("K35.800x001",),
            procedures=("47.0901",),
        )
        for n, cost in enumerate(costs)
    ]
    grouper = Grouper(drg_scheme)
    group_discharges(session, grouper=grouper, institution_ids=[world.hospital.id], now=datetime(2026, 1, 1))
    compute_standards(
        session,
        scheme=grouper.scheme.name,
        year=2025,
        institution_ids=[world.hospital.id],
        trim=Fraction(5, 100),
    )
    return stays
