"""Claims import: the bureau's settlement rows (CSV/Excel), all rows or none.

Columns (Chinese or English header): 结算单号 claim_no, 身份证号 id_number, 参保地 insured_region
(optional, default the resident's county), 机构编码 institution_code (blank for a provider off the
platform), 机构名称 provider_name, 就诊类型 kind (门诊/住院), 结算日期 settled_on (YYYY-MM-DD),
总费用 total_yuan, 统筹支付 fund_yuan, 县外 out_of_county (是/否), 就诊编号 encounter_id (optional).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.auth.scoping import resident_visibility
from yilian.insurance import repository
from yilian.kit.errors import FieldError, Forbidden, ValidationFailed
from yilian.kit.money import parse_yuan
from yilian.kit.tabular import read_rows
from yilian.models import Claim, Encounter, Institution, Resident

COLUMNS = {
    "claim_no": ("结算单号", "claim_no"),
    "id_number": ("身份证号", "id_number"),
    "insured_region": ("参保地", "insured_region"),
    "institution_code": ("机构编码", "institution_code"),
    "provider_name": ("机构名称", "provider_name"),
    "kind": ("就诊类型", "kind"),
    "settled_on": ("结算日期", "settled_on"),
    "total_yuan": ("总费用", "total_yuan"),
    "fund_yuan": ("统筹支付", "fund_yuan"),
    "out_of_county": ("县外", "out_of_county"),
    "encounter_id": ("就诊编号", "encounter_id"),
}
ALIASES = {alias: key for key, names in COLUMNS.items() for alias in names}
KINDS = {"门诊": "outpatient", "住院": "inpatient", "outpatient": "outpatient", "inpatient": "inpatient"}
YES = {"是", "Y", "y", "yes", "true", "1"}


@dataclass(frozen=True)
class ImportResult:
    imported: int
    fund_fen: int


def _fen(row: dict[str, str], field: str, index: int, errors: list[FieldError]) -> int | None:
    try:
        return parse_yuan(row.get(field, ""), field, row=index)
    except ValidationFailed as refused:
        errors.extend(refused.errors)
        return None


def do_import_claims(session: Session, *, actor: Actor, filename: str, data: bytes) -> ImportResult:
    """Check every row first (errors name row and field); write nothing unless all rows are good."""
    if actor.subject.role != roles.INSURANCE:
        raise Forbidden("只有医保经办可以导入结算数据", "Only insurance officers import claims")
    rows = read_rows(filename, data, ALIASES)
    errors: list[FieldError] = []

    def fail(row: int, field: str, zh: str, en: str) -> None:
        errors.append(FieldError(field, zh, en, row=row))

    numbers = [r.get("claim_no", "") for r in rows]
    existing = repository.existing_claim_numbers(session, [n for n in numbers if n])
    residents = dict(
        session.execute(
            # Residents the officer's scope holds (a number is no proof of another county's record,
            # decision 0021); of two records of one number, the oldest (listed last) until merged.
            select(Resident.id_number, Resident.id)
            .where(
                resident_visibility(actor.subject),
                Resident.id_number.in_({r.get("id_number", "") for r in rows}),
            )
            .order_by(Resident.id.desc())
        ).all()
    )
    regions = dict(
        session.execute(
            select(Resident.id, Resident.region_code).where(Resident.id.in_(residents.values()))
        ).all()
    )
    institutions = dict(
        session.execute(
            select(Institution.code, Institution.id).where(
                Institution.code.in_({r.get("institution_code", "") for r in rows})
            )
        ).all()
    )
    encounter_ids = [int(r["encounter_id"]) for r in rows if r.get("encounter_id", "").isdigit()]
    encounters = dict(
        session.execute(
            select(Encounter.id, Encounter.resident_id).where(Encounter.id.in_(encounter_ids))
        ).all()
    )
    claimed = repository.claimed_encounters(session, encounter_ids)
    seen_numbers: set[str] = set()
    seen_encounters: set[int] = set()
    values: list[dict[str, Any]] = []
    fund_total = 0
    for index, row in enumerate(rows, start=2):  # row 1 is the header
        number = row.get("claim_no", "")
        if not number:
            fail(index, "claim_no", "缺少结算单号", "claim number missing")
        elif number in existing or number in seen_numbers:
            fail(index, "claim_no", f"结算单号重复：{number}", f"duplicate claim number: {number}")
        seen_numbers.add(number)
        resident_id = residents.get(row.get("id_number", ""))
        if resident_id is None:
            fail(index, "id_number", "身份证号不在居民主索引中", "ID number not in the master patient index")
        code = row.get("institution_code", "")
        institution_id = institutions.get(code) if code else None
        if code and institution_id is None:
            fail(index, "institution_code", f"机构编码不存在：{code}", f"no institution with code {code}")
        kind = KINDS.get(row.get("kind", ""))
        if kind is None:
            fail(index, "kind", "就诊类型应为门诊或住院", "kind must be 门诊 or 住院")
        try:
            settled = date.fromisoformat(row.get("settled_on", ""))
        except ValueError:
            fail(index, "settled_on", "结算日期格式应为YYYY-MM-DD", "settlement date must be YYYY-MM-DD")
            settled = None
        total, fund = _fen(row, "total_yuan", index, errors), _fen(row, "fund_yuan", index, errors)
        if total is not None and fund is not None and fund > total:
            fail(index, "fund_yuan", "统筹支付不能超过总费用", "the fund payment cannot exceed the total")
        encounter_id = int(row["encounter_id"]) if row.get("encounter_id", "").isdigit() else None
        if row.get("encounter_id") and encounter_id is None:
            fail(index, "encounter_id", "就诊编号应为数字", "encounter id must be a number")
        if encounter_id is not None:
            if encounter_id not in encounters or encounters[encounter_id] != resident_id:
                fail(
                    index,
                    "encounter_id",
                    "就诊编号不存在或不属于此居民",
                    "no such encounter for this resident",
                )
            elif encounter_id in claimed or encounter_id in seen_encounters:
                fail(
                    index,
                    "encounter_id",
                    "此次就诊已有结算单（重复计算）",
                    "this encounter is already claimed (double count)",
                )
            seen_encounters.add(encounter_id)
        if resident_id is None or kind is None or settled is None or total is None or fund is None:
            continue
        fund_total += fund
        values.append(
            {
                "claim_no": number,
                "encounter_id": encounter_id,
                "resident_id": resident_id,
                "insured_region_code": row.get("insured_region") or regions[resident_id][:6],
                "institution_id": institution_id,
                "provider_name": row.get("provider_name") or None,
                "kind": kind,
                "settled_on": settled,
                "total_fen": total,
                "fund_fen": fund,
                "out_of_county": row.get("out_of_county", "") in YES,
            }
        )
    if errors:
        raise ValidationFailed(
            errors,
            f"结算数据有{len(errors)}处错误，未导入任何一行",
            f"{len(errors)} errors; nothing was imported",
        )
    session.execute(insert(Claim), values)
    repository.refresh_claim_summary(
        session,
        region_codes=sorted({v["insured_region_code"] for v in values}),
        first=min(v["settled_on"] for v in values),
        last=max(v["settled_on"] for v in values),
    )
    session.flush()
    # Claims are personal health data: each insured person's record of the write, not just the file's.
    for resident_id, count in Counter(v["resident_id"] for v in values).items():
        actor.record_change(
            session,
            action="import",
            entity="claim",
            entity_id=filename,
            resident_id=resident_id,
            detail=f"{count} claims",
        )
    return ImportResult(imported=len(values), fund_fen=fund_total)
