"""Use cases of the master patient index: register (idempotent), read, search, merge candidates.

Merging two records moves encounters too, so it is `pathways.merging`."""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.auth.context import Actor
from yilian.kit.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from yilian.kit.id_numbers import parse_id_number
from yilian.kit.masking import shown_identifiers
from yilian.models import Resident
from yilian.registry import repository as registry_repository
from yilian.residents import repository
from yilian.residents.repository import is_signed
from yilian.residents.rules import age_on, normalise_phone
from yilian.residents.schemas import (
    MergeCandidate,
    MergeCandidatePage,
    ResidentIn,
    ResidentOut,
    ResidentPage,
    ResidentRow,
)


def new_health_card_no() -> str:
    """Electronic health card number: 32 random hex characters, never derived from the ID number."""
    return secrets.token_hex(16).upper()


def to_out(resident: Resident, *, grid_name: str | None, today: date, full_identifiers: bool) -> ResidentOut:
    id_number, phone = shown_identifiers(resident.id_number, resident.phone, full=full_identifiers)
    return ResidentOut(
        id=resident.id,
        id_number=id_number,
        name=resident.name,
        sex=resident.sex,
        birth_date=resident.birth_date,
        age=age_on(resident.birth_date, today),
        phone=phone,
        address=resident.address,
        region_code=resident.region_code,
        grid_id=resident.grid_id,
        grid_name=grid_name,
        household_id=resident.household_id,
        health_card_no=resident.health_card_no,
        status=resident.status,
        merged_into_id=resident.merged_into_id,
    )


def access_resident(session: Session, actor: Actor, resident_id: int) -> Resident:
    """Load a resident the subject may see, and audit the read; otherwise not found."""
    resident = repository.readable_by_id(session, actor.subject, resident_id)
    if resident is None:
        raise NotFound("居民", "Resident")
    actor.record_read(entity="resident", resident_ids=[resident.id])
    return resident


def read_resident(session: Session, *, actor: Actor, resident_id: int) -> ResidentOut:
    return present_resident(session, actor=actor, resident=access_resident(session, actor, resident_id))


def present_resident(session: Session, *, actor: Actor, resident: Resident) -> ResidentOut:
    """The record as this viewer may see it (call only with a resident from `access_resident`)."""
    full = actor.subject.may(roles.FULL_IDENTIFIERS_ON_RECORD)
    today = actor.clock.now().date()
    out = to_out(
        resident,
        grid_name=repository.grid_name(session, resident.grid_id),
        today=today,
        full_identifiers=full,
    )
    out.signed = is_signed(session, resident.id, today)
    return out


def search_residents(
    session: Session, *, actor: Actor, query: str, offset: int = 0, limit: int = 20
) -> ResidentPage:
    """Search within the subject's scope; IDs and phones masked; each listed resident audited."""
    limit = max(1, min(limit, 100))
    total, rows = repository.search_page(session, actor.subject, query, offset=max(0, offset), limit=limit)
    items = list_rows(actor, rows)
    actor.record_read(
        entity="resident", resident_ids=[i.id for i in items], action="list", detail=f"q={query}"
    )
    return ResidentPage(total=total, offset=offset, limit=limit, items=items)


def merge_candidates(session: Session, *, actor: Actor, offset: int, limit: int) -> MergeCandidatePage:
    """Duplicate records the merger reads (same ID number), grouped; masked as lists are; audited."""
    if not actor.subject.may(roles.RECORD_MERGERS):
        raise Forbidden(
            "只有医共体或机构管理员可以合并档案",
            "Only consortium or institution administrators merge records",
        )
    total, rows = repository.duplicate_numbers_page(session, actor.subject, offset=offset, limit=limit)
    groups: dict[str, list[tuple[Resident, str | None]]] = {}
    for resident, grid in rows:
        groups.setdefault(resident.id_number, []).append((resident, grid))
    items = [MergeCandidate(residents=list_rows(actor, group)) for group in groups.values()]
    actor.record_read(
        entity="resident", resident_ids=[r.id for r, _ in rows], action="list", detail="merge candidates"
    )
    return MergeCandidatePage(total=total, offset=offset, limit=limit, items=items)


def list_rows(actor: Actor, rows: list[tuple[Resident, str | None]]) -> list[ResidentRow]:
    """Residents as lists and exports show them: numbers masked unless the role needs them in full."""
    full = actor.subject.may(roles.FULL_IDENTIFIERS_IN_LISTS)
    today = actor.clock.now().date()
    items = []
    for r, grid_name in rows:
        id_number, phone = shown_identifiers(r.id_number, r.phone, full=full)
        items.append(
            ResidentRow(
                id=r.id,
                name=r.name,
                sex=r.sex,
                age=age_on(r.birth_date, today),
                id_number=id_number,
                phone=phone,
                grid_name=grid_name,
                status=r.status,
            )
        )
    return items


def _check_grid(session: Session, actor: Actor, grid_id: int | None) -> str | None:
    """The grid must exist and, for a family doctor, be one they serve. Returns its county code."""
    if grid_id is None:
        return None
    grid = registry_repository.grid(session, grid_id)
    if grid is None:
        raise ValidationFailed.one("grid_id", f"网格{grid_id}不存在", f"grid {grid_id} does not exist")
    if actor.subject.role == roles.FAMILY_DOCTOR and grid_id not in actor.subject.grid_ids:
        raise Forbidden("只能为本人服务网格的居民建档", "You can register residents of your own grids only")
    return grid.region_code


def check_may_register(actor: Actor) -> None:
    """Who may register residents: REST, spreadsheet import and FHIR Patient alike."""
    if not actor.subject.may(roles.RESIDENT_REGISTRARS):
        raise Forbidden("当前角色不能登记居民", "Your role cannot register residents")


def do_register_resident(session: Session, *, actor: Actor, data: ResidentIn) -> tuple[Resident, bool]:
    """Register a person once in the registrar's scope: the same ID and name again returns the
    existing record (created=False). A number held only outside the scope is registered as if new:
    the answer does not tell that the other record exists, or its name (decision 0021)."""
    check_may_register(actor)
    now = actor.clock.now()
    facts = parse_id_number(data.id_number, today=now.date())
    phone = normalise_phone(data.phone)
    existing = repository.readable_by_id_number(session, actor.subject, facts.id_number)
    if existing is not None:
        if existing.name != data.name.strip():
            raise Conflict(
                "该身份证号已登记为另一姓名，请核对或走合并流程",
                "This ID number is registered under another name; check it or merge the records",
                [
                    FieldError(
                        "id_number",
                        "身份证号已登记为其他姓名",
                        "ID number already registered under another name",
                    )
                ],
            )
        survivor = existing
        if existing.merged_into_id is not None:
            survivor = session.get(Resident, existing.merged_into_id) or existing
        return survivor, False
    note = merge_candidate_note(session, [facts.id_number]).get(facts.id_number)
    region = _check_grid(session, actor, data.grid_id) or facts.region_code
    if registry_repository.division(session, region) is None:
        region = fallback_region(session, actor)
    resident = Resident(
        id_number=facts.id_number,
        name=data.name.strip(),
        sex=facts.sex,
        birth_date=facts.birth_date,
        phone=phone,
        address=data.address,
        region_code=region,
        grid_id=data.grid_id,
        health_card_no=new_health_card_no(),
        status="active",
        created_at=now,
        updated_at=now,
    )
    session.add(resident)
    session.flush()
    actor.record_change(
        session,
        action="create",
        entity="resident",
        entity_id=resident.id,
        resident_id=resident.id,
        detail=note,
    )
    return resident, True


def merge_candidate_note(session: Session, id_numbers: list[str]) -> dict[str, str]:
    """For the audit trail only (asked before the new records are written): numbers another
    record, out of the registrar's sight, already holds — merge candidates, never told to them."""
    return {
        number: "MPI: ID number also held by another record (merge candidate)"
        for number in repository.held_elsewhere(session, id_numbers)
    }


def fallback_region(session: Session, actor: Actor) -> str:
    """A person born elsewhere and registered without a grid lives in the registrar's county."""
    region = scoping.region_of(session, actor.subject)
    if region is not None:
        return region
    raise ValidationFailed.one("grid_id", "请指定居民所属网格", "grid_id is required for this resident")
