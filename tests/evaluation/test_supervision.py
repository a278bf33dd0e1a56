"""Reform task supervision on the database: import, members, progress on one's own tasks, status."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.auth.test_web_login import login
from tests.evaluation.test_tasks import ANNEX_004
from tests.factories.auth import PASSWORD, bearer, create_user
from tests.factories.world import build_world
from tests.insurance.test_service import actor_for
from yilian.auth import rules as roles
from yilian.evaluation import supervision
from yilian.kit.errors import Forbidden, ValidationFailed
from yilian.models import ReformTask, TaskProgress


def as_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def test_units_report_on_their_own_tasks_and_the_office_sees_the_flags(session: Session) -> None:
    world = build_world(session)
    office = actor_for(session, world.commission)
    task_list = supervision.do_import_task_list(
        session,
        actor=office,
        name="灵武市县域紧密型医共体2021年重点任务清单",
        filename="tasks.csv",
        data=as_csv(ANNEX_004),
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


def test_the_page_flags_overdue_tasks_and_takes_a_report(
    client: TestClient, session: Session, clock: object
) -> None:
    world = build_world(session)
    office = bearer(session, world.commission)
    imported = client.post(
        "/api/tasks/lists",
        data={"name": "2021年重点任务清单"},
        files={"file": ("t.csv", as_csv(ANNEX_004))},
        headers=office,
    )
    assert imported.status_code == 201, imported.text
    lead = create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.hospital.id)
    client.post(
        "/api/tasks/members",
        files={"file": ("m.csv", as_csv([["单位", "账号"], ["医疗健康总院", lead.username]]))},
        headers=office,
    )
    assert login(client, lead.username, PASSWORD) == 200
    # The unit sees its two tasks (it leads one, cooperates on one); on 2026-11-24 both are overdue.
    page = client.get("/tasks")
    assert page.status_code == 200 and page.text.count('class="missed"') == 2
    task_id = session.scalar(select(ReformTask.id).where(ReformTask.division.contains("黑名单")))
    assert f'action="/tasks/{task_id}/progress"' in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    sent = client.post(
        f"/tasks/{task_id}/progress",
        data={
            "csrf": token,
            "list_id": imported.json()["id"],
            "percent": "100",
            "note": "已完成",
            "done": "1",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert client.get("/tasks").text.count('class="missed"') == 1


def test_an_account_without_a_unit_is_told_so(client: TestClient, session: Session) -> None:
    world = build_world(session)
    assert login(client, world.doctor.username, PASSWORD) == 200
    page = client.get("/tasks")
    assert page.status_code == 200 and "未被指定为任何责任单位" in page.text
