"""The quarantine list: DICOM files that could not be filed, kept with the reason until a person
says what they were. The platform never deletes them."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.auth.context import Actor
from yilian.diagnostics.ingest import UPLOADERS
from yilian.kit.errors import Conflict, Forbidden, NotFound
from yilian.models import DicomQuarantine, Institution, User


def _quarantine_of(actor: Actor) -> Select[DicomQuarantine]:
    """Quarantined files this institution's staff sent (for a consortium administrator: its members' staff)."""
    if not actor.subject.may(UPLOADERS):
        raise Forbidden()
    senders = select(User.id).where(User.institution_id == actor.subject.institution_id)
    if actor.subject.role == roles.CONSORTIUM_ADMIN:
        # The consortium's own accounts and the staff of its current members: a township doctor's
        # unfiled upload is the consortium administrator's to resolve too.
        senders = select(User.id).where(
            or_(
                User.consortium_id == actor.subject.consortium_id,
                User.institution_id.in_(
                    select(Institution.id).where(scoping.institution_charge(actor.subject))
                ),
            )
        )
    return select(DicomQuarantine).where(DicomQuarantine.received_by.in_(senders))


def do_resolve(session: Session, *, actor: Actor, quarantine_id: int, resolution: str) -> DicomQuarantine:
    """A person decided what the file was (re-sent corrected, wrong patient, not ours …); the file stays."""
    row = session.scalar(_quarantine_of(actor).where(DicomQuarantine.id == quarantine_id))
    if row is None:
        raise NotFound("隔离文件", "Quarantined file")
    if row.resolved_at is not None:
        raise Conflict("该文件已处理", "already resolved")
    row.resolved_at, row.resolved_by, row.resolution = actor.clock.now(), actor.subject.user_id, resolution
    session.flush()
    return row


def quarantine_page(
    session: Session, *, actor: Actor, include_resolved: bool, offset: int, limit: int
) -> tuple[int, list[DicomQuarantine]]:
    """(total, one page) of the files waiting for a person (or all of them), newest first."""
    query = _quarantine_of(actor)
    if not include_resolved:
        query = query.where(DicomQuarantine.resolved_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(DicomQuarantine.received_at.desc(), DicomQuarantine.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return total, list(rows)
