"""ECG recordings sent to the ECG centre as the cart's export (CSV or Excel, one row per recording):
the measurements become numbers on the order and the order waits for a reader. All rows or none."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.auth.context import Actor
from yilian.diagnostics import rules
from yilian.diagnostics.ingest import UPLOADERS, orders_visible_to
from yilian.diagnostics.service import mark_acquired
from yilian.kit.errors import FieldError, Forbidden, ValidationFailed
from yilian.kit.tabular import read_rows
from yilian.models import EcgMeasurement, ExamOrder

ECG_ALIASES = {
    "检查号": "accession_number",
    "accession_number": "accession_number",
    "心率": "heart_rate",
    "心率(次/分)": "heart_rate",
    "heart_rate": "heart_rate",
    "PR间期": "pr_ms",
    "PR(ms)": "pr_ms",
    "pr_ms": "pr_ms",
    "QRS时限": "qrs_ms",
    "QRS(ms)": "qrs_ms",
    "qrs_ms": "qrs_ms",
    "QT间期": "qt_ms",
    "QT(ms)": "qt_ms",
    "qt_ms": "qt_ms",
    "QTc": "qtc_ms",
    "QTc(ms)": "qtc_ms",
    "qtc_ms": "qtc_ms",
    "心律": "rhythm",
    "rhythm": "rhythm",
    "采集时间": "acquired_at",
    "acquired_at": "acquired_at",
}
COLUMN_NAMES = {
    "heart_rate": "心率",
    "pr_ms": "PR间期",
    "qrs_ms": "QRS时限",
    "qt_ms": "QT间期",
    "qtc_ms": "QTc",
}


def _number(value: str) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return float("nan")


def do_import_ecg(session: Session, *, actor: Actor, filename: str, data: bytes) -> int:
    """检查号, 心率, PR间期, QRS时限, QT间期, QTc (computed by Bazett if empty), 心律, 采集时间."""
    if not actor.subject.may(UPLOADERS):
        raise Forbidden("当前角色不能上传心电图", "Your role cannot upload ECGs")
    rows = read_rows(filename, data, ECG_ALIASES)
    accessions = [row.get("accession_number", "") for row in rows]
    orders = {
        o.accession_number: o
        for o in session.scalars(
            select(ExamOrder).where(ExamOrder.accession_number.in_(accessions), orders_visible_to(actor))
        )
    }
    errors: list[FieldError] = []
    accepted: list[tuple[ExamOrder, dict[str, float | None], str, datetime | None]] = []
    for number, row in enumerate(rows, start=2):
        order = orders.get(row.get("accession_number", ""))
        if order is None:
            errors.append(
                FieldError("检查号", "检查号不存在或不属于本机构", "no such order visible to you", number)
            )
            continue
        if order.modality != "ECG":
            errors.append(FieldError("检查号", "该检查单不是心电图", "the order is not an ECG", number))
            continue
        if order.status != rules.ORDERED:
            errors.append(
                FieldError(
                    "检查号",
                    f"检查单状态为“{rules.ORDER_LABELS[order.status]}”",
                    "the order is not open",
                    number,
                )
            )
            continue
        values = {name: _number(row.get(name, "")) for name in rules.ECG_RANGES}
        bad_numbers = [n for n, v in values.items() if v is not None and v != v]  # NaN: not a number
        for name in bad_numbers:
            errors.append(FieldError(COLUMN_NAMES[name], "应为数字", "must be a number", number))
            values[name] = None
        if values["qtc_ms"] is None and values["qt_ms"] and values["heart_rate"]:
            values["qtc_ms"] = rules.qtc_bazett(values["qt_ms"], values["heart_rate"])
        errors += [
            FieldError(COLUMN_NAMES.get(e.field, e.field), e.message_zh, e.message_en, number)
            for e in rules.check_ecg(values)
            if e.field not in bad_numbers
        ]
        taken = None
        if row.get("acquired_at"):
            try:
                taken = datetime.fromisoformat(row["acquired_at"])
            except ValueError:
                errors.append(
                    FieldError("采集时间", "应为YYYY-MM-DD HH:MM", "must be YYYY-MM-DD HH:MM", number)
                )
        accepted.append((order, values, row.get("rhythm", "")[:32], taken))
    seen = [order.id for order, *_ in accepted]
    errors += [
        FieldError("检查号", "同一检查号出现两次", "accession appears twice")
        for i in set(seen)
        if seen.count(i) > 1
    ]
    if errors:
        raise ValidationFailed.none_written(errors, "心电图文件")
    for order, values, rhythm, taken in accepted:
        mark_acquired(session, actor=actor, order=order, acquired_at=taken)
        session.add(
            EcgMeasurement(
                order_id=order.id,
                heart_rate=round(values["heart_rate"] or 0),
                pr_ms=None if values["pr_ms"] is None else round(values["pr_ms"]),
                qrs_ms=round(values["qrs_ms"] or 0),
                qt_ms=round(values["qt_ms"] or 0),
                qtc_ms=round(values["qtc_ms"] or 0),
                rhythm=rhythm,
                source_file=filename[:200],
            )
        )
    session.flush()
    return len(accepted)
