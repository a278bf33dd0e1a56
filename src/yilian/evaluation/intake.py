"""What the health commission feeds into an evaluation: scheme versions from sheets laid out like
002 annex 1, the programme's units (pilot or candidate), and a year's scores with evidence. Every
import is all or nothing and audited; a stored scheme version never changes.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.evaluation import rules
from yilian.evaluation.annex import parse_annex
from yilian.kit.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from yilian.kit.tabular import read_rows, read_table
from yilian.models import EvaluationUnit, ScoreEntry, ScoringScheme

EVALUATORS = frozenset({roles.COMMISSION})
PILOT, CANDIDATE, DISQUALIFIED = "pilot", "candidate", "disqualified"
STATUS_NAMES = {"试点": PILOT, "候补": CANDIDATE, "pilot": PILOT, "candidate": CANDIDATE}


def require_evaluator(actor: Actor) -> None:
    if not actor.subject.may(EVALUATORS):
        raise Forbidden(
            "只有卫健委（局）可以维护评价方案和评分", "Evaluation belongs to the health commission"
        )


def do_import_scheme(
    session: Session, *, actor: Actor, filename: str, data: bytes, code: str, name: str, version: str
) -> ScoringScheme:
    """A sheet laid out like the annex becomes a new, immutable scheme version."""
    row, _ = do_import_scheme_rows(
        session, actor=actor, rows=read_table(filename, data), code=code, name=name, version=version
    )
    return row


def do_import_scheme_rows(
    session: Session, *, actor: Actor, rows: list[list[str]], code: str, name: str, version: str
) -> tuple[ScoringScheme, rules.Scheme]:
    """The rows of a sheet laid out like the annex (see `annex`), stored as a new version."""
    require_evaluator(actor)
    scheme = parse_annex(rows, code=code, name=name, version=version)
    if session.scalar(
        select(ScoringScheme.id).where(ScoringScheme.code == code, ScoringScheme.version == version)
    ):
        raise Conflict(
            f"方案{code}的{version}版已存在（已导入的版本不可修改，请使用新版本号）",
            f"scheme {code} version {version} exists (versions are immutable; use a new version)",
        )
    row = ScoringScheme(
        code=code,
        version=version,
        name=name,
        total_points=rules.points(scheme.total),
        bonus_cap=rules.points(scheme.bonus_cap),
        definition_json=json.dumps(rules.scheme_to_dict(scheme), ensure_ascii=False),
        imported_at=actor.clock.now(),
        imported_by=actor.subject.user_id or None,
    )
    session.add(row)
    session.flush()
    actor.record_change(session, action="import", entity="scoring_scheme", entity_id=row.id, resident_id=None)
    return row, scheme


def scheme_version(
    session: Session, code: str, version: str | None = None
) -> tuple[ScoringScheme, rules.Scheme]:
    """A stored version, or the newest one."""
    statement = select(ScoringScheme).where(ScoringScheme.code == code)
    if version:
        statement = statement.where(ScoringScheme.version == version)
    row = session.scalar(statement.order_by(ScoringScheme.imported_at.desc(), ScoringScheme.id.desc()))
    if row is None:
        raise NotFound("评价方案", "scoring scheme")
    return row, rules.scheme_from_dict(json.loads(row.definition_json))


UNIT_ALIASES = {
    "单位编码": "code",
    "编码": "code",
    "code": "code",
    "单位名称": "name",
    "名称": "name",
    "name": "name",
    "类别": "status",
    "状态": "status",
    "status": "status",
}


def do_register_units(
    session: Session, *, actor: Actor, programme: str, filename: str, data: bytes, year: int
) -> int:
    """单位编码, 单位名称, 类别 (试点 or 候补): new units added, known ones renamed; all or nothing."""
    require_evaluator(actor)
    rows = read_rows(filename, data, UNIT_ALIASES)
    errors = []
    for index, row in enumerate(rows, start=2):
        if not row.get("code"):
            errors.append(FieldError("单位编码", "缺少单位编码", "unit code is missing", index))
        if row.get("status", "") not in STATUS_NAMES:
            errors.append(FieldError("类别", "类别应为“试点”或“候补”", "status must be 试点 or 候补", index))
    if errors:
        raise ValidationFailed.none_written(errors, "单位名单")
    return do_register_unit_rows(
        session,
        programme=programme,
        rows=[(r["code"], r.get("name") or r["code"], STATUS_NAMES[r["status"]]) for r in rows],
        year=year,
    )


def do_register_unit_rows(
    session: Session, *, programme: str, rows: list[tuple[str, str, str]], year: int
) -> int:
    """(code, name, pilot|candidate): new units added, known ones renamed."""
    known = {
        u.code: u
        for u in session.scalars(select(EvaluationUnit).where(EvaluationUnit.programme == programme))
    }
    for code, name, status in rows:
        unit = known.get(code)
        if unit is None:
            session.add(
                EvaluationUnit(programme=programme, code=code, name=name, status=status, status_since=year)
            )
        else:
            unit.name = name
    session.flush()
    return len(rows)


SCORE_ALIASES = {
    "单位编码": "code",
    "code": "code",
    "序号": "number",
    "item": "number",
    "得分": "given",
    "score": "given",
    "指标值": "value",
    "value": "value",
    "事件": "events",
    "events": "events",
    "数量": "count",
    "count": "count",
    "佐证": "evidence",
    "佐证材料": "evidence",
    "evidence": "evidence",
}


def _decimal(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        return Decimal(text.rstrip("%"))
    except InvalidOperation:
        return None


def _events(text: str) -> dict[str, int] | None:
    """“国家主流媒体…宣传报道=2；地（州、市）级媒体…=3” → counts by event kind."""
    events: dict[str, int] = {}
    for part in [p for p in text.replace("；", ";").split(";") if p.strip()]:
        label, _, count = part.rpartition("=")
        if not label.strip() or not count.strip().isdigit():
            return None
        events[label.strip()] = int(count)
    return events


def do_import_scores(
    session: Session, *, actor: Actor, code: str, version: str | None, year: int, filename: str, data: bytes
) -> int:
    """单位编码, 序号, 得分 | 指标值 | 事件 | 数量, 佐证: replaces that year's entries of the units in the file."""
    require_evaluator(actor)
    row_scheme, scheme = scheme_version(session, code, version)
    units = {
        u.code: u for u in session.scalars(select(EvaluationUnit).where(EvaluationUnit.programme == code))
    }
    rows = read_rows(filename, data, SCORE_ALIASES)
    errors: list[FieldError] = []
    entries: list[tuple[EvaluationUnit, rules.Entry, str | None]] = []
    for index, row in enumerate(rows, start=2):
        unit = units.get(row.get("code", ""))
        number = row.get("number", "")
        if unit is None:
            errors.append(
                FieldError("单位编码", f"“{row.get('code', '')}”不是本方案的评价单位", "unknown unit", index)
            )
        if not number.isdigit() or scheme.item(int(number)) is None:
            errors.append(
                FieldError("序号", f"方案中没有序号“{number}”", f"no item '{number}' in the scheme", index)
            )
            continue
        given, value = _decimal(row.get("given", "")), _decimal(row.get("value", ""))
        events = _events(row.get("events", ""))
        count = row.get("count", "")
        if (
            (row.get("given") and given is None)
            or (row.get("value") and value is None)
            or events is None
            or (count and not count.isdigit())
        ):
            errors.append(
                FieldError(
                    "得分",
                    "得分、指标值、事件或数量格式不正确",
                    "malformed score, value, events or count",
                    index,
                )
            )
            continue
        entry = rules.Entry(
            int(number),
            given=given,
            value=value,
            events=events,
            count=int(count) if count else None,
            evidence=row.get("evidence", ""),
        )
        try:
            rules.check_entries(scheme, [entry])
        except ValidationFailed as failure:
            errors.extend(FieldError(e.field, e.message_zh, e.message_en, index) for e in failure.errors)
            continue
        if unit is not None:
            entries.append((unit, entry, json.dumps(events, ensure_ascii=False) if events else None))
    if errors:
        raise ValidationFailed.none_written(errors, "评分表", tail_zh="未导入任何一行")
    return store_entries(session, actor=actor, code=code, year=year, version=version, resolved=entries)


def store_entries(
    session: Session,
    *,
    actor: Actor,
    code: str,
    year: int,
    entries: dict[str, list[rules.Entry]] | None = None,
    version: str | None = None,
    resolved: list[tuple[EvaluationUnit, rules.Entry, str | None]] | None = None,
) -> int:
    """Replace a year's entries of these units: entries by unit code (checked here), or rows an
    import already resolved and checked."""
    require_evaluator(actor)
    row_scheme, scheme = scheme_version(session, code, version)
    if resolved is None:
        units = {
            u.code: u for u in session.scalars(select(EvaluationUnit).where(EvaluationUnit.programme == code))
        }
        given = entries or {}
        rules.check_entries(scheme, [e for unit_entries in given.values() for e in unit_entries])
        resolved = [
            (units[unit_code], e, json.dumps(dict(e.events), ensure_ascii=False) if e.events else None)
            for unit_code, unit_entries in given.items()
            for e in unit_entries
        ]
    unit_ids = sorted({u.id for u, _, _ in resolved})
    session.execute(
        delete(ScoreEntry).where(
            ScoreEntry.scheme_id == row_scheme.id, ScoreEntry.year == year, ScoreEntry.unit_id.in_(unit_ids)
        )
    )
    now = actor.clock.now()
    session.add_all(
        ScoreEntry(
            scheme_id=row_scheme.id,
            year=year,
            unit_id=unit.id,
            item_number=entry.number,
            given=entry.given,
            value=entry.value,
            events_json=events_json,
            count=entry.count,
            evidence=entry.evidence,
            entered_by=actor.subject.user_id or None,
            entered_at=now,
        )
        for unit, entry, events_json in resolved
    )
    session.flush()
    actor.record_change(
        session,
        action="import",
        entity="score_entry",
        entity_id=f"{code}/{year}",
        resident_id=None,
        detail=f"{len(resolved)} rows",
    )
    return len(resolved)
