"""Record encounters and read a resident's history (audited)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.encounters import repository, rules
from yilian.encounters.schemas import EncounterIn, EncounterOut
from yilian.kit.errors import Forbidden, ValidationFailed
from yilian.models import Encounter, EncounterDiagnosis, Resident
from yilian.registry import repository as registry_repository
from yilian.residents.service import access_resident


def _out(encounter: Encounter, institution_name: str, diagnoses: list[str]) -> EncounterOut:
    return EncounterOut(
        id=encounter.id,
        resident_id=encounter.resident_id,
        institution_id=encounter.institution_id,
        institution_name=institution_name,
        kind=encounter.kind,
        start_date=encounter.start_date,
        end_date=encounter.end_date,
        diagnoses=diagnoses,
        total_cost=rules.fen_to_yuan(encounter.total_fen),
        fund_paid=rules.fen_to_yuan(encounter.fund_fen),
        out_of_county=encounter.out_of_county,
    )


def do_record_encounter(session: Session, *, actor: Actor, data: EncounterIn) -> EncounterOut:
    """Record a visit or a stay at the recorder's own institution."""
    subject = actor.subject
    if not subject.may(roles.ENCOUNTER_RECORDERS):
        raise Forbidden("当前角色不能登记就诊", "Your role cannot record encounters")
    institution = registry_repository.institution(session, data.institution_id)
    if institution is None:
        raise ValidationFailed.one(
            "institution_id",
            f"机构{data.institution_id}不存在",
            f"institution {data.institution_id} does not exist",
        )
    if subject.institution_id != data.institution_id:
        raise Forbidden("只能登记本机构的就诊", "You can record encounters of your own institution only")
    total_fen, fund_fen = rules.yuan_to_fen(data.total_cost), rules.yuan_to_fen(data.fund_paid)
    rules.check_encounter(
        kind=data.kind,
        start_date=data.start_date,
        end_date=data.end_date,
        diagnoses=data.diagnoses,
        total_fen=total_fen,
        fund_fen=fund_fen,
        today=actor.clock.now().date(),
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
    session.flush()
    repository.count_visit(session, encounter=encounter, resident_region_code=resident.region_code)
    actor.record_change(
        session, action="create", entity="encounter", entity_id=encounter.id, resident_id=resident.id
    )
    return _out(encounter, institution.name, data.diagnoses)


def list_encounters(session: Session, *, actor: Actor, resident_id: int) -> list[EncounterOut]:
    return history(session, resident=access_resident(session, actor, resident_id))


def history(session: Session, *, resident: Resident) -> list[EncounterOut]:
    """Encounters of a resident already opened (and audited) through `access_resident`."""
    rows = repository.of_resident(session, resident.id)
    diagnoses = repository.diagnoses_of(session, [e.id for e, _ in rows])
    return [_out(e, name, diagnoses[e.id]) for e, name in rows]
