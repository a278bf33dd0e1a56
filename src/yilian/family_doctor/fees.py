"""Signing-fee distribution: the consortium's rule (≥ 70 % to teams) and each member's share."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.family_doctor import repository, rules
from yilian.family_doctor.packages import consortium_of, permille
from yilian.family_doctor.schemas import (
    Distribution,
    DistributionRow,
    FeeRuleIn,
    InstitutionFees,
)
from yilian.family_doctor.service import TEAM_MANAGERS
from yilian.kit.errors import Forbidden, NotFound, ValidationFailed
from yilian.kit.money import fen_to_yuan
from yilian.kit.tabular import write_workbook
from yilian.models import FeeRule


def do_set_fee_rule(session: Session, *, actor: Actor, data: FeeRuleIn) -> FeeRule:
    """Refuse a team share under 70 % (002 item 21) before anything is saved."""
    consortium_id = consortium_of(actor)
    split = _split_rule(permille(data.team_share), data.role_weights, data.base, data.work, data.quality)
    split.check()
    rule = repository.fee_rule(session, consortium_id)
    payload = json.dumps(
        {
            "role_weights": data.role_weights,
            "base": str(data.base),
            "work": str(data.work),
            "quality": str(data.quality),
        },
        ensure_ascii=False,
    )
    if rule is None:
        rule = FeeRule(
            consortium_id=consortium_id,
            team_permille=split.team_permille,
            member_split_json=payload,
            updated_at=actor.clock.now(),
        )
        session.add(rule)
    else:
        rule.team_permille, rule.member_split_json, rule.updated_at = (
            split.team_permille,
            payload,
            actor.clock.now(),
        )
    session.flush()
    return rule


def _split_rule(
    team_permille: int,
    role_weights: dict[str, int],
    base: Decimal | str,
    work: Decimal | str,
    quality: Decimal | str,
) -> rules.FeeSplitRule:
    return rules.FeeSplitRule(
        team_permille=team_permille,
        role_weights=role_weights,
        base=Fraction(str(base)),
        work=Fraction(str(work)),
        quality=Fraction(str(quality)),
    )


DEFAULT_SPLIT: dict[str, Any] = {
    "role_weights": {"全科医生": 4, "村医": 3, "专科医生": 2, "健康管理师": 1},
    "base": "0.4",
    "work": "0.4",
    "quality": "0.2",
}


def distribute_fees(session: Session, *, actor: Actor, start: date, end: date) -> Distribution:
    """Each team's and member's share of the period's signing fees, by the consortium's rule.

    Pay is personal: administrators only (consortium, institution, commission), not colleagues."""
    if not actor.subject.may(TEAM_MANAGERS | {roles.COMMISSION}):
        raise Forbidden("只有管理员可以查看签约服务费分配", "Only administrators see the fee distribution")
    if end < start:
        raise ValidationFailed.one("end", "结束日期不能早于开始日期", "end is before start")
    teams = list(session.scalars(repository.readable_teams(actor.subject)))
    if not teams:
        raise NotFound("家庭医生团队", "Family-doctor team")
    rule_row = repository.fee_rule(session, teams[0].consortium_id)
    settings = json.loads(rule_row.member_split_json) if rule_row else DEFAULT_SPLIT
    split_rule = _split_rule(
        rule_row.team_permille if rule_row else 700,
        settings["role_weights"],
        settings["base"],
        settings["work"],
        settings["quality"],
    )
    team_ids = [t.id for t in teams]
    fees = repository.fees_by_team(session, team_ids=team_ids, start=start, end=end)
    members = repository.members_of(session, team_ids)
    staff_ids = sorted({s for _, s, _, _ in members})
    work = repository.member_work(session, staff_ids=staff_ids, start=start, end=end)
    improved = improved_by_staff(session, team_ids=team_ids, start=start, end=end)
    rows: list[DistributionRow] = []
    total_fees = total_pool = total_institution = 0
    per_institution: dict[int, list[int]] = {}
    for team in teams:
        records = [
            rules.MemberRecord(
                staff_id=s,
                role=r,
                services=work[s][0],
                improved_patients=len(improved.get(s, ())),
                controlled_follow_ups=work[s][1],
            )
            for t, s, _, r in members
            if t == team.id
        ]
        split = rules.split_team_fees(split_rule, fees.get(team.id, 0), records)
        total_fees += split.fees_fen
        total_pool += split.team_pool_fen
        total_institution += split.institution_fen
        sums = per_institution.setdefault(team.institution_id, [0, 0, 0])
        sums[0], sums[1], sums[2] = (
            sums[0] + split.fees_fen,
            sums[1] + split.team_pool_fen,
            sums[2] + split.institution_fen,
        )
        names = {s: n for t, s, n, _ in members if t == team.id}
        for record in records:
            rows.append(
                DistributionRow(
                    team_id=team.id,
                    team_name=team.name,
                    staff_id=record.staff_id,
                    staff_name=names[record.staff_id],
                    role=record.role,
                    services=record.services,
                    controlled_patients=record.controlled_follow_ups,
                    improved_patients=record.improved_patients,
                    amount=fen_to_yuan(split.members_fen[record.staff_id]),
                )
            )
    institution_names = repository.institution_names(session, sorted(per_institution))
    return Distribution(
        start=start,
        end=end,
        team_share=f"{split_rule.team_permille / 10:g}%",
        fees=fen_to_yuan(total_fees),
        team_pool=fen_to_yuan(total_pool),
        institutions=fen_to_yuan(total_institution),
        rows=rows,
        by_institution=[
            InstitutionFees(
                institution_id=i,
                institution_name=institution_names.get(i, ""),
                fees=fen_to_yuan(f),
                team_pay=fen_to_yuan(p),
                retained=fen_to_yuan(r),
            )
            for i, (f, p, r) in sorted(per_institution.items())
        ],
    )


def improved_by_staff(
    session: Session, *, team_ids: list[int], start: date, end: date
) -> dict[int, set[int]]:
    """staff → the signed patients whose course in the period improved (rules.improved), credited to
    the member who made the patient's last follow-up of the period; a patient counts once per member."""
    out: dict[int, set[int]] = {}
    for resident_id, staff_id, course in repository.patient_courses(
        session, team_ids=team_ids, start=start, end=end
    ):
        if staff_id is not None and rules.improved(course):
            out.setdefault(staff_id, set()).add(resident_id)
    return out


OUTSIDE_PERFORMANCE_PAY = "不纳入绩效工资总额（002第21条）"


def distribution_xlsx(distribution: Distribution) -> bytes:
    """The signing-fee payroll: members' pay from the fees, and per institution the team pay kept
    apart from the institution's own part, so neither is added to the performance-pay total."""
    header = [
        "团队",
        "工号ID",
        "姓名",
        "团队角色",
        "服务人次",
        "达标随访人次",
        "健康改善患者数",
        f"签约服务费薪酬(元，{OUTSIDE_PERFORMANCE_PAY})",
    ]
    rows = [
        [
            r.team_name,
            r.staff_id,
            r.staff_name,
            r.role,
            r.services,
            r.controlled_patients,
            r.improved_patients,
            r.amount,
        ]
        for r in distribution.rows
    ]
    institutions = [[i.institution_name, i.fees, i.team_pay, i.retained] for i in distribution.by_institution]
    period = f"{distribution.start:%Y%m%d}-{distribution.end:%Y%m%d}"
    return write_workbook(
        [
            (f"签约服务费{period}", header, rows),
            (
                "机构汇总",
                [
                    "机构",
                    "签约服务费(元)",
                    f"团队人员薪酬(元，{OUTSIDE_PERFORMANCE_PAY})",
                    "机构留存(元)",
                ],
                institutions,
            ),
        ]
    )
