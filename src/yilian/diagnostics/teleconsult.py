"""Teleconsultation and remote specialist clinics (远程会诊、远程专家门诊): the specialties each county
centre offers, and a consultation's way from request to the requester's rating."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.diagnostics import rules
from yilian.diagnostics.schemas import (
    TeleconsultIn,
    TeleconsultOut,
    TeleconsultPage,
    TeleconsultRow,
    TeleconsultStepIn,
)
from yilian.kit.errors import FieldError, Forbidden, NotFound, ValidationFailed
from yilian.kit.tabular import write_xlsx
from yilian.models import Institution, RemoteSpecialty, Resident, Teleconsult
from yilian.residents.service import access_resident

REQUESTERS = frozenset({roles.DOCTOR, roles.FAMILY_DOCTOR})
SPECIALTY_KEEPERS = frozenset({roles.INSTITUTION_ADMIN})


def do_set_specialties(session: Session, *, actor: Actor, specialties: list[str]) -> list[str]:
    """The institution's list of remote specialties, replaced as a whole (kept rows are reactivated)."""
    subject = actor.subject
    if not subject.may(SPECIALTY_KEEPERS) or subject.institution_id is None:
        raise Forbidden("只有机构管理员可以维护远程专科", "Only an institution administrator keeps the list")
    cleaned = [s.strip() for s in specialties if s.strip()]
    errors = [
        FieldError(f"specialties[{i}]", "专科名称不超过32个字", "at most 32 characters")
        for i, s in enumerate(cleaned)
        if len(s) > 32
    ]
    if errors:
        raise ValidationFailed.none_written(errors, "远程专科", saved=True)
    wanted = set(cleaned)
    rows = {
        r.specialty: r
        for r in session.scalars(
            select(RemoteSpecialty).where(RemoteSpecialty.institution_id == subject.institution_id)
        )
    }
    for name, row in rows.items():
        row.is_active = name in wanted
    session.add_all(
        RemoteSpecialty(institution_id=subject.institution_id, specialty=name)
        for name in sorted(wanted - rows.keys())
    )
    session.flush()
    return sorted(wanted)


def specialties_of(session: Session, institution_id: int) -> list[str]:
    return list(
        session.scalars(
            select(RemoteSpecialty.specialty)
            .where(RemoteSpecialty.institution_id == institution_id, RemoteSpecialty.is_active)
            .order_by(RemoteSpecialty.specialty)
        )
    )


def specialty_counts(session: Session, institution_ids: list[int]) -> dict[int, int]:
    """Remote specialties on offer per institution (001 §2.1: 20 or more)."""
    return {
        int(i): int(n)
        for i, n in session.execute(
            select(RemoteSpecialty.institution_id, func.count())
            .where(RemoteSpecialty.institution_id.in_(institution_ids), RemoteSpecialty.is_active)
            .group_by(RemoteSpecialty.institution_id)
        )
    }


def do_request(session: Session, *, actor: Actor, data: TeleconsultIn) -> Teleconsult:
    subject = actor.subject
    if not subject.may(REQUESTERS) or subject.institution_id is None:
        raise Forbidden("当前角色不能申请远程会诊", "Your role cannot request a teleconsultation")
    if data.specialty not in specialties_of(session, data.consultant_institution_id):
        raise ValidationFailed.one(
            "specialty",
            f"该机构未开设“{data.specialty}”远程专科",
            f"the institution does not offer '{data.specialty}' remotely",
        )
    resident = access_resident(session, actor, data.resident_id)
    consult = Teleconsult(
        resident_id=resident.id,
        kind=data.kind,
        requesting_institution_id=subject.institution_id,
        requested_by=subject.user_id,
        consultant_institution_id=data.consultant_institution_id,
        specialty=data.specialty,
        question=data.question,
        status=rules.REQUESTED,
        requested_at=actor.clock.now(),
    )
    session.add(consult)
    session.flush()
    actor.record_change(
        session, action="create", entity="teleconsult", entity_id=consult.id, resident_id=resident.id
    )
    return consult


def access_consult(session: Session, actor: Actor, consult_id: int) -> tuple[Teleconsult, str]:
    consult = session.get(Teleconsult, consult_id)
    institution = actor.subject.institution_id
    if consult is None or institution not in (
        consult.requesting_institution_id,
        consult.consultant_institution_id,
    ):
        raise NotFound("会诊申请", "Teleconsultation")
    access_resident(session, actor, consult.resident_id)
    side = "consultant" if institution == consult.consultant_institution_id else "requester"
    return consult, side


def do_step(session: Session, *, actor: Actor, consult_id: int, data: TeleconsultStepIn) -> Teleconsult:
    """Accept/decline, schedule, give the opinion (consultant); withdraw, rate (requester)."""
    consult, side = access_consult(session, actor, consult_id)
    rules.check_consult_transition(consult.status, data.status, side)
    now = actor.clock.now()
    if data.status == rules.ACCEPTED:
        consult.accepted_at = now
    elif data.status == rules.SCHEDULED:
        if data.scheduled_for is None or data.scheduled_for < now:
            raise ValidationFailed.one("scheduled_for", "请填写将来的会诊时间", "give a future time")
        consult.scheduled_for = data.scheduled_for
    elif data.status == rules.ANSWERED:
        if not (data.opinion or "").strip():
            raise ValidationFailed.one("opinion", "请填写会诊意见", "write the opinion")
        consult.opinion, consult.opinion_by, consult.opinion_at = data.opinion, actor.subject.user_id, now
    elif data.status == rules.RATED:
        consult.rating = rules.check_rating(data.rating)
        consult.rating_note = data.rating_note
    if data.status in (rules.DECLINED, rules.WITHDRAWN, rules.RATED):
        consult.closed_at = now
    consult.status = data.status
    session.flush()
    actor.record_change(
        session,
        action=data.status,
        entity="teleconsult",
        entity_id=consult.id,
        resident_id=consult.resident_id,
    )
    return consult


def inbox(
    session: Session,
    *,
    actor: Actor,
    box: str,
    status: str | None = None,
    offset: int = 0,
    limit: int | None = 20,
    action: str = "list",
) -> TeleconsultPage:
    """The institution's consultations asked of it (incoming) or asked by it (outgoing), newest first,
    one page at a time with the whole filtered count."""
    institution = actor.subject.institution_id
    if institution is None:
        raise Forbidden()
    column = (
        Teleconsult.consultant_institution_id if box == "incoming" else Teleconsult.requesting_institution_id
    )
    requester, consultant = aliased(Institution), aliased(Institution)
    statement = (
        select(Teleconsult, Resident.name, requester.name, consultant.name)
        .join(Resident, Resident.id == Teleconsult.resident_id)
        .join(requester, requester.id == Teleconsult.requesting_institution_id)
        .join(consultant, consultant.id == Teleconsult.consultant_institution_id)
        .where(column == institution)
    )
    if status:
        statement = statement.where(Teleconsult.status == status)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = list(
        session.execute(
            statement.order_by(Teleconsult.requested_at.desc(), Teleconsult.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
    actor.record_read(
        entity="teleconsult", resident_ids=sorted({c.resident_id for c, *_ in rows}), action="list"
    )
    return TeleconsultPage(
        items=[
            TeleconsultRow(
                **consult_out(c).model_dump(),
                resident_name=name,
                requesting_institution_name=asked_by,
                consultant_institution_name=asked_of,
                kind_label=rules.CONSULT_KINDS.get(c.kind, c.kind),
            )
            for c, name, asked_by, asked_of in rows
        ],
        total=total,
        offset=offset,
        limit=limit or total,
    )


CONSULT_HEADER = [
    "申请时间",
    "类型",
    "患者",
    "申请机构",
    "会诊机构",
    "专科",
    "会诊目的",
    "排期",
    "会诊意见",
    "状态",
    "评分",
]


def consults_workbook(page: TeleconsultPage) -> bytes:
    """A box of consultations as Excel, in words."""
    return write_xlsx(
        CONSULT_HEADER,
        (
            [
                f"{c.requested_at:%Y-%m-%d %H:%M}",
                c.kind_label,
                c.resident_name,
                c.requesting_institution_name,
                c.consultant_institution_name,
                c.specialty,
                c.question,
                f"{c.scheduled_for:%Y-%m-%d %H:%M}" if c.scheduled_for else "",
                c.opinion or "",
                c.status_label,
                c.rating,
            ]
            for c in page.items
        ),
        title="远程会诊",
    )


def consult_out(consult: Teleconsult) -> TeleconsultOut:
    return TeleconsultOut.model_validate(
        {
            **{c: getattr(consult, c) for c in TeleconsultOut.model_fields if c != "status_label"},
            "status_label": rules.CONSULT_LABELS[consult.status],
        }
    )
