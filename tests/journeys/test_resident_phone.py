"""The resident on a phone (/m/, Vant): signs in with a text-message code — read from the server's log,
as a tester of the demo does — sees the health card, opens the record, books hospital → department →
day → time after a confirmation, finds the booking at the top of my bookings with its slip and cancels
it, switches to a family member, and sees who looked at the record."""

from __future__ import annotations

import logging
import re
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.journeys.helpers import CLOCK, PASSWORD, screenshot
from yilian.kit.db import make_engine
from yilian.models import Department, Encounter, Guardianship, Institution, Resident, Schedule, Slot, User

pytestmark = pytest.mark.browser

# The demo's cardiology department by its exact name (another journey may add "心血管内科（旅程）").
CARDIOLOGY = re.compile(r"^\s*心血管内科(?!（)")


class ServerLog(logging.Handler):
    """The demo's console SMS sender writes each code to the server log (logger yilian.sms)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_resident_signs_in_books_cancels_switches_family_and_sees_who_looked(
    county: tuple[str, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    base, url = county
    tomorrow = CLOCK.now().date() + timedelta(days=1)
    engine = make_engine(url)
    with Session(engine) as session:
        account = session.scalar(select(User).where(User.username == "jm1"))
        hospital_admin = session.scalar(select(User).where(User.username == "yy1"))
        assert account is not None and account.resident_id is not None and hospital_admin is not None
        me = session.get(Resident, account.resident_id)
        assert me is not None
        if not me.phone:
            me.phone = "13912345678"
        ward = session.scalar(
            select(Resident)
            .where(Resident.grid_id == me.grid_id, Resident.id != me.id, Resident.status == "active")
            .order_by(Resident.birth_date.desc())
            .limit(1)
        )
        assert ward is not None
        session.add(
            Guardianship(
                guardian_resident_id=me.id,
                ward_resident_id=ward.id,
                relation="父母",
                since=ward.birth_date,
                registered_at=CLOCK.now(),
            )
        )
        cardiology = session.scalar(
            select(Department).where(
                Department.institution_id == hospital_admin.institution_id, Department.name == "心血管内科"
            )
        )
        assert cardiology is not None
        schedule = session.scalar(
            select(Schedule)
            .where(Schedule.department_id == cardiology.id, Schedule.kind == "clinic")
            .order_by(Schedule.id)  # the demo's own (another journey adds one to this department)
            .limit(1)
        )
        assert schedule is not None
        # Position 1 of a session is public (20 % reserved at positions 2 and 7 of 10).
        visits = session.scalar(select(func.count()).where(Encounter.resident_id == me.id)) or 0
        session.commit()
        phone, id_number, name, ward_name = me.phone, me.id_number, me.name, ward.name
        hospital = session.scalar(select(Institution.name).where(Institution.id == cardiology.institution_id))
        schedule_id, resident_id = schedule.id, me.id
    engine.dispose()

    # Arrange through the API: tomorrow's cardiology session (the county's slots are dated by its
    # build), and the family doctor reading the resident's record, so someone else has looked.
    with httpx.Client(base_url=base) as http:

        def bearer(username: str) -> dict[str, str]:
            token = http.post("/api/auth/token", json={"username": username, "password": PASSWORD}).json()
            return {"Authorization": f"Bearer {token['access_token']}"}

        published = http.post(
            f"/api/schedules/{schedule_id}/sessions",
            headers=bearer("yy1"),
            json={"day": tomorrow.isoformat(), "start": "14:00", "minutes": 12, "count": 10},
        )
        assert published.status_code == 201, published.text
        http.get(f"/api/residents/{resident_id}", headers=bearer("jtys1"))
    # The session's first public place (which positions are reserved follows the hospital's policy,
    # which another journey may have changed).
    engine = make_engine(url)
    with Session(engine) as session:
        public = session.scalar(
            select(Slot)
            .where(
                Slot.schedule_id == schedule_id,
                Slot.pool == "public",
                Slot.starts_at >= datetime.combine(tomorrow, time(14, 0)),
                Slot.starts_at < datetime.combine(tomorrow, time(16, 0)),
            )
            .order_by(Slot.starts_at)
            .limit(1)
        )
        assert public is not None
        when = f"{public.starts_at:%H:%M}–{public.ends_at:%H:%M}"
    engine.dispose()

    log = ServerLog()
    logging.getLogger("yilian.sms").addHandler(log)
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        device_scale_factor=2,
    )
    page = context.new_page()
    try:
        # An old bookmark of the server-rendered portal leads to the phone pages' login.
        page.goto(f"{base}/portal/booking")
        expect(page).to_have_url(re.compile(r"/m/login"))
        page.get_by_label("手机号").fill(phone)
        page.get_by_role("button", name="获取验证码").click()
        expect(page.get_by_text("验证码已发送")).to_be_visible()
        expect(page.get_by_role("button", name=re.compile("秒后重发"))).to_be_disabled()
        sent = next(line for line in reversed(log.lines) if phone in line)
        code = re.search(r"验证码为(\d{6})", sent).group(1)  # type: ignore[union-attr]
        page.get_by_label("验证码").fill(code)
        page.get_by_label("身份证号").fill(id_number)
        screenshot(page, "resident-login")
        page.get_by_role("button", name="登录", exact=True).click()

        # Signed in: back where the bookmark pointed; the health card is on the home page.
        expect(page).to_have_url(re.compile(r"/m/booking"))
        page.get_by_role("tab", name="首页").click()
        card = page.get_by_test_id("health-card")
        expect(card).to_contain_text(name)
        expect(card.get_by_role("img")).to_be_visible()
        expect(card).to_contain_text("第")
        expect(page.locator(".van-toast")).to_be_hidden()
        screenshot(page, "resident-card")

        # The record in words.
        page.get_by_role("tab", name="档案").click()
        if visits:
            first = page.get_by_test_id("visit").first
            expect(first).to_contain_text("诊断")
            expect(first).to_contain_text("元")
        else:
            expect(page.get_by_text("暂无就诊记录")).to_be_visible()
        screenshot(page, "resident-record")
        page.get_by_role("tab", name="检查报告").click()
        page.wait_for_timeout(300)

        # Booking: hospital → department → day → time → confirm.
        page.get_by_role("tab", name="挂号").click()
        page.locator(".van-cell", has_text=hospital).first.click()
        departments = page.locator(".van-cell")
        expect(departments.filter(has_text=CARDIOLOGY)).to_be_visible()
        expect(departments.filter(has_text="儿科")).to_be_visible()  # every department offered
        departments.filter(has_text=CARDIOLOGY).click()
        page.get_by_role("button", name=f"{tomorrow.month}月{tomorrow.day}日").click()
        md = f"{tomorrow.month}月{tomorrow.day}日"
        expect(page.locator(".section-title", has_text="的号源")).to_contain_text(md)  # that day's only
        slot = page.get_by_role("button", name=f"预约 {when}")
        expect(slot).to_contain_text("余1")
        screenshot(page, "resident-booking")
        slot.click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("心血管内科")
        expect(dialog).to_contain_text(name)
        dialog.get_by_role("button", name="确认预约").click()

        # My bookings: the new one at the top, with its slip; cancelled after a confirmation.
        expect(page).to_have_url(re.compile(r"/m/bookings$"))
        top = page.get_by_test_id("booking").first
        expect(top).to_contain_text(f"{tomorrow.isoformat()}")
        expect(top).to_contain_text(when)
        expect(top).to_contain_text("待就诊")
        expect(top).to_contain_text("心血管内科")
        expect(page.locator(".van-toast")).to_be_hidden()
        screenshot(page, "resident-bookings")
        top.get_by_role("button", name="预约凭条").click()
        slip = page.get_by_test_id("slip")
        expect(slip).to_contain_text("心血管内科")
        expect(slip).to_contain_text(when)
        screenshot(page, "resident-slip")
        page.go_back()
        page.get_by_test_id("booking").first.get_by_role("button", name="取消预约").click()
        page.get_by_role("dialog").get_by_role("button", name="取消预约").click()
        expect(page.get_by_text("已取消预约")).to_be_visible()
        cancelled = page.get_by_test_id("booking").filter(has_text=when).first
        expect(cancelled).to_contain_text("已取消")

        # A family member: switched on 我的, the home page shows the ward's card.
        page.get_by_role("tab", name="我的").click()
        page.get_by_test_id("family-member").filter(has_text=ward_name).click()
        page.get_by_role("tab", name="首页").click()
        expect(page.get_by_test_id("health-card")).to_contain_text(ward_name)
        expect(page.get_by_test_id("person")).to_contain_text(f"{ward_name}（子女）")
        expect(page.locator(".van-toast")).to_be_hidden()
        screenshot(page, "resident-family")

        # Back to oneself through the switcher; who looked at the record.
        page.get_by_test_id("person").click()
        page.get_by_role("button", name=re.compile(f"^{name}（本人）")).click()
        expect(page.get_by_test_id("health-card")).to_contain_text(name)
        page.get_by_role("tab", name="我的").click()
        page.get_by_text("谁看过我的档案").click()
        rows = page.get_by_test_id("access")
        expect(rows.first).to_be_visible()
        expect(rows.filter(has_text="家庭医生").first).to_be_visible()
        expect(page.locator("body")).not_to_contain_text("resident")
        screenshot(page, "resident-access")
    finally:
        logging.getLogger("yilian.sms").removeHandler(log)
        context.close()
