"""The county hospital's day in the browser: ys1 (a doctor of the county hospital) receives the day's
booked patients — checks one in, sees that tomorrow's cannot be yet and why — and refers a patient back
down to the township with a rehabilitation and follow-up plan; as the imaging centre's reader ys1 works
the worklist and writes a report from a template with a common phrase beside the patient's prior
report, flags a critical value, and the ordering township (jtys1) sees the alert and acknowledges it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.journeys.helpers import CLOCK, PASSWORD, choose, screenshot, sign_in
from yilian.kit.db import make_engine
from yilian.models import Department, Institution, Referral, Resident, User, UserGrid

pytestmark = pytest.mark.browser


def _token(http: httpx.Client, username: str) -> dict[str, str]:
    token = http.post("/api/auth/token", json={"username": username, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def _facts(url: str, residents: int) -> tuple[int, int, int, str, list[Resident]]:
    """(hospital, one of its departments, jtys1's township and its name, fresh residents of jtys1's grid)."""
    engine = make_engine(url)
    with Session(engine) as session:
        doctor = session.scalar(select(User).where(User.username == "ys1"))
        family = session.scalar(select(User).where(User.username == "jtys1"))
        assert doctor is not None and family is not None and doctor.institution_id and family.institution_id
        department = session.scalar(
            select(Department.id).where(Department.institution_id == doctor.institution_id).limit(1)
        )
        assert department is not None
        township = session.get(Institution, family.institution_id)
        assert township is not None
        grids = select(UserGrid.grid_id).where(UserGrid.user_id == family.id)
        chosen = list(
            session.scalars(
                select(Resident)
                .where(Resident.grid_id.in_(grids), Resident.status == "active")
                .order_by(Resident.id.desc())
                .offset(10 if residents == 2 else 20)  # apart from the other journeys' residents
                .limit(residents)
            )
        )
        session.expunge_all()
    engine.dispose()
    return doctor.institution_id, department, township.id, township.name, chosen


def test_arrivals_check_in_on_the_day_and_refer_down_with_a_plan(
    county: tuple[str, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    base, url = county
    hospital_id, department_id, township_id, township_name, (today_patient, tomorrow_patient) = _facts(url, 2)
    today, tomorrow = CLOCK.now().date(), CLOCK.now().date() + timedelta(days=1)
    soon = (CLOCK.now() + timedelta(minutes=10)).replace(second=0, microsecond=0)

    # Arrange through the API: a clinic with sessions today and tomorrow, two upward referrals booked
    # into them by the township's family doctor, today's accepted by the hospital.
    with httpx.Client(base_url=base) as http:
        admin, family, doctor = _token(http, "yy1"), _token(http, "jtys1"), _token(http, "ys1")
        schedule = http.post(
            "/api/schedules",
            headers=admin,
            json={
                "institution_id": hospital_id,
                "department_id": department_id,
                "kind": "clinic",
                "name": "神经内科专家门诊",
            },
        ).json()
        slots = {}
        for day, start in ((today, f"{soon:%H:%M}"), (tomorrow, "08:00")):
            published = http.post(
                f"/api/schedules/{schedule['id']}/sessions",
                headers=admin,
                json={"day": day.isoformat(), "start": start, "minutes": 5, "count": 5},
            )
            assert published.status_code == 201, published.text
            slots[day] = next(s for s in published.json() if s["pool"] == "reserved")
        referrals = {}
        for resident, day in ((today_patient, today), (tomorrow_patient, tomorrow)):
            sent = http.post(
                "/api/referrals",
                headers=family,
                json={
                    "resident_id": resident.id,
                    "direction": "up",
                    "to_institution_id": hospital_id,
                    "diagnoses": ["I10.x00", "I63.900"],
                    "summary": "血压控制不佳伴言语不清，疑脑梗，请上级诊治",
                    "reason": "需头颅CT及专科评估",
                    "slot_id": slots[day]["id"],
                },
            )
            assert sent.status_code == 201, sent.text
            referrals[day] = sent.json()["id"]
        accepted = http.post(
            f"/api/referrals/{referrals[today]}/transition", headers=doctor, json={"status": "accepted"}
        )
        assert accepted.status_code == 200, accepted.text

    page = browser.new_page(locale="zh-CN", viewport={"width": 1440, "height": 900})
    sign_in(page, base, "ys1")
    page.get_by_role("menuitem", name="今日到诊").click()
    expect(page).to_have_url(f"{base}/app/hospital/arrivals")
    row = page.locator(".el-table__row", has_text=today_patient.name)
    expect(row).to_contain_text(slots[today]["starts_at"][11:16])
    expect(row).to_contain_text(township_name)
    expect(row).to_contain_text("转诊")
    expect(row).to_contain_text("待到诊")
    row.get_by_role("button", name="登记到诊").click()
    expect(page.get_by_text(f"{today_patient.name}已登记到诊")).to_be_visible()
    expect(row).to_contain_text("已到诊")
    screenshot(page, "hospital-arrivals")

    # Tomorrow's patient: the button is there but closed, and the row says why.
    picker = page.locator(".el-date-editor input")
    picker.fill(tomorrow.isoformat())
    picker.press("Enter")
    later = page.locator(".el-table__row", has_text=tomorrow_patient.name)
    expect(later.get_by_role("button", name="登记到诊")).to_be_disabled()
    expect(later).to_contain_text(f"预约就诊日为{tomorrow.isoformat()}，当天才能登记到诊")
    screenshot(page, "hospital-arrivals-tomorrow")

    # Back to today: refer the arrived patient down with the plan.
    picker.fill(today.isoformat())
    picker.press("Enter")
    row.get_by_role("button", name="下转基层").click()
    dialog = page.get_by_role("dialog", name="下转基层")
    receiver = dialog.locator(".el-select", has=page.get_by_role("combobox", name="接收机构"))
    expect(receiver).to_contain_text(township_name)  # back to the township that sent the patient up
    dialog.get_by_role("button", name="下转").click()
    expect(dialog.get_by_text("请填写在本院的诊疗经过")).to_be_visible()
    dialog.get_by_label("诊疗经过").fill(
        "头颅CT示左侧基底节区腔隙性脑梗死，予抗血小板、降压、降脂治疗7天，言语较前改善"
    )
    dialog.get_by_label("康复/治疗方案").fill(
        "阿司匹林100mg每日一次，阿托伐他汀20mg每晚一次，氨氯地平5mg每日一次；言语及肢体康复训练"
    )
    dialog.get_by_text("血压监测").click()
    dialog.get_by_text("康复训练指导").click()
    dialog.get_by_label("回转指征").fill("血压≥180/110mmHg或言语、肢体症状加重")
    screenshot(page, "hospital-refer-down")
    dialog.get_by_role("button", name="下转").click()
    expect(page.get_by_text("已下转，基层家庭医生将接收并随访")).to_be_visible()
    page.close()

    # The township's family doctor has it in the referrals coming in, plan and all.
    with httpx.Client(base_url=base) as http:
        incoming = http.get(
            "/api/referrals",
            headers=_token(http, "jtys1"),
            params={"box": "incoming", "status": "requested", "limit": 200},
        ).json()["items"]
    (down,) = [r for r in incoming if r["resident_id"] == today_patient.id]
    assert down["direction"] == "down" and down["to_institution_id"] == township_id
    assert "【康复/治疗方案】阿司匹林100mg" in down["summary"] and "血压监测、康复训练指导" in down["summary"]
    engine = make_engine(url)
    with Session(engine) as session:
        assert session.get(Referral, referrals[today]).status == "completed"  # type: ignore[union-attr]
    engine.dispose()

    # On screen at the township: jtys1 receives the patient, records the return, takes them into
    # follow-up; each step confirmed, the status in words.
    page = browser.new_page(locale="zh-CN")
    sign_in(page, base, "jtys1")
    page.get_by_role("menuitem", name="转诊接收").click()
    row = page.get_by_role("row", name=re.compile(today_patient.name))
    expect(row).to_contain_text("下转")
    row.get_by_role("button", name="接收").click()
    page.get_by_role("dialog", name="接收转诊").get_by_role("button", name="接收").click()
    expect(page.get_by_text("已接收转诊")).to_be_visible()
    choose(page, "状态")
    page.get_by_role("option", name="已接收").click()
    page.get_by_role("button", name="查询").click()
    row = page.get_by_role("row", name=re.compile(today_patient.name))
    row.get_by_role("button", name="患者已回").click()
    page.get_by_role("dialog").get_by_role("button", name="患者已回").click()
    expect(page.get_by_text("已记为“患者已回”")).to_be_visible()
    choose(page, "状态")
    page.get_by_role("option", name="已到诊").click()
    page.get_by_role("button", name="查询").click()
    row = page.get_by_role("row", name=re.compile(today_patient.name))
    row.get_by_role("button", name="转入随访").click()
    page.get_by_role("dialog").get_by_role("button", name="转入随访").click()
    expect(page.get_by_text("已记为“转入随访”")).to_be_visible()
    choose(page, "状态")
    page.get_by_role("option", name="下转随访").click()
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("row", name=re.compile(today_patient.name))).to_contain_text("下转随访")
    expect(page.locator(".el-loading-mask")).to_have_count(0)
    screenshot(page, "township-down-referral-followed-up")
    page.close()


def test_reader_reports_from_a_template_flags_a_critical_value_and_the_township_acknowledges(
    county: tuple[str, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    base, url = county
    _, _, _, _, (patient,) = _facts(url, 1)

    # Arrange through the API: an earlier chest film reported, then a new one taken at the township.
    with httpx.Client(base_url=base) as http:
        family, reader = _token(http, "jtys1"), _token(http, "ys1")

        def order(**extra: object) -> dict[str, Any]:
            body = {
                "resident_id": patient.id,
                "item_code": "DR-CHEST",
                "clinical_note": "咳嗽咳痰两周，发热",
                **extra,
            }
            placed = http.post("/api/diagnostics/orders", headers=family, json=body)
            if placed.status_code == 409:  # a recognised result exists: the doctor repeats it with a reason
                placed = http.post(
                    "/api/diagnostics/orders", headers=family, json={**body, "repeat_reason": "症状加重复查"}
                )
            assert placed.status_code == 201, placed.text
            acquired = http.post(
                f"/api/diagnostics/orders/{placed.json()['id']}/acquired", headers=family, json={}
            )
            assert acquired.status_code == 200, acquired.text
            return dict(placed.json())

        earlier = order()
        reported = http.post(
            f"/api/diagnostics/orders/{earlier['id']}/report",
            headers=reader,
            json={"findings": "双肺纹理增多、增粗", "impression": "支气管炎"},
        )
        assert reported.status_code == 200, reported.text
        current = order(repeat_reason="症状加重复查")

    page = browser.new_page(locale="zh-CN", viewport={"width": 1440, "height": 900})
    sign_in(page, base, "ys1")
    page.get_by_role("menuitem", name="读片工作台").click()
    expect(page).to_have_url(f"{base}/app/diagnostics/worklist")
    expect(page.locator(".el-pagination__total")).to_be_visible()
    page.get_by_label("查找").fill(current["accession_number"])
    page.get_by_role("button", name="查询").click()
    row = page.locator(".el-table__row", has_text=current["accession_number"])
    expect(row).to_contain_text(patient.name)
    expect(row).to_contain_text("数字X线摄影(DR)")
    expect(row.get_by_test_id("waiting")).to_have_class("wait ok")
    expect(row.get_by_test_id("waiting")).to_contain_text("/ 2小时")
    page.get_by_label("查找").fill("")
    page.get_by_role("button", name="查询").click()
    expect(page.locator(".el-pagination__total")).not_to_have_text("共 1 条")
    expect(page.locator(".el-loading-mask")).to_have_count(0)
    screenshot(page, "hospital-worklist")
    page.get_by_label("查找").fill(current["accession_number"])
    page.get_by_role("button", name="查询").click()
    row.get_by_role("button", name="书写报告").click()

    expect(page.get_by_test_id("priors")).to_contain_text("支气管炎")
    choose(page, "报告模板")
    page.get_by_role("option", name="胸部正位片（肺炎）").click()
    expect(page.get_by_label("检查所见")).to_have_value(
        "胸廓对称，气管居中。右下肺野见斑片状模糊影，边界不清，其内未见空洞。余肺纹理增多、增粗。双肺门影不大。心影大小、形态未见异常。双侧膈面光整，肋膈角锐利。"
    )
    impression = page.get_by_label("诊断意见")
    impression.click()
    impression.press("End")
    page.get_by_role("button", name="建议短期复查").click()
    expect(impression).to_have_value("右下肺炎，建议抗感染治疗后复查。建议短期复查。")
    page.locator("form").get_by_text("危急值", exact=True).click()
    page.get_by_label("危急值说明").fill("右侧大量气胸，请立即处理")
    screenshot(page, "hospital-report-editor")
    page.get_by_role("button", name="签发报告").click()
    page.get_by_role("button", name="签发并通知").click()
    expect(page.get_by_text("危急值已通知开单机构：")).to_be_visible()
    page.close()

    # The ordering township: the critical value waits on its results screen until acknowledged.
    township = browser.new_page(locale="zh-CN", viewport={"width": 1440, "height": 900})
    sign_in(township, base, "jtys1")
    township.get_by_role("menuitem", name="检查结果与危急值").click()
    alert = township.get_by_test_id("alerts").locator(".alert-row", has_text=patient.name)
    expect(alert).to_contain_text("气胸")
    screenshot(township, "hospital-critical-alert")
    alert.get_by_role("button", name="确认处理").click()
    dialog = township.get_by_role("dialog", name="确认危急值处理")
    dialog.get_by_label("处理措施").fill("已电话通知患者，转县医院急诊")
    dialog.get_by_role("button", name="确认处理").click()
    expect(township.get_by_text("危急值已确认处理")).to_be_visible()
    expect(township.locator(".alert-row", has_text=patient.name)).to_have_count(0)
    township.goto(f"{base}/app/print/exam-report/{current['id']}")
    expect(township.get_by_test_id("impression")).to_have_text(
        "右下肺炎，建议抗感染治疗后复查。建议短期复查。"
    )
    screenshot(township, "hospital-exam-report")
    township.close()
