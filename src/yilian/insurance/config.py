"""A year's payment configuration (TOML file or web form) → the rules' terms, with bilingual errors.

Ratios are written as "5%" or 0.05; money in yuan (converted to fen exactly, no floats).
Example: docs/settlement-example.toml.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from yilian.insurance.budget.rules import ScoreBand, Terms
from yilian.insurance.drg.payment import DEFAULT_TRIM, OutlierRule
from yilian.kit.errors import FieldError, ValidationFailed
from yilian.kit.money import parse_yuan

# A county's yearly fund runs to several 亿元: amounts here may reach 1万亿元 (fen still fit a bigint).
MAX_BUDGET_YUAN = Decimal("1000000000000")


@dataclass(frozen=True)
class PaymentConfig:
    terms: Terms
    member_scores: dict[str, Fraction] = field(default_factory=dict)
    drg_fund_budget_fen: int = 0  # 0: no DRG point-value payment in this run
    drg_standard_year: int | None = None  # base year of the weights (default: the year before)
    trim_share: Fraction = DEFAULT_TRIM
    outliers: OutlierRule = OutlierRule()
    capitation_per_capita_fen: int = 0


class _Reader:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: list[FieldError] = []

    def fail(self, name: str, zh: str, en: str) -> None:
        self.errors.append(FieldError(name, zh, en))

    def number(self, name: str, value: Any) -> Fraction | None:
        text = str(value).strip()
        percent = text.endswith("%")
        try:
            number = Fraction(Decimal(text.rstrip("%").strip()))
        except (InvalidOperation, ValueError, OverflowError):  # OverflowError: Infinity
            self.fail(name, f"不是数字：{value}", f"not a number: {value}")
            return None
        return number / 100 if percent else number

    def ratio(self, name: str, default: Fraction | None = None) -> Fraction:
        if name not in self.data:
            if default is None:
                self.fail(name, "缺少此项", "missing")
                return Fraction(0)
            return default
        value = self.number(name, self.data[name])
        if value is not None and not 0 <= value <= 1:
            self.fail(name, "比例必须在0%到100%之间", "a ratio must lie between 0% and 100%")
        return value if value is not None else Fraction(0)

    def yuan(self, name: str, *, required: bool) -> int:
        if name not in self.data:
            if required:
                self.fail(name, "缺少此项", "missing")
            return 0
        try:
            return parse_yuan(self.data[name], name, maximum=MAX_BUDGET_YUAN)
        except ValidationFailed as refused:
            self.errors.extend(refused.errors)
            return 0


def parse_config(data: dict[str, Any]) -> PaymentConfig:
    """Every problem is reported at once, each naming its field; nothing runs on a bad config."""
    read = _Reader(data)
    year = data.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        read.fail("year", "缺少年度或年度无效", "the year is missing or invalid")
        year = 0
    budget_fen = read.yuan("budget_yuan", required=True)
    if "budget_yuan" in data and budget_fen <= 0:
        read.fail("budget_yuan", "总额预算必须大于0", "the budget must be greater than zero")
    score = read.number("assessment_score", data.get("assessment_score", 100)) or Fraction(0)
    if not 0 <= score <= 100:
        read.fail("assessment_score", "考核得分必须在0到100之间", "the score must lie between 0 and 100")
    tilt = read.number("grassroots_tilt", data.get("grassroots_tilt", "0%")) or Fraction(0)
    if tilt < 0:
        read.fail("grassroots_tilt", "基层倾斜系数不能为负", "the grassroots tilt cannot be negative")
    bands = []
    for i, band in enumerate(data.get("score_bands", [])):
        low = read.number(f"score_bands[{i}].min_score", band.get("min_score"))
        share = read.number(f"score_bands[{i}].returned_share", band.get("returned_share"))
        if low is not None and share is not None:
            bands.append(ScoreBand(low, share))
    terms = Terms(
        year=year,
        budget_fen=budget_fen,
        withheld_share=read.ratio("withheld_share"),
        retained_share=read.ratio("retained_share"),
        overrun_threshold=read.ratio("overrun_threshold"),
        overrun_fund_ratio=read.ratio("overrun_fund_ratio"),
        assessment_score=score,
        grassroots_tilt=tilt,
        staff_reward_share=read.ratio("staff_reward_share", Fraction(6, 10)),
        score_bands=tuple(bands),
        count_outside_county=bool(data.get("count_outside_county", True)),
        count_in_county_non_members=bool(data.get("count_in_county_non_members", True)),
    )
    for name, zh, en in terms.problems():
        if name not in {e.field for e in read.errors} and name != "budget":
            read.fail(name, zh, en)
    scores = {}
    for code, value in (data.get("member_scores") or {}).items():
        member_score = read.number(f"member_scores.{code}", value)
        if member_score is not None:
            scores[str(code)] = member_score
    drg = data.get("drg") or {}
    drg_reader = _Reader(drg)
    drg_budget = drg_reader.yuan("inpatient_fund_budget_yuan", required=False)
    trim = drg_reader.ratio("trim_share", DEFAULT_TRIM)
    capitation = _Reader(data.get("capitation") or {})
    per_capita = capitation.yuan("per_capita_yuan", required=False)
    read.errors += [FieldError(f"drg.{e.field}", e.message_zh, e.message_en) for e in drg_reader.errors]
    read.errors += [
        FieldError(f"capitation.{e.field}", e.message_zh, e.message_en) for e in capitation.errors
    ]
    if read.errors:
        raise ValidationFailed(read.errors, "清算参数有误", "the settlement configuration is invalid")
    base_year = drg.get("standard_year")
    return PaymentConfig(
        terms=terms,
        member_scores=scores,
        drg_fund_budget_fen=drg_budget,
        drg_standard_year=int(base_year) if base_year else None,
        trim_share=trim,
        capitation_per_capita_fen=per_capita,
    )


def load_config(text: str) -> PaymentConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValidationFailed.one(
            "config", f"配置文件格式错误：{error}", f"the TOML file is malformed: {error}"
        ) from None
    return parse_config(data)
