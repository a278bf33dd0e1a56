"""JSON endpoints of bad-practice points and the blacklist (004 §2.6)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, UploadFile
from pydantic import BaseModel, Field

from yilian.auth import rules as roles
from yilian.evaluation import conduct, conduct_service
from yilian.kit.errors import Forbidden
from yilian.kit.fields import Day, Id
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api/conduct", tags=["conduct"])


class PolicyIn(BaseModel):
    threshold: int = Field(description="points that put a staff member or institution on the blacklist")
    expiry_days: int = Field(description="days a record counts from the day of the offence")
    appeal_days: int = Field(description="days after recording within which an appeal is accepted")


@router.put("/policy")
def set_policy(data: PolicyIn, actor: ApiActor, session: DbSession) -> dict[str, int]:
    conduct_service.do_set_policy(session, actor=actor, new=conduct.Policy(**data.model_dump()))
    return data.model_dump()


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
