from datetime import date

import pytest

from yilian.kit.errors import ValidationFailed
from yilian.residents.rules import age_on, normalise_phone

TODAY = date(2026, 11, 24)


def test_age_counts_birthdays() -> None:
    assert age_on(date(1960, 11, 25), TODAY) == 65
    assert age_on(date(1960, 11, 24), TODAY) == 66


def test_phone_normalisation() -> None:
    assert normalise_phone("+86 139-1234-5678") == "13912345678"
    assert normalise_phone("0951-4012345") == "09514012345"
    assert normalise_phone("  ") is None
    with pytest.raises(ValidationFailed) as caught:
        normalise_phone("12345")
    assert caught.value.errors[0].field == "phone"
