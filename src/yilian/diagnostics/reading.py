"""What the centre and the orderer read: the reading worklist, the orderer's results, one order with
its report, studies, ECG and critical value (each read audited)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.auth.context import Actor
from yilian.diagnostics import repository, rules
from yilian.diagnostics.schemas import (
    AlertOut,
    EcgOut,
    OrderOut,
    ReportOut,
    StudyOut,
)
from yilian.diagnostics.service import ORDERERS, READERS, WORKLIST_LIMIT, access_order
from yilian.kit.errors import Forbidden
from yilian.models import (
    DiagnosticCentre,
    ExamOrder,
    Resident,
)


def reader_centres(session: Session, actor: Actor) -> list[int]:
    if not actor.subject.may(READERS) or actor.subject.institution_id is None:
        raise Forbidden("只有共享中心的医生可以查看待诊断列表", "Only the centre's doctors see the worklist")
    return list(
        session.scalars(
            select(DiagnosticCentre.id).where(
                DiagnosticCentre.host_institution_id == actor.subject.institution_id,
                DiagnosticCentre.is_active,
            )
        )
    )


def worklist(session: Session, *, actor: Actor, status: str = rules.ACQUIRED) -> list[OrderOut]:
    """The centre's reading list: critical, then signed/chronic priority, then first come."""
    rows = repository.worklist(
        session, centre_ids=reader_centres(session, actor), status=status, limit=WORKLIST_LIMIT
    )
    actor.record_read(
        entity="exam_order", resident_ids=sorted({o.resident_id for o, _ in rows}), action="list"
    )
    return [order_out(order, name) for order, name in rows]


def results(session: Session, *, actor: Actor, status: str | None = None) -> list[OrderOut]:
    """The ordering institution's exams and their reports."""
    if not actor.subject.may(ORDERERS) or actor.subject.institution_id is None:
        raise Forbidden("当前角色不能查看检查结果", "Your role cannot see exam results")
    rows = repository.ordered_by(
        session, institution_id=actor.subject.institution_id, status=status, limit=WORKLIST_LIMIT
    )
    actor.record_read(
        entity="exam_order", resident_ids=sorted({o.resident_id for o, _ in rows}), action="list"
    )
    return [order_out(order, name) for order, name in rows]


def order_out(order: ExamOrder, resident_name: str) -> OrderOut:
    return OrderOut(
        id=order.id,
        accession_number=order.accession_number,
        resident_id=order.resident_id,
        resident_name=resident_name,
        ordering_institution_id=order.ordering_institution_id,
        centre_id=order.centre_id,
        item_code=order.item_code,
        item_name=order.item_name,
        modality=order.modality,
        body_part=order.body_part,
        clinical_note=order.clinical_note,
        priority=order.priority,
        priority_label=rules.PRIORITY_LABELS[order.priority],
        status=order.status,
        status_label=rules.ORDER_LABELS[order.status],
        price_fen=order.price_fen,
        repeat_reason=order.repeat_reason,
        ordered_at=order.ordered_at,
        acquired_at=order.acquired_at,
        received_at=order.received_at,
        reported_at=order.reported_at,
        report_read_at=order.report_read_at,
    )


def read_order(session: Session, *, actor: Actor, order_id: int) -> OrderOut:
    """One order with its report, studies, ECG and critical value; the orderer opening a report marks it read."""
    order = access_order(session, actor, order_id)
    resident = session.get(Resident, order.resident_id)
    out = order_out(order, resident.name if resident else "")
    report = repository.report_of(session, order.id)
    if report is not None:
        out.report = ReportOut.model_validate(report, from_attributes=True)
        if order.report_read_at is None and actor.subject.institution_id == order.ordering_institution_id:
            order.report_read_at = actor.clock.now()
            out.report_read_at = order.report_read_at
    out.studies = [
        StudyOut(
            study_uid=s.study_uid,
            modality=s.modality,
            study_at=s.study_at,
            description=s.description,
            series=series,
            instances=instances,
            orthanc_id=s.orthanc_id,
        )
        for s, series, instances in repository.studies_of(session, order.id)
    ]
    ecg = repository.ecg_of(session, order.id)
    out.ecg = EcgOut.model_validate(ecg, from_attributes=True) if ecg else None
    alert = repository.alert_of(session, order.id)
    out.alert = AlertOut.model_validate(alert, from_attributes=True) if alert else None
    actor.record_read(entity="exam_order", resident_ids=[order.resident_id], detail=f"exam_order {order.id}")
    return out
