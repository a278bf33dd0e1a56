"""A township family doctor's care of one chronic patient through the browser alone: the follow-up on
the national record that changes the colour and next date, a long prescription (the rule's refusal
beside the field, then twelve weeks), an upward referral with a reserved county place picked on the
calendar and its 双向转诊单, and an exam order answered by the mutual-recognition prompt."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from tests.journeys.helpers import CLOCK, choose, screenshot, sign_in
from yilian.auth import scoping
from yilian.auth.rules import Subject
from yilian.kit.db import make_engine
from yilian.kit.masking import mask_id_number
from yilian.models import (
    ChronicRegister,
    ConsortiumMember,
    Contract,
    Department,
    DiagnosticCentre,
    ExamOrder,
    ExamReport,
    Institution,
    Resident,
    Schedule,
    Slot,
    User,
    UserGrid,
)
from yilian.residents.repository import in_force

pytestmark = pytest.mark.browser


def patient(session: Session, doctor: User, offset: int) -> Resident:
    """A signed hypertensive patient of the doctor's villages, under 60, on no other register."""
    today = CLOCK.now().date()
    grids = select(UserGrid.grid_id).where(UserGrid.user_id == doctor.id)
    register = aliased(ChronicRegister)
    other = exists().where(register.resident_id == Resident.id, register.disease != "hypertension")
    found = session.scalar(
        select(Resident)
        .join(ChronicRegister, ChronicRegister.resident_id == Resident.id)
        .where(
            Resident.grid_id.in_(grids),
            Resident.status == "active",
            Resident.birth_date > date(today.year - 60, 1, 1),
            ChronicRegister.disease == "hypertension",
            ChronicRegister.colour.in_(("red", "yellow")),
            exists().where(Contract.resident_id == Resident.id, in_force(today)),
            ~other,
        )
        .order_by(Resident.id)
        .offset(offset)
        .limit(1)
    )
    assert found is not None, "the synthetic county should give jtys1 signed hypertensive patients"
    return found


def signed_in_page(browser: Any, base: str, path: str) -> Any:
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 1500})
    sign_in(page, base, "jtys1", path)
    return page


def test_follow_up_changes_colour_and_next_date_then_long_prescription(
    county: tuple[str, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    base, url = county
    engine = make_engine(url)
    with Session(engine) as session:
        doctor = session.scalar(select(User).where(User.username == "jtys1"))
        assert doctor is not None
        resident = patient(session, doctor, 0)
        resident_id = resident.id
        before = session.scalar(
            select(ChronicRegister).where(
                ChronicRegister.resident_id == resident_id, ChronicRegister.disease == "hypertension"
            )
        )
        assert before is not None
        colour_before, next_before = before.colour, before.next_due_on

    page = signed_in_page(browser, base, f"/app/residents/{resident_id}")
    page.get_by_role("button", name="慢病随访").click()
    expect(page).to_have_url(re.compile(rf"/app/family-doctor/residents/{resident_id}/follow-up$"))
    expect(page.get_by_role("heading", name="高血压患者随访服务记录表")).to_be_visible()
    expect(page.get_by_test_id("colour-hypertension")).to_have_text(
        {"red": "红", "yellow": "黄"}[colour_before or ""]
    )
    page.get_by_role("radio", name="家庭").check(force=True)
    page.get_by_text("无症状", exact=True).click()
    page.get_by_label("收缩压").fill("126")
    page.get_by_label("舒张压").fill("78")
    page.get_by_label("体重", exact=True).fill("66")
    page.get_by_label("心率").fill("72")
    page.get_by_role("radio", name="控制满意").check(force=True)
    page.get_by_label("药物名称1").fill("苯磺酸氨氯地平片")
    page.get_by_label("用法1").fill("每日1次")
    page.get_by_label("用量1").fill("5mg")
    page.get_by_role("button", name="保存随访").click()
    expect(page.get_by_text("随访已保存")).to_be_visible()

    with Session(engine) as session:
        after = session.scalar(
            select(ChronicRegister).where(
                ChronicRegister.resident_id == resident_id, ChronicRegister.disease == "hypertension"
            )
        )
        assert after is not None and after.next_due_on is not None
        colour_after, next_after = after.colour, after.next_due_on
    assert (colour_after, next_after) != (colour_before, next_before)
    expect(page.get_by_test_id("colour-hypertension")).to_have_text(
        {"red": "红", "yellow": "黄", "green": "绿"}[colour_after or ""]
    )
    expect(page.get_by_test_id("next-hypertension")).to_have_text(next_after.isoformat())
    expect(page.get_by_role("cell", name="苯磺酸氨氯地平片 每日1次 5mg")).to_be_visible()
    page.get_by_test_id("colour-hypertension").scroll_into_view_if_needed()
    screenshot(page, "family-doctor-follow-up")

    page.get_by_text("返回居民详情").click()
    page.get_by_role("button", name="长期处方").click()
    page.get_by_label("用药天数").fill("91")
    choose(page, "药品1")
    page.get_by_role("option").first.click()
    with page.expect_response(re.compile("/api/prescriptions")) as refused:
        page.get_by_role("button", name="开具处方").click()
    assert refused.value.status == 422, refused.value.text()
    expect(page.get_by_text("长处方最长12周（84天），本处方91天")).to_be_visible()
    screenshot(page, "family-doctor-long-prescription-refused")
    page.get_by_label("用药天数").fill("84")
    page.get_by_role("button", name="开具处方").click()
    if colour_after == "green":
        expect(page.get_by_text("长期处方已开具").first).to_be_visible()
    else:  # the rule names what the patient lacks, beside the days
        expect(page.get_by_text(re.compile("超过30天的长处方须满足"))).to_be_visible()
    screenshot(page, "family-doctor-long-prescription")
    engine.dispose()


def test_refers_up_on_a_reserved_day_prints_the_slip_and_reuses_a_recognised_exam(
    county: tuple[str, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    base, url = county
    engine = make_engine(url)
    day = CLOCK.now().date() + timedelta(days=3)
    with Session(engine) as session:
        doctor = session.scalar(select(User).where(User.username == "jtys1"))
        assert doctor is not None and doctor.institution_id is not None
        resident = patient(session, doctor, 1)
        resident_id, id_number = resident.id, resident.id_number
        subject = Subject(
            user_id=doctor.id,
            username=doctor.username,
            role=doctor.role,
            institution_id=doctor.institution_id,
        )
        consortium_id = scoping.home_consortium(session, subject)
        hospital = session.scalar(
            select(Institution)
            .join(ConsortiumMember, ConsortiumMember.institution_id == Institution.id)
            .where(ConsortiumMember.consortium_id == consortium_id, Institution.level.in_(("二级", "三级")))
            .order_by(Institution.id)
            .limit(1)
        )
        assert hospital is not None
        # Arrange: a cardiology clinic with two reserved places three days ahead.
        department = Department(institution_id=hospital.id, code="JOURNEY-XNK", name="心血管内科（旅程）")
        session.add(department)
        session.flush()
        schedule = Schedule(
            institution_id=hospital.id, department_id=department.id, kind="clinic", name="心内科专家门诊"
        )
        session.add(schedule)
        session.flush()
        for minute in (0, 10):
            starts = datetime.combine(day, time(9, minute))
            session.add(
                Slot(
                    schedule_id=schedule.id,
                    institution_id=hospital.id,
                    starts_at=starts,
                    ends_at=starts + timedelta(minutes=10),
                    pool="reserved",
                    capacity=1,
                    booked=0,
                )
            )
        # Arrange: an ECG read yesterday at the consortium's centre (recognised for 7 days, no QC needed).
        centre = session.scalar(
            select(DiagnosticCentre).where(
                DiagnosticCentre.consortium_id == consortium_id, DiagnosticCentre.kind == "ecg"
            )
        )
        assert centre is not None
        yesterday = CLOCK.now() - timedelta(days=1)
        order = ExamOrder(
            accession_number=f"JRN{resident_id}"[:16],
            resident_id=resident_id,
            ordering_institution_id=doctor.institution_id,
            centre_id=centre.id,
            item_code="ECG-12",
            item_name="常规十二导联心电图",
            modality="ECG",
            priority=2,
            status="reported",
            price_fen=2500,
            ordered_at=yesterday - timedelta(hours=2),
        )
        session.add(order)
        session.flush()
        session.add(
            ExamReport(
                order_id=order.id,
                reader_institution_id=centre.host_institution_id,
                findings="窦性心律",
                impression="窦性心律，正常心电图",
                reported_at=yesterday,
            )
        )
        session.commit()
        hospital_name, order_id = hospital.name, order.id

    page = signed_in_page(browser, base, f"/app/residents/{resident_id}")
    page.get_by_role("button", name="上转").click()
    choose(page, "转入医院")
    page.get_by_role("option", name=re.compile(re.escape(hospital_name))).click()
    choose(page, "转入科室")
    page.get_by_role("option", name="心血管内科（旅程）").click()
    choose(page, "初步诊断")
    page.get_by_role("combobox", name="初步诊断").fill("高血压")
    page.get_by_role("option", name="高血压（I10.x00）").click()
    page.get_by_label("病情摘要").fill("高血压3年，近两周血压控制不满意，伴头晕")
    page.get_by_label("转诊原因").fill("需专科调整降压方案")
    page.get_by_role("radio", name="紧急").check(force=True)
    page.get_by_test_id(f"reserved-{day.isoformat()}").click()
    expect(page.get_by_test_id(f"reserved-{day.isoformat()}")).to_contain_text("余2")
    page.get_by_role("radio", name=re.compile("^09:00")).check(force=True)
    screenshot(page, "family-doctor-referral")
    page.get_by_role("button", name="提交上转").click()
    expect(page.get_by_text("上转申请已提交")).to_be_visible()
    expect(page.get_by_text(re.compile(f"就诊时间 {day.isoformat()} 09:00"))).to_be_visible()

    with page.expect_popup() as popup:
        page.get_by_role("button", name="打印双向转诊单").click()
    sheet = popup.value
    expect(sheet.get_by_role("heading", name="双向转诊单（存根）")).to_be_visible()
    expect(sheet.get_by_role("heading", name="双向转诊单（转出单）")).to_be_visible()
    expect(sheet.get_by_text(mask_id_number(id_number)).first).to_be_visible()
    assert id_number not in sheet.content()
    expect(sheet.get_by_text("高血压（I10.x00）").first).to_be_visible()
    expect(sheet.get_by_text(f"{day.year}年{day.month}月{day.day}日 09:00").first).to_be_visible()
    screenshot(sheet, "family-doctor-referral-slip")
    sheet.close()

    page.get_by_role("button", name="返回居民详情", exact=True).click()
    page.get_by_role("button", name="开具检查").click()
    choose(page, "检查项目")
    page.get_by_role("option", name=re.compile("常规十二导联心电图")).click()
    page.get_by_label("临床说明").fill("头晕心悸")
    page.get_by_role("button", name="开具检查").click()
    prompt = page.get_by_role("dialog", name="已有可互认的检查结果")
    expect(prompt.get_by_text("窦性心律，正常心电图")).to_be_visible()
    screenshot(page, "family-doctor-exam-recognition")
    prompt.get_by_role("button", name="采用已有结果").click()
    expect(page.get_by_text("已采用互认结果").first).to_be_visible()
    with Session(engine) as session:
        assert (
            session.scalar(
                select(ExamOrder.id).where(ExamOrder.resident_id == resident_id).order_by(ExamOrder.id.desc())
            )
            == order_id
        )
    engine.dispose()
