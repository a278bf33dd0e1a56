from datetime import date

import pytest

from yilian.kit.errors import ValidationFailed
from yilian.registry.rules import add_months, check_choice, check_posting_dates, is_long_dispatch


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 8, 31), 6) == date(2025, 2, 28)
    assert add_months(date(2026, 3, 15), 6) == date(2026, 9, 15)


def test_six_calendar_months_make_a_long_dispatch() -> None:
    start = date(2026, 3, 15)
    assert not is_long_dispatch(start, date(2026, 9, 14), as_of=date(2026, 11, 24))
    assert is_long_dispatch(start, date(2026, 9, 15), as_of=date(2026, 11, 24))
    assert is_long_dispatch(start, None, as_of=date(2026, 9, 15))  # still posted, six months reached today
    assert not is_long_dispatch(start, None, as_of=date(2026, 9, 14))


def test_choices_and_dates_name_the_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_choice("level", "四级", ("三级", "二级", "一级", "未定级"), "机构级别")
    assert caught.value.errors[0].field == "level" and "四级" in caught.value.errors[0].message_zh
    with pytest.raises(ValidationFailed) as caught:
        check_posting_dates(date(2026, 5, 1), date(2026, 4, 30))
    assert caught.value.errors[0].field == "end_on"
