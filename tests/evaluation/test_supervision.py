"""Reform task supervision on the database: import, members, progress on one's own tasks, status."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import actor_for, bearer, create_user
from tests.factories.evaluation import TASK_LIST_004, as_csv
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.evaluation import supervision
from yilian.kit.errors import Forbidden, ValidationFailed
from yilian.models import ReformTask, TaskProgress


def test_units_report_on_their_own_tasks_and_the_office_sees_the_flags(session: Session) -> None:
    world = build_world(session)
    office = actor_for(session, world.commission)
    task_list = supervision.do_import_task_list(
        session,
        actor=office,
        name="灵武市县域紧密型医共体2021年重点任务清单",
        filename="tasks.csv",
        data=as_csv(TASK_LIST_004),
    )
    assert session.scalar(select(func.count()).select_from(ReformTask)) == 5
    hospital_admin = create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.hospital.id)
    finance = create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.township_b.id)
    members = as_csv(
        [["单位", "账号"], ["医疗健康总院", hospital_admin.username], ["市财政局", finance.username]]
    )
    assert supervision.do_assign_members(session, actor=office, filename="m.csv", data=members) == 2

    tasks = list(session.scalars(select(ReformTask).order_by(ReformTask.seq)))
    five_unified = tasks[2]  # 五统一: lead 市卫生健康局; cooperating 市财政局 … 医疗健康总院
    blacklist = tasks[4]  # 记分和黑名单制度: lead 医疗健康总院
    assert "五统一" in five_unified.division and "黑名单" in blacklist.division
    total = actor_for(session, hospital_admin)
    treasury = actor_for(session, finance)

    supervision.do_report_progress(
        session,
        actor=treasury,
        task_id=five_unified.id,
        percent=40,
        note="财务核算中心方案已印发",
        evidence="灵财发〔2021〕12号",
        done=False,
    )
    with pytest.raises(Forbidden):  # 市财政局 is not named on the blacklist task
        supervision.do_report_progress(
            session, actor=treasury, task_id=blacklist.id, percent=10, note="x", evidence="", done=False
        )
    with pytest.raises(ValidationFailed) as failure:  # cooperating units do not close a task
        supervision.do_report_progress(
            session, actor=total, task_id=five_unified.id, percent=100, note="完成", evidence="", done=True
        )
    assert [e.field for e in failure.value.errors] == ["done"]
    supervision.do_report_progress(
        session,
        actor=total,
        task_id=blacklist.id,
        percent=100,
        note="记分和黑名单制度已印发",
        evidence="总院发〔2021〕8号",
        done=True,
    )
    assert session.scalar(select(func.count()).select_from(TaskProgress)) == 2

    # 2021-04-20: the April tasks are due within 15 days; on 2021-06-01 they are overdue.
    april = supervision.status(session, actor=office, list_id=task_list.id, today=date(2021, 4, 20))
    assert [t.state for t in april["tasks"]] == ["due_soon", "due_soon", "on_track", "on_track", "done"]
    june = supervision.status(session, actor=office, list_id=task_list.id, today=date(2021, 6, 1))
    assert june["counts"] == {
        "已完成": 1, "已逾期": 3, "即将到期": 0, "按期推进": 1, "持续推进": 0, "未到开始时间": 0
    }
    own = supervision.status(session, actor=treasury, list_id=task_list.id, today=date(2021, 6, 1))
    assert [(t.id, t.percent) for t in own["tasks"]] == [(five_unified.id, 40)]
    with pytest.raises(Forbidden):
        supervision.status(session, actor=treasury, list_id=task_list.id, unit="医疗健康总院")


def test_the_status_api_flags_overdue_tasks_pages_filters_and_exports(
    client: TestClient, session: Session, clock: object
) -> None:
    world = build_world(session)
    office = bearer(session, world.commission)
    imported = client.post(
        "/api/tasks/lists",
        data={"name": "2021年重点任务清单"},
        files={"file": ("t.csv", as_csv(TASK_LIST_004))},
        headers=office,
    )
    assert imported.status_code == 201, imported.text
    list_id = imported.json()["id"]
    lead = create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.hospital.id)
    client.post(
        "/api/tasks/members",
        files={"file": ("m.csv", as_csv([["单位", "账号"], ["医疗健康总院", lead.username]]))},
        headers=office,
    )
    unit = bearer(session, lead)
    listed = client.get("/api/tasks/lists", headers=unit).json()
    assert [i["id"] for i in listed["items"]] == [list_id]
    assert listed["units"] == ["医疗健康总院"] and listed["supervisor"] is False
    assert client.get("/api/tasks/lists", headers=office).json()["supervisor"] is True
    # The unit sees its two tasks (it leads one, cooperates on one); on 2026-11-24 both are overdue.
    mine = client.get(f"/api/tasks/lists/{list_id}/status", headers=unit).json()
    assert mine["total"] == 2 and [t["state"] for t in mine["tasks"]] == ["overdue", "overdue"]
    task = next(t for t in mine["tasks"] if "黑名单" in t["division"])
    assert task["may_report"] and task["may_close"]
    sent = client.post(
        f"/api/tasks/{task['id']}/progress",
        json={"percent": 100, "note": "已完成", "done": True},
        headers=unit,
    )
    assert sent.status_code == 201, sent.text
    overdue = client.get(f"/api/tasks/lists/{list_id}/status", params={"state": "overdue"}, headers=unit).json()
    assert overdue["total"] == 1
    everything = client.get(f"/api/tasks/lists/{list_id}/status", headers=office).json()
    paged = client.get(
        f"/api/tasks/lists/{list_id}/status", params={"offset": 2, "limit": 2}, headers=office
    ).json()
    assert paged["total"] == everything["total"] > 2
    assert [t["id"] for t in paged["tasks"]] == [t["id"] for t in everything["tasks"][2:4]]
    exported = client.get(f"/api/tasks/lists/{list_id}/export", headers=office)
    assert exported.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(exported.content))
    assert book.active is not None and book.active.max_row == everything["total"] + 1


def test_an_account_without_a_unit_sees_no_list(client: TestClient, session: Session) -> None:
    world = build_world(session)
    listed = client.get("/api/tasks/lists", headers=bearer(session, world.doctor)).json()
    assert listed == {"items": [], "units": [], "supervisor": False}
