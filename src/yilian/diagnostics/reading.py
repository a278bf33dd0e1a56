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
    OrderListItem,
    OrderOut,
    OrderPage,
    PriorReportOut,
    ReportOut,
    StudyOut,
)
from yilian.diagnostics.service import ORDERERS, READERS, WORKLIST_LIMIT, access_order
from yilian.kit.errors import Forbidden
from yilian.kit.tabular import write_xlsx
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


def _list_item(
    order: ExamOrder, name: str, other: str, actor: Actor, targets: dict[int, dict[str, int]]
) -> OrderListItem:
    now = actor.clock.now()
    since = order.acquired_at or order.ordered_at
    waiting = order.status in repository.WAITING
    own = actor.subject.institution_id == order.ordering_institution_id
    return OrderListItem(
        **order_out(order, name).model_dump(),
        other_party_name=other,
        waiting_minutes=max(0, int((now - since).total_seconds() // 60)) if waiting else None,
        target_minutes=targets.get(order.centre_id, {}).get(order.modality),
        may_mark_acquired=own and order.status == rules.ORDERED,
        may_cancel=own and order.status in repository.WAITING,
    )


def _targets(session: Session, centre_ids: set[int]) -> dict[int, dict[str, int]]:
    return {c: repository.targets_of(session, c) for c in centre_ids}


def worklist(
    session: Session,
    *,
    actor: Actor,
    status: str = rules.ACQUIRED,
    modality: str | None = None,
    q: str | None = None,
    offset: int = 0,
    limit: int | None = WORKLIST_LIMIT,
    action: str = "list",
) -> OrderPage:
    """The centre's reading list: critical, then signed/chronic priority, then first come; each row with
    its waiting time against the centre's report-time target for its modality."""
    centre_ids = reader_centres(session, actor)
    rows, total = repository.worklist(
        session,
        centre_ids=centre_ids,
        status=status,
        modality=modality,
        q=q,
        offset=offset,
        limit=limit,
    )
    actor.record_read(
        entity="exam_order", resident_ids=sorted({o.resident_id for o, _, _ in rows}), action=action
    )
    targets = _targets(session, set(centre_ids))
    return OrderPage(
        items=[_list_item(o, n, other, actor, targets) for o, n, other in rows],
        total=total,
        offset=offset,
        limit=limit or total,
    )


def results(
    session: Session,
    *,
    actor: Actor,
    status: str | None = None,
    offset: int = 0,
    limit: int | None = WORKLIST_LIMIT,
    action: str = "list",
) -> OrderPage:
    """The ordering institution's exams and their reports, newest first."""
    if not actor.subject.may(ORDERERS) or actor.subject.institution_id is None:
        raise Forbidden("当前角色不能查看检查结果", "Your role cannot see exam results")
    rows, total = repository.ordered_by(
        session, institution_id=actor.subject.institution_id, status=status, offset=offset, limit=limit
    )
    actor.record_read(
        entity="exam_order", resident_ids=sorted({o.resident_id for o, _, _ in rows}), action=action
    )
    targets = _targets(session, {o.centre_id for o, _, _ in rows})
    return OrderPage(
        items=[_list_item(o, n, other, actor, targets) for o, n, other in rows],
        total=total,
        offset=offset,
        limit=limit or total,
    )


WORKLIST_HEADER = [
    "检查号",
    "患者",
    "检查项目",
    "设备类型",
    "部位",
    "开单机构/诊断中心",
    "优先级",
    "状态",
    "开单时间",
    "检查时间",
    "已等待(分钟)",
    "报告时限(分钟)",
]


def orders_workbook(page: OrderPage, title: str) -> bytes:
    """A worklist or results list as Excel, in words."""
    return write_xlsx(
        WORKLIST_HEADER,
        (
            [
                o.accession_number,
                o.resident_name,
                o.item_name,
                rules.MODALITIES.get(o.modality, ("", o.modality))[1],
                o.body_part or "",
                o.other_party_name,
                o.priority_label,
                o.status_label,
                f"{o.ordered_at:%Y-%m-%d %H:%M}",
                f"{o.acquired_at:%Y-%m-%d %H:%M}" if o.acquired_at else "",
                o.waiting_minutes,
                o.target_minutes,
            ]
            for o in page.items
        ),
        title=title,
    )


def prior_reports(session: Session, *, actor: Actor, order_id: int) -> list[PriorReportOut]:
    """The patient's earlier reports beside the one being written: those the caller's institution
    ordered or its centres read (the read audited)."""
    order = access_order(session, actor, order_id)
    centre_ids = (
        reader_centres(session, actor) if actor.subject.may(READERS) and actor.subject.institution_id else []
    )
    rows = repository.prior_reports(
        session,
        resident_id=order.resident_id,
        before_order_id=order.id,
        centre_ids=centre_ids,
        institution_id=actor.subject.institution_id or 0,
    )
    actor.record_read(entity="exam_order", resident_ids=[order.resident_id], detail=f"priors of {order.id}")
    return [
        PriorReportOut(
            order_id=o.id,
            item_name=o.item_name,
            modality=o.modality,
            body_part=o.body_part,
            reported_at=r.reported_at,
            findings=r.findings,
            impression=r.impression,
            is_critical=r.is_critical,
        )
        for o, r in rows
    ]


def open_alerts(session: Session, *, actor: Actor) -> list[AlertOut]:
    """The caller's institution's unacknowledged critical values with the patient and exam."""
    if actor.subject.institution_id is None:
        raise Forbidden()
    rows = repository.open_alerts_with_orders(session, actor.subject.institution_id)
    actor.record_read(
        entity="exam_order", resident_ids=sorted({o.resident_id for _, o, _ in rows}), action="list"
    )
    return [
        AlertOut(
            id=a.id,
            order_id=a.order_id,
            message=a.message,
            raised_at=a.raised_at,
            acknowledged_at=a.acknowledged_at,
            action_taken=a.action_taken,
            resident_id=o.resident_id,
            resident_name=name,
            item_name=o.item_name,
        )
        for a, o, name in rows
    ]


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
