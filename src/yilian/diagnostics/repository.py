"""Queries of the shared diagnostic centres."""

from __future__ import annotations

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session

from yilian.diagnostics import rules
from yilian.models import (
    CentreMember,
    CentreModality,
    ChronicRegister,
    CriticalAlert,
    DiagnosticCentre,
    EcgMeasurement,
    ExamOrder,
    ExamReport,
    ImagingInstance,
    ImagingSeries,
    ImagingStudy,
    Institution,
    Resident,
)


def centre(session: Session, centre_id: int) -> DiagnosticCentre | None:
    return session.get(DiagnosticCentre, centre_id)


def members_of(session: Session, centre_id: int) -> list[int]:
    return list(
        session.scalars(
            select(CentreMember.institution_id)
            .where(CentreMember.centre_id == centre_id)
            .order_by(CentreMember.institution_id)
        )
    )


def targets_of(session: Session, centre_id: int) -> dict[str, int]:
    return {
        m.modality: m.target_minutes
        for m in session.scalars(select(CentreModality).where(CentreModality.centre_id == centre_id))
    }


def centres_of_consortium(session: Session, consortium_id: int) -> list[DiagnosticCentre]:
    return list(
        session.scalars(
            select(DiagnosticCentre)
            .where(DiagnosticCentre.consortium_id == consortium_id)
            .order_by(DiagnosticCentre.id)
        )
    )


def serving_centre(session: Session, institution_id: int, kind: str) -> DiagnosticCentre | None:
    """The active centre of a kind that serves the institution (the first, if several do)."""
    return session.scalar(
        select(DiagnosticCentre)
        .join(CentreMember, CentreMember.centre_id == DiagnosticCentre.id)
        .where(
            CentreMember.institution_id == institution_id,
            DiagnosticCentre.kind == kind,
            DiagnosticCentre.is_active,
        )
        .order_by(DiagnosticCentre.id)
        .limit(1)
    )


def serves(session: Session, centre_id: int, institution_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    CentreMember.centre_id == centre_id, CentreMember.institution_id == institution_id
                )
            )
        )
    )


def is_chronic(session: Session, resident_id: int) -> bool:
    return bool(session.scalar(select(exists().where(ChronicRegister.resident_id == resident_id))))


def _orders_page(
    session: Session, statement: Select[ExamOrder, str, str], offset: int, limit: int | None
) -> tuple[list[tuple[ExamOrder, str, str]], int]:
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    if limit is not None:
        statement = statement.offset(offset).limit(limit)
    return [(order, name, sender) for order, name, sender in session.execute(statement)], total


def worklist(
    session: Session,
    *,
    centre_ids: list[int],
    status: str,
    modality: str | None = None,
    q: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[tuple[ExamOrder, str, str]], int]:
    """Orders waiting at the centres, most urgent first (the index serves this order), each with the
    patient's and the ordering institution's names; one page and the whole filtered count."""
    statement = (
        select(ExamOrder, Resident.name, Institution.name)
        .join(Resident, Resident.id == ExamOrder.resident_id)
        .join(Institution, Institution.id == ExamOrder.ordering_institution_id)
        .where(ExamOrder.centre_id.in_(centre_ids), ExamOrder.status == status)
        .order_by(ExamOrder.priority, ExamOrder.ordered_at, ExamOrder.id)
    )
    if modality:
        statement = statement.where(ExamOrder.modality == modality)
    if q:
        statement = statement.where(or_(ExamOrder.accession_number == q, Resident.name.startswith(q)))
    return _orders_page(session, statement, offset, limit)


def ordered_by(
    session: Session,
    *,
    institution_id: int,
    status: str | None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[tuple[ExamOrder, str, str]], int]:
    """The institution's orders, newest first, with the patient's and the centre's names."""
    statement = (
        select(ExamOrder, Resident.name, DiagnosticCentre.name)
        .join(Resident, Resident.id == ExamOrder.resident_id)
        .join(DiagnosticCentre, DiagnosticCentre.id == ExamOrder.centre_id)
        .where(ExamOrder.ordering_institution_id == institution_id)
        .order_by(ExamOrder.ordered_at.desc(), ExamOrder.id.desc())
    )
    if status:
        statement = statement.where(ExamOrder.status == status)
    return _orders_page(session, statement, offset, limit)


def prior_reports(
    session: Session, *, resident_id: int, before_order_id: int, centre_ids: list[int], institution_id: int
) -> list[tuple[ExamOrder, ExamReport]]:
    """The patient's other reported exams the caller's institution ordered or whose centres read them,
    newest first."""
    return [
        (order, report)
        for order, report in session.execute(
            select(ExamOrder, ExamReport)
            .join(ExamReport, ExamReport.order_id == ExamOrder.id)
            .where(
                ExamOrder.resident_id == resident_id,
                ExamOrder.id != before_order_id,
                or_(
                    ExamOrder.centre_id.in_(centre_ids),
                    ExamOrder.ordering_institution_id == institution_id,
                ),
            )
            .order_by(ExamReport.reported_at.desc(), ExamOrder.id.desc())
        )
    ]


def open_alerts_with_orders(
    session: Session, institution_id: int
) -> list[tuple[CriticalAlert, ExamOrder, str]]:
    """The institution's unacknowledged critical values, oldest first, with the order and patient."""
    return [
        (alert, order, name)
        for alert, order, name in session.execute(
            select(CriticalAlert, ExamOrder, Resident.name)
            .join(ExamOrder, ExamOrder.id == CriticalAlert.order_id)
            .join(Resident, Resident.id == ExamOrder.resident_id)
            .where(CriticalAlert.institution_id == institution_id, CriticalAlert.acknowledged_at.is_(None))
            .order_by(CriticalAlert.raised_at, CriticalAlert.id)
        )
    ]


def orders_of_resident(session: Session, resident_id: int) -> list[ExamOrder]:
    return list(
        session.scalars(
            select(ExamOrder)
            .where(ExamOrder.resident_id == resident_id)
            .order_by(ExamOrder.ordered_at.desc(), ExamOrder.id.desc())
        )
    )


def report_of(session: Session, order_id: int) -> ExamReport | None:
    return session.scalar(select(ExamReport).where(ExamReport.order_id == order_id))


def ecg_of(session: Session, order_id: int) -> EcgMeasurement | None:
    return session.scalar(select(EcgMeasurement).where(EcgMeasurement.order_id == order_id))


def alert_of(session: Session, order_id: int) -> CriticalAlert | None:
    return session.scalar(select(CriticalAlert).where(CriticalAlert.order_id == order_id))


def open_alerts(session: Session, institution_id: int) -> list[CriticalAlert]:
    return list(
        session.scalars(
            select(CriticalAlert)
            .where(CriticalAlert.institution_id == institution_id, CriticalAlert.acknowledged_at.is_(None))
            .order_by(CriticalAlert.raised_at)
        )
    )


def studies_of(session: Session, order_id: int) -> list[tuple[ImagingStudy, int, int]]:
    """Each study of the order with its number of series and instances."""
    rows = session.execute(
        select(
            ImagingStudy,
            func.count(func.distinct(ImagingSeries.id)),
            func.count(ImagingInstance.id),
        )
        .outerjoin(ImagingSeries, ImagingSeries.study_id == ImagingStudy.id)
        .outerjoin(ImagingInstance, ImagingInstance.series_id == ImagingSeries.id)
        .where(ImagingStudy.order_id == order_id)
        .group_by(ImagingStudy.id)
        .order_by(ImagingStudy.id)
    )
    return [(study, int(series), int(instances)) for study, series, instances in rows]


def instance_paths(session: Session, study_id: int) -> list[str]:
    return list(
        session.scalars(
            select(ImagingInstance.path)
            .join(ImagingSeries, ImagingSeries.id == ImagingInstance.series_id)
            .where(ImagingSeries.study_id == study_id)
            .order_by(ImagingSeries.number, ImagingInstance.number, ImagingInstance.id)
        )
    )


WAITING = (rules.ORDERED, rules.ACQUIRED)
