"""Quota arithmetic: the reserved share, release at the release time, same-day extra cap, windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pytest

from yilian.kit.errors import ValidationFailed
from yilian.scheduling.rules import (
    EXTRA,
    PUBLIC,
    RESERVED,
    Booker,
    QuotaPolicy,
    QuotaUse,
    booking_window_days,
    check_bookable,
    check_extra_slot,
    check_policy,
    effective_pool,
    is_chronic_referral,
    quota_policy,
    reserved_count,
    reserved_positions,
)

NOW = datetime(2026, 11, 24, 9, 0)
TOMORROW_10 = datetime(2026, 11, 25, 10, 0)
GRASSROOTS = Booker(via_grassroots=True)
PUBLIC_USER = Booker(via_grassroots=False)


@pytest.mark.parametrize(
    ("slots", "permille", "expected"),
    [(10, 200, 2), (7, 200, 2), (30, 200, 6), (30, 250, 8), (1, 200, 1), (0, 200, 0), (20, 1000, 20)],
)
def test_reserved_count_rounds_up(slots: int, permille: int, expected: int) -> None:
    assert reserved_count(slots, permille) == expected


def test_reserved_slots_are_spread_over_the_session() -> None:
    assert reserved_positions(10, 200) == [2, 7]
    assert reserved_positions(30, 200) == [2, 7, 12, 17, 22, 27]
    assert len(reserved_positions(7, 200)) == 2


def test_policy_floor_and_yearly_rise() -> None:
    check_policy(QuotaPolicy(2026, 250), QuotaPolicy(2025, 200))
    with pytest.raises(ValidationFailed) as caught:
        check_policy(QuotaPolicy(2026, 150), None)
    assert "20%" in caught.value.errors[0].message_zh
    with pytest.raises(ValidationFailed) as caught:
        check_policy(QuotaPolicy(2027, 220), QuotaPolicy(2026, 250))
    assert "2026年的25%" in caught.value.errors[0].message_zh


def test_the_share_rises_every_year_until_the_ceiling() -> None:
    """001 §2.1: 20 % of county-level slots first for grassroots, "比例逐年提高"; the commission's
    ceiling here 30 %. 20 % then 20 % refused; 20 % then 22 % accepted; 30 % then 30 % accepted (at
    the ceiling the share is kept); 31 % refused (above the ceiling)."""
    with pytest.raises(ValidationFailed) as caught:
        check_policy(QuotaPolicy(2027, 200), QuotaPolicy(2026, 200), 300)
    assert caught.value.errors[0].message_zh == "2027年预留比例应高于2026年的20%（逐年提高，上限30%）"
    check_policy(QuotaPolicy(2027, 220), QuotaPolicy(2026, 200), 300)
    check_policy(QuotaPolicy(2028, 300), QuotaPolicy(2027, 300), 300)
    with pytest.raises(ValidationFailed) as caught:
        check_policy(QuotaPolicy(2028, 310), QuotaPolicy(2027, 300), 300)
    assert caught.value.errors[0].message_zh == "预留比例不得高于卫生健康委设定的上限30%"
    with pytest.raises(ValidationFailed) as caught:
        check_policy(QuotaPolicy(2028, 290), QuotaPolicy(2027, 300), 300)
    assert caught.value.errors[0].message_zh == "2028年预留比例应保持上限30%"


def test_release_at_the_release_time() -> None:
    starts = datetime(2026, 11, 25, 10, 0)
    assert effective_pool(RESERVED, starts, datetime(2026, 11, 24, 9, 59), 24) == RESERVED
    assert effective_pool(RESERVED, starts, datetime(2026, 11, 24, 10, 0), 24) == PUBLIC
    assert effective_pool(RESERVED, starts, datetime(2026, 11, 25, 8, 0), 2) == PUBLIC
    assert effective_pool(PUBLIC, starts, datetime(2026, 11, 20), 24) == PUBLIC


def test_public_user_cannot_take_a_reserved_slot_until_it_is_released() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_bookable(
            pool=RESERVED,
            starts_at=datetime(2026, 11, 26, 10, 0),
            published=True,
            now=NOW,
            release_hours=24,
            booker=PUBLIC_USER,
            capacity=1,
            booked=0,
        )
    assert "预留给基层" in caught.value.errors[0].message_zh
    check_bookable(
        pool=RESERVED,
        starts_at=datetime(2026, 11, 26, 10, 0),
        published=True,
        now=NOW,
        release_hours=24,
        booker=GRASSROOTS,
        capacity=1,
        booked=0,
    )
    check_bookable(
        pool=RESERVED,
        starts_at=datetime(2026, 11, 25, 8, 0),
        published=True,
        now=NOW,
        release_hours=24,
        booker=PUBLIC_USER,
        capacity=1,
        booked=0,
    )  # released at 2026-11-24 08:00


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"published": False}, "尚未发布"),
        ({"starts_at": datetime(2026, 11, 24, 8, 0)}, "已过时间"),
        ({"booked": 1}, "约满"),
        ({"starts_at": datetime(2026, 12, 2, 10, 0)}, "7天内"),
        ({"pool": EXTRA}, "预留给基层"),
    ],
)
def test_unbookable_slots_are_named(kwargs: dict[str, object], fragment: str) -> None:
    values: dict[str, object] = {
        "pool": PUBLIC,
        "starts_at": TOMORROW_10,
        "published": True,
        "now": NOW,
        "release_hours": 24,
        "booker": PUBLIC_USER,
        "capacity": 1,
        "booked": 0,
    }
    values.update(kwargs)
    with pytest.raises(ValidationFailed) as caught:
        check_bookable(**values)  # type: ignore[arg-type]
    assert fragment in caught.value.errors[0].message_zh and caught.value.errors[0].field == "slot_id"


def test_priority_groups_book_further_ahead() -> None:
    assert booking_window_days(PUBLIC_USER) == 7
    assert booking_window_days(Booker(via_grassroots=False, signed=True)) == 14
    assert booking_window_days(Booker(via_grassroots=False, chronic_referral=True)) == 14
    assert is_chronic_referral(referral_direction="up", chronic_registered=True)
    assert not is_chronic_referral(referral_direction="up", chronic_registered=False)
    assert not is_chronic_referral(referral_direction="down", chronic_registered=True)
    assert not is_chronic_referral(referral_direction=None, chronic_registered=True)
    assert booking_window_days(Booker(via_grassroots=False, age=65)) == 14  # green channel for the elderly
    assert booking_window_days(Booker(via_grassroots=False, age=64)) == 7


def test_same_day_extra_cap() -> None:
    check_extra_slot(
        session_day=date(2026, 11, 24), today=date(2026, 11, 24), existing_extra=4, cap=5, via_grassroots=True
    )
    with pytest.raises(ValidationFailed) as caught:
        check_extra_slot(
            session_day=date(2026, 11, 24),
            today=date(2026, 11, 24),
            existing_extra=5,
            cap=5,
            via_grassroots=True,
        )
    assert "上限5" in caught.value.errors[0].message_zh
    with pytest.raises(ValidationFailed):
        check_extra_slot(
            session_day=date(2026, 11, 25),
            today=date(2026, 11, 24),
            existing_extra=0,
            cap=5,
            via_grassroots=True,
        )
    with pytest.raises(ValidationFailed):
        check_extra_slot(
            session_day=date(2026, 11, 24),
            today=date(2026, 11, 24),
            existing_extra=0,
            cap=5,
            via_grassroots=False,
        )


def test_quota_use_shares() -> None:
    use = QuotaUse(slots=200, reserved=40, reserved_used_by_grassroots=30, released=10)
    assert use.reserved_share == 0.2 and use.grassroots_use_of_reserved == 0.75


def test_the_years_policy_is_the_stored_one_else_the_default_and_grassroots_reserve_nothing() -> None:
    @dataclass
    class Stored:
        reserved_permille: int | None
        release_hours: int
        extra_cap: int

    assert quota_policy(2026, "二级", None) == QuotaPolicy(2026, 200, 24, 5)
    assert quota_policy(2026, "一级", None) == QuotaPolicy(2026, 0, 24, 5)
    assert quota_policy(2027, "三级", Stored(300, 48, 2)) == QuotaPolicy(2027, 300, 48, 2)
    assert quota_policy(2027, "一级", Stored(300, 48, 2)) == QuotaPolicy(2027, 0, 48, 2)
    # No policy row: the booking facts' policy columns come back empty.
    assert quota_policy(2026, "三级", Stored(None, 0, 0)) == QuotaPolicy(2026, 200, 24, 5)
