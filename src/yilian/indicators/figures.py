"""Figures the platform cannot compute, entered by each institution for a year (form or Excel),
with who entered them and when; the indicators' `entered` fact reads them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.auth.context import Actor
from yilian.indicators.catalogue import DEFAULT_CATALOGUE, Figure, load_figures
from yilian.kit.errors import FieldError, Forbidden, ValidationFailed
from yilian.kit.tabular import read_rows
from yilian.models import EnteredFigure, Institution

ENTERERS = frozenset({roles.INSTITUTION_ADMIN, roles.COMMISSION})
ALIASES = {
    "机构编码": "institution",
    "institution": "institution",
    "年度": "year",
    "year": "year",
    "项目": "figure",
    "figure": "figure",
    "金额": "value",
    "金额(元)": "value",
    "数值": "value",
    "value": "value",
}


@cache
def figures() -> tuple[Figure, ...]:
    return tuple(load_figures(DEFAULT_CATALOGUE.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Entry:
    institution_code: str
    year: int
    figure: str  # code or name
    value: str
    row: int | None = None


def do_enter(session: Session, *, actor: Actor, entries: list[Entry]) -> int:
    """Check every entry, then write all of them (a correction replaces the earlier value) or none.
    An institution administrator enters its own institution's figures; the commission any in its region."""
    subject = actor.subject
    if not subject.may(ENTERERS):
        raise Forbidden(
            "只有机构管理员或卫健局可以填报",
            "Only institution administrators or the commission enter figures",
        )
    by_key = {f.code: f.code for f in figures()} | {f.name: f.code for f in figures()}
    codes = {e.institution_code for e in entries}
    # Only institutions the subject runs: any other code, in the county or not, is refused alike.
    institutions = {
        i.code: i
        for i in session.scalars(
            select(Institution).where(Institution.code.in_(codes), scoping.institution_charge(subject))
        )
    }
    errors: list[FieldError] = []
    checked: list[tuple[Institution, int, str, Decimal]] = []
    this_year = actor.clock.now().year
    for entry in entries:
        institution = institutions.get(entry.institution_code)
        if institution is None:
            errors.append(
                FieldError(
                    "机构编码",
                    f"不能为机构“{entry.institution_code}”填报",
                    "not an institution you enter figures for",
                    entry.row,
                )
            )
        code = by_key.get(entry.figure.strip())
        if code is None:
            errors.append(FieldError("项目", f"未知的填报项目“{entry.figure}”", "unknown figure", entry.row))
        try:
            value = Decimal(entry.value.replace(",", "").strip())
            if value < 0 or value != value.quantize(Decimal("0.01")):
                raise InvalidOperation
        except InvalidOperation:
            errors.append(
                FieldError(
                    "金额",
                    "金额应为不小于0、最多两位小数的数字",
                    "amount must be ≥ 0 with at most 2 decimals",
                    entry.row,
                )
            )
            continue
        if not 2000 <= entry.year <= this_year:
            errors.append(
                FieldError(
                    "年度",
                    f"年度应在2000到{this_year}之间",
                    f"year must be between 2000 and {this_year}",
                    entry.row,
                )
            )
            continue
        if institution is not None and code is not None:
            checked.append((institution, entry.year, code, value))
    if errors:
        raise ValidationFailed.none_written(errors, "填报", saved=True)
    now = actor.clock.now()
    for institution, year, code, value in checked:
        row = session.scalar(
            select(EnteredFigure).where(
                EnteredFigure.institution_id == institution.id,
                EnteredFigure.year == year,
                EnteredFigure.code == code,
            )
        )
        if row is None:
            row = EnteredFigure(
                institution_id=institution.id, year=year, code=code, value=value, entered_at=now
            )
            session.add(row)
        row.value, row.entered_by, row.entered_at = value, actor.subject.user_id, now
        actor.record_change(
            session,
            action="enter",
            entity="entered_figure",
            entity_id=f"{institution.code}/{year}/{code}",
            resident_id=None,
            detail=str(value),
        )
    session.flush()
    return len(checked)


def do_import(session: Session, *, actor: Actor, filename: str, data: bytes) -> int:
    """机构编码, 年度, 项目, 金额(元) — one row per figure."""
    rows = read_rows(filename, data, ALIASES)
    entries = [
        Entry(
            r.get("institution", ""),
            int(r["year"]) if r.get("year", "").isdigit() else 0,
            r.get("figure", ""),
            r.get("value", ""),
            n,
        )
        for n, r in enumerate(rows, start=2)
    ]
    return do_enter(session, actor=actor, entries=entries)


def entered(session: Session, *, institution_id: int, year: int) -> dict[str, EnteredFigure]:
    return {
        f.code: f
        for f in session.scalars(
            select(EnteredFigure).where(
                EnteredFigure.institution_id == institution_id, EnteredFigure.year == year
            )
        )
    }
