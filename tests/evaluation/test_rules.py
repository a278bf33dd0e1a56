"""Scoring, ranking and yellow cards with hand-worked numbers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from yilian.evaluation.rules import (
    BONUS,
    INDICATOR,
    Entry,
    EventTier,
    Item,
    Scheme,
    Section,
    Step,
    check_entries,
    dynamic_adjustment,
    rank,
    score_unit,
)
from yilian.kit.errors import ValidationFailed

SCHEME = Scheme(
    code="T",
    name="试点评价",
    version="1",
    sections=(
        Section(
            "组织领导",
            D(100),
            (
                Item(1, "领导小组", D(80)),
                Item(2, "签约率≥50%", D(20), method=INDICATOR, target=D(50)),
            ),
        ),
        Section(
            "费用控制",
            D(50),
            (
                Item(
                    3, "次均费用（越低越好）", D(50), method=INDICATOR, target=D(200), higher_is_better=False
                ),
            ),
        ),
        Section(
            "加分项",
            D(100),
            (
                Item(
                    40,
                    "媒体宣传",
                    D(0),
                    method=BONUS,
                    events=(EventTier("国家", D(20)), EventTier("地州", D(5))),
                ),
                Item(
                    42, "增加编制", D(0), method=BONUS, ladder=(Step(10, 19, D(30)), Step(20, None, D(100)))
                ),
            ),
            bonus=True,
        ),
    ),
)


def test_a_unit_scores_item_by_item_and_the_bonus_is_capped() -> None:
    score = score_unit(
        SCHEME,
        "A",
        [
            Entry(1, given=D("72.5"), evidence="会议纪要3份"),
            Entry(2, value=D("41.3")),  # 41.3 / 50 × 20 = 16.52
            Entry(3, value=D(240)),  # lower is better: 200 / 240 × 50 = 41.666… → 41.67
            Entry(40, events={"国家": 3, "地州": 4}),  # 60 + 20 = 80
            Entry(42, count=20),  # 100
        ],
    )
    assert score.items == {1: D("72.50"), 2: D("16.52"), 3: D("41.67"), 40: D(80), 42: D(100)}
    assert score.sections == (D("89.02"), D("41.67"), D(100))  # 180 bonus capped at 100
    assert (score.base, score.bonus_uncapped, score.bonus, score.total) == (
        D("130.69"),
        D(180),
        D(100),
        D("230.69"),
    )


def test_indicator_at_or_beyond_target_earns_full_marks_and_missing_entries_earn_nothing() -> None:
    score = score_unit(SCHEME, "B", [Entry(2, value=D(63)), Entry(3, value=D(150)), Entry(42, count=12)])
    assert score.items == {1: D(0), 2: D("20.00"), 3: D("50.00"), 40: D(0), 42: D("30.00")}
    assert score.total == D(100)


def test_entries_outside_the_scheme_or_its_weights_are_refused() -> None:
    with pytest.raises(ValidationFailed) as failure:
        check_entries(SCHEME, [Entry(1, given=D(81)), Entry(9, given=D(1)), Entry(40, events={"省级": 1})])
    assert [e.field for e in failure.value.errors] == ["item 1", "item 9", "item 40"]
    assert "0到80之间" in failure.value.errors[0].message_zh


def test_ties_are_broken_by_base_then_sections_then_code() -> None:
    a = score_unit(SCHEME, "A", [Entry(1, given=D(70)), Entry(40, events={"国家": 1})])  # 70 + 20 = 90
    b = score_unit(SCHEME, "B", [Entry(1, given=D(80)), Entry(40, events={"地州": 2})])  # 80 + 10 = 90
    c = score_unit(SCHEME, "C", [Entry(1, given=D(60)), Entry(3, value=D(400))])  # 60 + 25 = 85 base
    d = score_unit(
        SCHEME, "D", [Entry(1, given=D(60)), Entry(3, value=D(400)), Entry(40, events={"地州": 1})]
    )
    e = score_unit(SCHEME, "E", [Entry(1, given=D(85))])  # 85 base, first section 85 > C's 60
    assert [s.total for s in (a, b, c, d, e)] == [D(90), D(90), D(85), D(90), D(85)]
    # A, B and D tie on 90: the base decides (D 85, B 80, A 70). C and E tie on 85 with base 85:
    # the first section decides (E 85, C 60).
    assert [s.unit for s in rank([a, b, c, d, e])] == ["D", "B", "A", "E", "C"]


def test_two_yellow_cards_running_disqualify_and_the_best_candidate_replaces() -> None:
    first = dynamic_adjustment(
        year=2023,
        pilots_ranked=["新源县", "伊宁市", "布尔津县", "巴里坤县", "拜城县", "洛浦县"],
        candidates_ranked=["候补甲", "候补乙", "候补丙"],
        carded_last_year=set(),
        deadline=date(2024, 6, 30),
    )
    assert first.yellow_cards == ("洛浦县", "拜城县") and first.disqualified == ()
    second = dynamic_adjustment(
        year=2024,
        pilots_ranked=["新源县", "拜城县", "布尔津县", "巴里坤县", "洛浦县", "伊宁市"],
        candidates_ranked=["候补乙", "候补甲", "候补丙"],
        carded_last_year=set(first.yellow_cards),
        deadline=date(2025, 6, 30),
    )
    # 拜城县 recovered; 洛浦县 is carded again and goes; 伊宁市 gets its first card.
    assert second.yellow_cards == ("伊宁市", "洛浦县")
    assert second.disqualified == ("洛浦县",) and second.replacements == {"洛浦县": "候补乙"}
    # 2025: 拜城县 is carded again but not two years running (2023, then not in 2024): it stays.
    # 伊宁市 is carded in 2024 and 2025: out, and no candidate is left to replace it.
    third = dynamic_adjustment(
        year=2025,
        pilots_ranked=["新源县", "候补乙", "布尔津县", "巴里坤县", "拜城县", "伊宁市"],
        candidates_ranked=[],
        carded_last_year=set(second.yellow_cards),
        deadline=date(2026, 6, 30),
    )
    assert third.yellow_cards == ("伊宁市", "拜城县")
    assert third.disqualified == ("伊宁市",) and third.replacements == {} and third.unreplaced == ("伊宁市",)
