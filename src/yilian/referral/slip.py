"""What an upward referral is made from and printed as: the county institutions a grassroots doctor
may refer to (with their departments), diagnoses searched by words, and the 双向转诊单."""

from __future__ import annotations

from sqlalchemy.orm import Session

from yilian.auth.context import Actor
from yilian.encounters import icd10
from yilian.kit.errors import Forbidden
from yilian.kit.masking import mask_id_number, mask_phone
from yilian.referral import repository
from yilian.referral.schemas import (
    DiagnosisOption,
    ReferralSlip,
    ReferralTarget,
    TargetDepartment,
)
from yilian.referral.service import REFERRERS, access_referral, referral_out
from yilian.residents.rules import age_on
from yilian.residents.service import access_resident


def targets(session: Session, *, actor: Actor) -> list[ReferralTarget]:
    """County institutions (二级 and above) of the caller's consortia, each with the departments that
    run a clinic schedule — the places an upward referral can book."""
    subject = actor.subject
    if not subject.may(REFERRERS) or subject.institution_id is None:
        raise Forbidden("当前角色不能发起转诊", "Your role cannot refer patients")
    institutions = repository.county_partners(session, subject.institution_id)
    departments: dict[int, list[TargetDepartment]] = {i.id: [] for i in institutions}
    for institution_id, department_id, name in repository.clinic_departments(session, departments.keys()):
        departments[institution_id].append(TargetDepartment(id=department_id, name=name))
    return [
        ReferralTarget(id=i.id, name=i.name, level=i.level, departments=departments[i.id])
        for i in institutions
    ]


def diagnoses(q: str, limit: int = 20) -> list[DiagnosisOption]:
    """Diagnoses whose words or code contain the query (the platform's ICD-10 names)."""
    q = q.strip().upper()
    found = [
        DiagnosisOption(code=code, label=icd10.label(code))
        for code, name in icd10.NAMES.items()
        if not q or q in name or code.upper().startswith(q)
    ]
    return found[:limit]


def slip(session: Session, *, actor: Actor, referral_id: int) -> ReferralSlip:
    """The 双向转诊单 of a referral the caller's institution sent or received; the ID number masked.
    Audited as a read of the patient's record."""
    referral = access_referral(session, actor, referral_id)
    resident = access_resident(session, actor, referral.resident_id)
    doctor = repository.requester_name(session, referral.requested_by_user_id)
    actor.record_read(entity="referral", resident_ids=[resident.id], detail=f"slip={referral.id}")
    return ReferralSlip(
        referral=referral_out(session, referral),
        resident_sex="男" if resident.sex == "M" else "女",
        resident_age=age_on(resident.birth_date, referral.requested_at.date()),
        resident_id_number=mask_id_number(resident.id_number),
        resident_phone=mask_phone(resident.phone),
        resident_address=resident.address,
        doctor_name=doctor,
    )
