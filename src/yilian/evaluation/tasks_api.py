"""JSON endpoints and the page of reform task supervision."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from yilian.evaluation import supervision
from yilian.kit.errors import AppError
from yilian.kit.fields import Id
from yilian.models import TaskList
from yilian.web.deps import ApiActor, DbSession, PageActor, check_csrf
from yilian.web.templating import render

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


@router.get("/api/tasks/lists/{list_id}/status")
def list_status(list_id: Id, actor: ApiActor, session: DbSession, unit: str | None = None) -> dict[str, Any]:
    result = supervision.status(session, actor=actor, list_id=list_id, unit=unit)
    return {**result, "tasks": [asdict(t) for t in result["tasks"]]}


@router.get("/tasks", response_class=HTMLResponse)
def tasks_page(
    request: Request, actor: PageActor, session: DbSession, list_id: Id = 0, unit: str = "", error: str = ""
) -> Response:
    """One page per list (and unit): every task with its state, red when overdue."""
    lists = session.execute(select(TaskList.id, TaskList.name).order_by(TaskList.id.desc())).all()
    list_id = list_id or (lists[0][0] if lists else 0)
    mine = supervision.units_of(session, actor.subject.user_id)
    if not (mine or actor.subject.may(supervision.SUPERVISORS)):
        error, list_id = error or "本账号未被指定为任何责任单位的报告人，请联系卫健委（医改办）", 0
    data = supervision.status(session, actor=actor, list_id=list_id, unit=unit or None) if list_id else None
    shown = data["tasks"] if data else []
    may_report = {t.id for t in shown if mine & set(t.lead_units + t.cooperating_units)}
    may_close = {t.id for t in shown if mine & set(t.lead_units)}
    return render(
        request,
        "tasks.html",
        lists=lists,
        list_id=list_id,
        unit=unit,
        data=data,
        may_report=may_report,
        may_close=may_close,
        error=error,
    )


@router.post("/tasks/{task_id}/progress")
def report_from_page(
    request: Request,
    task_id: Id,
    actor: PageActor,
    session: DbSession,
    csrf: Annotated[str, Form()],
    list_id: Annotated[Id, Form()],
    percent: Annotated[int, Form()],
    note: Annotated[str, Form()],
    evidence: Annotated[str, Form()] = "",
    done: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        with session.begin_nested():
            supervision.do_report_progress(
                session,
                actor=actor,
                task_id=task_id,
                percent=percent,
                note=note,
                evidence=evidence,
                done=bool(done),
            )
    except AppError as error:
        message = error.message_for_page()
        return tasks_page(request, actor, session, list_id=list_id, error=message)
    return RedirectResponse(f"/tasks?list_id={list_id}", status_code=303)
