"""Rules of the master patient index: ages and phone numbers. Pure functions: no database, no web.

The ID number itself (GB 11643) is checked by `yilian.kit.id_numbers`, which every layer uses.
"""

from __future__ import annotations

from datetime import date

from yilian.kit.errors import ValidationFailed


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def normalise_phone(raw: str | None) -> str | None:
    """Mainland mobile (11 digits starting 1) or a landline with area code; None if empty."""
    if raw is None or not raw.strip():
        return None
    digits = raw.strip().replace(" ", "").replace("-", "")
    if digits.startswith("+86"):
        digits = digits[3:]
    mobile = len(digits) == 11 and digits[0] == "1"
    landline = 10 <= len(digits) <= 12 and digits[0] == "0"
    if not digits.isdigit() or not (mobile or landline):
        raise ValidationFailed.one("phone", "电话号码格式不正确", "not a valid mainland phone number")
    return digits
