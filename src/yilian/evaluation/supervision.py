"""Reform task supervision: import a list, say which accounts report for which unit, report progress
with evidence on one's own tasks, and see a list's status per unit with overdue and soon-due flags.

The supervising office (the health commission, 医改办) imports lists and sees everything; a unit
sees and reports on the tasks it leads or cooperates on; only a lead unit marks a task done.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yilian.auth import repository as auth_repository
from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.evaluation import tasks as rules
from yilian.kit.errors import FieldError, Forbidden, NotFound, ValidationFailed
from yilian.kit.tabular import read_rows, read_table
from yilian.models import ReformTask, TaskList, TaskProgress, TaskUnitMember

SUPERVISORS = frozenset({roles.COMMISSION})


def _supervisor(actor: Actor) -> None:
    if not actor.subject.may(SUPERVISORS):
        raise Forbidden(
            "只有卫健委（医改办）可以导入任务清单和指定责任单位",
            "Only the supervising office manages task lists",
        )


def do_import_task_list(session: Session, *, actor: Actor, name: str, filename: str, data: bytes) -> TaskList:
    _supervisor(actor)
    parsed = rules.parse_task_list(read_table(filename, data), year=rules.list_year(name, filename))
    task_list = TaskList(name=name, imported_at=actor.clock.now(), imported_by=actor.subject.user_id)
    session.add(task_list)
    session.flush()
    session.add_all(
        ReformTask(
            list_id=task_list.id,
            seq=seq,
            project=t.project,
            task=t.task,
            division=t.division,
            lead_units=json.dumps(list(t.lead_units), ensure_ascii=False),
            cooperating_units=json.dumps(list(t.cooperating_units), ensure_ascii=False),
            deadline_text=t.deadline_text,
            deadline=t.deadline,
            ongoing=t.ongoing,
            opens_on=t.opens,
        )
        for seq, t in enumerate(parsed, start=1)
    )
    session.flush()
    actor.record_change(
        session, action="import", entity="task_list", entity_id=task_list.id, resident_id=None
    )
    return task_list


def do_assign_members(session: Session, *, actor: Actor, filename: str, data: bytes) -> int:
    """单位, 账号: which accounts report for which unit (all rows or none)."""
    _supervisor(actor)
    rows = read_rows(
        filename, data, {"单位": "unit", "unit": "unit", "账号": "username", "username": "username"}
    )
    errors, pairs = [], []
    for number, row in enumerate(rows, start=2):
        user = auth_repository.user_by_username(session, row.get("username", ""))
        if not row.get("unit"):
            errors.append(FieldError("单位", "缺少单位名称", "unit is missing", number))
        if user is None:
            errors.append(
                FieldError("账号", f"账号“{row.get('username', '')}”不存在", "no such account", number)
            )
        elif row.get("unit"):
            pairs.append((row["unit"], user.id))
    if errors:
        raise ValidationFailed.none_written(errors)
    known = {(u, i) for u, i in session.execute(select(TaskUnitMember.unit, TaskUnitMember.user_id))}
    session.add_all(TaskUnitMember(unit=u, user_id=i) for u, i in dict.fromkeys(pairs) if (u, i) not in known)
    session.flush()
    return len(pairs)


def lists(session: Session, *, actor: Actor) -> dict[str, Any]:
    """The lists the caller may open: all for the supervising office, for a unit's reporter the lists
    holding a task of its units. With the units the caller reports for."""
    supervisor = actor.subject.may(SUPERVISORS)
    mine = units_of(session, actor.subject.user_id)
    counts: dict[int, int] = {
        list_id: n
        for list_id, n in session.execute(
            select(ReformTask.list_id, func.count()).group_by(ReformTask.list_id)
        )
    }
    visible: set[int] | None = None
    if not supervisor:
        visible = {
            list_id
            for list_id, lead, cooperating in session.execute(
                select(ReformTask.list_id, ReformTask.lead_units, ReformTask.cooperating_units)
            )
            if mine & set(json.loads(lead) + json.loads(cooperating))
        }
    rows = session.scalars(select(TaskList).order_by(TaskList.id.desc())).all()
    return {
        "items": [
            {
                "id": r.id,
                "name": r.name,
                "imported_at": r.imported_at.strftime("%Y-%m-%d %H:%M"),
                "tasks": counts.get(r.id, 0),
            }
            for r in rows
            if visible is None or r.id in visible
        ],
        "units": sorted(mine),
        "supervisor": supervisor,
    }


def units_of(session: Session, user_id: int) -> set[str]:
    return set(session.scalars(select(TaskUnitMember.unit).where(TaskUnitMember.user_id == user_id)))


def do_report_progress(
    session: Session, *, actor: Actor, task_id: int, percent: int, note: str, evidence: str, done: bool
) -> TaskProgress:
    task = session.get(ReformTask, task_id)
    if task is None:
        raise NotFound("任务", "task")
    lead, cooperating = set(json.loads(task.lead_units)), set(json.loads(task.cooperating_units))
    mine = units_of(session, actor.subject.user_id)
    reporting = sorted(mine & (lead | cooperating))
    if not reporting:
        raise Forbidden(
            "这不是本单位牵头或配合的任务，不能报告进展", "You can report only on your own unit's tasks"
        )
    errors = []
    if not 0 <= percent <= 100:
        errors.append(
            FieldError("percent", "完成进度应在0到100之间", "progress is a percentage from 0 to 100")
        )
    if not note.strip():
        errors.append(FieldError("note", "请填写进展情况", "describe the progress"))
    if done and not (mine & lead):
        errors.append(FieldError("done", "只有牵头单位可以确认完成", "only a lead unit marks a task done"))
    if done and percent != 100:
        errors.append(FieldError("percent", "确认完成时进度应为100", "a finished task is at 100"))
    if errors:
        raise ValidationFailed(errors, "进展报告有误", "Invalid progress report")
    now = actor.clock.now()
    report = TaskProgress(
        task_id=task.id,
        unit=reporting[0],
        percent=percent,
        note=note.strip(),
        evidence=evidence.strip(),
        reported_at=now,
        reported_by=actor.subject.user_id,
    )
    session.add(report)
    if done:
        task.done_at = now
    session.flush()
    actor.record_change(session, action="report", entity="reform_task", entity_id=task.id, resident_id=None)
    return report


@dataclass(frozen=True)
class TaskStatus:
    id: int
    seq: int
    project: str
    task: str
    division: str
    lead_units: list[str]
    cooperating_units: list[str]
    deadline_text: str
    deadline: date | None
    opens_on: date | None
    next_check: date | None
    state: str
    state_label: str
    percent: int
    last_note: str
    last_reported: str


def status(
    session: Session, *, actor: Actor, list_id: int, unit: str | None = None, today: date | None = None
) -> dict[str, Any]:
    """The list's tasks with their state; for a unit, the tasks it leads or cooperates on. The
    supervising office sees every unit; a unit's accounts see their own units."""
    task_list = session.get(TaskList, list_id)
    if task_list is None:
        raise NotFound("任务清单", "task list")
    supervisor = actor.subject.may(SUPERVISORS)
    mine = units_of(session, actor.subject.user_id)
    if not supervisor and (not mine or (unit is not None and unit not in mine)):
        raise Forbidden("只能查看本单位的任务", "You see your own unit's tasks only")
    visible = {unit} if unit else (None if supervisor else mine)
    today = today or actor.clock.now().date()
    latest = (
        select(TaskProgress.task_id, func.max(TaskProgress.id).label("last_id"))
        .group_by(TaskProgress.task_id)
        .subquery()
    )
    rows = session.execute(
        select(ReformTask, TaskProgress)
        .outerjoin(latest, latest.c.task_id == ReformTask.id)
        .outerjoin(TaskProgress, TaskProgress.id == latest.c.last_id)
        .where(ReformTask.list_id == list_id)
        .order_by(ReformTask.seq)
    ).all()
    out = []
    for task, progress in rows:
        lead, cooperating = json.loads(task.lead_units), json.loads(task.cooperating_units)
        if visible is not None and not (visible & set(lead + cooperating)):
            continue
        state = rules.task_state(
            deadline=task.deadline,
            ongoing=task.ongoing,
            done=task.done_at is not None,
            today=today,
            opens=task.opens_on,
            last_reported=progress.reported_at.date() if progress else None,
        )
        out.append(
            TaskStatus(
                task.id,
                task.seq,
                task.project,
                task.task,
                task.division,
                lead,
                cooperating,
                task.deadline_text,
                task.deadline,
                task.opens_on,
                rules.next_check(ongoing=task.ongoing, opens=task.opens_on, today=today),
                state,
                rules.STATE_LABELS[state],
                progress.percent if progress else 0,
                progress.note if progress else "",
                progress.reported_at.strftime("%Y-%m-%d") if progress else "",
            )
        )
    counts = {label: sum(1 for t in out if t.state == key) for key, label in rules.STATE_LABELS.items()}
    return {
        "list": {"id": task_list.id, "name": task_list.name},
        "unit": unit,
        "today": today.isoformat(),
        "counts": counts,
        "tasks": out,
    }
