"""JSON endpoints of bad-practice points and the blacklist (004 §2.6)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.evaluation import conduct, conduct_service
from yilian.evaluation import conduct_repository as repository
from yilian.kit.errors import Forbidden
from yilian.kit.fields import Day, Id, Offset
from yilian.kit.tabular import XLSX_MEDIA_TYPE, write_xlsx
from yilian.models import ConductOffence
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api/conduct", tags=["conduct"])


class PolicyIn(BaseModel):
    threshold: int = Field(description="points that put a staff member or institution on the blacklist")
    expiry_days: int = Field(description="days a record counts from the day of the offence")
    appeal_days: int = Field(description="days after recording within which an appeal is accepted")


@router.get("/policy")
def get_policy(actor: ApiActor, session: DbSession) -> dict[str, int]:
    _reader(actor)
    return asdict(conduct_service.policy(session))


@router.put("/policy")
def set_policy(data: PolicyIn, actor: ApiActor, session: DbSession) -> dict[str, int]:
    conduct_service.do_set_policy(session, actor=actor, new=conduct.Policy(**data.model_dump()))
    return data.model_dump()


@router.get("/offences")
def offences(actor: ApiActor, session: DbSession) -> list[dict[str, Any]]:
    """The catalogue of offences and their points (a few dozen rows at most)."""
    _reader(actor)
    return [
        {"code": o.code, "name": o.name, "points": o.points, "applies_to": o.applies_to}
        for o in session.scalars(
            select(ConductOffence).order_by(ConductOffence.applies_to, ConductOffence.code)
        )
    ]


@router.post("/offences", status_code=201)
def import_offences(file: UploadFile, actor: ApiActor, session: DbSession) -> dict[str, int]:
    """代码, 名称, 分值, 对象(人员/机构)."""
    count = conduct_service.do_import_offences(
        session, actor=actor, filename=file.filename or "", data=file.file.read()
    )
    return {"offences": count}


class RecordIn(BaseModel):
    offence_code: str
    occurred_on: Day
    staff_id: Id | None = None
    institution_id: Id | None = None
    note: str = ""


@router.post("/records", status_code=201)
def record(data: RecordIn, actor: ApiActor, session: DbSession) -> dict[str, Any]:
    row = conduct_service.do_record(session, actor=actor, **data.model_dump())
    return {"id": row.id, "points": row.points, "status": row.status}


class AppealIn(BaseModel):
    reason: str


@router.post("/records/{record_id}/appeal")
def appeal(record_id: Id, data: AppealIn, actor: ApiActor, session: DbSession) -> dict[str, Any]:
    row = conduct_service.do_appeal(session, actor=actor, record_id=record_id, reason=data.reason)
    return {"id": row.id, "status": row.status}


class DecisionIn(BaseModel):
    overturn: bool


@router.post("/records/{record_id}/decision")
def decide(record_id: Id, data: DecisionIn, actor: ApiActor, session: DbSession) -> dict[str, Any]:
    row = conduct_service.do_decide(session, actor=actor, record_id=record_id, overturn=data.overturn)
    return {"id": row.id, "status": row.status}


@router.get("/standing")
def standing(
    actor: ApiActor, session: DbSession, staff_id: Id | None = None, institution_id: Id | None = None
) -> dict[str, Any]:
    """Points that count today and whether the blacklist threshold is reached."""
    if not actor.subject.may(conduct_service.SUPERVISORS | {roles.INSTITUTION_ADMIN}):
        raise Forbidden()
    return asdict(
        conduct_service.standing(
            session, today=actor.clock.now().date(), staff_id=staff_id, institution_id=institution_id
        )
    )


def _reader(actor: Actor) -> None:
    if not actor.subject.may(conduct_service.SUPERVISORS | {roles.INSTITUTION_ADMIN}):
        raise Forbidden()


KIND_LABELS = {conduct.STAFF: "人员", conduct.INSTITUTION: "机构"}


@router.get("/records")
def records(
    actor: ApiActor,
    session: DbSession,
    status: str | None = None,
    kind: str | None = None,
    institution_id: Id | None = None,
    name: str | None = Query(None, max_length=32),
    offset: Offset = 0,
    limit: int = Query(20, ge=1, le=500),
) -> dict[str, Any]:
    """Records the caller may read (supervisors: their region; an institution administrator: its own
    and its staff's), newest first, with what the caller may do with each."""
    _reader(actor)
    statement = repository.filtered_records(
        actor.subject, status=status, kind=kind, institution_id=institution_id, name=name
    )
    total = repository.count(session, statement)
    rows = session.execute(statement.offset(offset).limit(limit)).all()
    current = conduct_service.policy(session)
    today = actor.clock.now().date()
    supervisor = actor.subject.may(conduct_service.SUPERVISORS)
    items = []
    for r in rows:
        record = r.ConductRecord
        concerned = (
            actor.subject.role == roles.INSTITUTION_ADMIN and actor.subject.institution_id == r.concerned_id
        )
        items.append(
            {
                "id": record.id,
                "kind": KIND_LABELS[conduct.STAFF if record.staff_id is not None else conduct.INSTITUTION],
                "name": r.staff_name if record.staff_id is not None else r.concerned_name,
                "institution_name": r.concerned_name,
                "offence": r.offence_name,
                "points": record.points,
                "occurred_on": record.occurred_on,
                "recorded_on": record.recorded_at.date(),
                "note": record.note,
                "status": record.status,
                "status_label": conduct.STATUS_LABELS.get(record.status, record.status),
                "appeal_reason": record.appeal_reason or "",
                "expires_on": conduct.expires_on(conduct.Point(record.points, record.occurred_on), current),
                "may_appeal": concerned
                and record.status == conduct.ACTIVE
                and (today - record.recorded_at.date()).days <= current.appeal_days,
                "may_decide": supervisor and record.status == conduct.APPEALED,
            }
        )
    return {"items": items, "total": total, "offset": offset, "limit": limit}


@router.get("/records/export")
def export_records(
    actor: ApiActor,
    session: DbSession,
    status: str | None = None,
    kind: str | None = None,
    institution_id: Id | None = None,
    name: str | None = Query(None, max_length=32),
) -> Response:
    """The whole filtered list of records as Excel."""
    _reader(actor)
    statement = repository.filtered_records(
        actor.subject, status=status, kind=kind, institution_id=institution_id, name=name
    )
    rows = (
        [
            KIND_LABELS[conduct.STAFF if r.ConductRecord.staff_id is not None else conduct.INSTITUTION],
            r.staff_name if r.ConductRecord.staff_id is not None else r.concerned_name,
            r.concerned_name,
            r.offence_name,
            r.ConductRecord.points,
            r.ConductRecord.occurred_on.isoformat(),
            r.ConductRecord.recorded_at.strftime("%Y-%m-%d"),
            conduct.STATUS_LABELS.get(r.ConductRecord.status, r.ConductRecord.status),
            r.ConductRecord.note,
            r.ConductRecord.appeal_reason or "",
        ]
        for r in session.execute(statement)
    )
    header = [
        "对象",
        "姓名/机构",
        "所在机构",
        "记分项目",
        "分值",
        "发生日期",
        "记分日期",
        "状态",
        "说明",
        "申诉理由",
    ]
    return Response(
        write_xlsx(header, rows, title="不良执业记分"),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": "attachment; filename=conduct-records.xlsx"},
    )


@router.get("/standings")
def standings(
    actor: ApiActor,
    session: DbSession,
    blacklisted: bool = False,
    offset: Offset = 0,
    limit: int = Query(20, ge=1, le=500),
) -> dict[str, Any]:
    """Staff members and institutions with points that count today, most first; `blacklisted` keeps
    those at or over the threshold (the blacklist)."""
    _reader(actor)
    current = conduct_service.policy(session)
    today = actor.clock.now().date()
    total, items = repository.standings(
        session,
        actor.subject,
        today=today,
        policy=current,
        blacklisted_only=blacklisted,
        offset=offset,
        limit=limit,
    )
    for item in items:
        item["kind"] = KIND_LABELS[item["kind"]]
    return {"items": items, "total": total, "offset": offset, "limit": limit, "threshold": current.threshold}
