"""What the shared centres report (001 §1.3, §2.1; 004 §3.1): coverage of members, exams read for
grassroots, turnaround per modality, imaging and ECG capability of townships and stations, critical
values acknowledged, repeats avoided and money saved, remote specialties. Each figure is one
grouped query; nothing is counted row by row in Python."""

from __future__ import annotations

from datetime import date, datetime, time

from pydantic import BaseModel
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from yilian.auth import scoping
from yilian.auth.context import Actor
from yilian.diagnostics import recognition, rules
from yilian.diagnostics.teleconsult import specialty_counts
from yilian.kit.sql import minutes_between, year_month
from yilian.kit.stats import histogram_percentile
from yilian.models import (
    CentreMember,
    CentreModality,
    Consortium,
    ConsortiumMember,
    CriticalAlert,
    DiagnosticCentre,
    Equipment,
    ExamOrder,
    Institution,
)
from yilian.registry.rules import GRASSROOTS_TYPES

TOWNSHIP_TYPES = ("乡镇卫生院", "社区卫生服务中心")
# 001 §2.2 pairs them: "村卫生室(社区卫生服务站)为基础"; a county has village clinics, a city stations.
STATION_TYPES = ("社区卫生服务站", "村卫生室")
IMAGING_CAPABILITY_TARGET = 1.0  # 2020: every township health centre (80% by 2018), 001 §2.1
STATION_ECG_TARGET = 0.8


class CoverageOut(BaseModel):
    kind: str
    kind_label: str
    served: int
    members: int
    share: float | None


class TurnaroundOut(BaseModel):
    modality: str
    reported: int
    median_minutes: float | None
    p90_minutes: float | None
    target_minutes: int | None
    within_target_share: float | None


class CapabilityOut(BaseModel):
    label: str
    able: int
    total: int
    share: float | None
    target: float


class CentreFigures(BaseModel):
    consortium_id: int
    start: date
    end: date
    coverage: list[CoverageOut]
    orders_by_modality: dict[str, dict[str, int]]
    reported_for_grassroots: int
    reported_total: int
    turnaround: list[TurnaroundOut]
    capability: list[CapabilityOut]
    critical_raised: int
    critical_acknowledged: int
    median_minutes_to_acknowledge: float | None
    repeats_avoided: int
    saved_fen: int
    repeated_with_reason: int
    remote_specialties: dict[int, int]
    remote_specialty_target: int
    monthly: dict[str, int]


def viewable_consortium(session: Session, actor: Actor, consortium_id: int) -> Consortium:
    """The commission and insurance of its division, its administrator, and its members' staff: 404
    outside the division the caller reads, 403 for a consortium read but none of theirs."""
    return scoping.consortium_in_charge(session, actor.subject, consortium_id, as_member=True)


def _capability(
    session: Session,
    members: list[int],
    types: tuple[str, ...],
    modalities: set[str],
    label: str,
    target: float,
) -> CapabilityOut:
    able_clause = (
        select(Equipment.id)
        .where(
            Equipment.institution_id == Institution.id,
            Equipment.is_active,
            Equipment.modality.in_(modalities),
        )
        .exists()
    )
    total, able = session.execute(
        select(func.count(), func.coalesce(func.sum(case((able_clause, 1), else_=0)), 0)).where(
            Institution.id.in_(members), Institution.type.in_(types)
        )
    ).one()
    return CapabilityOut(
        label=label,
        able=int(able),
        total=int(total),
        share=int(able) / int(total) if total else None,
        target=target,
    )


def centre_figures(
    session: Session, *, actor: Actor, consortium_id: int, start: date, end: date
) -> CentreFigures:
    """Figures for orders placed in [start, end] (inclusive days) at a consortium's centres."""
    viewable_consortium(session, actor, consortium_id)
    since, until = datetime.combine(start, time.min), datetime.combine(end, time.max)
    members = list(
        session.scalars(
            select(ConsortiumMember.institution_id).where(ConsortiumMember.consortium_id == consortium_id)
        )
    )
    served: dict[str, set[int]] = {}
    for kind, institution_id in session.execute(
        select(DiagnosticCentre.kind, CentreMember.institution_id)
        .join(CentreMember, CentreMember.centre_id == DiagnosticCentre.id)
        .where(DiagnosticCentre.consortium_id == consortium_id, DiagnosticCentre.is_active)
        .distinct()
    ):
        served.setdefault(kind, set()).add(institution_id)
    coverage = [
        CoverageOut(
            kind=c.kind,
            kind_label=rules.CENTRE_KINDS[c.kind],
            served=c.served,
            members=c.members,
            share=c.share,
        )
        for c in rules.coverage(set(members), served)
    ]
    in_consortium = and_(
        ExamOrder.centre_id == DiagnosticCentre.id,
        DiagnosticCentre.consortium_id == consortium_id,
        ExamOrder.ordered_at.between(since, until),
    )
    orders_by_modality: dict[str, dict[str, int]] = {}
    for modality, status, count in session.execute(
        select(ExamOrder.modality, ExamOrder.status, func.count())
        .select_from(ExamOrder)
        .join(DiagnosticCentre, in_consortium)
        .group_by(ExamOrder.modality, ExamOrder.status)
    ):
        orders_by_modality.setdefault(modality, {})[status] = int(count)
    grassroots, reported_total = session.execute(
        select(
            func.coalesce(func.sum(case((Institution.type.in_(GRASSROOTS_TYPES), 1), else_=0)), 0),
            func.count(),
        )
        .select_from(ExamOrder)
        .join(DiagnosticCentre, in_consortium)
        .join(Institution, Institution.id == ExamOrder.ordering_institution_id)
        .where(ExamOrder.status == rules.REPORTED)
    ).one()
    minutes = minutes_between(ExamOrder.acquired_at, ExamOrder.reported_at)
    histogram: dict[str, list[tuple[int, int]]] = {}
    for modality, taken, count in session.execute(
        select(ExamOrder.modality, minutes, func.count())
        .select_from(ExamOrder)
        .join(DiagnosticCentre, in_consortium)
        .where(ExamOrder.status == rules.REPORTED, ExamOrder.acquired_at.is_not(None))
        .group_by(ExamOrder.modality, minutes)
    ):
        histogram.setdefault(modality, []).append((int(taken), int(count)))
    # One target per modality for the consortium: the strictest its centres promise.
    targets = {
        modality: int(target)
        for modality, target in session.execute(
            select(CentreModality.modality, func.min(CentreModality.target_minutes))
            .join(DiagnosticCentre, DiagnosticCentre.id == CentreModality.centre_id)
            .where(DiagnosticCentre.consortium_id == consortium_id)
            .group_by(CentreModality.modality)
        )
    }
    turnaround = []
    for modality in sorted(histogram):
        t = rules.turnaround(modality, histogram[modality], targets.get(modality))
        turnaround.append(
            TurnaroundOut(
                modality=modality,
                reported=t.reported,
                median_minutes=t.median_minutes,
                p90_minutes=t.p90_minutes,
                target_minutes=t.target_minutes,
                within_target_share=t.within_target_share,
            )
        )
    capability = [
        _capability(
            session,
            members,
            TOWNSHIP_TYPES,
            set(rules.IMAGING_MODALITIES),
            "乡镇卫生院(社区卫生服务中心)具备放射诊断能力",
            IMAGING_CAPABILITY_TARGET,
        ),
        _capability(
            session,
            members,
            STATION_TYPES,
            {"ECG"},
            "村卫生室(社区卫生服务站)具备心电检查能力",
            STATION_ECG_TARGET,
        ),
    ]
    alerts = (
        select(CriticalAlert.acknowledged_at, CriticalAlert.raised_at)
        .join(ExamOrder, ExamOrder.id == CriticalAlert.order_id)
        .join(DiagnosticCentre, in_consortium)
        .subquery()
    )
    ack_minutes = minutes_between(alerts.c.raised_at, alerts.c.acknowledged_at)
    ack_histogram = [
        (int(m), int(n))
        for m, n in session.execute(
            select(ack_minutes, func.count())
            .where(alerts.c.acknowledged_at.is_not(None))
            .group_by(ack_minutes)
        )
    ]
    raised = int(session.scalar(select(func.count()).select_from(alerts)) or 0)
    saved = recognition.savings(session, institution_ids=members, start=since, end=until)
    # Remote specialist clinics are offered by the county-level members (二级 and above).
    county_level = list(
        session.scalars(
            select(Institution.id).where(Institution.id.in_(members), Institution.level.in_(("三级", "二级")))
        )
    )
    offered = specialty_counts(session, county_level)
    month = year_month(ExamOrder.ordered_at)
    monthly = {
        str(m): int(n)
        for m, n in session.execute(
            select(month, func.count())
            .select_from(ExamOrder)
            .join(DiagnosticCentre, in_consortium)
            .group_by(month)
            .order_by(month)
        )
    }
    return CentreFigures(
        consortium_id=consortium_id,
        start=start,
        end=end,
        coverage=coverage,
        orders_by_modality=orders_by_modality,
        reported_for_grassroots=int(grassroots),
        reported_total=int(reported_total),
        turnaround=turnaround,
        capability=capability,
        critical_raised=raised,
        critical_acknowledged=sum(n for _, n in ack_histogram),
        median_minutes_to_acknowledge=histogram_percentile(ack_histogram, 0.5),
        repeats_avoided=saved["repeats_avoided"],
        saved_fen=saved["saved_fen"],
        repeated_with_reason=saved["repeated_with_reason"],
        remote_specialties={i: offered.get(i, 0) for i in county_level},
        remote_specialty_target=rules.REMOTE_SPECIALTY_TARGET,
        monthly=monthly,
    )
