"""Use cases of "乡检查、县诊断": centres, orders with the recognition check, acquisition, reading,
reports back to the orderer, and critical values acknowledged."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.auth.context import Actor
from yilian.diagnostics import recognition, repository, rules
from yilian.diagnostics.schemas import (
    CentreIn,
    CentreOut,
    OrderIn,
    ReportIn,
)
from yilian.kit.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from yilian.models import (
    CentreMember,
    CentreModality,
    CriticalAlert,
    DiagnosticCentre,
    Equipment,
    ExamOrder,
    ExamOrderEvent,
    ExamReport,
    Institution,
)
from yilian.residents.repository import is_signed
from yilian.residents.service import access_resident

ORDERERS = frozenset({roles.DOCTOR, roles.FAMILY_DOCTOR, roles.INSTITUTION_ADMIN})
READERS = frozenset({roles.DOCTOR})
WORKLIST_LIMIT = 500


# --- centres --------------------------------------------------------------------------------------


def do_create_centre(session: Session, *, actor: Actor, data: CentreIn) -> DiagnosticCentre:
    """A consortium opens a shared centre at one member, serving a list of members (the host included)."""
    subject = actor.subject
    if subject.role != roles.CONSORTIUM_ADMIN or subject.consortium_id is None:
        raise Forbidden("只有医共体管理员可以设立共享中心", "Only a consortium administrator sets up centres")
    members = set(session.scalars(select(Institution.id).where(scoping.institution_charge(subject))))
    served = set(data.member_institution_ids) | {data.host_institution_id}
    errors = [
        FieldError("member_institution_ids", f"机构{i}不是本医共体成员", f"institution {i} is not a member")
        for i in sorted(served - members)
    ]
    errors += [
        FieldError(
            f"turnaround_minutes.{m}",
            f"检查类型{m}不属于{rules.CENTRE_KINDS[data.kind]}",
            f"{m} is not read by a {data.kind} centre",
        )
        for m in data.turnaround_minutes
        if rules.MODALITIES.get(m, ("",))[0] != data.kind
    ]
    errors += [
        FieldError(f"turnaround_minutes.{m}", "时限应为1–43200分钟", "target must be 1–43200 minutes")
        for m, minutes in data.turnaround_minutes.items()
        if not 1 <= minutes <= 43200
    ]
    if not data.turnaround_minutes:
        errors.append(FieldError("turnaround_minutes", "至少设定一种检查类型", "name at least one modality"))
    if errors:
        raise ValidationFailed.none_written(errors, "共享中心", saved=True)
    centre = DiagnosticCentre(
        consortium_id=subject.consortium_id,
        host_institution_id=data.host_institution_id,
        kind=data.kind,
        name=data.name,
    )
    session.add(centre)
    session.flush()
    session.add_all(CentreMember(centre_id=centre.id, institution_id=i) for i in sorted(served))
    session.add_all(
        CentreModality(centre_id=centre.id, modality=m, target_minutes=t)
        for m, t in data.turnaround_minutes.items()
    )
    session.flush()
    actor.record_change(
        session, action="create", entity="diagnostic_centre", entity_id=centre.id, resident_id=None
    )
    return centre


def do_register_equipment(
    session: Session, *, actor: Actor, modality: str, name: str, installed_on: date
) -> Equipment:
    """An institution's own device (DR, ECG cart …): what makes a township able to take images."""
    subject = actor.subject
    if subject.role != roles.INSTITUTION_ADMIN or subject.institution_id is None:
        raise Forbidden("只有机构管理员可以登记设备", "Only an institution administrator registers equipment")
    if modality not in rules.MODALITIES:
        raise ValidationFailed.one(
            "modality", f"设备类型应为{'、'.join(rules.MODALITIES)}之一", "unknown modality"
        )
    device = Equipment(
        institution_id=subject.institution_id, modality=modality, name=name, installed_on=installed_on
    )
    session.add(device)
    session.flush()
    return device


def centre_out(session: Session, centre: DiagnosticCentre) -> CentreOut:
    return CentreOut(
        id=centre.id,
        name=centre.name,
        kind=centre.kind,
        host_institution_id=centre.host_institution_id,
        member_institution_ids=repository.members_of(session, centre.id),
        turnaround_minutes=repository.targets_of(session, centre.id),
    )


# --- orders ---------------------------------------------------------------------------------------


def _event(
    session: Session, actor: Actor, order: ExamOrder, previous: str | None, note: str | None = None
) -> None:
    session.add(
        ExamOrderEvent(
            order_id=order.id,
            at=actor.clock.now(),
            from_status=previous,
            to_status=order.status,
            user_id=actor.subject.user_id,
            note=note,
        )
    )


def orderer_consortium(session: Session, actor: Actor) -> int:
    """The consortium whose centres and recognition catalogue an orderer's institution uses."""
    subject = actor.subject
    if not subject.may(ORDERERS) or subject.institution_id is None:
        raise Forbidden("当前角色不能开具检查", "Your role cannot order exams")
    consortium_id = scoping.home_consortium(session, subject)
    if consortium_id is None:
        raise Forbidden("本机构不属于任何医共体", "Your institution is in no consortium")
    return consortium_id


def do_order_exam(session: Session, *, actor: Actor, data: OrderIn) -> ExamOrder:
    """Order an exam read at the shared centre. If the resident has a recognised, valid result of the
    same item, the order is refused with that result (409) unless a reason to repeat is given."""
    subject = actor.subject
    if not subject.may(ORDERERS) or subject.institution_id is None:
        raise Forbidden("当前角色不能开具检查", "Your role cannot order exams")
    resident = access_resident(session, actor, data.resident_id)
    consortium_id = scoping.home_consortium(session, subject)
    item = recognition.catalogue_item(session, consortium_id, data.item_code) if consortium_id else None
    if item is not None:
        name, modality, price = item.name, item.modality, item.price_fen
    elif data.item_name and data.modality in rules.MODALITIES:
        name, modality, price = data.item_name, data.modality, 0
    else:
        raise ValidationFailed.one(
            "item_code",
            "项目不在互认目录中：请同时填写项目名称和检查类型",
            "the item is not in the catalogue: give item_name and modality too",
        )
    kind = rules.MODALITIES[modality][0]
    centre = (
        repository.centre(session, data.centre_id)
        if data.centre_id
        else repository.serving_centre(session, subject.institution_id, kind)
    )
    if (
        centre is None
        or not centre.is_active
        or not repository.serves(session, centre.id, subject.institution_id)
    ):
        raise ValidationFailed.one(
            "centre_id",
            f"本机构没有可用的{rules.CENTRE_KINDS[kind]}",
            f"no {kind} centre serves your institution",
        )
    if modality not in repository.targets_of(session, centre.id):
        raise ValidationFailed.one(
            "modality", f"{centre.name}不提供{modality}诊断", f"{centre.name} does not read {modality}"
        )
    now = actor.clock.now()
    shown, verdict = (
        recognition.recognised_result(
            session,
            consortium_id=centre.consortium_id,
            resident_id=resident.id,
            item_code=data.item_code,
            today=now.date(),
        )
        if item is not None
        else (None, None)
    )
    repeat_reason = None
    if shown is not None and verdict is rules.Recognition.RECOGNISED:
        if not data.repeat_reason:
            raise RecognisedResultExists(shown.model_dump(mode="json"))
        repeat_reason = rules.check_repeat_reason(data.repeat_reason)
    order = ExamOrder(
        accession_number="pending",
        resident_id=resident.id,
        ordering_institution_id=subject.institution_id,
        ordering_user_id=subject.user_id,
        centre_id=centre.id,
        item_code=data.item_code,
        item_name=name,
        modality=modality,
        body_part=data.body_part,
        clinical_note=data.clinical_note,
        priority=rules.order_priority(
            urgent=data.urgent,
            signed=is_signed(session, resident.id, now.date()),
            chronic=repository.is_chronic(session, resident.id),
        ),
        status=rules.ORDERED,
        price_fen=price,
        repeat_reason=repeat_reason,
        ordered_at=now,
    )
    session.add(order)
    session.flush()
    order.accession_number = rules.accession_number(now.date(), order.id)
    _event(session, actor, order, None, data.clinical_note or None)
    if repeat_reason is not None and shown is not None:
        recognition.record_repeat(session, actor=actor, shown=shown, order=order, reason=repeat_reason)
    session.flush()
    actor.record_change(
        session, action="create", entity="exam_order", entity_id=order.id, resident_id=resident.id
    )
    return order


class RecognisedResultExists(Conflict):
    """409 carrying the recognised result: the page shows it and asks for a reason to repeat."""

    def __init__(self, result: dict[str, object]):
        super().__init__(
            "该居民已有可互认的有效结果，请查看；如确需重复检查，请填写理由",
            "a recognised, valid result exists: reuse it, or give a reason to repeat the exam",
            [FieldError("repeat_reason", "需要填写重复检查理由", "a reason to repeat is required")],
        )
        self.result = result

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = super().as_dict()
        out["recognised_result"] = self.result
        return out


def access_order(session: Session, actor: Actor, order_id: int) -> ExamOrder:
    """An order is seen by the ordering institution and the centre's host (and whoever reads the resident)."""
    order = session.get(ExamOrder, order_id)
    if order is None:
        raise NotFound("检查单", "Exam order")
    host = session.scalar(
        select(DiagnosticCentre.host_institution_id).where(DiagnosticCentre.id == order.centre_id)
    )
    if (
        actor.subject.institution_id not in (order.ordering_institution_id, host)
        and actor.subject.resident_id is None
    ):
        raise NotFound("检查单", "Exam order")
    access_resident(session, actor, order.resident_id)
    return order


def _transition(
    session: Session, actor: Actor, order: ExamOrder, target: str, note: str | None = None
) -> None:
    rules.check_order_transition(order.status, target)
    previous, order.status = order.status, target
    _event(session, actor, order, previous, note)


def do_mark_acquired(
    session: Session, *, actor: Actor, order_id: int, acquired_at: datetime | None = None
) -> ExamOrder:
    """The specimen or recording is taken at the township and sent to the centre (non-DICOM kinds)."""
    order = access_order(session, actor, order_id)
    if actor.subject.institution_id != order.ordering_institution_id:
        raise Forbidden(
            "只有开单机构可以登记检查完成", "Only the ordering institution records the acquisition"
        )
    mark_acquired(session, actor=actor, order=order, acquired_at=acquired_at)
    return order


def mark_acquired(session: Session, *, actor: Actor, order: ExamOrder, acquired_at: datetime | None) -> None:
    now = actor.clock.now()
    _transition(session, actor, order, rules.ACQUIRED)
    order.acquired_at = min(acquired_at or now, now)
    order.received_at = now
    session.flush()
    actor.record_change(
        session, action="acquire", entity="exam_order", entity_id=order.id, resident_id=order.resident_id
    )


def do_report(session: Session, *, actor: Actor, order_id: int, data: ReportIn) -> ExamReport:
    """A reader of the centre reports; a critical value is pushed to the orderer at once."""
    order = access_order(session, actor, order_id)
    centre = repository.centre(session, order.centre_id)
    assert centre is not None
    if not actor.subject.may(READERS) or actor.subject.institution_id != centre.host_institution_id:
        raise Forbidden("只有共享中心的医生可以出具报告", "Only the centre's doctors report")
    if data.is_critical and not (data.critical_note or "").strip():
        raise ValidationFailed.one("critical_note", "危急值须说明内容", "describe the critical value")
    _transition(session, actor, order, rules.REPORTED)
    now = actor.clock.now()
    order.reported_at = now
    report = ExamReport(
        order_id=order.id,
        reader_user_id=actor.subject.user_id,
        reader_institution_id=centre.host_institution_id,
        findings=data.findings,
        impression=data.impression,
        is_critical=data.is_critical,
        critical_note=data.critical_note,
        reported_at=now,
    )
    session.add(report)
    if data.is_critical:
        session.add(
            CriticalAlert(
                order_id=order.id,
                institution_id=order.ordering_institution_id,
                user_id=order.ordering_user_id,
                message=f"危急值：{order.item_name} — {data.critical_note}",
                raised_at=now,
            )
        )
    session.flush()
    actor.record_change(
        session, action="report", entity="exam_order", entity_id=order.id, resident_id=order.resident_id
    )
    return report


def do_acknowledge(session: Session, *, actor: Actor, alert_id: int, action_taken: str) -> CriticalAlert:
    """The ordering side confirms it received the critical value and says what it did."""
    alert = session.get(CriticalAlert, alert_id)
    if alert is None or actor.subject.institution_id != alert.institution_id:
        raise NotFound("危急值", "Critical value")
    if alert.acknowledged_at is not None:
        raise Conflict("该危急值已确认", "this critical value was already acknowledged")
    order = access_order(session, actor, alert.order_id)
    alert.acknowledged_at = actor.clock.now()
    alert.acknowledged_by = actor.subject.user_id
    alert.action_taken = action_taken
    if order.report_read_at is None:
        order.report_read_at = alert.acknowledged_at
    session.flush()
    actor.record_change(
        session,
        action="acknowledge",
        entity="critical_alert",
        entity_id=alert.id,
        resident_id=order.resident_id,
    )
    return alert


def do_cancel(session: Session, *, actor: Actor, order_id: int, reason: str) -> ExamOrder:
    order = access_order(session, actor, order_id)
    if actor.subject.institution_id != order.ordering_institution_id:
        raise Forbidden("只有开单机构可以取消检查", "Only the ordering institution cancels")
    _transition(session, actor, order, rules.CANCELLED, reason)
    order.cancelled_at = actor.clock.now()
    session.flush()
    return order
