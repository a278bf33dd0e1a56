"""A stay ends and is grouped into its DRG in the same transaction: encounters records the discharge
(or a stay recorded already ended), insurance groups it and the answer carries the group.

A composition of two domains: insurance reads encounters (its DRG repository reads the front page),
so the step that calls both sits above them (decision 0030). The batch `yilian drg discharges` groups
what was recorded while no scheme was configured.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from yilian.auth.context import Actor
from yilian.encounters import service as encounters
from yilian.encounters.schemas import DischargeIn, DrgOut, EncounterIn, EncounterOut
from yilian.insurance.drg.rules import GroupResult
from yilian.insurance.service import configured_grouper, group_encounter


def do_record_encounter(session: Session, *, actor: Actor, data: EncounterIn) -> EncounterOut:
    """Record a visit or a stay at the recorder's own institution; a stay already ended is grouped."""
    out = encounters.do_record_encounter(session, actor=actor, data=data)
    out.drg = _group_if_discharged(session, out, actor)
    return out


def do_discharge(session: Session, *, actor: Actor, encounter_id: int, data: DischargeIn) -> EncounterOut:
    """Close a stay with its front page; the stay is grouped into a DRG at once."""
    out = encounters.do_discharge(session, actor=actor, encounter_id=encounter_id, data=data)
    out.drg = _group_if_discharged(session, out, actor)
    return out


def _drg_out(result: GroupResult | None, scheme: str | None) -> DrgOut | None:
    if result is None or scheme is None:
        return None
    return DrgOut(
        scheme=scheme, status_key=result.status_key, mdc=result.mdc, adrg=result.adrg, drg=result.drg
    )


def _group_if_discharged(session: Session, encounter: EncounterOut, actor: Actor) -> DrgOut | None:
    """Inpatient stays are grouped when they end; without a configured scheme they wait for the batch."""
    if encounter.kind != "inpatient" or encounter.end_date is None:
        return None
    result = group_encounter(session, encounter_id=encounter.id, now=actor.clock.now())
    grouper = configured_grouper()
    return _drg_out(result, grouper.scheme.name if grouper else None)
