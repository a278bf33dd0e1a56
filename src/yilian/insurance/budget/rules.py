"""Global-budget settlement of a medical community: 总额付费、监督考核、结余留用、合理超支分担.

Sources: 002 item 11 (结余留用、合理超支分担, distribution tied to performance and tilted to
grassroots), 002 item 9 (两个允许), 003 §5 and 004 §2.2 (the four-part formula), 000 §2.

Everything is exact (fractions of a fen) until `Settlement.lines` rounds each shown figure half-up
to the fen; monthly prepayments and member shares are apportioned by largest remainder so that they
add up to the rounded totals. The arithmetic, in the order the officer reads it:

  spending S      = member institutions' fund payments (inside)
                    + fund payments outside the county and, if counted, at in-county non-members
                      (paid by the fund directly and charged to the community: "outside")
  balance         = budget B − S
  surplus         → retained = surplus × retained_share (结余留用); the rest goes back to the fund
  overrun O       → reasonable = min(O, threshold × B); fund shares reasonable × fund_ratio
                    (合理超支分担); the community bears the rest of O
  entitlement E   = inside + retained − borne            (= B − outside + fund share, if over)
  prepayment      = Σ months (B/12 − outside that month) × (1 − withheld_share)
  withheld W      = Σ months (B/12 − outside that month) × withheld_share   (监督考核)
  W returned      = W × return(score): by default score/100, or by configured score bands
  year-end payment = E − prepaid − (W − W returned)      (negative: the community pays back)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from yilian.kit.money import apportion, fen_to_yuan, round_fen

ZERO = Fraction(0)


@dataclass(frozen=True)
class ScoreBand:
    """From `min_score` upward, this share of the withheld money is returned."""

    min_score: Fraction
    returned_share: Fraction


@dataclass(frozen=True)
class Terms:
    """A year's settlement terms, as the fund and the community agreed them (config file)."""

    year: int
    budget_fen: int
    withheld_share: Fraction
    retained_share: Fraction
    overrun_threshold: Fraction  # reasonable overrun, as a share of the budget
    overrun_fund_ratio: Fraction  # the fund's share of the reasonable overrun
    assessment_score: Fraction  # the community's 监督考核 score, 0–100
    grassroots_tilt: Fraction = ZERO  # grassroots weights × (1 + tilt) when sharing the surplus
    staff_reward_share: Fraction = Fraction(6, 10)
    score_bands: tuple[ScoreBand, ...] = ()  # empty: returned share = score / 100
    count_outside_county: bool = True
    count_in_county_non_members: bool = True

    def problems(self) -> list[tuple[str, str, str]]:
        """(field, 中文, English) for every term outside its range; empty when usable."""
        found = []
        if self.budget_fen <= 0:
            found.append(("budget", "总额预算必须大于0", "the budget must be greater than zero"))
        for name, value in (
            ("withheld_share", self.withheld_share),
            ("retained_share", self.retained_share),
            ("overrun_threshold", self.overrun_threshold),
            ("overrun_fund_ratio", self.overrun_fund_ratio),
            ("staff_reward_share", self.staff_reward_share),
        ):
            if not 0 <= value <= 1:
                found.append((name, "比例必须在0%到100%之间", "a ratio must lie between 0% and 100%"))
        if self.grassroots_tilt < 0:
            found.append(
                ("grassroots_tilt", "基层倾斜系数不能为负", "the grassroots tilt cannot be negative")
            )
        if not 0 <= self.assessment_score <= 100:
            found.append(
                ("assessment_score", "考核得分必须在0到100之间", "the score must lie between 0 and 100")
            )
        for band in self.score_bands:
            if not (0 <= band.min_score <= 100 and 0 <= band.returned_share <= 1):
                found.append(("score_bands", "得分档次超出范围", "a score band is out of range"))
        return found

    def returned_share(self) -> Fraction:
        if not self.score_bands:
            return self.assessment_score / 100
        reached = [b for b in self.score_bands if self.assessment_score >= b.min_score]
        return max(reached, key=lambda b: b.min_score).returned_share if reached else ZERO


@dataclass(frozen=True)
class Member:
    """A member institution with its fund payments and its performance score."""

    code: str
    name: str
    grassroots: bool
    fund_fen: int
    score: Fraction


@dataclass(frozen=True)
class Spending:
    members: tuple[Member, ...]
    outside_county_fen: int
    in_county_non_member_fen: int
    # The same two, month by month (1–12): the fund deducts them from that month's prepayment.
    outside_county_by_month: dict[int, int] = field(default_factory=dict)
    non_member_by_month: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    key: str
    label: str
    formula: str
    fen: int


@dataclass(frozen=True)
class MemberShare:
    code: str
    name: str
    grassroots: bool
    score: Fraction
    weight: Fraction
    retained_fen: int
    staff_reward_fen: int


@dataclass(frozen=True)
class Settlement:
    terms: Terms
    lines: tuple[Line, ...]
    monthly_prepayment_fen: tuple[int, ...]
    shares: tuple[MemberShare, ...]
    outcome: str  # surplus | overrun | balanced

    def figure(self, key: str) -> int:
        return next(line.fen for line in self.lines if line.key == key)


def _yuan(value: Fraction) -> str:
    return f"{fen_to_yuan(value, grouped=True)}元"


def _pct(value: Fraction) -> str:
    return f"{float(value * 100):g}%"


def settle(terms: Terms, spending: Spending) -> Settlement:
    """The year-end settlement with one explained line per figure (amounts exact until shown)."""
    budget = Fraction(terms.budget_fen)
    inside = Fraction(sum(m.fund_fen for m in spending.members))
    outside_county = Fraction(spending.outside_county_fen if terms.count_outside_county else 0)
    non_members = Fraction(spending.in_county_non_member_fen if terms.count_in_county_non_members else 0)
    outside = outside_county + non_members
    total = inside + outside
    balance = budget - total

    surplus = max(balance, ZERO)
    retained = surplus * terms.retained_share
    to_fund = surplus - retained
    overrun = max(-balance, ZERO)
    reasonable = min(overrun, budget * terms.overrun_threshold)
    fund_share = reasonable * terms.overrun_fund_ratio
    borne = overrun - fund_share
    entitlement = inside + retained - borne

    monthly_base = [
        budget / 12
        - (spending.outside_county_by_month.get(month, 0) if terms.count_outside_county else 0)
        - (spending.non_member_by_month.get(month, 0) if terms.count_in_county_non_members else 0)
        for month in range(1, 13)
    ]
    base = sum(monthly_base, ZERO)
    prepaid = base * (1 - terms.withheld_share)
    withheld = base * terms.withheld_share
    returned = withheld * terms.returned_share()
    forfeited = withheld - returned
    payment = entitlement - prepaid - forfeited

    rows = [
        ("budget", "总额预算 B", "按年度协议", budget),
        ("inside", "医共体成员机构统筹支付", "Σ 成员机构", inside),
        (
            "outside_county",
            "县外就医统筹支付（计入总额）",
            "计入" if terms.count_outside_county else "不计入",
            outside_county,
        ),
        (
            "non_members",
            "县内非成员机构统筹支付（计入总额）",
            "计入" if terms.count_in_county_non_members else "不计入",
            non_members,
        ),
        ("spending", "计入总额的基金支出 S", "成员 + 县外 + 县内非成员", total),
        ("balance", "结余（负数为超支）", "B − S", balance),
        ("surplus", "结余", "max(B − S, 0)", surplus),
        ("retained", "结余留用（医共体）", f"结余 × {_pct(terms.retained_share)}", retained),
        ("surplus_to_fund", "结余返还基金", "结余 − 留用", to_fund),
        ("overrun", "超支", "max(S − B, 0)", overrun),
        ("reasonable_overrun", "合理超支", f"min(超支, B × {_pct(terms.overrun_threshold)})", reasonable),
        ("fund_shared_overrun", "基金分担", f"合理超支 × {_pct(terms.overrun_fund_ratio)}", fund_share),
        ("community_borne_overrun", "医共体承担", "超支 − 基金分担", borne),
        ("entitlement", "医共体应得", "成员支付 + 留用 − 承担", entitlement),
        ("prepayment_base", "月度预付基数合计", "Σ (B/12 − 当月县外及非成员支出)", base),
        ("prepaid", "已按月预付", f"基数 × (1 − {_pct(terms.withheld_share)})", prepaid),
        ("withheld", "考核保证金（预留）", f"基数 × {_pct(terms.withheld_share)}", withheld),
        (
            "withheld_returned",
            "按考核返还",
            f"保证金 × {_pct(terms.returned_share())}（得分 {float(terms.assessment_score):g}）",
            returned,
        ),
        ("withheld_forfeited", "考核扣减", "保证金 − 返还", forfeited),
        ("year_end_payment", "年终清算拨付（负数为医共体返还）", "应得 − 已预付 − 考核扣减", payment),
    ]
    lines = tuple(Line(key, label, formula, round_fen(value)) for key, label, formula, value in rows)

    shares = _share_surplus(terms, spending.members, round_fen(retained))
    outcome = "surplus" if balance > 0 else ("overrun" if balance < 0 else "balanced")
    return Settlement(
        terms=terms,
        lines=lines,
        monthly_prepayment_fen=tuple(apportion(round_fen(prepaid), monthly_base)),
        shares=shares,
        outcome=outcome,
    )


def _share_surplus(terms: Terms, members: Iterable[Member], retained_fen: int) -> tuple[MemberShare, ...]:
    """Retained surplus by performance score, grassroots weights raised by the tilt (002 item 11)."""
    members = list(members)
    weights = [m.score * (1 + terms.grassroots_tilt if m.grassroots else 1) for m in members]
    amounts = apportion(retained_fen, weights)
    return tuple(
        MemberShare(
            code=m.code,
            name=m.name,
            grassroots=m.grassroots,
            score=m.score,
            weight=w,
            retained_fen=amount,
            # 两个允许 (002 item 9): the part that may go to staff rewards; floor, never over.
            staff_reward_fen=int(Fraction(amount) * terms.staff_reward_share),
        )
        for m, w, amount in zip(members, weights, amounts, strict=True)
    )
