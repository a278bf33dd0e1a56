"""Insurance use cases: group discharges, compute DRG standards, run and save a year's settlement."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.auth.context import Actor
from yilian.auth.rules import Subject
from yilian.config import Settings, drg_scheme_dir
from yilian.insurance import repository
from yilian.insurance.budget.rules import Member, Settlement, Spending, settle
from yilian.insurance.config import PaymentConfig, parse_config
from yilian.insurance.drg import repository as drg_repository
from yilian.insurance.drg.payment import OutlierRule, PointPayment, capitation_fen, pay_by_points, standards
from yilian.insurance.drg.rules import Case, Grouper, GroupResult
from yilian.insurance.drg.scheme import cached_scheme
from yilian.insurance.schemas import SavedSettlementPage, SavedSettlementRow
from yilian.kit.dates import age_on
from yilian.kit.errors import Forbidden, NotFound, ValidationFailed
from yilian.kit.money import yuan_figure
from yilian.kit.tabular import write_xlsx
from yilian.models import Consortium, User
from yilian.models import Settlement as SavedSettlement

SETTLEMENT_ROLES = frozenset({roles.INSURANCE, roles.COMMISSION, roles.CONSORTIUM_ADMIN})


def access_consortium(session: Session, subject: Subject, consortium_id: int) -> Consortium:
    """Insurance officers and the commission see consortia in their region; a consortium admin its own."""
    if not subject.may(SETTLEMENT_ROLES):
        raise Forbidden(
            "只有医保经办、卫健局和医共体管理员可以查看医保清算", "Settlement is for insurance officers"
        )
    # 404 outside the division the subject reads, 403 for a consortium read but not theirs.
    return scoping.consortium_in_charge(session, subject, consortium_id)


# ---- DRG ---------------------------------------------------------------------------------------

_GROUPERS: dict[str, Grouper] = {}


def configured_grouper(settings: Settings) -> Grouper | None:
    """The grouper of the settings' scheme directory (the app's or the command's), compiled once per
    directory and process.

    None when the directory holds no scheme: recording a discharge must not fail because a county has
    not yet pointed Yilian at its scheme; `yilian drg discharges` groups the backlog later.
    """
    directory = drg_scheme_dir(settings)
    if not (directory / "rules" / "mdc_rules.json").is_file():
        return None
    key = str(directory)
    if key not in _GROUPERS:
        _GROUPERS[key] = Grouper(cached_scheme(key))
    return _GROUPERS[key]


def group_encounter(
    session: Session, *, grouper: Grouper, encounter_id: int, now: datetime
) -> GroupResult | None:
    """Group one discharged inpatient under the configured scheme (replacing an earlier grouping)."""
    row = drg_repository.discharge_facts(session, encounter_id)
    if row is None:
        return None
    diagnoses, procedures = drg_repository.codes_of(session, [encounter_id])
    result = grouper.group(case_of(row, diagnoses, procedures))
    drg_repository.replace_grouping(session, _grouping_row(result, grouper.scheme.name, now))
    return result


def case_of(row: Any, diagnoses: dict[int, list[str]], procedures: dict[int, list[str]]) -> Case:
    return Case(
        case_id=str(row.id),
        sex={"M": 1, "F": 2}.get(row.sex, row.sex),
        age=age_on(row.birth_date, row.start_date),
        age_days=(row.start_date - row.birth_date).days,
        weight=None,
        diagnoses=diagnoses[row.id] or [""],
        procedures=procedures[row.id],
        length_of_stay=(row.end_date - row.start_date).days,
    )


def _grouping_row(result: GroupResult, scheme: str, now: datetime) -> dict[str, Any]:
    return {
        "encounter_id": int(result.case_id),
        "scheme": scheme,
        "status_key": result.status_key,
        "mdc": result.mdc,
        "adrg": result.adrg,
        "drg": result.drg,
        "grouped_at": now,
    }


def group_discharges(
    session: Session,
    *,
    grouper: Grouper,
    institution_ids: Sequence[int],
    now: datetime,
    chunk: int = 5_000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Group every discharged, not yet grouped inpatient of these institutions, chunk by chunk."""
    scheme = grouper.scheme.name
    done = last_id = 0
    while True:
        batch = drg_repository.ungrouped_discharges(
            session, scheme=scheme, institution_ids=institution_ids, limit=chunk, after_id=last_id
        )
        if not batch:
            return done
        last_id = batch[-1].id
        diagnoses, procedures = drg_repository.codes_of(session, [row.id for row in batch])
        results = grouper.group_many([case_of(row, diagnoses, procedures) for row in batch])
        drg_repository.save_groupings(session, [_grouping_row(r, scheme, now) for r in results])
        session.flush()
        done += len(batch)
        if progress:
            progress(len(batch))


def compute_standards(
    session: Session,
    *,
    scheme: str,
    year: int,
    institution_ids: Sequence[int],
    trim: Fraction,
    rule: OutlierRule = OutlierRule(),
) -> int:
    """Weights and outlier limits from a base year's grouped discharges; replaces that year's table."""
    costs = drg_repository.drg_costs(
        session, scheme=scheme, year=year, institution_ids=institution_ids, trim=trim
    )
    _, table = standards(costs, rule)
    drg_repository.replace_standards(
        session, year=year, scheme=scheme, standards=table, costs={c.drg: c for c in costs}
    )
    session.flush()
    return len(table)


# ---- settlement --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapitationRow:
    code: str
    name: str
    residents: int
    person_days: int
    amount_fen: int


@dataclass(frozen=True)
class Report:
    consortium: Consortium
    config: PaymentConfig
    settlement: Settlement
    spending: Spending
    grassroots_fund_fen: int
    point_payment: PointPayment | None
    standard_year: int
    capitation: tuple[CapitationRow, ...]
    names: dict[str, str]

    def figures(self) -> dict[str, Any]:
        """The figures issue 6 asks for, as shares in percent with numerator and denominator."""
        inside = sum(m.fund_fen for m in self.spending.members)
        outside = self.spending.outside_county_fen
        in_county = inside + self.spending.in_county_non_member_fen
        total = in_county + outside

        def share(part: int, whole: int) -> float | None:
            return round(part * 100 / whole, 2) if whole else None

        return {
            "fund_in_county_fen": in_county,
            "fund_outside_county_fen": outside,
            "in_county_share_pct": share(in_county, total),
            "grassroots_fund_fen": self.grassroots_fund_fen,
            "grassroots_share_pct": share(self.grassroots_fund_fen, total),
            "point_value_fen": float(self.point_payment.point_value_fen) if self.point_payment else None,
            "outcome": self.settlement.outcome,
        }

    def to_json(self) -> dict[str, Any]:
        terms = self.config.terms
        return {
            "consortium": self.consortium.name,
            "year": terms.year,
            "figures": self.figures(),
            "lines": [
                {"key": x.key, "label": x.label, "formula": x.formula, "fen": x.fen}
                for x in self.settlement.lines
            ],
            "monthly_prepayment_fen": list(self.settlement.monthly_prepayment_fen),
            "shares": [
                {
                    "code": s.code,
                    "name": s.name,
                    "grassroots": s.grassroots,
                    "score": float(s.score),
                    "weight": str(s.weight),
                    "retained_fen": s.retained_fen,
                    "staff_reward_fen": s.staff_reward_fen,
                }
                for s in self.settlement.shares
            ],
            "drg": None
            if self.point_payment is None
            else {
                "standard_year": self.standard_year,
                "budget_fen": self.point_payment.budget_fen,
                "total_points": round(float(self.point_payment.total_points), 4),
                "point_value_fen": round(float(self.point_payment.point_value_fen), 6),
                "institutions": [
                    {
                        "code": r.institution,
                        "name": self.names.get(r.institution, r.institution),
                        "cases": r.cases,
                        "points": round(float(r.points), 4),
                        "cmi": round(float(r.case_mix_index), 4),
                        "payment_fen": r.payment_fen,
                    }
                    for r in self.point_payment.institutions
                ],
            },
            "capitation": [c.__dict__ for c in self.capitation],
        }


def settlement_report(
    session: Session, *, consortium: Consortium, config: PaymentConfig, scheme: str
) -> Report:
    """Gather the year's figures (a few aggregate queries) and run the rules on them."""
    terms = config.terms
    member_rows = repository.members(session, consortium.id)
    member_ids = {m.id for m in member_rows}
    fund_by_member: dict[int, int] = {}
    outside_county = non_members = 0
    outside_by_month: dict[int, int] = {}
    non_member_by_month: dict[int, int] = {}
    for institution_id, out_of_county, month, fund in repository.fund_by_payer(
        session, region_code=consortium.region_code[:6], year=terms.year
    ):
        month_number = int(month[5:7])
        if out_of_county:
            outside_county += fund
            outside_by_month[month_number] = outside_by_month.get(month_number, 0) + fund
        elif institution_id in member_ids:
            fund_by_member[institution_id] = fund_by_member.get(institution_id, 0) + fund
        else:
            non_members += fund
            non_member_by_month[month_number] = non_member_by_month.get(month_number, 0) + fund
    unknown_scores = set(config.member_scores) - {m.code for m in member_rows}
    if unknown_scores:
        raise ValidationFailed.one(
            "member_scores",
            f"不是本医共体成员：{', '.join(sorted(unknown_scores))}",
            f"not members of this consortium: {', '.join(sorted(unknown_scores))}",
        )
    members = tuple(
        Member(
            code=m.code,
            name=m.name,
            grassroots=m.grassroots,
            fund_fen=fund_by_member.get(m.id, 0),
            # A member without its own score shares by the community's score (documented default).
            score=config.member_scores.get(m.code, terms.assessment_score),
        )
        for m in member_rows
    )
    spending = Spending(
        members=members,
        outside_county_fen=outside_county,
        in_county_non_member_fen=non_members,
        outside_county_by_month=outside_by_month,
        non_member_by_month=non_member_by_month,
    )
    result = settle(terms, spending)

    standard_year = config.drg_standard_year or terms.year - 1
    point_payment = None
    if config.drg_fund_budget_fen:
        costs, _ = drg_repository.stored_costs(session, year=standard_year, scheme=scheme)
        overall, table = standards(costs, config.outliers)
        groups = drg_repository.case_groups(
            session,
            scheme=scheme,
            standard_year=standard_year,
            year=terms.year,
            institution_ids=sorted(member_ids),
        )
        if not table:
            raise ValidationFailed.one(
                "drg.standard_year",
                f"{standard_year}年没有DRG权重，请先计算（yilian drg standards）",
                f"no DRG weights for {standard_year}; compute them first (yilian drg standards)",
            )
        point_payment = pay_by_points(groups, {s.drg: s for s in table}, overall, config.drg_fund_budget_fen)

    capitation: tuple[CapitationRow, ...] = ()
    if config.capitation_per_capita_fen:
        days_in_year = (datetime(terms.year + 1, 1, 1) - datetime(terms.year, 1, 1)).days
        signed = repository.signed_days(session, consortium_id=consortium.id, year=terms.year)
        capitation = tuple(
            CapitationRow(
                m.code,
                m.name,
                signed[m.id][0],
                signed[m.id][1],
                capitation_fen(config.capitation_per_capita_fen, signed[m.id][1], days_in_year),
            )
            for m in member_rows
            if m.id in signed
        )
    return Report(
        consortium=consortium,
        config=config,
        settlement=result,
        spending=spending,
        grassroots_fund_fen=sum(m.fund_fen for m in members if m.grassroots),
        point_payment=point_payment,
        standard_year=standard_year,
        capitation=capitation,
        names={m.code: m.name for m in member_rows},
    )


def do_save_settlement(session: Session, *, actor: Actor, report: Report, terms_text: str) -> SavedSettlement:
    """One row with the terms and every figure, in the request's transaction: never half-written."""
    saved = SavedSettlement(
        consortium_id=report.consortium.id,
        year=report.config.terms.year,
        terms_json=json.dumps({"source": terms_text}, ensure_ascii=False),
        result_json=json.dumps(report.to_json(), ensure_ascii=False),
        created_at=actor.clock.now(),
        created_by=actor.subject.user_id,
    )
    session.add(saved)
    session.flush()
    actor.record_change(
        session,
        action="create",
        entity="settlement",
        entity_id=saved.id,
        resident_id=None,
        detail=str(saved.year),
    )
    return saved


# ---- saved settlements (the screen's save, list and export) ------------------------------------

OUTCOME_WORDS = {"surplus": "结余", "overrun": "超支", "balanced": "收支平衡"}


def check_save_settlement(
    session: Session, *, actor: Actor, consortium_id: int, terms: dict[str, Any], scheme: str
) -> SavedSettlement:
    """Check the terms exactly as the what-if does (same access, same 422s), then save the run."""
    consortium = access_consortium(session, actor.subject, consortium_id)
    report = settlement_report(session, consortium=consortium, config=parse_config(terms), scheme=scheme)
    return do_save_settlement(
        session, actor=actor, report=report, terms_text=json.dumps(terms, ensure_ascii=False)
    )


def _line(result: dict[str, Any], key: str) -> int | None:
    return next((line["fen"] for line in result.get("lines", []) if line["key"] == key), None)


def saved_row(saved: SavedSettlement, consortium_name: str, by: str | None) -> SavedSettlementRow:
    result = json.loads(saved.result_json)
    figures = result.get("figures", {})
    return SavedSettlementRow(
        id=saved.id,
        consortium_id=saved.consortium_id,
        consortium_name=consortium_name,
        year=saved.year,
        created_at=saved.created_at,
        created_by=by or "",
        budget_fen=_line(result, "budget"),
        outcome=OUTCOME_WORDS.get(figures.get("outcome", ""), ""),
        retained_fen=_line(result, "retained"),
        overrun_fund_fen=_line(result, "fund_shared_overrun"),
        point_value_fen=figures.get("point_value_fen"),
    )


def saved_row_of(session: Session, saved: SavedSettlement) -> SavedSettlementRow:
    consortium = session.get(Consortium, saved.consortium_id)
    by = session.get(User, saved.created_by) if saved.created_by else None
    return saved_row(saved, consortium.name if consortium else "", by.display_name if by else None)


def _saved_statement(actor: Actor, consortium_id: int | None, year: int | None) -> Any:
    if not actor.subject.may(SETTLEMENT_ROLES):
        raise Forbidden(
            "只有医保经办、卫健局和医共体管理员可以查看医保清算", "Settlement is for insurance officers"
        )
    return repository.saved_settlements(
        scoping.consortium_charge(actor.subject), consortium_id=consortium_id, year=year
    )


def saved_settlements(
    session: Session, *, actor: Actor, consortium_id: int | None, year: int | None, offset: int, limit: int
) -> SavedSettlementPage:
    statement = _saved_statement(actor, consortium_id, year)
    rows = repository.settlements_page(session, statement, offset=offset, limit=limit)
    return SavedSettlementPage(
        total=repository.count_rows(session, statement),
        offset=offset,
        limit=limit,
        items=[saved_row(s, name, by) for s, name, by in rows],
    )


def saved_settlements_export(
    session: Session, *, actor: Actor, consortium_id: int | None, year: int | None
) -> bytes:
    """Every saved settlement of the filter, one row each, with the key figures in yuan."""
    statement = _saved_statement(actor, consortium_id, year)
    rows = [
        saved_row(s, name, by)
        for s, name, by in repository.settlements_page(session, statement, offset=0, limit=None)
    ]

    def money(fen: int | None) -> float | str:
        return yuan_figure(fen) if fen is not None else ""

    header = [
        "医共体",
        "年度",
        "保存时间",
        "保存人",
        "总额预算(元)",
        "结果",
        "结余留用(元)",
        "基金分担超支(元)",
    ]
    body = (
        (
            r.consortium_name,
            r.year,
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            r.created_by,
            money(r.budget_fen),
            r.outcome,
            money(r.retained_fen),
            money(r.overrun_fund_fen),
        )
        for r in rows
    )
    return write_xlsx(header, body, title="医保总额清算")


def saved_settlement(session: Session, *, actor: Actor, settlement_id: int) -> dict[str, Any]:
    """One saved settlement: the terms it ran on (to run it again) and every figure."""
    found = session.get(SavedSettlement, settlement_id)
    if found is None:
        raise NotFound("清算记录", "settlement")
    access_consortium(session, actor.subject, found.consortium_id)
    terms = json.loads(json.loads(found.terms_json)["source"])
    return {
        "id": found.id,
        "consortium_id": found.consortium_id,
        "terms": terms,
        "result": json.loads(found.result_json),
    }
