"""Mutual recognition of results (结果互认): the consortium's catalogue, labs' quality control, the
recognised result shown before a repeat, and what recognition saved."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.auth.context import Actor
from yilian.diagnostics import rules
from yilian.diagnostics.schemas import QcIn, QcPage, QcRow, RecognisedResult, RecognitionItemOut
from yilian.kit.errors import FieldError, Forbidden, NotFound, ValidationFailed
from yilian.kit.money import parse_yuan
from yilian.kit.tabular import read_rows
from yilian.models import (
    DiagnosticCentre,
    ExamOrder,
    ExamReport,
    Institution,
    QcRecord,
    RecognitionEvent,
    RecognitionItem,
)

CATALOGUE_ALIASES = {
    "项目编码": "code",
    "编码": "code",
    "code": "code",
    "项目名称": "name",
    "名称": "name",
    "name": "name",
    "类别": "kind",
    "kind": "kind",
    "检查类型": "modality",
    "modality": "modality",
    "有效期(天)": "validity_days",
    "有效期（天）": "validity_days",
    "有效期": "validity_days",
    "validity_days": "validity_days",
    "需质控合格": "requires_qc",
    "requires_qc": "requires_qc",
    "价格(元)": "price",
    "价格（元）": "price",
    "价格": "price",
    "price": "price",
    "生效日期": "effective_from",
    "effective_from": "effective_from",
    "失效日期": "effective_until",
    "effective_until": "effective_until",
}
KIND_NAMES = {**{v: k for k, v in rules.CENTRE_KINDS.items()}, **{k: k for k in rules.CENTRE_KINDS}}
YES_NO = {
    "是": True,
    "否": False,
    "yes": True,
    "no": False,
    "true": True,
    "false": False,
    "1": True,
    "0": False,
}
CATALOGUE_MANAGERS = frozenset({roles.CONSORTIUM_ADMIN})
QC_RECORDERS = frozenset({roles.INSTITUTION_ADMIN, roles.DOCTOR})


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _fen(value: str) -> int | None:
    """The price in fen (`kit.money`: exact, at most two decimals); None when it is not an amount ≥ 0."""
    try:
        return parse_yuan(value, "price")
    except ValidationFailed:
        return None


def do_import_catalogue(session: Session, *, actor: Actor, filename: str, data: bytes) -> int:
    """项目编码, 项目名称, 类别, 检查类型, 有效期(天), 需质控合格, 价格(元), 生效日期, 失效日期:
    the consortium's catalogue, added or updated; every row or none."""
    subject = actor.subject
    if not subject.may(CATALOGUE_MANAGERS) or subject.consortium_id is None:
        raise Forbidden(
            "只有医共体管理员可以维护互认目录", "Only a consortium administrator keeps the catalogue"
        )
    parsed: list[RecognitionItem] = []
    errors: list[FieldError] = []
    for row_number, row in enumerate(read_rows(filename, data, CATALOGUE_ALIASES), start=2):

        def bad(column: str, zh: str, en: str, row_number: int = row_number) -> None:
            errors.append(FieldError(column, zh, en, row_number))

        code, name = row.get("code", ""), row.get("name", "")
        if not code or not name:
            bad("项目编码", "缺少项目编码或名称", "code or name is missing")
        kind = KIND_NAMES.get(row.get("kind", ""))
        if kind is None:
            bad("类别", f"类别应为{'、'.join(rules.CENTRE_KINDS.values())}之一", "unknown kind")
        modality = row.get("modality", "").upper()
        if modality not in rules.MODALITIES:
            bad("检查类型", f"检查类型应为{'、'.join(rules.MODALITIES)}之一", "unknown modality")
        validity = row.get("validity_days", "")
        if not validity.isdigit() or not 1 <= int(validity) <= 3650:
            bad("有效期(天)", "有效期应为1–3650天", "validity must be 1 to 3650 days")
        requires_qc = YES_NO.get(row.get("requires_qc", "是").lower() or "是")
        if requires_qc is None:
            bad("需质控合格", "应填“是”或“否”", "must be 是 or 否")
        price = _fen(row.get("price", ""))
        if price is None:
            bad("价格(元)", "价格应为不小于0、最多两位小数的金额", "price must be an amount ≥ 0 with at most two decimals")
        start = _date(row.get("effective_from", ""))
        if start is None:
            bad("生效日期", "生效日期应为YYYY-MM-DD", "effective_from must be YYYY-MM-DD")
        until = _date(row["effective_until"]) if row.get("effective_until") else None
        if row.get("effective_until") and until is None:
            bad("失效日期", "失效日期应为YYYY-MM-DD", "effective_until must be YYYY-MM-DD")
        if start and until and until < start:
            bad("失效日期", "失效日期早于生效日期", "effective_until is before effective_from")
        if errors:
            continue
        assert kind and price is not None and start and requires_qc is not None
        parsed.append(
            RecognitionItem(
                consortium_id=subject.consortium_id,
                code=code,
                name=name,
                kind=kind,
                modality=modality,
                validity_days=int(validity),
                requires_qc=requires_qc,
                price_fen=price,
                effective_from=start,
                effective_until=until,
            )
        )
    codes = [item.code for item in parsed]
    duplicates = {c for c in codes if codes.count(c) > 1}
    errors += [FieldError("项目编码", f"编码{c}重复", f"code {c} appears twice") for c in sorted(duplicates)]
    if errors:
        raise ValidationFailed.none_written(errors, "互认目录")
    known = {
        item.code: item
        for item in session.scalars(
            select(RecognitionItem).where(RecognitionItem.consortium_id == subject.consortium_id)
        )
    }
    for item in parsed:
        existing = known.get(item.code)
        if existing is None:
            session.add(item)
            continue
        for column in ("name", "kind", "modality", "validity_days", "requires_qc", "price_fen"):
            setattr(existing, column, getattr(item, column))
        existing.effective_from, existing.effective_until = item.effective_from, item.effective_until
    session.flush()
    actor.record_change(
        session, action="import", entity="recognition_item", entity_id=len(parsed), resident_id=None
    )
    return len(parsed)


def catalogue(session: Session, consortium_id: int) -> list[RecognitionItemOut]:
    items = session.scalars(
        select(RecognitionItem)
        .where(RecognitionItem.consortium_id == consortium_id)
        .order_by(RecognitionItem.code)
    )
    return [RecognitionItemOut.model_validate(item, from_attributes=True) for item in items]


def catalogue_item(session: Session, consortium_id: int, code: str) -> RecognitionItem | None:
    return session.scalar(
        select(RecognitionItem).where(
            RecognitionItem.consortium_id == consortium_id, RecognitionItem.code == code
        )
    )


def as_rule(item: RecognitionItem) -> rules.RecognitionRule:
    return rules.RecognitionRule(
        code=item.code,
        validity_days=item.validity_days,
        requires_qc=item.requires_qc,
        effective_from=item.effective_from,
        effective_until=item.effective_until,
    )


def qc_of(session: Session, institution_id: int) -> list[rules.QcResult]:
    return [
        rules.QcResult(r.item_code, r.kind, r.checked_on, r.valid_until, r.passed)
        for r in session.scalars(select(QcRecord).where(QcRecord.institution_id == institution_id))
    ]


def do_record_qc(session: Session, *, actor: Actor, data: QcIn) -> QcRecord:
    """A lab's own result of 室内质控 or 室间质评, recorded by its staff."""
    subject = actor.subject
    if not subject.may(QC_RECORDERS) or subject.institution_id is None:
        raise Forbidden(
            "只有本机构人员可以登记质控结果", "Only the lab's own staff record its quality control"
        )
    if data.valid_until < data.checked_on:
        raise ValidationFailed.one("valid_until", "有效期止早于质控日期", "valid_until is before checked_on")
    record = QcRecord(
        institution_id=subject.institution_id,
        item_code=data.item_code or None,
        kind=data.kind,
        checked_on=data.checked_on,
        valid_until=data.valid_until,
        passed=data.passed,
        score=data.score,
        note=data.note,
        recorded_by=subject.user_id,
        recorded_at=actor.clock.now(),
    )
    session.add(record)
    session.flush()
    return record


def recognised_result(
    session: Session, *, consortium_id: int, resident_id: int, item_code: str, today: date
) -> tuple[RecognisedResult | None, rules.Recognition | None]:
    """The resident's latest reported result of the item and whether it stands in for a new exam."""
    item = catalogue_item(session, consortium_id, item_code)
    if item is None:
        return None, None
    latest = session.execute(
        select(ExamOrder, ExamReport)
        .join(ExamReport, ExamReport.order_id == ExamOrder.id)
        .join(DiagnosticCentre, DiagnosticCentre.id == ExamOrder.centre_id)
        .where(
            ExamOrder.resident_id == resident_id,
            ExamOrder.item_code == item_code,
            ExamOrder.status == rules.REPORTED,
            DiagnosticCentre.consortium_id == consortium_id,
        )
        .order_by(ExamReport.reported_at.desc())
        .limit(1)
    ).first()
    if latest is None:
        return None, None
    order, report = latest
    result_on = report.reported_at.date()
    verdict = rules.recognition_of(
        as_rule(item), result_on=result_on, today=today, qc=qc_of(session, report.reader_institution_id)
    )
    shown = RecognisedResult(
        prior_order_id=order.id,
        item_code=item.code,
        item_name=item.name,
        reported_at=report.reported_at,
        reader_institution_id=report.reader_institution_id,
        impression=report.impression,
        valid_until=result_on + timedelta(days=item.validity_days),
        price_fen=item.price_fen,
    )
    return shown, verdict


def do_reuse(
    session: Session, *, actor: Actor, consortium_id: int, resident_id: int, item_code: str
) -> RecognitionEvent:
    """The doctor takes the recognised result instead of ordering again: a repeat avoided, its price saved."""
    shown, verdict = recognised_result(
        session,
        consortium_id=consortium_id,
        resident_id=resident_id,
        item_code=item_code,
        today=actor.clock.now().date(),
    )
    if shown is None or verdict is not rules.Recognition.RECOGNISED:
        raise NotFound("可互认的有效结果", "A recognised, valid result")
    event = RecognitionEvent(
        resident_id=resident_id,
        item_code=item_code,
        prior_order_id=shown.prior_order_id,
        order_id=None,
        outcome="reused",
        reason=None,
        price_fen=shown.price_fen,
        institution_id=actor.subject.institution_id,
        user_id=actor.subject.user_id,
        at=actor.clock.now(),
    )
    session.add(event)
    session.flush()
    actor.record_change(
        session, action="reuse", entity="exam_order", entity_id=shown.prior_order_id, resident_id=resident_id
    )
    return event


def record_repeat(
    session: Session, *, actor: Actor, shown: RecognisedResult, order: ExamOrder, reason: str
) -> None:
    session.add(
        RecognitionEvent(
            resident_id=order.resident_id,
            item_code=order.item_code,
            prior_order_id=shown.prior_order_id,
            order_id=order.id,
            outcome="repeated",
            reason=reason,
            price_fen=shown.price_fen,
            institution_id=order.ordering_institution_id,
            user_id=actor.subject.user_id,
            at=actor.clock.now(),
        )
    )


def savings(
    session: Session, *, institution_ids: list[int] | None, start: datetime, end: datetime
) -> dict[str, int]:
    """Repeats avoided and money saved, and repeats made anyway (with a reason), in [start, end)."""
    query = (
        select(RecognitionEvent.outcome, func.count(), func.coalesce(func.sum(RecognitionEvent.price_fen), 0))
        .where(RecognitionEvent.at >= start, RecognitionEvent.at < end)
        .group_by(RecognitionEvent.outcome)
    )
    if institution_ids is not None:
        query = query.where(RecognitionEvent.institution_id.in_(institution_ids))
    counts = {outcome: (int(n), int(fen)) for outcome, n, fen in session.execute(query)}
    return {
        "repeats_avoided": counts.get("reused", (0, 0))[0],
        "saved_fen": counts.get("reused", (0, 0))[1],
        "repeated_with_reason": counts.get("repeated", (0, 0))[0],
    }


def qc_page(
    session: Session, *, actor: Actor, offset: int, limit: int, kind: str = "", passed: bool | None = None
) -> QcPage:
    """QC records of the labs the actor runs, newest first; items by their catalogue name."""
    subject = actor.subject
    consortium_id = scoping.home_consortium(session, subject)
    statement = (
        select(QcRecord, Institution.name, RecognitionItem.name)
        .join(Institution, Institution.id == QcRecord.institution_id)
        .outerjoin(
            RecognitionItem,
            (RecognitionItem.code == QcRecord.item_code) & (RecognitionItem.consortium_id == consortium_id),
        )
        .where(scoping.institution_charge(subject))
    )
    if kind:
        statement = statement.where(QcRecord.kind == kind)
    if passed is not None:
        statement = statement.where(QcRecord.passed.is_(passed))
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.execute(
        statement.order_by(QcRecord.checked_on.desc(), QcRecord.id.desc()).offset(offset).limit(limit)
    )
    return QcPage(
        total=total,
        offset=offset,
        limit=limit,
        items=[
            QcRow(
                id=r.id,
                institution_name=institution,
                item_name=item or (None if r.item_code is None else r.item_code),
                kind=r.kind,
                checked_on=r.checked_on,
                valid_until=r.valid_until,
                passed=r.passed,
                score=r.score,
                note=r.note,
                recorded_at=r.recorded_at,
            )
            for r, institution, item in rows
        ],
    )
