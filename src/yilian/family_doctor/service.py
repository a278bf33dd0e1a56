"""Use cases of family-doctor contracting: teams and contracts. Services flush; the request commits."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.auth.context import Actor
from yilian.family_doctor import repository, rules
from yilian.family_doctor.schemas import (
    ContractIn,
    ContractOut,
    TeamIn,
    TeamOut,
    TeamPage,
    TeamRow,
)
from yilian.kit.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from yilian.kit.money import fen_to_yuan
from yilian.kit.tabular import write_xlsx
from yilian.models import Contract, FamilyDoctorTeam, ServicePackage, TeamGrid, TeamMember
from yilian.registry import repository as registry_repository
from yilian.residents.service import access_resident

TEAM_MANAGERS = frozenset({roles.CONSORTIUM_ADMIN, roles.INSTITUTION_ADMIN})
SIGNERS = frozenset({roles.FAMILY_DOCTOR, roles.DOCTOR, roles.INSTITUTION_ADMIN})


# -- teams -----------------------------------------------------------------------------------------
def access_team(session: Session, actor: Actor, team_id: int) -> FamilyDoctorTeam:
    found = session.scalar(repository.readable_teams(actor.subject).where(FamilyDoctorTeam.id == team_id))
    if found is None:
        raise NotFound("家庭医生团队", "Family-doctor team")
    return found


def team_out(session: Session, teams: list[FamilyDoctorTeam]) -> list[TeamOut]:
    ids = [t.id for t in teams]
    members: dict[int, list[dict[str, object]]] = {i: [] for i in ids}
    for team_id, staff_id, name, role in repository.members_of(session, ids):
        members[team_id].append({"staff_id": staff_id, "name": name, "role": role})
    grids = repository.grids_of(session, ids)
    return [
        TeamOut(
            id=t.id,
            code=t.code,
            name=t.name,
            institution_id=t.institution_id,
            members=members[t.id],
            grid_ids=grids[t.id],
        )
        for t in teams
    ]


def do_create_team(session: Session, *, actor: Actor, data: TeamIn) -> FamilyDoctorTeam:
    """A team of village doctor, township GP, county specialist and health manager (004 §3.3)."""
    if not actor.subject.may(TEAM_MANAGERS):
        raise Forbidden("只有医共体或机构管理员可以组建团队", "Only administrators form teams")
    subject = actor.subject
    # Named in the body: outside the county "does not exist" (422); in it but not theirs, 403.
    scoping.named_consortium(session, subject, "consortium_id", data.consortium_id)
    scoping.named_institution(session, subject, "institution_id", data.institution_id)
    if not scoping.in_charge(
        session, subject, institution_id=data.institution_id, consortium_id=data.consortium_id
    ):
        raise Forbidden(
            "只能为本医联体或本机构组建团队", "You can form teams of your own consortium or institution only"
        )
    errors = []
    roles_present = {m.role for m in data.members}
    for member in data.members:
        if member.role not in rules.MEMBER_ROLES:
            errors.append(
                FieldError(
                    "members.role",
                    f"团队角色应为：{'、'.join(rules.MEMBER_ROLES)}",
                    f"role must be one of {', '.join(rules.MEMBER_ROLES)}",
                )
            )
        staff = registry_repository.staff(session, member.staff_id)
        # Staff of an institution outside the county do not exist for this team either.
        if staff is None or scoping.readable_institution(session, subject, staff.home_institution_id) is None:
            errors.append(
                FieldError(
                    "members.staff_id",
                    f"人员{member.staff_id}不存在",
                    f"staff {member.staff_id} does not exist",
                )
            )
    staff_ids = [m.staff_id for m in data.members]
    for repeated in sorted({s for s in staff_ids if staff_ids.count(s) > 1}):
        # One row per person in a team (the table's unique key): said here, not a 500 at the flush.
        errors.append(
            FieldError(
                "members.staff_id",
                "同一人员不能在团队中出现两次",
                f"staff {repeated} appears twice in the team",
            )
        )
    for needed in rules.missing_roles(roles_present):
        errors.append(
            FieldError(
                "members",
                f"团队须包含{needed}（004 §3.3）",
                f"the team needs a {rules.ROLE_NAMES_EN[needed]} (004 §3.3)",
            )
        )
    if registry_repository.membership(session, data.consortium_id, data.institution_id) is None:
        errors.append(
            FieldError(
                "institution_id", "团队所属机构须为该医联体成员", "institution must be a consortium member"
            )
        )
    for grid_id in data.grid_ids:
        grid = registry_repository.grid(session, grid_id)
        if grid is None or grid.consortium_id != data.consortium_id:
            errors.append(
                FieldError(
                    "grid_ids", f"网格{grid_id}不属于该医联体", f"grid {grid_id} is not in the consortium"
                )
            )
    if errors:
        raise ValidationFailed(errors, "团队信息有误", "Invalid team")
    team = FamilyDoctorTeam(
        code=data.code, name=data.name, consortium_id=data.consortium_id, institution_id=data.institution_id
    )
    session.add(team)
    session.flush()
    session.add_all(TeamMember(team_id=team.id, staff_id=m.staff_id, role=m.role) for m in data.members)
    session.add_all(TeamGrid(team_id=team.id, grid_id=g) for g in data.grid_ids)
    session.flush()
    return team


# -- contracts -------------------------------------------------------------------------------------
def contract_out(session: Session, contract: Contract, today: date) -> ContractOut:
    """The contract as shown on `today`: one left active past its end shows as expired."""
    team = repository.team(session, contract.team_id)
    package = repository.package(session, contract.package_id)
    return ContractOut(
        id=contract.id,
        resident_id=contract.resident_id,
        team_id=contract.team_id,
        team_name=team.name if team else "",
        package_id=contract.package_id,
        package_name=package.name if package else "",
        start_on=contract.start_on,
        end_on=contract.end_on,
        fee=fen_to_yuan(contract.fee_fen),
        status=rules.contract_state(contract.status, contract.end_on, today),
        ended_on=contract.ended_on or (contract.end_on if contract.end_on < today else None),
        end_reason=contract.end_reason,
        previous_contract_id=contract.previous_contract_id,
    )


def _usable_package(session: Session, package_id: int, consortium_id: int, on: date) -> ServicePackage:
    package = repository.package(session, package_id)
    if package is None or package.consortium_id != consortium_id:
        raise ValidationFailed.one(
            "package_id", "服务包不存在或不属于该医联体", "package not found in this consortium"
        )
    if package.valid_from > on or (package.valid_to is not None and package.valid_to < on):
        raise ValidationFailed.one(
            "package_id", f"服务包“{package.name}”在{on}不在有效期内", "package is not valid then"
        )
    return package


def do_sign_contract(
    session: Session, *, actor: Actor, data: ContractIn, previous: Contract | None = None
) -> Contract:
    """Sign a resident with a team for a package and period; one active contract per consortium."""
    if not actor.subject.may(SIGNERS):
        raise Forbidden("当前角色不能签约", "Your role cannot sign contracts")
    # A signer signs for the teams of their own institution: another's is "does not exist" (422).
    team = session.scalar(repository.readable_teams(actor.subject).where(FamilyDoctorTeam.id == data.team_id))
    if team is None or not team.is_active:
        raise ValidationFailed.one("team_id", "团队不存在或已停用", "team does not exist or is inactive")
    resident = access_resident(session, actor, data.resident_id)
    if resident.status != "active":
        reason = "已注销（死亡）" if resident.status == "deceased" else "已合并"
        raise ValidationFailed.one(
            "resident_id", f"该居民档案{reason}，不能签约", f"resident record is {resident.status}"
        )
    today = actor.clock.now().date()
    start = data.start_on or today
    if start < today and previous is None:
        raise ValidationFailed.one(
            "start_on", "签约开始日期不能早于今天", "contract cannot start in the past"
        )
    end = rules.contract_end(start, data.months)
    package = _usable_package(session, data.package_id, team.consortium_id, start)
    current = repository.open_contract(session, resident.id, team.consortium_id, today)
    if current is not None and current is not previous:
        raise Conflict(
            f"该居民已有有效签约（至{current.end_on}），请续约或变更团队",
            f"resident already has an active contract until {current.end_on}; renew or change team",
            [FieldError("resident_id", "签约期重叠", "overlapping contract")],
        )
    repository.close_lapsed(session, resident_id=resident.id, consortium_id=team.consortium_id, today=today)
    staff_id = actor.subject.staff_id
    contract = Contract(
        resident_id=resident.id,
        team_id=team.id,
        package_id=package.id,
        consortium_id=team.consortium_id,
        start_on=start,
        end_on=end,
        fee_fen=package.price_fen,
        status="active",
        signed_by_staff_id=staff_id,
        signed_at=actor.clock.now(),
        previous_contract_id=previous.id if previous else None,
    )
    session.add(contract)
    session.flush()
    actor.record_change(
        session, action="create", entity="contract", entity_id=contract.id, resident_id=resident.id
    )
    return contract


def access_contract(session: Session, actor: Actor, contract_id: int) -> Contract:
    contract = repository.contract(session, contract_id)
    if contract is None:
        raise NotFound("签约记录", "Contract")
    access_resident(session, actor, contract.resident_id)
    return contract


def _end(session: Session, actor: Actor, contract: Contract, *, status: str, on: date, reason: str) -> None:
    if contract.status != "active":
        raise ValidationFailed.one(
            "status", f"该签约状态为{contract.status}，不能再变更", f"contract is {contract.status}"
        )
    if status != "renewed" and contract.end_on < on:
        raise ValidationFailed.one(
            "status",
            f"该签约已于{contract.end_on}到期，不能再变更或解约",
            f"the contract lapsed on {contract.end_on}; it can no longer be changed or terminated",
        )
    contract.status, contract.ended_on, contract.end_reason = status, on, reason
    session.flush()
    actor.record_change(
        session,
        action="update",
        entity="contract",
        entity_id=contract.id,
        resident_id=contract.resident_id,
        detail=f"{status}: {reason}",
    )


def do_renew(
    session: Session, *, actor: Actor, contract_id: int, months: int, package_id: int | None
) -> Contract:
    """Continue with the same team from the day after the current end."""
    current = access_contract(session, actor, contract_id)
    start = current.end_on.fromordinal(current.end_on.toordinal() + 1)
    _end(session, actor, current, status="renewed", on=current.end_on, reason="续约")
    session.flush()
    return do_sign_contract(
        session,
        actor=actor,
        previous=current,
        data=ContractIn(
            resident_id=current.resident_id,
            team_id=current.team_id,
            package_id=package_id or current.package_id,
            start_on=start,
            months=months,
        ),
    )


def do_change_team(
    session: Session, *, actor: Actor, contract_id: int, team_id: int, reason: str
) -> Contract:
    """Move to another team today; the rest of the period carries over."""
    current = access_contract(session, actor, contract_id)
    today = actor.clock.now().date()
    new_team = repository.team(session, team_id)
    if new_team is None or new_team.consortium_id != current.consortium_id:
        raise ValidationFailed.one(
            "team_id", "新团队不存在或不属于同一医联体", "new team is not in the same consortium"
        )
    if new_team.id == current.team_id:
        raise ValidationFailed.one("team_id", "新团队与原团队相同", "that is the current team")
    _end(session, actor, current, status="changed", on=today, reason=reason)
    months_left = max(1, round((current.end_on - today).days / 30.44))
    contract = do_sign_contract(
        session,
        actor=actor,
        previous=current,
        data=ContractIn(
            resident_id=current.resident_id,
            team_id=team_id,
            package_id=current.package_id,
            start_on=today,
            months=months_left,
        ),
    )
    contract.end_on = current.end_on  # the period is kept, not restarted
    contract.fee_fen = 0  # the fee was paid with the original contract
    session.flush()
    return contract


def do_terminate(session: Session, *, actor: Actor, contract_id: int, reason: str) -> Contract:
    contract = access_contract(session, actor, contract_id)
    _end(session, actor, contract, status="terminated", on=actor.clock.now().date(), reason=reason)
    return contract


# -- the administrator's lists -----------------------------------------------------------------------
def team_page(
    session: Session, *, actor: Actor, q: str, institution_id: int | None, offset: int, limit: int
) -> TeamPage:
    """One page of the teams the actor runs, with member names and roles."""
    statement = repository.team_rows(actor.subject, q=q, institution_id=institution_id)
    total = repository.count(session, statement)
    rows = list(session.execute(statement.offset(offset).limit(limit)))
    return TeamPage(total=total, offset=offset, limit=limit, items=_team_rows(session, rows))


def _team_rows(session: Session, rows: list[Any]) -> list[TeamRow]:
    ids = [team.id for team, _ in rows]
    members: dict[int, list[dict[str, object]]] = {i: [] for i in ids}
    for team_id, _staff_id, name, role in repository.members_of(session, ids):
        members[team_id].append({"name": name, "role": role})
    grids = repository.grids_of(session, ids)
    return [
        TeamRow(
            id=team.id,
            code=team.code,
            name=team.name,
            institution_name=institution_name,
            members=members[team.id],
            grid_count=len(grids[team.id]),
        )
        for team, institution_name in rows
    ]


TEAM_COLUMNS = [
    "团队编码",
    "团队名称",
    "所属机构",
    "村医",
    "全科医生",
    "专科医生",
    "健康管理师",
    "负责网格数",
]


def export_teams(session: Session, *, actor: Actor, q: str, institution_id: int | None) -> bytes:
    """The whole filtered team list as a spreadsheet, one column of names per member role."""
    statement = repository.team_rows(actor.subject, q=q, institution_id=institution_id)
    rows = _team_rows(session, list(session.execute(statement)))
    return write_xlsx(
        TEAM_COLUMNS,
        (
            [
                r.code,
                r.name,
                r.institution_name,
                *(
                    "、".join(str(m["name"]) for m in r.members if m["role"] == role)
                    for role in rules.MEMBER_ROLES
                ),
                r.grid_count,
            ]
            for r in rows
        ),
        "家庭医生团队",
    )
