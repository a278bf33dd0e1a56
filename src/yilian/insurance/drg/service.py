"""What the insurance officer reads of DRG: the scheme's groups with their weights, the year's grouped
discharges (paged, with the outlier class), one case's grouping trace, and CMI and points per
institution. Lists start from the institutions the caller runs; case rows are personal, so audited."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from yilian.auth import scoping
from yilian.auth.context import Actor
from yilian.auth.rules import Subject
from yilian.insurance import service as insurance
from yilian.insurance.drg import repository
from yilian.insurance.drg.payment import Standard, pay_by_points, standards
from yilian.insurance.drg.rules import Grouper
from yilian.insurance.schemas import (
    CodeName,
    DrgCasePage,
    DrgCaseRow,
    DrgGroupPage,
    DrgGroupRow,
    DrgInstitutionRow,
    DrgInstitutions,
    DrgTrace,
)
from yilian.kit.dates import age_on
from yilian.kit.errors import Forbidden, NotFound, ValidationFailed
from yilian.kit.money import yuan_figure
from yilian.kit.tabular import write_xlsx

# CHS-DRG 1.1's 26 major diagnostic categories (国家医疗保障疾病诊断相关分组 CHS-DRG 分组方案 1.1).
MDC_NAMES = {
    "MDCA": "先期分组疾病及相关操作",
    "MDCB": "神经系统疾病及功能障碍",
    "MDCC": "眼疾病及功能障碍",
    "MDCD": "头颈、耳、鼻、口、咽疾病及功能障碍",
    "MDCE": "呼吸系统疾病及功能障碍",
    "MDCF": "循环系统疾病及功能障碍",
    "MDCG": "消化系统疾病及功能障碍",
    "MDCH": "肝、胆、胰疾病及功能障碍",
    "MDCI": "肌肉、骨骼疾病及功能障碍",
    "MDCJ": "皮肤、皮下组织及乳腺疾病及功能障碍",
    "MDCK": "内分泌、营养、代谢疾病及功能障碍",
    "MDCL": "肾脏及泌尿系统疾病及功能障碍",
    "MDCM": "男性生殖系统疾病及功能障碍",
    "MDCN": "女性生殖系统疾病及功能障碍",
    "MDCO": "妊娠、分娩及产褥期",
    "MDCP": "新生儿及其他围产期新生儿疾病",
    "MDCQ": "血液、造血器官及免疫疾病和功能障碍",
    "MDCR": "骨髓增生疾病和功能障碍，低分化肿瘤",
    "MDCS": "感染及寄生虫病（全身性或不明确部位的）",
    "MDCT": "精神疾病及功能障碍",
    "MDCU": "酒精/药物使用及其引起的器质性精神功能障碍",
    "MDCV": "创伤、中毒及药物毒性反应",
    "MDCW": "烧伤",
    "MDCX": "影响健康因素及其他就医情况",
    "MDCY": "HIV感染疾病及相关操作",
    "MDCZ": "多发严重创伤",
}
OUTLIER_WORDS = {"high": "高倍率", "low": "低倍率", "normal": "正常", "unweighted": "无权重"}
SEX_WORDS = {"M": "男", "F": "女"}


def check_reader(subject: Subject) -> None:
    """DRG lists are for those who settle: insurance officers, the commission, consortium admins."""
    if not subject.may(insurance.SETTLEMENT_ROLES):
        raise Forbidden(
            "只有医保经办、卫健局和医共体管理员可以查看DRG病例", "DRG figures are for insurance officers"
        )


def _standards(session: Session, scheme: str, year: int) -> tuple[Fraction, dict[str, Standard]]:
    costs, _ = repository.stored_costs(session, year=year, scheme=scheme)
    overall, table = standards(costs)
    return overall, {s.drg: s for s in table}


def groups(
    session: Session,
    *,
    actor: Actor,
    grouper: Grouper,
    q: str = "",
    mdc: str | None = None,
    standard_year: int | None = None,
    offset: int = 0,
    limit: int = 20,
) -> DrgGroupPage:
    """The scheme's groups (scheme data, a few hundred: filtered here) with a base year's weights."""
    check_reader(actor.subject)
    scheme = grouper.scheme
    years = repository.standard_years(session, scheme=scheme.name)
    year = standard_year if standard_year is not None else (years[-1] if years else None)
    table = _standards(session, scheme.name, year)[1] if year is not None else {}
    needle = q.strip().upper()
    rows = []
    for drg, name in sorted(scheme.drg_names.items()):
        adrg = scheme.adrgs.get(drg[:3])
        group_mdc = adrg.mdc if adrg else ""
        if mdc and group_mdc != mdc:
            continue
        if needle and needle not in drg.upper() and needle not in name.upper():
            continue
        s = table.get(drg)
        rows.append(
            DrgGroupRow(
                drg=drg,
                name=name,
                mdc=group_mdc,
                mdc_name=MDC_NAMES.get(group_mdc, ""),
                adrg=drg[:3],
                cases=s.cases if s else None,
                weight=round(float(s.weight), 4) if s else None,
                mean_yuan=yuan_figure(s.mean_fen) if s else None,
                high_limit_yuan=yuan_figure(s.high_limit_fen) if s else None,
                low_limit_yuan=yuan_figure(s.low_limit_fen) if s else None,
            )
        )
    return DrgGroupPage(
        total=len(rows),
        offset=offset,
        limit=limit,
        scheme=scheme.name,
        standard_year=year,
        years=years,
        mdcs=[CodeName(code=code, name=name) for code, name in MDC_NAMES.items()],
        items=rows[offset : offset + limit],
    )


def _case_rows(grouper: Grouper, rows: Iterable[Any]) -> list[DrgCaseRow]:
    scheme = grouper.scheme
    return [
        DrgCaseRow(
            encounter_id=r.id,
            resident_name=r.name,
            sex=SEX_WORDS.get(r.sex, ""),
            age=age_on(r.birth_date, r.start_date),
            institution_name=r.institution_name,
            admitted_on=r.start_date,
            discharged_on=r.end_date,
            length_of_stay=(r.end_date - r.start_date).days,
            principal_diagnosis=f"{r.principal or ''} {scheme.zd_names.get(r.principal or '', '')}".strip(),
            status=scheme.statuses.get(r.status_key, r.status_key),
            mdc=r.mdc,
            mdc_name=MDC_NAMES.get(r.mdc, ""),
            drg=r.drg if r.status_key == "SUCCESS" else "",
            drg_name=scheme.drg_names.get(r.drg, "") if r.status_key == "SUCCESS" else "",
            total_yuan=yuan_figure(r.total_fen),
            fund_yuan=yuan_figure(r.fund_fen),
            outlier=r.outlier,
        )
        for r in rows
    ]


def _case_statement(
    actor: Actor, grouper: Grouper, *, year: int, standard_year: int | None, **filters: Any
) -> tuple[Any, int]:
    check_reader(actor.subject)
    base_year = standard_year if standard_year is not None else year - 1
    statement = repository.discharged_cases(
        scheme=grouper.scheme.name,
        standard_year=base_year,
        year=year,
        institutions=scoping.institution_charge(actor.subject),
        **filters,
    )
    return statement, base_year


def cases(
    session: Session,
    *,
    actor: Actor,
    grouper: Grouper,
    year: int,
    standard_year: int | None = None,
    offset: int = 0,
    limit: int = 20,
    **filters: Any,
) -> DrgCasePage:
    """One page of the year's grouped discharges; each resident shown is an audited read."""
    statement, base_year = _case_statement(actor, grouper, year=year, standard_year=standard_year, **filters)
    rows = repository.page_of(session, statement, offset=offset, limit=limit)
    actor.record_read(entity="drg_case", resident_ids=sorted({r.resident_id for r in rows}), action="list")
    return DrgCasePage(
        total=repository.count_of(session, statement),
        offset=offset,
        limit=limit,
        year=year,
        standard_year=base_year,
        items=_case_rows(grouper, rows),
    )


def cases_export(
    session: Session,
    *,
    actor: Actor,
    grouper: Grouper,
    year: int,
    standard_year: int | None = None,
    **filters: Any,
) -> bytes:
    """The whole filtered list as Excel (no cap), audited as a list read of every resident in it."""
    statement, _ = _case_statement(actor, grouper, year=year, standard_year=standard_year, **filters)
    rows = repository.page_of(session, statement, offset=0, limit=None)
    actor.record_read(entity="drg_case", resident_ids=sorted({r.resident_id for r in rows}), action="export")
    header = [
        "姓名", "性别", "年龄", "机构", "入院日期", "出院日期", "住院天数", "主要诊断",
        "分组状态", "MDC", "DRG", "DRG名称", "总费用(元)", "统筹支付(元)", "费用类别",
    ]  # fmt: skip
    body = (
        (
            c.resident_name,
            c.sex,
            c.age,
            c.institution_name,
            c.admitted_on.isoformat(),
            c.discharged_on.isoformat(),
            c.length_of_stay,
            c.principal_diagnosis,
            c.status,
            f"{c.mdc} {c.mdc_name}".strip(),
            c.drg,
            c.drg_name,
            c.total_yuan,
            c.fund_yuan,
            OUTLIER_WORDS[c.outlier],
        )  # fmt: skip
        for c in _case_rows(grouper, rows)
    )
    return write_xlsx(header, body, title=f"{year}年DRG病例")


def trace(
    session: Session, *, actor: Actor, grouper: Grouper, encounter_id: int, standard_year: int | None = None
) -> DrgTrace:
    """Group the case again with the reasons written down: codes read, MDC and ADRG rules, CC/MCC."""
    check_reader(actor.subject)
    row = repository.case_in_charge(
        session, encounter_id=encounter_id, institutions=scoping.institution_charge(actor.subject)
    )
    if row is None:
        raise NotFound("出院病例", "discharged case")
    diagnoses, procedures = repository.codes_of(session, [row.id])
    facts = repository.discharge_facts(session, row.id)
    result = grouper.group(insurance.case_of(facts, diagnoses, procedures), trace=True)
    stored = repository.grouping_of(session, row.id, grouper.scheme.name)
    base_year = standard_year if standard_year is not None else row.end_date.year - 1
    _, table = _standards(session, grouper.scheme.name, base_year)
    standard = table.get(result.drg) if result.grouped else None
    outlier = (
        "unweighted"
        if standard is None
        else "high"
        if row.total_fen > standard.high_limit_fen
        else "low"
        if row.total_fen < standard.low_limit_fen
        else "normal"
    )
    actor.record_read(entity="drg_case", resident_ids=[row.resident_id], action="read")
    scheme = grouper.scheme
    return DrgTrace(
        encounter_id=row.id,
        resident_name=row.name,
        institution_name=row.institution_name,
        sex=SEX_WORDS.get(row.sex, ""),
        age=age_on(row.birth_date, row.start_date),
        length_of_stay=(row.end_date - row.start_date).days,
        diagnoses=[CodeName(code=c, name=scheme.zd_names.get(c, "")) for c in diagnoses[row.id]],
        procedures=[CodeName(code=c, name=scheme.ss_names.get(c, "")) for c in procedures[row.id]],
        status=result.status,
        mdc=result.mdc,
        mdc_name=MDC_NAMES.get(result.mdc, ""),
        adrg=result.adrg,
        drg=result.drg,
        drg_name=result.drg_name,
        trace=list(result.trace),
        stored_drg=stored.drg if stored else None,
        total_yuan=yuan_figure(row.total_fen),
        outlier=outlier,  # type: ignore[arg-type]
        high_limit_yuan=yuan_figure(standard.high_limit_fen) if standard else None,
        low_limit_yuan=yuan_figure(standard.low_limit_fen) if standard else None,
    )


def institutions(
    session: Session,
    *,
    actor: Actor,
    grouper: Grouper,
    year: int,
    standard_year: int | None = None,
    budget_fen: int | None = None,
) -> DrgInstitutions:
    """CMI, points and the payment by points of each institution the caller runs (DRG 点数法).

    Without a budget the year's actual inpatient fund payments at these institutions are shared out,
    so the point value is what the fund paid per point."""
    check_reader(actor.subject)
    if budget_fen is not None and budget_fen <= 0:
        raise ValidationFailed.one(
            "budget_yuan", "住院基金预算必须大于0", "the budget must be greater than zero"
        )
    base_year = standard_year if standard_year is not None else year - 1
    overall, table = _standards(session, grouper.scheme.name, base_year)
    if not table:
        raise ValidationFailed.one(
            "standard_year",
            f"{base_year}年没有DRG权重，请先计算（yilian drg standards）",
            f"no DRG weights for {base_year}; compute them first (yilian drg standards)",
        )
    ids = [i.id for i in session.scalars(scoping.writable_institutions(actor.subject))]
    groups_ = repository.case_groups(
        session, scheme=grouper.scheme.name, standard_year=base_year, year=year, institution_ids=ids
    )
    source = "given" if budget_fen is not None else "inpatient_fund"
    budget = (
        budget_fen
        if budget_fen is not None
        else repository.inpatient_fund_fen(session, year=year, institution_ids=ids)
    )
    payment = pay_by_points(groups_, table, overall, budget)
    known = repository.institutions_by_code(session, [r.institution for r in payment.institutions])
    outliers: dict[tuple[str, str], int] = {}
    for g in groups_:
        outliers[(g.institution, g.kind)] = outliers.get((g.institution, g.kind), 0) + g.cases
    rows = [
        DrgInstitutionRow(
            institution_id=known[r.institution][0],
            institution_name=known[r.institution][1],
            cases=r.cases,
            high_cases=outliers.get((r.institution, "high"), 0),
            low_cases=outliers.get((r.institution, "low"), 0),
            points=round(float(r.points), 2),
            cmi=round(float(r.case_mix_index), 4),
            payment_yuan=yuan_figure(r.payment_fen),
        )
        for r in payment.institutions
    ]
    rows.sort(key=lambda r: (-r.cmi, r.institution_name))
    return DrgInstitutions(
        year=year,
        standard_year=base_year,
        budget_yuan=yuan_figure(budget),
        budget_source=source,  # type: ignore[arg-type]
        total_points=round(float(payment.total_points), 2),
        point_value_yuan=yuan_figure(payment.point_value_fen, 4) if payment.total_points else None,
        items=rows,
    )
