"""JSON endpoints of family-doctor contracting."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, UploadFile

from yilian.auth import scoping
from yilian.family_doctor import fees, packages, repository, service
from yilian.family_doctor.schemas import (
    ChangeTeamIn,
    ContractIn,
    ContractOut,
    Distribution,
    FeeRuleIn,
    PackageIn,
    PackageOut,
    PackagePage,
    RenewIn,
    TeamIn,
    TeamOut,
    TeamPage,
    TerminateIn,
)
from yilian.kit.fields import Day, Id, Offset
from yilian.residents.service import access_resident
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api", tags=["family doctor"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx(content: bytes, filename: str) -> Response:
    return Response(
        content, media_type=XLSX, headers={"Content-Disposition": f"attachment; filename={filename}"}
    )


@router.get("/teams", response_model=list[TeamOut])
def teams(actor: ApiActor, session: DbSession) -> list[TeamOut]:
    return service.team_out(session, list(session.scalars(repository.readable_teams(actor.subject))))


@router.get("/teams/page", response_model=TeamPage)
def team_page(
    actor: ApiActor,
    session: DbSession,
    q: str = Query("", max_length=64),
    institution_id: Id | None = None,
    offset: Offset = 0,
    limit: int = Query(20, ge=1, le=500),
) -> TeamPage:
    """The administrator's team list: filtered, paged, members by name and role."""
    return service.team_page(
        session, actor=actor, q=q, institution_id=institution_id, offset=offset, limit=limit
    )


@router.get("/teams/export")
def export_teams(
    actor: ApiActor, session: DbSession, q: str = Query("", max_length=64), institution_id: Id | None = None
) -> Response:
    """The whole filtered team list as Excel."""
    return _xlsx(service.export_teams(session, actor=actor, q=q, institution_id=institution_id), "teams.xlsx")


@router.post("/teams", response_model=TeamOut, status_code=201)
def create_team(data: TeamIn, actor: ApiActor, session: DbSession) -> TeamOut:
    return service.team_out(session, [service.do_create_team(session, actor=actor, data=data)])[0]


@router.get("/packages", response_model=list[PackageOut])
def list_packages(actor: ApiActor, session: DbSession) -> list[PackageOut]:
    consortium_id = scoping.home_consortium(session, actor.subject)
    return (
        [packages.package_out(p) for p in repository.packages_of(session, consortium_id)]
        if consortium_id
        else []
    )


@router.get("/packages/page", response_model=PackagePage)
def package_page(
    actor: ApiActor,
    session: DbSession,
    q: str = Query("", max_length=64),
    category: str = Query("", max_length=16),
    offset: Offset = 0,
    limit: int = Query(20, ge=1, le=500),
) -> PackagePage:
    """The consortium's service packages: filtered by name/code and category, paged."""
    return packages.package_page(
        session,
        consortium_id=scoping.home_consortium(session, actor.subject),
        q=q,
        category=category,
        offset=offset,
        limit=limit,
    )


@router.post("/packages", response_model=PackageOut, status_code=201)
def save_package(data: PackageIn, actor: ApiActor, session: DbSession) -> PackageOut:
    return packages.package_out(packages.do_save_package(session, actor=actor, data=data))


@router.get("/packages/export")
def export_packages(
    actor: ApiActor,
    session: DbSession,
    q: str = Query("", max_length=64),
    category: str = Query("", max_length=16),
) -> Response:
    """The whole filtered list (the screen's filters), in the import's columns."""
    return _xlsx(packages.export_packages(session, actor=actor, q=q, category=category), "packages.xlsx")


@router.post("/packages/import")
def import_packages(file: UploadFile, actor: ApiActor, session: DbSession) -> dict[str, int]:
    return {
        "saved": packages.do_import_packages(
            session, actor=actor, filename=file.filename or "", data=file.file.read()
        )
    }


@router.post("/contracts", response_model=ContractOut, status_code=201)
def sign(data: ContractIn, actor: ApiActor, session: DbSession) -> ContractOut:
    return service.contract_out(
        session, service.do_sign_contract(session, actor=actor, data=data), actor.clock.now().date()
    )


@router.post("/contracts/{contract_id}/renew", response_model=ContractOut, status_code=201)
def renew(contract_id: Id, data: RenewIn, actor: ApiActor, session: DbSession) -> ContractOut:
    contract = service.do_renew(
        session, actor=actor, contract_id=contract_id, months=data.months, package_id=data.package_id
    )
    return service.contract_out(session, contract, actor.clock.now().date())


@router.post("/contracts/{contract_id}/change-team", response_model=ContractOut, status_code=201)
def change_team(contract_id: Id, data: ChangeTeamIn, actor: ApiActor, session: DbSession) -> ContractOut:
    contract = service.do_change_team(
        session, actor=actor, contract_id=contract_id, team_id=data.team_id, reason=data.reason
    )
    return service.contract_out(session, contract, actor.clock.now().date())


@router.post("/contracts/{contract_id}/terminate", response_model=ContractOut)
def terminate(contract_id: Id, data: TerminateIn, actor: ApiActor, session: DbSession) -> ContractOut:
    return service.contract_out(
        session,
        service.do_terminate(session, actor=actor, contract_id=contract_id, reason=data.reason),
        actor.clock.now().date(),
    )


@router.get("/residents/{resident_id}/contracts", response_model=list[ContractOut])
def history(resident_id: Id, actor: ApiActor, session: DbSession) -> list[ContractOut]:
    resident = access_resident(session, actor, resident_id)
    today = actor.clock.now().date()
    return [
        service.contract_out(session, c, today)
        for c, _, _ in repository.contracts_of_resident(session, resident.id)
    ]


@router.put("/fee-rule")
def set_fee_rule(data: FeeRuleIn, actor: ApiActor, session: DbSession) -> dict[str, str]:
    rule = fees.do_set_fee_rule(session, actor=actor, data=data)
    return {"team_share": f"{rule.team_permille / 10:g}%"}


@router.get("/fees/distribution", response_model=Distribution)
def distribution(
    actor: ApiActor,
    session: DbSession,
    start: Day,
    end: Day,
    format: str = Query("json", pattern="^(json|xlsx)$"),
) -> Distribution | Response:
    result = fees.distribute_fees(session, actor=actor, start=start, end=end)
    if format == "xlsx":
        return _xlsx(fees.distribution_xlsx(result), f"signing-fees-{start}-{end}.xlsx")
    return result
