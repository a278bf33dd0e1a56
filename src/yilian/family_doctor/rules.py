"""Pure rules of family-doctor contracting: packages, contract periods, the signing-fee split."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from yilian.kit.errors import FieldError, ValidationFailed
from yilian.kit.money import apportion
from yilian.registry.rules import add_months

MEMBER_ROLES = ("村医", "全科医生", "专科医生", "健康管理师")
# 004 §3.3: "乡村医生+乡镇(社区)全科医生+县级专科医生+健康管理师" — every role in every team.
REQUIRED_ROLES = MEMBER_ROLES
ROLE_NAMES_EN = {
    "村医": "village doctor",
    "全科医生": "general practitioner",
    "专科医生": "county specialist",
    "健康管理师": "health manager",
}
PACKAGE_CATEGORIES = ("基础包", "高血压", "糖尿病", "老年人", "母婴", "儿童", "残疾人", "其他")
TEAM_SHARE_FLOOR_PERMILLE = 700  # ≥ 70 % of the signing fee goes to the team (002 item 21)
DEFAULT_MONTHS = 12
KEY_POPULATION_AGE = 65


def check_package(
    *,
    price_fen: int,
    insurance_permille: int,
    public_permille: int,
    valid_from: date,
    valid_to: date | None,
    category: str,
) -> None:
    errors = []
    if category not in PACKAGE_CATEGORIES:
        errors.append(
            FieldError(
                "category",
                f"服务包类别应为：{'、'.join(PACKAGE_CATEGORIES)}",
                f"category must be one of {', '.join(PACKAGE_CATEGORIES)}",
            )
        )
    if price_fen < 0:
        errors.append(FieldError("price", "价格不能为负", "price cannot be negative"))
    if insurance_permille < 0 or public_permille < 0:
        errors.append(FieldError("insurance_share", "分担比例不能为负", "shares cannot be negative"))
    if insurance_permille + public_permille > 1000:
        errors.append(
            FieldError(
                "insurance_share",
                "医保与公卫分担合计超过100%",
                "insurance and public shares exceed 100 % together",
            )
        )
    if valid_to is not None and valid_to < valid_from:
        errors.append(FieldError("valid_to", "有效期止不能早于有效期起", "valid_to is before valid_from"))
    if errors:
        raise ValidationFailed(errors, "服务包设置有误", "Invalid service package")


def missing_roles(roles_present: set[str]) -> list[str]:
    """The roles 004 §3.3 names that a team being formed lacks, in the notice's order."""
    return [role for role in REQUIRED_ROLES if role not in roles_present]


def resident_pays_fen(price_fen: int, insurance_permille: int, public_permille: int) -> int:
    """The resident's part, after the insurance and public-health shares (rounded to the fen)."""
    covered = (price_fen * (insurance_permille + public_permille) + 500) // 1000
    return price_fen - covered


def contract_end(start_on: date, months: int = DEFAULT_MONTHS) -> date:
    """A one-year contract from 2026-03-01 ends 2027-02-28 inclusive (flexible periods: any months)."""
    if not 1 <= months <= 60:
        raise ValidationFailed.one("months", "签约期限应为1–60个月", "contract period must be 1–60 months")
    return add_months(start_on, months) - timedelta(days=1)


def in_force(start_on: date, end_on: date, ended_on: date | None, on: date) -> bool:
    """A contract serves its resident from its start to its end, or to the day an act (change of
    team, termination) ended it. The stored status does not decide it: a contract lapses by itself
    on the day after its end, and a renewed or terminated one still counts on the days it served."""
    return start_on <= on <= (ended_on or end_on)


def contract_state(status: str, end_on: date, on: date) -> str:
    """The status to show on `on`: a contract no act has ended is "expired" once its end has passed."""
    return "expired" if status == "active" and end_on < on else status


def overlap_days(a_start: date, a_end: date, b_start: date, b_end: date) -> int:
    """Days two inclusive periods share."""
    return max(0, (min(a_end, b_end) - max(a_start, b_start)).days + 1)


@dataclass(frozen=True)
class FeeSplitRule:
    team_permille: int
    role_weights: dict[str, int]
    base: Fraction
    work: Fraction
    quality: Fraction

    def check(self) -> None:
        if self.team_permille < TEAM_SHARE_FLOOR_PERMILLE:
            raise ValidationFailed.one(
                "team_share",
                f"团队分配比例{self.team_permille / 10:g}%低于70%下限（新疆002第21条）",
                f"team share {self.team_permille / 10:g}% is below the 70% floor",
            )
        if self.team_permille > 1000:
            raise ValidationFailed.one(
                "team_share", "团队分配比例不能超过100%", "team share cannot exceed 100%"
            )
        if self.base < 0 or self.work < 0 or self.quality < 0 or self.base + self.work + self.quality != 1:
            raise ValidationFailed.one(
                "member_split",
                "基础、工作量、质量三部分之和应为100%",
                "base, work and quality parts must add up to 100%",
            )
        unknown = set(self.role_weights) - set(MEMBER_ROLES)
        if unknown or any(w < 0 for w in self.role_weights.values()):
            raise ValidationFailed.one(
                "role_weights", "角色权重须为非负数且角色有效", "role weights must be non-negative"
            )


@dataclass(frozen=True)
class MemberRecord:
    """What a member did in the period: services (follow-ups, signings), the signed patients whose
    health improved under their follow-up (the quality measure, 002 item 19), and follow-ups at
    target (shown beside it, not paid on)."""

    staff_id: int
    role: str
    services: int
    improved_patients: int
    controlled_follow_ups: int = 0


COLOUR_RANK = {"green": 0, "yellow": 1, "red": 2}  # 002 item 14's colours, better to worse


@dataclass(frozen=True)
class Course:
    """One signed patient's course in the period for one disease: the first and last colour assessed
    and the first and last follow-up's control (None: not observed in the period)."""

    first_colour: str | None
    last_colour: str | None
    first_controlled: bool | None
    last_controlled: bool | None


def improved(course: Course) -> bool:
    """ "健康状况明显改善" (002 item 19), read as: the colour got better over the period (red → yellow
    → green), or control was gained (uncontrolled at the first follow-up, controlled at the last)
    while the colour did not get worse. One observation, or none, is no course: not improved."""
    first = COLOUR_RANK.get(course.first_colour or "")
    last = COLOUR_RANK.get(course.last_colour or "")
    if first is not None and last is not None and last != first:
        return last < first
    return course.first_controlled is False and course.last_controlled is True


def largest_remainder(total: int, weights: dict[int, Fraction]) -> dict[int, int]:
    """Split an integer total among members (by staff id) in proportion to weights, exactly: the kit's
    largest-remainder `apportion`, ties to the smaller id; nobody weighted at all: evenly."""
    ids = sorted(weights)
    if not any(weights.values()):
        weights = dict.fromkeys(ids, Fraction(1))
    parts = dict(zip(ids, apportion(total, [weights[i] for i in ids]), strict=True))
    return {i: parts[i] for i in weights}


def member_weights(rule: FeeSplitRule, members: list[MemberRecord]) -> dict[int, Fraction]:
    """Each member's weight: role weight × (base/n-share + work share of services + quality share of
    improved patients)."""

    def part(values: dict[int, int]) -> dict[int, Fraction]:
        weighted = {m.staff_id: rule.role_weights.get(m.role, 0) * values[m.staff_id] for m in members}
        total = sum(weighted.values())
        if total == 0:  # nobody recorded any: that part follows role weights alone
            weighted = {m.staff_id: rule.role_weights.get(m.role, 0) for m in members}
            total = sum(weighted.values())
        return {k: Fraction(v, total) if total else Fraction(0) for k, v in weighted.items()}

    base = part({m.staff_id: 1 for m in members})
    work = part({m.staff_id: m.services for m in members})
    quality = part({m.staff_id: m.improved_patients for m in members})
    return {
        m.staff_id: rule.base * base[m.staff_id]
        + rule.work * work[m.staff_id]
        + rule.quality * quality[m.staff_id]
        for m in members
    }


@dataclass(frozen=True)
class TeamSplit:
    fees_fen: int
    team_pool_fen: int
    institution_fen: int
    members_fen: dict[int, int]


def split_team_fees(rule: FeeSplitRule, fees_fen: int, members: list[MemberRecord]) -> TeamSplit:
    """The team gets team_permille of its fees (≥ 70 %), the rest stays with the institution."""
    rule.check()
    pool = (fees_fen * rule.team_permille + 500) // 1000
    return TeamSplit(
        fees_fen=fees_fen,
        team_pool_fen=pool,
        institution_fen=fees_fen - pool,
        members_fen=largest_remainder(pool, member_weights(rule, members)),
    )
