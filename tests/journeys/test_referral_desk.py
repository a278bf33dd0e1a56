"""The county hospital's referral desk: a doctor sees the referrals sent to the hospital — sender,
diagnoses in words, booked time, status in Chinese — accepts one and refuses another with a reason
after a confirmation, each change confirmed by a message and visible in the list."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.journeys.helpers import CLOCK, PASSWORD, choose, screenshot, sign_in
from yilian.kit.db import make_engine
from yilian.models import Referral, Resident, Slot, User, UserGrid

pytestmark = pytest.mark.browser


def test_hospital_doctor_accepts_and_refuses_incoming_referrals(
    county: tuple[str, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    base, url = county
    engine = make_engine(url)
    with Session(engine) as session:
        family = session.scalar(select(User).where(User.username == "jtys1"))
        doctor = session.scalar(select(User).where(User.username == "ys1"))
        assert family is not None and doctor is not None
        hospital_id = doctor.institution_id
        grids = select(UserGrid.grid_id).where(UserGrid.user_id == family.id)
        residents = list(
            session.scalars(
                select(Resident)
                .where(Resident.grid_id.in_(grids), Resident.status == "active")
                .order_by(Resident.id.desc())
                .limit(2)
            )
        )
        assert len(residents) == 2
        slot = session.scalar(
            select(Slot)
            .where(
                Slot.institution_id == hospital_id,
                Slot.pool == "reserved",
                Slot.published.is_(True),
                Slot.booked < Slot.capacity,
                Slot.starts_at > CLOCK.now(),
            )
            .order_by(Slot.starts_at)
            .limit(1)
        )
        slot_id, slot_start = (slot.id, slot.starts_at) if slot else (None, None)
        waiting = len(
            list(
                session.scalars(
                    select(Referral.id).where(
                        Referral.to_institution_id == hospital_id, Referral.status == "requested"
                    )
                )
            )
        )
    engine.dispose()

    # Arrange through the API, as the township family doctor: two upward referrals to the hospital.
    with httpx.Client(base_url=base) as http:
        token = http.post("/api/auth/token", json={"username": "jtys1", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        for resident, slot_for in zip(residents, (slot_id, None), strict=True):
            sent = http.post(
                "/api/referrals",
                headers=headers,
                json={
                    "resident_id": resident.id,
                    "direction": "up",
                    "to_institution_id": hospital_id,
                    "diagnoses": ["I10.x00", "I63.900"],
                    "summary": "血压控制不佳伴头晕、言语不清，疑脑梗，请上级诊治",
                    "reason": "需头颅CT及专科评估",
                    "slot_id": slot_for,
                },
            )
            assert sent.status_code == 201, sent.text
    accepted, refused = residents

    page = browser.new_page(locale="zh-CN")
    sign_in(page, base, "ys1")
    page.get_by_role("menuitem", name="转诊接收").click()
    expect(page).to_have_url(f"{base}/app/referrals/incoming")

    first = page.locator(".el-table__row", has_text=accepted.name).first
    expect(first).to_contain_text("高血压（I10.x00）；脑梗死（I63.900）")
    expect(first).to_contain_text("申请")
    if slot_start is not None:
        expect(first).to_contain_text(slot_start.strftime("%Y-%m-%d %H:%M"))
    expect(page.locator(".el-pagination__total")).to_have_text(f"共 {waiting + 2} 条")  # 待接收 by default
    screenshot(page, "referral-desk-incoming")

    # Accept the first one.
    first.get_by_role("button", name="接收").click()
    dialog = page.get_by_role("dialog", name="接收转诊")
    expect(dialog).to_contain_text("疑脑梗")
    dialog.get_by_role("button", name="接收").click()
    expect(page.get_by_text("已接收转诊")).to_be_visible()
    expect(page.locator(".el-table__row", has_text=accepted.name)).to_have_count(0)  # left the 待接收 list

    # Refuse the second: without a reason the API's message stands beside the field.
    second = page.locator(".el-table__row", has_text=refused.name).first
    second.get_by_role("button", name="拒绝").click()
    dialog = page.get_by_role("dialog", name="拒绝转诊")
    dialog.get_by_role("button", name="拒绝").click()
    page.get_by_role("button", name="拒绝转诊").click()  # the confirmation
    expect(dialog.get_by_text("拒绝或撤回须填写原因")).to_be_visible()
    dialog.get_by_label("拒绝原因").fill("本院神经内科床位已满，建议转市人民医院")
    dialog.get_by_role("button", name="拒绝").click()
    page.get_by_role("button", name="拒绝转诊").click()
    expect(page.get_by_text("已拒绝转诊")).to_be_visible()

    # All statuses: both show with their status in words, and no internal code.
    choose(page, "状态")
    page.get_by_role("option", name="已拒绝").click()
    page.get_by_role("button", name="查询").click()
    expect(page.locator(".el-table__row", has_text=refused.name).first).to_contain_text("拒绝")
    expect(page.locator(".el-table")).not_to_contain_text("rejected")
    page.wait_for_timeout(400)  # let the tag finish fading in
    screenshot(page, "referral-desk-refused")
    page.close()

    engine = make_engine(url)
    with Session(engine) as session:
        statuses = {
            r.resident_id: r.status
            for r in session.scalars(
                select(Referral).where(
                    Referral.resident_id.in_([accepted.id, refused.id]),
                    Referral.to_institution_id == hospital_id,
                )
            )
        }
    engine.dispose()
    assert statuses == {accepted.id: "accepted", refused.id: "rejected"}
