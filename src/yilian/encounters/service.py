"""Record encounters and read a resident's history (audited)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.encounters import icd10, repository, rules
from yilian.encounters.schemas import (
    DischargeIn,
    DrgOut,
    EncounterIn,
    EncounterOut,
    InpatientOut,
    InpatientPage,
)
from yilian.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yilian.kit.tabular import write_xlsx
from yilian.models import Encounter, EncounterDiagnosis, EncounterProcedure, Institution, Resident
from yilian.registry import repository as registry_repository
from yilian.residents.service import access_resident


def _out(
    encounter: Encounter,
    institution_name: str,
    diagnoses: list[str],
    procedures: list[str] | None = None,
    drg: DrgOut | None = None,
) -> EncounterOut:
    return EncounterOut(
        id=encounter.id,
        resident_id=encounter.resident_id,
        institution_id=encounter.institution_id,
        institution_name=institution_name,
        kind=encounter.kind,
        start_date=encounter.start_date,
        end_date=encounter.end_date,
        diagnoses=diagnoses,
        procedures=procedures or [],
        total_cost=rules.fen_to_yuan(encounter.total_fen),
        fund_paid=rules.fen_to_yuan(encounter.fund_fen),
        out_of_county=encounter.out_of_county,
        leaving_type=encounter.leaving_type,
        drg=drg,
    )


def check_may_record_encounters(actor: Actor) -> None:
    """Who may record a visit: the roles that treat patients (REST, FHIR and imports alike)."""
    if not actor.subject.may(roles.ENCOUNTER_RECORDERS):
        raise Forbidden("当前角色不能登记就诊", "Your role cannot record encounters")


def check_may_record_at(session: Session, *, actor: Actor, institution_id: int) -> Institution:
    """Where: a visit is recorded at the recorder's own institution only, since it opens the
    resident's record to that institution (decision 0017). Returns the institution."""
    check_may_record_encounters(actor)
    institution = registry_repository.institution(session, institution_id)
    if institution is None:
        raise ValidationFailed.one(
            "institution_id", f"机构{institution_id}不存在", f"institution {institution_id} does not exist"
        )
    if actor.subject.institution_id != institution_id:
        raise Forbidden("只能登记本机构的就诊", "You can record encounters of your own institution only")
    return institution


def do_record_encounter(session: Session, *, actor: Actor, data: EncounterIn) -> EncounterOut:
    """Record a visit or a stay at the recorder's own institution (a stay recorded already ended is
    grouped into its DRG by `pathways.discharge`, which calls this)."""
    institution = check_may_record_at(session, actor=actor, institution_id=data.institution_id)
    total_fen, fund_fen = rules.yuan_to_fen(data.total_cost), rules.yuan_to_fen(data.fund_paid)
    rules.check_encounter(
        kind=data.kind,
        start_date=data.start_date,
        end_date=data.end_date,
        diagnoses=data.diagnoses,
        total_fen=total_fen,
        fund_fen=fund_fen,
        today=actor.clock.now().date(),
        procedures=data.procedures,
        leaving_type=data.leaving_type,
    )
    resident = access_resident(session, actor, data.resident_id)
    in_county = repository.is_member_of_consortium_in_county(session, institution.id, resident.region_code)
    encounter = Encounter(
        resident_id=resident.id,
        institution_id=institution.id,
        department_id=data.department_id,
        kind=data.kind,
        start_date=data.start_date,
        end_date=data.end_date or (data.start_date if data.kind == "outpatient" else None),
        total_fen=total_fen,
        fund_fen=fund_fen,
        out_of_county=not in_county,
        leaving_type=data.leaving_type,
    )
    session.add(encounter)
    session.flush()
    session.add_all(
        EncounterDiagnosis(encounter_id=encounter.id, seq=i, icd10_code=c)
        for i, c in enumerate(data.diagnoses)
    )
    session.add_all(
        EncounterProcedure(encounter_id=encounter.id, seq=i, icd9_code=c)
        for i, c in enumerate(data.procedures)
    )
    session.flush()
    repository.count_visit(
        session,
        encounter=encounter,
        resident_region_code=resident.region_code,
        visits=1,
        total_fen=encounter.total_fen,
        fund_fen=encounter.fund_fen,
    )
    actor.record_change(
        session, action="create", entity="encounter", entity_id=encounter.id, resident_id=resident.id
    )
    return _out(encounter, institution.name, data.diagnoses, data.procedures)


def do_discharge(session: Session, *, actor: Actor, encounter_id: int, data: DischargeIn) -> EncounterOut:
    """Close a stay with its front page (`pathways.discharge` groups it into its DRG at once)."""
    subject = actor.subject
    if not subject.may(roles.ENCOUNTER_RECORDERS):
        raise Forbidden("当前角色不能办理出院", "Your role cannot discharge patients")
    encounter = session.get(Encounter, encounter_id, with_for_update=True)
    if encounter is None or encounter.institution_id != subject.institution_id:
        raise NotFound("住院记录", "inpatient stay")
    if encounter.kind != "inpatient":
        raise ValidationFailed.one("kind", "门诊就诊不需要办理出院", "an outpatient visit is not discharged")
    if encounter.end_date is not None:
        raise Conflict(
            f"该患者已于{encounter.end_date}出院", f"this stay already ended on {encounter.end_date}"
        )
    resident = access_resident(session, actor, encounter.resident_id)
    old_diagnoses = repository.diagnoses_of(session, [encounter.id])[encounter.id]
    diagnoses = data.diagnoses if data.diagnoses is not None else old_diagnoses
    procedures = (
        data.procedures
        if data.procedures is not None
        else repository.procedures_of(session, [encounter.id])[encounter.id]
    )
    total_fen, fund_fen = rules.yuan_to_fen(data.total_cost), rules.yuan_to_fen(data.fund_paid)
    rules.check_encounter(
        kind=encounter.kind,
        start_date=encounter.start_date,
        end_date=data.end_date,
        diagnoses=diagnoses,
        total_fen=total_fen,
        fund_fen=fund_fen,
        today=actor.clock.now().date(),
        procedures=procedures,
        leaving_type=data.leaving_type,
    )
    if data.end_date > actor.clock.now().date():
        raise ValidationFailed.one("end_date", "出院日期不能晚于今天", "discharge date is in the future")
    repository.count_visit(
        session,
        encounter=encounter,
        resident_region_code=resident.region_code,
        visits=0,
        total_fen=total_fen - encounter.total_fen,
        fund_fen=fund_fen - encounter.fund_fen,
    )
    encounter.end_date = data.end_date
    encounter.leaving_type = data.leaving_type
    encounter.total_fen, encounter.fund_fen = total_fen, fund_fen
    repository.replace_codes(session, encounter_id=encounter.id, diagnoses=diagnoses, procedures=procedures)
    session.flush()
    actor.record_change(
        session, action="discharge", entity="encounter", entity_id=encounter.id, resident_id=resident.id
    )
    institution = registry_repository.institution(session, encounter.institution_id)
    return _out(encounter, institution.name if institution else "", diagnoses, procedures)


def list_encounters(session: Session, *, actor: Actor, resident_id: int) -> list[EncounterOut]:
    return history(session, resident=access_resident(session, actor, resident_id))


def history(session: Session, *, resident: Resident) -> list[EncounterOut]:
    """Encounters of a resident already opened (and audited) through `access_resident`."""
    rows = repository.of_resident(session, resident.id)
    ids = [e.id for e, _ in rows]
    diagnoses = repository.diagnoses_of(session, ids)
    procedures = repository.procedures_of(session, ids)
    groups = {
        g.encounter_id: DrgOut(scheme=g.scheme, status_key=g.status_key, mdc=g.mdc, adrg=g.adrg, drg=g.drg)
        for g in repository.groupings_of(session, ids)
    }
    return [_out(e, name, diagnoses[e.id], procedures[e.id], groups.get(e.id)) for e, name in rows]


def inpatients_page(
    session: Session, *, actor: Actor, offset: int = 0, limit: int | None = 20, action: str = "list"
) -> InpatientPage:
    """The ward's list of the caller's institution: who is in a bed now, to be discharged (audited)."""
    subject = actor.subject
    if not subject.may(roles.ENCOUNTER_RECORDERS) or subject.institution_id is None:
        raise Forbidden("当前角色不能查看在院患者", "Your role cannot see inpatients")
    rows, total = repository.inpatients(
        session, institution_id=subject.institution_id, offset=offset, limit=limit
    )
    ids = [e.id for e, _, _ in rows]
    diagnoses = repository.diagnoses_of(session, ids)
    actor.record_read(
        entity="encounter", resident_ids=sorted({e.resident_id for e, _, _ in rows}), action=action
    )
    today = actor.clock.now().date()
    return InpatientPage(
        items=[
            InpatientOut(
                id=e.id,
                resident_id=e.resident_id,
                resident_name=name,
                department_name=department,
                start_date=e.start_date,
                days=(today - e.start_date).days,
                diagnoses=diagnoses[e.id],
                diagnosis_labels=[icd10.label(c) for c in diagnoses[e.id]],
            )
            for e, name, department in rows
        ],
        total=total,
        offset=offset,
        limit=limit or total,
    )


def inpatients_workbook(page: InpatientPage) -> bytes:
    """The ward's list as Excel."""
    return write_xlsx(
        ["患者", "科室", "入院日期", "住院天数", "入院诊断"],
        (
            [
                i.resident_name,
                i.department_name or "",
                str(i.start_date),
                i.days,
                "；".join(i.diagnosis_labels),
            ]
            for i in page.items
        ),
        title="在院患者",
    )
