"""JSON endpoints of reform task supervision."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from yilian.evaluation import supervision
from yilian.kit.fields import Id, Offset
from yilian.kit.tabular import XLSX_MEDIA_TYPE, write_xlsx
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(tags=["reform tasks"])


@router.post("/api/tasks/lists", status_code=201)
def import_list(
    file: UploadFile, name: Annotated[str, Form()], actor: ApiActor, session: DbSession
) -> dict[str, Any]:
    """A list laid out like 004's annex: 改革项目, 改革任务, 重点分工, 牵头单位, 完成时限, 配合单位."""
    task_list = supervision.do_import_task_list(
        session, actor=actor, name=name, filename=file.filename or "", data=file.file.read()
    )
    return {"id": task_list.id, "name": task_list.name}


@router.post("/api/tasks/members", status_code=201)
def assign_members(file: UploadFile, actor: ApiActor, session: DbSession) -> dict[str, int]:
    return {
        "members": supervision.do_assign_members(
            session, actor=actor, filename=file.filename or "", data=file.file.read()
        )
    }


class ProgressIn(BaseModel):
    percent: int = Field(ge=0, le=100)
    note: str
    evidence: str = ""
    done: bool = False


@router.post("/api/tasks/{task_id}/progress", status_code=201)
def report(task_id: Id, data: ProgressIn, actor: ApiActor, session: DbSession) -> dict[str, Any]:
    progress = supervision.do_report_progress(session, actor=actor, task_id=task_id, **data.model_dump())
    return {"id": progress.id, "unit": progress.unit, "percent": progress.percent}


@router.get("/api/tasks/lists")
def lists(actor: ApiActor, session: DbSession) -> dict[str, Any]:
    """The lists the caller may open (newest first), the units it reports for, and whether it supervises."""
    return supervision.lists(session, actor=actor)


@router.get("/api/tasks/lists/{list_id}/status")
def list_status(
    list_id: Id,
    actor: ApiActor,
    session: DbSession,
    unit: str | None = None,
    state: str | None = None,
    offset: Offset = 0,
    limit: int = Query(500, ge=1, le=500),
) -> dict[str, Any]:
    """The list's tasks with their state (filtered by unit and state, one page of them), the counts by
    state, `total` (the filtered count) and every unit named in the tasks the caller sees."""
    result = supervision.status(session, actor=actor, list_id=list_id, unit=unit)
    tasks = [t for t in result["tasks"] if state is None or t.state == state]
    mine = supervision.units_of(session, actor.subject.user_id)
    page = [
        {
            **asdict(t),
            "may_report": bool(mine & set(t.lead_units + t.cooperating_units)),
            "may_close": bool(mine & set(t.lead_units)),
        }
        for t in tasks[offset : offset + limit]
    ]
    units = sorted({u for t in result["tasks"] for u in t.lead_units + t.cooperating_units})
    return {**result, "tasks": page, "units": units, "total": len(tasks), "offset": offset, "limit": limit}


@router.get("/api/tasks/lists/{list_id}/export")
def export_status(
    list_id: Id, actor: ApiActor, session: DbSession, unit: str | None = None, state: str | None = None
) -> Response:
    """The whole filtered list with each task's state and last report, as Excel."""
    result = supervision.status(session, actor=actor, list_id=list_id, unit=unit)
    rows = (
        [
            t.seq,
            t.project,
            t.task,
            t.division,
            "、".join(t.lead_units),
            "、".join(t.cooperating_units),
            t.deadline_text,
            t.state_label,
            t.percent,
            t.last_note,
            t.last_reported,
        ]
        for t in result["tasks"]
        if state is None or t.state == state
    )
    header = ["序号", "改革项目", "改革任务", "重点分工", "牵头单位", "配合单位", "完成时限", "状态",
              "进度(%)", "最近进展", "报告日期"]
    return Response(
        write_xlsx(header, rows, title="任务进展"),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f"attachment; filename=tasks-{list_id}.xlsx"},
    )
