"""A referral with a booked place: the referring doctor sends a patient up and books a (reserved) slot
at the receiving institution in the same step, one transaction — both or neither.

A journey across two peers (referral, scheduling): neither imports the other, so the step that calls
both sits above them, in pathways (decision 0030). The booking is `scheduling.booking.do_book_slot`
itself — the same checks, the same reserved share, the same idempotency key — carrying the referral.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from yilian.auth.context import Actor
from yilian.kit.errors import ValidationFailed
from yilian.models import Referral
from yilian.referral import rules as referral_rules
from yilian.referral.schemas import ReferralIn
from yilian.referral.service import do_request_referral
from yilian.scheduling import repository as scheduling_repository
from yilian.scheduling.booking import do_book_slot
from yilian.scheduling.schemas import BookingIn


def do_refer_with_place(
    session: Session, *, actor: Actor, data: ReferralIn, idempotency_key: str | None = None
) -> Referral:
    """Refer a patient up or down; an upward referral may book a slot of the receiving institution."""
    referral = do_request_referral(session, actor=actor, data=data)
    if data.slot_id is None:
        return referral
    if data.direction != referral_rules.UP:
        raise ValidationFailed.one("slot_id", "只有上转可以同时预约号源", "only upward referrals book a slot")
    slot = scheduling_repository.slot(session, data.slot_id)
    if slot is None or slot.institution_id != referral.to_institution_id:
        raise ValidationFailed.one(
            "slot_id", "号源不属于接收机构", "the slot is not at the receiving institution"
        )
    do_book_slot(
        session,
        actor=actor,
        data=BookingIn(slot_id=data.slot_id, resident_id=referral.resident_id, referral_id=referral.id),
        idempotency_key=idempotency_key,
    )
    return referral
