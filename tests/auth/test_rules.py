import pytest

from yilian.auth.rules import check_password_strength, region_range
from yilian.kit.errors import ValidationFailed


def test_region_range_covers_the_divisions_below() -> None:
    assert region_range("640000") == ("640000", "649999")
    assert region_range("640100") == ("640100", "640199")
    assert region_range("640181") == ("640181", "640181")


@pytest.mark.parametrize(
    "password", ["short1A!", "alllowercaseletters", "NoDigitsOrSymbols", "admin-Pass-2026"]
)
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_password_strength(password, "admin")
    assert caught.value.errors[0].field == "password"


def test_strong_password_passes() -> None:
    check_password_strength("Yl-7rT9q2Lm", "doctor1")
