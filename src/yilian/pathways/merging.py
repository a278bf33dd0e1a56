"""Merging two records of one person: the MPI marks the duplicate merged, and its encounters and
accounts move to the survivor — the visit summary of the encounters follows.

It writes two domains' data (the master patient index and encounters' summary), and encounters sits
above residents, so the merge lives above both, in pathways (decision 0030).
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.encounters import repository as encounters_repository
from yilian.kit.errors import Forbidden, ValidationFailed
from yilian.models import ResidentMerge
from yilian.residents import repository
from yilian.residents.schemas import MergeOut
from yilian.residents.service import access_resident


def do_merge_residents(
    session: Session, *, actor: Actor, survivor_id: int, merged_id: int, reason: str
) -> MergeOut:
    """Merge a duplicate into the survivor: encounters and accounts move, the duplicate stays as history."""
    if not actor.subject.may(roles.RECORD_MERGERS):
        raise Forbidden(
            "只有医共体或机构管理员可以合并档案",
            "Only consortium or institution administrators merge records",
        )
    if survivor_id == merged_id:
        raise ValidationFailed.one("merged_id", "不能与自身合并", "cannot merge a record into itself")
    survivor = access_resident(session, actor, survivor_id)
    merged = access_resident(session, actor, merged_id)
    for field, record in (("survivor_id", survivor), ("merged_id", merged)):
        if record.status != "active":
            raise ValidationFailed.one(field, "该档案已被合并或注销", "record is already merged or closed")
    now = actor.clock.now()
    snapshot = {
        "id_number": merged.id_number,
        "name": merged.name,
        "sex": merged.sex,
        "birth_date": merged.birth_date.isoformat(),
        "phone": merged.phone,
        "address": merged.address,
        "grid_id": merged.grid_id,
        "health_card_no": merged.health_card_no,
    }
    first, last = encounters_repository.month_span_of(session, resident_id=merged.id)
    moved = repository.move_encounters(session, from_resident_id=merged.id, to_resident_id=survivor.id)
    if first is not None and last is not None and merged.region_code != survivor.region_code:
        # The moved visits now count for the survivor's county.
        encounters_repository.refresh_visit_summary(session, start=first, end=last)
    repository.move_accounts(session, from_resident_id=merged.id, to_resident_id=survivor.id)
    merged.status = "merged"
    merged.merged_into_id = survivor.id
    merged.updated_at = now
    survivor.updated_at = now
    session.add(
        ResidentMerge(
            survivor_id=survivor.id,
            merged_id=merged.id,
            merged_at=now,
            merged_by_user_id=actor.subject.user_id,
            reason=reason,
            moved_encounters=moved,
            snapshot_json=json.dumps(snapshot, ensure_ascii=False),
        )
    )
    session.flush()
    for resident_id in (survivor.id, merged.id):
        actor.record_change(
            session,
            action="merge",
            entity="resident",
            entity_id=merged.id,
            resident_id=resident_id,
            detail=f"{merged.id}→{survivor.id}: {reason}",
        )
    return MergeOut(survivor_id=survivor.id, merged_id=merged.id, moved_encounters=moved)
