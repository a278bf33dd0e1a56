"""Use cases of chronic care: visits that re-assess, registers, work lists, figures, long prescriptions."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.auth.context import Actor
from yilian.chronic import assessment, repository, rules
from yilian.chronic.schemas import (
    ChronicRecord,
    DrugOut,
    DrugPage,
    Figures,
    GridCount,
    PrescriptionIn,
    PrescriptionOut,
    RegisterOut,
    VisitIn,
    VisitOut,
    WorkItem,
    WorkPage,
)
from yilian.family_doctor.service import access_team
from yilian.kit.errors import Forbidden, ValidationFailed
from yilian.kit.tabular import write_xlsx
from yilian.models import ChronicRegister, ChronicVisit, Prescription, PrescriptionItem, Resident
from yilian.registry import repository as registry_repository
from yilian.residents.repository import is_signed
from yilian.residents.rules import age_on
from yilian.residents.service import access_resident

CLINICIANS = frozenset({roles.FAMILY_DOCTOR, roles.DOCTOR})
MEASUREMENTS = frozenset(
    {
        "sbp",
        "dbp",
        "heart_rate",
        "fasting_glucose",
        "hba1c",
        "total_cholesterol",
        "ldl",
        "weight_kg",
        "height_cm",
    }
)
# Columns of their own; every other field of VisitIn that is not a measurement goes to form_json.
VISIT_COLUMNS = MEASUREMENTS | {"resident_id", "kind", "disease", "visited_on", "smoker", "adherence", "note"}
FORM_COLUMNS = frozenset({"way", "visit_class", "next_visit_on"})
WORKLISTS = ("unsigned", "overdue", "red")


def reassess(session: Session, *, resident_ids: list[int], today: date) -> None:
    """Re-assess the given patients on every assessed register (the batch path, narrowed)."""
    for disease in rules.ASSESSED_DISEASES:
        rule_set_id, table = assessment.active_rule_set(session, disease)
        assessment.assess_all(
            session, table=table, rule_set_id=rule_set_id, today=today, resident_ids=resident_ids
        )


def do_record_visit(session: Session, *, actor: Actor, data: VisitIn) -> ChronicRecord:
    """Record a follow-up or health check; screening positives join registers; colours are re-assessed."""
    if not actor.subject.may(CLINICIANS):
        raise Forbidden("只有医生或家庭医生可以登记随访", "Only doctors record follow-ups")
    if actor.subject.institution_id is None:
        raise Forbidden()
    today = actor.clock.now().date()
    if data.visited_on > today:
        raise ValidationFailed.one("visited_on", "随访日期不能晚于今天", "visit date is in the future")
    if data.disease is not None and data.disease not in rules.DISEASES:
        raise ValidationFailed.one("disease", "病种应为高血压、糖尿病或高脂血症", "unknown disease")
    if data.next_visit_on is not None and data.next_visit_on <= data.visited_on:
        raise ValidationFailed.one(
            "next_visit_on", "下次随访日期应晚于本次随访日期", "the next visit must come after this one"
        )
    rules.check_symptoms(data.disease, data.symptoms)
    values = data.model_dump(include=set(MEASUREMENTS))
    rules.check_measurements(values)
    if not any(v is not None for v in values.values()):
        raise ValidationFailed.one("sbp", "至少填写一项测量值", "record at least one measurement")
    resident = access_resident(session, actor, data.resident_id)
    visit = ChronicVisit(
        resident_id=resident.id,
        kind=data.kind,
        disease=data.disease,
        visited_on=data.visited_on,
        staff_id=actor.subject.staff_id,
        institution_id=actor.subject.institution_id,
        recorded_at=actor.clock.now(),
        smoker=data.smoker,
        adherence=data.adherence,
        note=data.note,
        way=data.way,
        visit_class=data.visit_class,
        next_visit_on=data.next_visit_on,
        form_json=_form_json(data),
        **values,
    )
    session.add(visit)
    session.flush()
    if data.kind == "health_check":
        for disease in rules.screened_positive(
            sbp=data.sbp,
            dbp=data.dbp,
            fasting_glucose=data.fasting_glucose,
            total_cholesterol=data.total_cholesterol,
            ldl=data.ldl,
        ):
            if repository.register(session, resident.id, disease) is None:
                session.add(
                    ChronicRegister(
                        resident_id=resident.id,
                        disease=disease,
                        source="screening",
                        registered_on=data.visited_on,
                    )
                )
        session.flush()
    age = age_on(resident.birth_date, data.visited_on)
    for entry in repository.registers_of(session, resident.id):
        if entry.last_visit_on is None or entry.last_visit_on <= data.visited_on:
            entry.last_visit_on = data.visited_on
            measured = rules.is_controlled(
                entry.disease,
                age=age,
                sbp=data.sbp,
                dbp=data.dbp,
                fasting_glucose=data.fasting_glucose,
                hba1c=data.hba1c,
            )
            if measured is not None:
                entry.controlled = measured
    session.flush()
    reassess(session, resident_ids=[resident.id], today=today)
    if data.next_visit_on is not None:
        session.expire_all()
        for entry in repository.registers_of(session, resident.id):
            if data.disease is None or entry.disease == data.disease:
                entry.next_due_on = rules.next_visit_due(entry.next_due_on, data.next_visit_on)
        session.flush()
    actor.record_change(
        session, action="create", entity="chronic_visit", entity_id=visit.id, resident_id=resident.id
    )
    return record_of(session, resident=resident, today=today)


def _form_json(data: VisitIn) -> str | None:
    """The national record's fields beyond the columns, without the empty ones (None when none)."""
    form = {
        k: v
        for k, v in data.model_dump(mode="json", exclude=set(VISIT_COLUMNS | FORM_COLUMNS)).items()
        if v not in (None, [], "")
    }
    if bmi := rules.bmi(data.weight_kg, data.height_cm):
        form["bmi"] = bmi
    return json.dumps(form, ensure_ascii=False) if form else None


def record_of(session: Session, *, resident: Resident, today: date) -> ChronicRecord:
    """A resident's chronic-care page (call with a resident from `access_resident`)."""
    session.expire_all()
    explanations = repository.latest_explanations(session, resident.id)
    registers = [
        RegisterOut(
            disease=r.disease,
            disease_label=rules.DISEASE_LABELS[r.disease],
            source=r.source,
            registered_on=r.registered_on,
            risk_level=r.risk_level,
            colour=r.colour,
            assessed_on=r.assessed_on,
            next_due_on=r.next_due_on,
            responsible_role=r.responsible_role,
            last_visit_on=r.last_visit_on,
            controlled=r.controlled,
            explanation=explanations.get(r.disease),
        )
        for r in repository.registers_of(session, resident.id)
    ]
    visits = [
        VisitOut(
            id=v.id,
            kind=v.kind,
            visited_on=v.visited_on,
            sbp=v.sbp,
            dbp=v.dbp,
            fasting_glucose=v.fasting_glucose,
            hba1c=v.hba1c,
            weight_kg=v.weight_kg,
            adherence=v.adherence,
            disease=v.disease,
            way=v.way,
            visit_class=v.visit_class,
            next_visit_on=v.next_visit_on,
            form=json.loads(v.form_json) if v.form_json else {},
        )
        for v in repository.visits_of(session, resident.id)
    ]
    return ChronicRecord(
        resident_id=resident.id,
        signed=is_signed(session, resident.id, today),
        registers=registers,
        visits=visits,
    )


def read_record(session: Session, *, actor: Actor, resident_id: int) -> ChronicRecord:
    resident = access_resident(session, actor, resident_id)
    return record_of(session, resident=resident, today=actor.clock.now().date())


WORKLIST_TITLES = {"red": "红色预警", "overdue": "随访逾期", "unsigned": "应签未签"}


def _check_worklist(kind: str, disease: str | None) -> None:
    if kind not in WORKLISTS:
        raise ValidationFailed.one(
            "kind", "工作清单应为 unsigned、overdue 或 red", "kind must be unsigned, overdue or red"
        )
    if disease is not None and disease not in rules.DISEASES:
        raise ValidationFailed.one(
            "disease",
            "病种应为高血压、糖尿病或高脂血症",
            "disease must be hypertension, diabetes or hyperlipidaemia",
        )


def _work_items(actor: Actor, rows: list[Any], today: date, kind: str) -> list[WorkItem]:
    items = [
        WorkItem(
            resident_id=rid,
            name=name,
            age=age_on(born, today),
            grid_name=grid,
            disease=disease,
            colour=colour,
            next_due_on=due,
            days_overdue=(today - due).days if due and due < today else None,
        )
        for rid, name, born, grid, disease, colour, due in rows
    ]
    actor.record_read(
        entity="resident",
        resident_ids=sorted({i.resident_id for i in items}),
        action="list",
        detail=f"worklist={kind}",
    )
    return items


def worklist(
    session: Session,
    *,
    actor: Actor,
    kind: str,
    grid_id: int | None = None,
    disease: str | None = None,
    offset: int = 0,
    limit: int | None = 200,
) -> list[WorkItem]:
    _check_worklist(kind, disease)
    today = actor.clock.now().date()
    rows = repository.worklist(
        session,
        actor.subject,
        kind=kind,
        today=today,
        grid_id=grid_id,
        disease=disease,
        offset=offset,
        limit=limit,
    )
    return _work_items(actor, rows, today, kind)


def worklist_page(
    session: Session,
    *,
    actor: Actor,
    kind: str,
    grid_id: int | None = None,
    disease: str | None = None,
    offset: int = 0,
    limit: int = 20,
) -> WorkPage:
    """The workbench's list: one page, the filtered total, and the villages the list spans."""
    _check_worklist(kind, disease)
    today = actor.clock.now().date()
    subject = actor.subject
    total = repository.count_worklist(
        session, subject, kind=kind, today=today, grid_id=grid_id, disease=disease
    )
    items = worklist(
        session, actor=actor, kind=kind, grid_id=grid_id, disease=disease, offset=offset, limit=limit
    )
    grids = [
        GridCount(grid_id=g, name=name, count=n)
        for g, name, n in repository.worklist_grids(session, subject, kind=kind, today=today)
    ]
    return WorkPage(kind=kind, total=total, offset=offset, limit=limit, items=items, grids=grids)


def worklist_export(
    session: Session, *, actor: Actor, kind: str, grid_id: int | None = None, disease: str | None = None
) -> bytes:
    """The whole filtered work list as an Excel sheet (no cap), audited as a list read."""
    items = worklist(session, actor=actor, kind=kind, grid_id=grid_id, disease=disease, limit=None)
    colours = {"red": "红", "yellow": "黄", "green": "绿"}
    rows = (
        (
            i.name,
            i.age,
            i.grid_name or "",
            rules.DISEASE_LABELS.get(i.disease or "", i.disease or ""),
            colours.get(i.colour or "", ""),
            i.next_due_on.isoformat() if i.next_due_on else "",
            i.days_overdue or "",
        )
        for i in items
    )
    header = ["姓名", "年龄", "网格（村/社区）", "病种", "分级颜色", "下次随访日期", "逾期天数"]
    return write_xlsx(header, rows, title=WORKLIST_TITLES[kind])


def figures(
    session: Session,
    *,
    actor: Actor,
    as_of: date | None = None,
    team_id: int | None = None,
    grid_id: int | None = None,
    institution_id: int | None = None,
) -> Figures:
    """Figures for the subject's residents, or one team's, grid's or institution's; signing as of a day.

    Registers, control, on-time follow-up and colours are the current state (their history is in
    risk_assessment and chronic_visit); signing counts contracts covering `as_of`."""
    if team_id is not None:
        access_team(session, actor, team_id)
    today = as_of or actor.clock.now().date()
    cutoff = date(today.year - 65, today.month, min(today.day, 28))
    unit = repository.unit_clause(team_id=team_id, grid_id=grid_id, institution_id=institution_id)
    raw = repository.figures(session, actor.subject, today=today, key_age_cutoff=cutoff, unit=unit)
    registered: dict[str, int] = {}
    on_time: dict[str, int] = {}
    controlled: dict[str, int] = {}
    colours: dict[str, dict[str, int]] = {}
    for disease, colour, count, timely, ok in raw["per_disease"]:
        registered[disease] = registered.get(disease, 0) + int(count)
        on_time[disease] = on_time.get(disease, 0) + int(timely or 0)
        controlled[disease] = controlled.get(disease, 0) + int(ok or 0)
        colours.setdefault(disease, {})[colour or "unassessed"] = int(count)

    def rate(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    return Figures(
        as_of=today,
        residents=raw["residents"],
        signed=raw["signed"],
        signing_rate=rate(raw["signed"], raw["residents"]),
        key_population=raw["key"],
        key_population_signed=raw["key_signed"],
        key_population_signing_rate=rate(raw["key_signed"], raw["key"]),
        registered=registered,
        managed_on_time=on_time,
        on_time_rate={d: rate(on_time[d], n) for d, n in registered.items()},
        controlled=controlled,
        control_rate={d: rate(controlled[d], n) for d, n in registered.items()},
        colours=colours,
    )


def do_prescribe(session: Session, *, actor: Actor, data: PrescriptionIn) -> PrescriptionOut:
    """Up to 12 weeks for signed, stable chronic patients; drugs from the consortium's catalogue only."""
    if not actor.subject.may(CLINICIANS) or actor.subject.institution_id is None:
        raise Forbidden("只有医生可以开具处方", "Only doctors prescribe")
    resident = access_resident(session, actor, data.resident_id)
    today = actor.clock.now().date()
    disease = next(
        (d for d, prefixes in rules.REGISTER_ICD_PREFIXES.items() if data.diagnosis.startswith(prefixes)),
        None,
    )
    entry = repository.register(session, resident.id, disease) if disease else None
    is_long = rules.check_prescription_days(
        data.days,
        on_register=entry is not None,
        signed=is_signed(session, resident.id, today),
        stable=entry is not None and entry.colour == "green",
    )
    institution = registry_repository.institution(session, actor.subject.institution_id)
    assert institution is not None
    items = []
    for index, item in enumerate(data.items):
        drug = repository.drug(session, item.drug_id)
        if drug is None or not registry_repository.membership(session, drug.consortium_id, institution.id):
            raise ValidationFailed.one(
                f"items[{index}].drug_id",
                "药品不在本医联体统一目录中",
                "drug is not in the consortium's unified catalogue",
            )
        items.append((drug, item.daily_dose))
    prescription = Prescription(
        resident_id=resident.id,
        staff_id=actor.subject.staff_id,
        institution_id=institution.id,
        prescribed_on=today,
        days=data.days,
        is_long=is_long,
        diagnosis=data.diagnosis,
    )
    session.add(prescription)
    session.flush()
    session.add_all(
        PrescriptionItem(
            prescription_id=prescription.id,
            drug_id=drug.id,
            daily_dose=dose,
            quantity=int(dose * data.days + 0.999),
        )
        for drug, dose in items
    )
    session.flush()
    actor.record_change(
        session, action="create", entity="prescription", entity_id=prescription.id, resident_id=resident.id
    )
    return PrescriptionOut(
        id=prescription.id,
        days=data.days,
        is_long=is_long,
        items=[
            {"drug": d.name, "daily_dose": dose, "quantity": int(dose * data.days + 0.999)}
            for d, dose in items
        ],
    )


def drugs_page(session: Session, *, actor: Actor, q: str, offset: int, limit: int) -> DrugPage:
    """The unified catalogue (五统一) of the prescriber's consortium, searched by name."""
    if not actor.subject.may(CLINICIANS) or actor.subject.institution_id is None:
        raise Forbidden("只有医生可以开具处方", "Only doctors prescribe")
    consortium_id = scoping.home_consortium(session, actor.subject)
    if consortium_id is None:
        return DrugPage(items=[], total=0, offset=offset, limit=limit)
    total, rows = repository.drugs_page(
        session, consortium_id=consortium_id, q=q.strip(), offset=offset, limit=limit
    )
    return DrugPage(
        items=[DrugOut.model_validate(d, from_attributes=True) for d in rows],
        total=total,
        offset=offset,
        limit=limit,
    )


def do_assess_county(session: Session, *, actor: Actor) -> dict[str, int]:
    """Refresh registers from diagnoses and assess every registered patient the administrator serves
    (the commission its region, a consortium admin its consortium's grids); no one else's."""
    if not actor.subject.may(frozenset({roles.COMMISSION, roles.CONSORTIUM_ADMIN})):
        raise Forbidden()
    today = actor.clock.now().date()
    served = repository.served_residents(actor.subject)
    added = repository.refresh_registers_from_diagnoses(session, served)
    assessed = {}
    for disease in rules.ASSESSED_DISEASES:
        rule_set_id, table = assessment.active_rule_set(session, disease)
        assessed[disease] = assessment.assess_all(
            session, table=table, rule_set_id=rule_set_id, today=today, resident_ids=served
        )
    return {"registered": added, **assessed}
