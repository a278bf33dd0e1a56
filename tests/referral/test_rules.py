"""Every allowed and every forbidden transition of the referral state machine."""

from __future__ import annotations

import itertools

import pytest

from yilian.kit.errors import ValidationFailed
from yilian.referral.rules import (
    ACCEPTED,
    ARRIVED,
    COMPLETED,
    DOWN,
    FOLLOWED_UP,
    LABELS,
    REJECTED,
    REQUESTED,
    TRANSITIONS,
    UP,
    WITHDRAWN,
    check_direction,
    check_outside_consortium,
    check_transition,
)

STATES = list(LABELS)
ALLOWED = {
    (UP, REQUESTED, ACCEPTED, "receiver"),
    (UP, REQUESTED, REJECTED, "receiver"),
    (UP, REQUESTED, WITHDRAWN, "sender"),
    (UP, ACCEPTED, WITHDRAWN, "sender"),
    (UP, ACCEPTED, ARRIVED, "receiver"),
    (UP, ARRIVED, COMPLETED, "receiver"),
    (DOWN, REQUESTED, ACCEPTED, "receiver"),
    (DOWN, REQUESTED, REJECTED, "receiver"),
    (DOWN, REQUESTED, WITHDRAWN, "sender"),
    (DOWN, ACCEPTED, WITHDRAWN, "sender"),
    (DOWN, ACCEPTED, ARRIVED, "receiver"),
    (DOWN, ARRIVED, FOLLOWED_UP, "receiver"),
}


@pytest.mark.parametrize(
    ("direction", "current", "target", "side"),
    list(itertools.product((UP, DOWN), STATES, STATES, ("sender", "receiver"))),
)
def test_transition_table(direction: str, current: str, target: str, side: str) -> None:
    allowed = (direction, current, target, side) in ALLOWED
    if allowed:
        check_transition(direction=direction, current=current, target=target, side=side, reason="病情需要")
    else:
        with pytest.raises(ValidationFailed) as caught:
            check_transition(
                direction=direction, current=current, target=target, side=side, reason="病情需要"
            )
        assert caught.value.errors[0].field == "status"


def test_the_table_is_exactly_the_documented_one() -> None:
    assert len(ALLOWED) == 12 and len(TRANSITIONS) == 7


def test_reject_and_withdraw_need_a_reason() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_transition(direction=UP, current=REQUESTED, target=REJECTED, side="receiver", reason=" ")
    assert caught.value.errors[0].field == "reason"


def test_direction_follows_the_levels() -> None:
    check_direction(direction=UP, from_level="一级", to_level="二级")
    check_direction(direction=DOWN, from_level="二级", to_level="未定级")
    with pytest.raises(ValidationFailed):
        check_direction(direction=UP, from_level="二级", to_level="一级")
    with pytest.raises(ValidationFailed):
        check_direction(direction=DOWN, from_level="一级", to_level="二级")


def test_outside_the_consortium_needs_a_reason() -> None:
    check_outside_consortium(inside=True, reason=None)
    check_outside_consortium(inside=False, reason="需心脏介入，本医共体无条件")
    with pytest.raises(ValidationFailed) as caught:
        check_outside_consortium(inside=False, reason="")
    assert caught.value.errors[0].field == "reason"
