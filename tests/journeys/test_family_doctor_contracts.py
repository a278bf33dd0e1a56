"""A township family doctor signs a resident on screen, prints the agreement, renews, changes team and
terminates — each change confirmed by a message and visible in the contract history."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from tests.journeys.helpers import choose, screenshot, sign_in
from yilian.kit.db import make_engine
from yilian.models import Contract, FamilyDoctorTeam, Resident, TeamMember, User, UserGrid

pytestmark = pytest.mark.browser


def test_family_doctor_signs_renews_changes_team_and_terminates(county: tuple[str, str], browser: Any) -> None:
    from playwright.sync_api import expect

    base, url = county
    engine = make_engine(url)
    with Session(engine) as session:
        doctor = session.scalar(select(User).where(User.username == "jtys1"))
        assert doctor is not None
        grids = select(UserGrid.grid_id).where(UserGrid.user_id == doctor.id)
        resident = session.scalar(
            select(Resident)
            .where(Resident.grid_id.in_(grids), Resident.status == "active", Resident.birth_date > "1960-01-01")
            .where(~exists().where(Contract.resident_id == Resident.id))
            .order_by(Resident.id)
            .limit(1)
        )
        assert resident is not None
        resident_id, id_number = resident.id, resident.id_number
        team = session.scalar(
            select(FamilyDoctorTeam).where(FamilyDoctorTeam.institution_id == doctor.institution_id).limit(1)
        )
        assert team is not None
        # Arrange: a second team of the same township with the same members, to change to.
        second = FamilyDoctorTeam(
            code=f"{team.code}-2", name="第二家庭医生团队", consortium_id=team.consortium_id,
            institution_id=team.institution_id,
        )
        session.add(second)
        session.flush()
        session.add_all(
            TeamMember(team_id=second.id, staff_id=m.staff_id, role=m.role)
            for m in session.scalars(select(TeamMember).where(TeamMember.team_id == team.id))
        )
        session.commit()
        teams = [team.name, second.name]
    engine.dispose()

    page = browser.new_page(locale="zh-CN")
    sign_in(page, base, "jtys1", f"/app/residents/{resident_id}")
    expect(page.get_by_text("未签约", exact=True)).to_be_visible()

    page.get_by_role("button", name="签约", exact=True).click()
    dialog = page.get_by_role("dialog", name="签约")
    dialog.get_by_role("button", name="确定").click()  # nothing chosen: the API names the fields
    expect(dialog.get_by_text(re.compile("team_id|团队|格式不正确")).first).to_be_visible()
    choose(page, "签约团队")
    page.get_by_role("option", name=teams[0]).click()
    choose(page, "服务包")
    page.get_by_role("listbox", name="服务包").get_by_role("option").first.click()
    dialog.get_by_text("一年").click()
    dialog.get_by_role("button", name="确定").click()
    expect(page.get_by_text("签约成功")).to_be_visible()
    expect(page.get_by_text("已签约", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="履约中")).to_be_visible()
    screenshot(page, "family-doctor-contract")

    with page.expect_popup() as popup:
        page.get_by_role("button", name="打印协议").first.click()
    sheet = popup.value
    expect(sheet.get_by_role("heading", name="家庭医生签约服务协议书")).to_be_visible()
    expect(sheet.get_by_text(id_number)).to_be_visible()
    screenshot(sheet, "family-doctor-agreement")
    sheet.close()

    page.get_by_role("button", name="续约").click()
    page.get_by_role("dialog", name="续约").get_by_role("button", name="确定").click()
    expect(page.get_by_text("续约成功")).to_be_visible()
    expect(page.get_by_role("cell", name="已续约")).to_be_visible()

    page.get_by_role("button", name="变更团队").click()
    change = page.get_by_role("dialog", name="变更签约团队")
    choose(page, "签约团队")
    page.get_by_role("option", name=teams[1]).click()
    change.get_by_label("原因").fill("居民迁居至邻村")
    change.get_by_role("button", name="确定").click()
    expect(page.get_by_text("已变更签约团队")).to_be_visible()
    expect(page.get_by_role("cell", name=teams[1]).first).to_be_visible()

    page.get_by_role("button", name="解约").click()
    ending = page.get_by_role("dialog", name="解约")
    ending.get_by_label("原因").fill("居民要求解约")
    ending.get_by_role("button", name="确定").click()
    page.get_by_role("dialog", name="确认解约").get_by_role("button", name="解约").click()
    expect(page.get_by_text("已解约").first).to_be_visible()
    expect(page.get_by_text("未签约", exact=True)).to_be_visible()
