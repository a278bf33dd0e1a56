"""Risk assessment over many patients at once: facts by SQL, the rule table compiled to one CASE.

The facts are the same for one patient (`facts_for`) and for a county (`facts_statement`), so the
Python evaluator and the SQL CASE read identical inputs; a test checks they agree patient by patient.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any, TypeAlias

from sqlalchemy import (
    ColumnElement,
    Date,
    and_,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from yilian.chronic import rules
from yilian.kit.sql import add_days
from yilian.models import (
    ChronicRegister,
    ChronicVisit,
    Encounter,
    EncounterDiagnosis,
    Resident,
    RiskAssessment,
    RiskRuleSet,
)

# Whose registers a batch touches: listed ids, or a statement selecting resident ids (the caller's scope).
Residents: TypeAlias = Collection[int] | Select[Any]


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def code_in(column: Any, prefixes: tuple[str, ...]) -> ColumnElement[bool]:
    """Index-friendly prefix match: code >= 'I20' AND code < 'I20\\uffff' for each prefix."""
    return or_(*(and_(column >= p, column < p + "\uffff") for p in prefixes))


CLINICAL = ("I20", "I21", "I22", "I23", "I24", "I25", "I50", "I60", "I61", "I62", "I63", "I64", "G45")
TARGET_ORGAN = ("I11", "I12", "I70", "H35.0")
DM_COMPLICATIONS = tuple(f"E1{n}.{k}" for n in range(5) for k in range(2, 8))
CKD = {3: ("N18.3",), 4: ("N18.4",), 5: ("N18.5",)}


def diagnosis_flags() -> Any:
    """Per resident: flags from every diagnosis ever recorded (one pass over the relevant codes)."""
    code = EncounterDiagnosis.icd10_code
    relevant = (
        *CLINICAL,
        *TARGET_ORGAN,
        *DM_COMPLICATIONS,
        "N18",
        "E78",
        *rules.REGISTER_ICD_PREFIXES[rules.DIABETES],
    )
    flag = lambda prefixes: func.max(case((code_in(code, prefixes), 1), else_=0))  # noqa: E731
    return (
        select(
            Encounter.resident_id.label("resident_id"),
            flag(CLINICAL).label("clinical"),
            flag(TARGET_ORGAN).label("organ"),
            flag(DM_COMPLICATIONS).label("dm_comp"),
            flag(("E78",)).label("lipid_dx"),
            flag(rules.REGISTER_ICD_PREFIXES[rules.DIABETES]).label("dm_dx"),
            func.max(case(*((code_in(code, p), s) for s, p in CKD.items()), else_=0)).label("ckd"),
        )
        .join(EncounterDiagnosis, EncounterDiagnosis.encounter_id == Encounter.id)
        .where(code_in(code, relevant))
        .group_by(Encounter.resident_id)
    )


def _latest(value_filter: ColumnElement[bool], *columns: Any) -> Any:
    ranked = (
        select(
            ChronicVisit.resident_id,
            *columns,
            func.row_number()
            .over(
                partition_by=ChronicVisit.resident_id,
                order_by=(ChronicVisit.visited_on.desc(), ChronicVisit.id.desc()),
            )
            .label("rn"),
        )
        .where(value_filter)
        .subquery()
    )
    return select(ranked).where(ranked.c.rn == 1).subquery()


def facts_statement(disease: str, today: date, resident_ids: Residents | None = None) -> Any:
    """One row per register entry of `disease`: the columns the rule tables read."""
    bp = _latest(ChronicVisit.sbp.is_not(None), ChronicVisit.sbp, ChronicVisit.dbp, ChronicVisit.visited_on)
    glucose = _latest(
        or_(ChronicVisit.fasting_glucose.is_not(None), ChronicVisit.hba1c.is_not(None)),
        ChronicVisit.fasting_glucose,
        ChronicVisit.hba1c,
    )
    body = _latest(
        and_(ChronicVisit.weight_kg.is_not(None), ChronicVisit.height_cm.is_not(None)),
        ChronicVisit.weight_kg,
        ChronicVisit.height_cm,
    )
    smoke = _latest(ChronicVisit.smoker.is_not(None), ChronicVisit.smoker)
    flags = diagnosis_flags()
    if resident_ids is not None:
        flags = flags.where(Encounter.resident_id.in_(resident_ids))
    flag_q = flags.subquery()
    other = ChronicRegister.__table__.alias("other_register")

    def on_register(disease_name: str) -> Any:
        return (
            select(other.c.id)
            .where(other.c.resident_id == ChronicRegister.resident_id, other.c.disease == disease_name)
            .exists()
        )

    bmi = body.c.weight_kg / ((body.c.height_cm / 100.0) * (body.c.height_cm / 100.0))
    old = case(
        (and_(Resident.sex == "M", Resident.birth_date <= years_before(today, 56)), 1),
        (and_(Resident.sex == "F", Resident.birth_date <= years_before(today, 66)), 1),
        else_=0,
    )
    smoker = case((smoke.c.smoker.is_(True), 1), else_=0)
    dyslipidaemia = case((or_(on_register(rules.HYPERLIPIDAEMIA), flag_q.c.lipid_dx == 1), 1), else_=0)
    obese = case((bmi >= 28, 1), else_=0)
    factor_count = old + smoker + dyslipidaemia + obese
    diabetes = case((or_(on_register(rules.DIABETES), flag_q.c.dm_dx == 1), 1), else_=0)
    dm_comp = func.coalesce(flag_q.c.dm_comp, 0)
    clinical = func.coalesce(flag_q.c.clinical, 0)
    ckd = func.coalesce(flag_q.c.ckd, 0)
    organ = func.coalesce(flag_q.c.organ, 0)
    tier = case(
        (or_(clinical == 1, ckd >= 4, and_(diabetes == 1, dm_comp == 1)), 4),
        (or_(factor_count >= 3, organ == 1, ckd == 3, diabetes == 1), 3),
        (factor_count >= 1, 2),
        else_=1,
    )
    grade_of = lambda v, cuts: sum((case((v >= c, 1), else_=0) for c in cuts), literal(0))  # noqa: E731
    grade_index = case(
        (
            grade_of(bp.c.sbp, (130, 140, 160, 180)) >= grade_of(bp.c.dbp, (85, 90, 100, 110)),
            grade_of(bp.c.sbp, (130, 140, 160, 180)),
        ),
        else_=grade_of(bp.c.dbp, (85, 90, 100, 110)),
    )
    bp_grade = case(
        *(
            (grade_index == i, name)
            for i, name in enumerate(["normal", "high_normal", "grade1", "grade2", "grade3"])
        ),
        else_=None,
    )
    bp_grade = case((bp.c.sbp.is_(None), None), else_=bp_grade)
    statement = (
        select(
            ChronicRegister.id.label("register_id"),
            ChronicRegister.resident_id,
            bp.c.sbp,
            bp.c.dbp,
            glucose.c.fasting_glucose,
            glucose.c.hba1c,
            bp_grade.label("bp_grade"),
            tier.label("tier"),
            case((dm_comp == 1, True), else_=False).label("diabetes_complications"),
            case((or_(clinical == 1, ckd >= 4), True), else_=False).label("clinical_complications"),
        )
        .join(Resident, Resident.id == ChronicRegister.resident_id)
        .outerjoin(bp, bp.c.resident_id == ChronicRegister.resident_id)
        .outerjoin(glucose, glucose.c.resident_id == ChronicRegister.resident_id)
        .outerjoin(body, body.c.resident_id == ChronicRegister.resident_id)
        .outerjoin(smoke, smoke.c.resident_id == ChronicRegister.resident_id)
        .outerjoin(flag_q, flag_q.c.resident_id == ChronicRegister.resident_id)
        .where(ChronicRegister.disease == disease)
    )
    if resident_ids is not None:
        statement = statement.where(ChronicRegister.resident_id.in_(resident_ids))
    return statement


SQL_OPS = {
    "==": lambda c, v: c == v,
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
    "in": lambda c, v: c.in_(v),
}


def compile_table(table: rules.RuleTable, facts: Any) -> ColumnElement[str]:
    """The rule table as one CASE over the facts columns: first matching rule wins, as in `evaluate`."""
    whens = [
        (and_(*(SQL_OPS[op](facts.c[field], value) for field, op, value in rule["when"])), rule["id"])
        for rule in table.rules
    ]
    return case(*whens, else_=table.default["id"])


def assess_all(
    session: Session,
    *,
    table: rules.RuleTable,
    rule_set_id: int,
    today: date,
    resident_ids: Residents | None = None,
) -> int:
    """Assess every register entry of the table's disease (of `resident_ids` only, if given: a list or a
    statement selecting resident ids): history rows, then the register's plan. Set-based."""
    # Materialised CTEs: evaluate the facts once and the rule CASE once per patient. Inlined, SQLite
    # re-evaluated the whole facts query for every reference to the fired rule (84 s → seconds).
    facts = facts_statement(table.disease, today, resident_ids).cte("facts").prefix_with("MATERIALIZED")
    decided = select(facts.c.resident_id, compile_table(table, facts).label("rule_id")).cte("decided")
    decided = decided.prefix_with("MATERIALIZED")
    fired = decided.c.rule_id
    by_id = {r["id"]: r for r in (*table.rules, table.default)}
    level = case(*((fired == rid, r["level"]) for rid, r in by_id.items()))
    colour = case(*((fired == rid, rules.COLOURS[r["level"]]) for rid, r in by_id.items()))
    why = case(
        *(
            (fired == rid, f"{table.code}-{table.version} {rid}：{r['why']}（指南分层：{r['guideline']}）")
            for rid, r in by_id.items()
        )
    )
    rows = select(
        decided.c.resident_id,
        literal(table.disease),
        literal(rule_set_id),
        fired,
        level,
        colour,
        why,
        literal(today, Date),
    )
    session.connection().execute(
        insert(RiskAssessment).from_select(
            [
                "resident_id",
                "disease",
                "rule_set_id",
                "rule_id",
                "level",
                "colour",
                "explanation",
                "assessed_on",
            ],
            rows,
        )
    )

    def todays(column: Any) -> Any:
        """The register row's assessment of today (the latest, if run twice)."""
        return (
            select(column)
            .where(
                RiskAssessment.resident_id == ChronicRegister.resident_id,
                RiskAssessment.disease == ChronicRegister.disease,
                RiskAssessment.assessed_on == today,
            )
            .order_by(RiskAssessment.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    latest, latest_level = todays(RiskAssessment.colour), todays(RiskAssessment.level)
    base = func.coalesce(ChronicRegister.last_visit_on, ChronicRegister.registered_on)
    register = update(ChronicRegister).where(ChronicRegister.disease == table.disease)
    if resident_ids is not None:
        register = register.where(ChronicRegister.resident_id.in_(resident_ids))
    session.execute(register.values(risk_level=latest_level, colour=latest, assessed_on=today))
    session.execute(
        register.values(
            next_due_on=case(
                *(
                    (ChronicRegister.colour == c, add_days(base, p.interval_days))
                    for c, p in rules.PLANS.items()
                )
            ),
            responsible_role=case(
                *((ChronicRegister.colour == c, p.responsible_role) for c, p in rules.PLANS.items())
            ),
        )
    )
    # One assessment per register entry (psycopg reports no rowcount for INSERT … SELECT).
    counted = (
        select(func.count()).select_from(ChronicRegister).where(ChronicRegister.disease == table.disease)
    )
    if resident_ids is not None:
        counted = counted.where(ChronicRegister.resident_id.in_(resident_ids))
    return int(session.scalar(counted) or 0)


def facts_for(session: Session, *, disease: str, resident_id: int, today: date) -> rules.PatientFacts | None:
    """The facts of one patient, from the same SQL as the batch (so both paths agree)."""
    row = session.execute(facts_statement(disease, today, [resident_id])).first()
    if row is None:
        return None
    resident = session.get(Resident, resident_id)
    assert resident is not None
    return FactsRow(row, rules.age_of(resident.birth_date, today), resident.sex).facts()


class FactsRow:
    """Adapts a facts row to PatientFacts: tier and grade were computed in SQL; keep them."""

    def __init__(self, row: Any, age: int, sex: str) -> None:
        self.row, self.age, self.sex = row, age, sex

    def facts(self) -> rules.PatientFacts:
        r = self.row
        return rules.PrecomputedFacts(
            age=self.age,
            sex=self.sex,
            sbp=r.sbp,
            dbp=r.dbp,
            fasting_glucose=r.fasting_glucose,
            hba1c=r.hba1c,
            diabetes_complications=bool(r.diabetes_complications),
            clinical_complications=bool(r.clinical_complications),
            sql_tier=int(r.tier),
        )


def active_rule_set(session: Session, disease: str) -> tuple[int, rules.RuleTable]:
    row = session.scalar(
        select(RiskRuleSet)
        .where(RiskRuleSet.disease == disease, RiskRuleSet.is_active.is_(True))
        .order_by(RiskRuleSet.id.desc())
    )
    if row is None:
        table = rules.builtin_tables()[disease]
        row = RiskRuleSet(
            code=table.code,
            version=table.version,
            disease=disease,
            source=table.source,
            rules_json=(rules.RULESET_DIR / f"{table.code.lower()}-{table.version}.json").read_text("utf-8"),
        )
        session.add(row)
        session.flush()
    return row.id, rules.parse_table(row.rules_json)
