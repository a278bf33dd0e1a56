"""Use cases of the master patient index: register (idempotent), read, search, merge, import."""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.encounters import repository as encounters_repository
from yilian.kit.errors import AppError, Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from yilian.kit.masking import mask_id_number, mask_phone
from yilian.kit.tabular import read_rows, write_csv, write_xlsx
from yilian.models import Grid, Resident, ResidentMerge
from yilian.registry import repository as registry_repository
from yilian.residents import repository
from yilian.residents.rules import age_on, normalise_phone, parse_id_number
from yilian.residents.schemas import (
    ImportResult,
    MergeOut,
    ResidentIn,
    ResidentOut,
    ResidentPage,
    ResidentRow,
)

IMPORT_ALIASES = {
    "身份证号": "id_number",
    "身份证号码": "id_number",
    "id_number": "id_number",
    "姓名": "name",
    "name": "name",
    "电话": "phone",
    "手机号": "phone",
    "联系电话": "phone",
    "phone": "phone",
    "住址": "address",
    "地址": "address",
    "address": "address",
    "网格编码": "grid_code",
    "grid_code": "grid_code",
}
MAX_REPORTED_ERRORS = 200


def new_health_card_no() -> str:
    """Electronic health card number: 32 random hex characters, never derived from the ID number."""
    return secrets.token_hex(16).upper()


def to_out(resident: Resident, *, grid_name: str | None, today: date, full_identifiers: bool) -> ResidentOut:
    return ResidentOut(
        id=resident.id,
        id_number=resident.id_number if full_identifiers else mask_id_number(resident.id_number),
        name=resident.name,
        sex=resident.sex,
        birth_date=resident.birth_date,
        age=age_on(resident.birth_date, today),
        phone=(resident.phone or "") if full_identifiers else mask_phone(resident.phone),
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
    from yilian.family_doctor.repository import is_signed

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
    full = actor.subject.may(roles.FULL_IDENTIFIERS_IN_LISTS)
    today = actor.clock.now().date()
    items = [
        ResidentRow(
            id=r.id,
            name=r.name,
            sex=r.sex,
            age=age_on(r.birth_date, today),
            id_number=r.id_number if full else mask_id_number(r.id_number),
            phone=(r.phone or "") if full else mask_phone(r.phone),
            grid_name=grid_name,
            status=r.status,
        )
        for r, grid_name in rows
    ]
    actor.record_read(
        entity="resident", resident_ids=[i.id for i in items], action="list", detail=f"q={query}"
    )
    return ResidentPage(total=total, offset=offset, limit=limit, items=items)


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


def do_register_resident(session: Session, *, actor: Actor, data: ResidentIn) -> tuple[Resident, bool]:
    """Register a person once: the same ID and name again returns the existing record (created=False)."""
    if not actor.subject.may(roles.RESIDENT_REGISTRARS):
        raise Forbidden("当前角色不能登记居民", "Your role cannot register residents")
    now = actor.clock.now()
    facts = parse_id_number(data.id_number, today=now.date())
    phone = normalise_phone(data.phone)
    existing = repository.by_id_number(session, facts.id_number)
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
    region = _check_grid(session, actor, data.grid_id) or facts.region_code
    if registry_repository.division(session, region) is None:
        region = _fallback_region(session, actor)
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
        session, action="create", entity="resident", entity_id=resident.id, resident_id=resident.id
    )
    return resident, True


def _fallback_region(session: Session, actor: Actor) -> str:
    """A person born elsewhere and registered without a grid lives in the registrar's county."""
    subject = actor.subject
    if subject.institution_id:
        institution = registry_repository.institution(session, subject.institution_id)
        if institution is not None:
            return institution.region_code
    if subject.region_code:
        return subject.region_code
    raise ValidationFailed.one("grid_id", "请指定居民所属网格", "grid_id is required for this resident")


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


def do_import_residents(session: Session, *, actor: Actor, filename: str, data: bytes) -> ImportResult:
    """All or nothing: every row is checked first; one bad row means no row is written."""
    if not actor.subject.may(roles.RESIDENT_REGISTRARS):
        raise Forbidden("当前角色不能导入居民", "Your role cannot import residents")
    rows = read_rows(filename, data, IMPORT_ALIASES)
    if not rows:
        raise ValidationFailed.one("file", "文件没有数据行", "file has no data rows")
    missing = [c for c in ("id_number", "name") if c not in rows[0]]
    if missing:
        raise ValidationFailed(
            [FieldError(c, "缺少必需列", "required column is missing") for c in missing],
            "导入文件缺少必需列",
            "Import file lacks required columns",
        )
    now = actor.clock.now()
    today = now.date()
    grids = repository.grids_by_code(session, sorted({r.get("grid_code", "") for r in rows} - {""}))
    errors: list[FieldError] = []
    parsed: list[dict[str, object]] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        try:
            record = _parse_import_row(row, grids, actor, today, now)
        except AppError as error:
            errors.extend(FieldError(e.field, e.message_zh, e.message_en, row=line) for e in error.errors)
            continue
        id_number = str(record["id_number"])
        if id_number in seen:
            errors.append(
                FieldError(
                    "id_number", f"与第{seen[id_number]}行重复", f"duplicates row {seen[id_number]}", row=line
                )
            )
            continue
        seen[id_number] = line
        parsed.append(record)
    existing = repository.existing_by_id_numbers(session, [str(r["id_number"]) for r in parsed])
    for record in parsed:
        known_name = existing.get(str(record["id_number"]))
        if known_name is not None and known_name != record["name"]:
            errors.append(
                FieldError(
                    "id_number",
                    "身份证号已登记为其他姓名",
                    "ID number registered under another name",
                    row=seen[str(record["id_number"])],
                )
            )
    if errors:
        raise ValidationFailed(
            errors[:MAX_REPORTED_ERRORS],
            f"导入失败：{len(errors)}处错误，未写入任何数据",
            f"Import failed with {len(errors)} errors; nothing was written",
        )
    new_rows = [r for r in parsed if str(r["id_number"]) not in existing]
    fallback = _fallback_region(session, actor) if any(r["region_code"] is None for r in new_rows) else None
    for record in new_rows:
        record["region_code"] = record["region_code"] or fallback
    if new_rows:
        session.execute(insert(Resident), new_rows)
        created = repository.existing_ids(session, [str(r["id_number"]) for r in new_rows])
        for resident_id in created:
            actor.record_change(
                session,
                action="import",
                entity="resident",
                entity_id=resident_id,
                resident_id=resident_id,
                detail=filename,
            )
    return ImportResult(created=len(new_rows), already_registered=len(parsed) - len(new_rows))


def _parse_import_row(
    row: dict[str, str], grids: dict[str, Grid], actor: Actor, today: date, now: datetime
) -> dict[str, object]:
    errors: list[FieldError] = []
    facts = None
    try:
        facts = parse_id_number(row.get("id_number", ""), today=today)
    except AppError as error:
        errors.extend(error.errors)
    name = row.get("name", "").strip()
    if not name or len(name) > 32:
        errors.append(
            FieldError("name", "姓名不能为空且不超过32字", "name is required, at most 32 characters")
        )
    phone = None
    try:
        phone = normalise_phone(row.get("phone"))
    except AppError as error:
        errors.extend(error.errors)
    grid_code = row.get("grid_code", "")
    grid = grids.get(grid_code) if grid_code else None
    if grid_code and grid is None:
        errors.append(
            FieldError("grid_code", f"网格编码{grid_code}不存在", f"grid code {grid_code} does not exist")
        )
    if (
        grid is not None
        and actor.subject.role == roles.FAMILY_DOCTOR
        and grid.id not in actor.subject.grid_ids
    ):
        errors.append(FieldError("grid_code", "不是本人服务的网格", "not one of your grids"))
    if errors or facts is None:
        raise ValidationFailed(errors)
    return {
        "id_number": facts.id_number,
        "name": name,
        "sex": facts.sex,
        "birth_date": facts.birth_date,
        "phone": phone,
        "address": row.get("address") or None,
        "region_code": grid.region_code if grid is not None else None,
        "grid_id": grid.id if grid is not None else None,
        "health_card_no": new_health_card_no(),
        "status": "active",
        "created_at": now,
        "updated_at": now,
    }


EXPORT_LIMIT = 10_000
EXPORT_HEADER = ["姓名", "性别", "年龄", "身份证号", "电话", "网格", "住址", "状态"]


def export_residents(session: Session, *, actor: Actor, query: str, file_format: str) -> bytes:
    """Residents matching the query, masked unless the role needs full numbers; every row audited."""
    total, rows = repository.search_page(session, actor.subject, query, offset=0, limit=EXPORT_LIMIT)
    if total > EXPORT_LIMIT:
        raise ValidationFailed.one(
            "q",
            f"导出结果超过{EXPORT_LIMIT}条，请缩小查询范围",
            f"more than {EXPORT_LIMIT} rows; narrow the query",
        )
    full = actor.subject.may(roles.FULL_IDENTIFIERS_IN_LISTS)
    today = actor.clock.now().date()
    table = [
        [
            r.name,
            "男" if r.sex == "M" else "女",
            age_on(r.birth_date, today),
            r.id_number if full else mask_id_number(r.id_number),
            (r.phone or "") if full else mask_phone(r.phone),
            grid_name or "",
            r.address or "",
            "已合并" if r.status == "merged" else "正常",
        ]
        for r, grid_name in rows
    ]
    actor.record_read(
        entity="resident",
        resident_ids=[r.id for r, _ in rows],
        action="export",
        detail=f"q={query} format={file_format}",
    )
    return (
        write_csv(EXPORT_HEADER, table) if file_format == "csv" else write_xlsx(EXPORT_HEADER, table, "居民")
    )
