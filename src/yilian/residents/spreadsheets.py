"""Residents in spreadsheets: the all-or-nothing import and the masked, formula-safe export."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.kit.db import insert_rows
from yilian.kit.errors import AppError, FieldError, Forbidden, ValidationFailed
from yilian.kit.id_numbers import parse_id_number
from yilian.kit.tabular import read_rows, write_csv, write_xlsx
from yilian.models import Grid, Resident
from yilian.residents import repository
from yilian.residents.rules import normalise_phone
from yilian.residents.schemas import ImportResult
from yilian.residents.service import fallback_region, list_rows, merge_candidate_note, new_health_card_no

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
    # Matched within the importer's scope only: a number held outside it is imported as new, and no
    # row's answer tells that the other record exists or its name (decision 0021).
    existing = repository.readable_by_id_numbers(
        session, actor.subject, [str(r["id_number"]) for r in parsed]
    )
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
    fallback = fallback_region(session, actor) if any(r["region_code"] is None for r in new_rows) else None
    for record in new_rows:
        record["region_code"] = record["region_code"] or fallback
    if new_rows:
        notes = merge_candidate_note(session, [str(r["id_number"]) for r in new_rows])
        created = insert_rows(session, Resident, new_rows)
        for record, resident_id in zip(new_rows, created, strict=True):
            note = notes.get(str(record["id_number"]))
            actor.record_change(
                session,
                action="import",
                entity="resident",
                entity_id=resident_id,
                resident_id=resident_id,
                detail=f"{filename}; {note}" if note else filename,
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
            f"符合条件的居民共{total}人，超过单次导出上限{EXPORT_LIMIT}人，请缩小查询范围后分批导出",
            f"{total} residents match, more than the export limit of {EXPORT_LIMIT}; narrow the query",
        )
    addresses = {r.id: r.address or "" for r, _ in rows}
    table = [
        [
            i.name,
            "男" if i.sex == "M" else "女",
            i.age,
            i.id_number,
            i.phone,
            i.grid_name or "",
            addresses[i.id],
            "已合并" if i.status == "merged" else "正常",
        ]
        for i in list_rows(actor, rows)
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
