"""Money: integer fen in the database and the rules, yuan with two decimals at the edges (decision 0003).

One module for every conversion: reading yuan (an API's decimal, an import's or a configuration's
text), showing fen as yuan (text for JSON and messages, a number for spreadsheets), rounding an exact
`Fraction` of fen to the fen, and splitting fen in proportion to weights so the parts add up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

from yilian.kit.errors import FieldError, ValidationFailed

# Up to 1亿元 either way: stored as fen in a bigint, summed over a county's year without overflow.
MAX_YUAN = Decimal("100000000")
_FEN = Decimal(1)


def yuan_to_fen(value: Decimal | str | int) -> int:
    """Round half up (away from zero) to the fen, from the decimal itself so 0.1 + 0.2 never bites.
    For values already checked (an API's `Yuan` field); text from outside goes through `parse_yuan`."""
    return int((Decimal(value) * 100).quantize(_FEN, rounding=ROUND_HALF_UP))


def parse_yuan(
    text: object, field: str, *, row: int | None = None, negative: bool = False, maximum: Decimal = MAX_YUAN
) -> int:
    """An amount in yuan as written (`"86.5"`, `"1200"`, a number from a spreadsheet) in fen, exactly.

    Refused with a 422 naming `field` (and `row`): not a finite number, beyond ±`maximum` (1亿元 unless
    the caller holds larger sums, a county's budget), more than two decimals, negative unless
    `negative`."""
    raw = str(text).strip().replace(",", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        error = FieldError(field, f"不是金额：{str(text)[:40]}", f"not an amount: {str(text)[:40]}", row=row)
    elif abs(value) > maximum:
        error = FieldError(
            field,
            f"金额超出范围（{maximum:,}元以内）",
            f"an amount must lie within {maximum:,} yuan",
            row=row,
        )
    elif value != value.quantize(Decimal("0.01")):
        error = FieldError(field, "金额最多两位小数", "an amount has at most two decimals", row=row)
    elif value < 0 and not negative:
        error = FieldError(field, "金额不能为负数", "an amount cannot be negative", row=row)
    else:
        return int(value * 100)
    raise ValidationFailed([error], f"{field}：{error.message_zh}", f"{field}: {error.message_en}")


def round_fen(value: Fraction) -> int:
    """Half up to the fen (half away from zero for negatives): the one rounding of an exact amount."""
    whole = abs(value.numerator) * 2 + value.denominator
    rounded = whole // (2 * value.denominator)
    return rounded if value >= 0 else -rounded


def fen_to_yuan(fen: int | Fraction, *, grouped: bool = False) -> str:
    """Yuan with two decimals, exactly (`8650` → `"86.50"`; grouped: `"1,234.56"`)."""
    fen = fen if isinstance(fen, int) else round_fen(fen)
    return f"{Decimal(fen).scaleb(-2):{',' if grouped else ''}.2f}"


def yuan_figure(fen: int | Fraction, places: int = 2) -> float:
    """Yuan as a number, for a spreadsheet's cell or a chart (rounded to `places` decimals)."""
    return round(float(fen) / 100, places)


def apportion(total: int, weights: Sequence[Fraction]) -> list[int]:
    """Split an integer total (fen) in proportion to weights; the parts add up to the total.

    Largest remainder: each part gets its floor, what is left goes one by one to the largest
    remainders, ties to the earlier part, so a recomputation gives the same split. All weights zero:
    every part is zero (a caller that wants an even split says so)."""
    if total < 0:
        return [-part for part in apportion(-total, weights)]
    weight_sum = sum(weights, Fraction(0))
    if not weights or weight_sum == 0:
        return [0 for _ in weights]
    exact = [Fraction(total) * w / weight_sum for w in weights]
    floors = [math.floor(x) for x in exact]
    left = total - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors
