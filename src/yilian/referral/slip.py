"""What an upward referral is made from and printed as: the county institutions a grassroots doctor
may refer to (with their departments), diagnoses searched by words, and the 双向转诊单."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from yilian.auth.context import Actor
from yilian.encounters import icd10
from yilian.kit.dates import age_on
from yilian.kit.errors import Forbidden
from yilian.kit.masking import mask_id_number, mask_phone
from yilian.models import ConsortiumMember, Department, Institution, Schedule, Staff, User
from yilian.referral.schemas import (
    DiagnosisOption,
    ReferralSlip,
    ReferralTarget,
    TargetDepartment,
)
from yilian.referral.service import REFERRERS, access_referral, referral_out
from yilian.residents.service import access_resident
from yilian.scheduling.rules import COUNTY_LEVELS


def targets(session: Session, *, actor: Actor) -> list[ReferralTarget]:
    """County institutions (二级 and above) of the caller's consortia, each with the departments that
    run a clinic schedule — the places an upward referral can book."""
    subject = actor.subject
    if not subject.may(REFERRERS) or subject.institution_id is None:
        raise Forbidden("当前角色不能发起转诊", "Your role cannot refer patients")
    mine = select(ConsortiumMember.consortium_id).where(
        ConsortiumMember.institution_id == subject.institution_id, ConsortiumMember.left_on.is_(None)
    )
    partners = select(ConsortiumMember.institution_id).where(
        ConsortiumMember.consortium_id.in_(mine), ConsortiumMember.left_on.is_(None)
    )
    institutions = list(
        session.scalars(
            select(Institution)
            .where(
                Institution.id.in_(partners),
                Institution.level.in_(COUNTY_LEVELS),
                Institution.is_active.is_(True),
                Institution.id != subject.institution_id,
            )
            .order_by(Institution.level.desc(), Institution.name)
        )
    )
    ids = [i.id for i in institutions]
    departments: dict[int, list[TargetDepartment]] = {i: [] for i in ids}
    rows = session.execute(
        select(Department.institution_id, Department.id, Department.name)
        .where(
            Department.institution_id.in_(ids),
            exists().where(
                Schedule.department_id == Department.id,
                Schedule.kind == "clinic",
                Schedule.is_active.is_(True),
            ),
        )
        .order_by(Department.name)
    )
    for institution_id, department_id, name in rows:
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
    doctor = session.execute(
        select(User.display_name, Staff.name)
        .outerjoin(Staff, Staff.id == User.staff_id)
        .where(User.id == referral.requested_by_user_id)
    ).first()
    actor.record_read(entity="referral", resident_ids=[resident.id], detail=f"slip={referral.id}")
    return ReferralSlip(
        referral=referral_out(session, referral),
        resident_sex="男" if resident.sex == "M" else "女",
        resident_age=age_on(resident.birth_date, referral.requested_at.date()),
        resident_id_number=mask_id_number(resident.id_number),
        resident_phone=mask_phone(resident.phone),
        resident_address=resident.address,
        doctor_name=(doctor[1] or doctor[0]) if doctor else "",
    )
