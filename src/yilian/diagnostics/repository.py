"""Queries of the shared diagnostic centres."""

from __future__ import annotations

from sqlalchemy import exists, func, select
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


def worklist(
    session: Session, *, centre_ids: list[int], status: str, limit: int
) -> list[tuple[ExamOrder, str]]:
    """Orders waiting at the centres, most urgent first (the index serves this order)."""
    rows = session.execute(
        select(ExamOrder, Resident.name)
        .join(Resident, Resident.id == ExamOrder.resident_id)
        .where(ExamOrder.centre_id.in_(centre_ids), ExamOrder.status == status)
        .order_by(ExamOrder.priority, ExamOrder.ordered_at, ExamOrder.id)
        .limit(limit)
    )
    return [(order, name) for order, name in rows]


def ordered_by(
    session: Session, *, institution_id: int, status: str | None, limit: int
) -> list[tuple[ExamOrder, str]]:
    query = (
        select(ExamOrder, Resident.name)
        .join(Resident, Resident.id == ExamOrder.resident_id)
        .where(ExamOrder.ordering_institution_id == institution_id)
        .order_by(ExamOrder.ordered_at.desc(), ExamOrder.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(ExamOrder.status == status)
    return [(order, name) for order, name in session.execute(query)]


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
