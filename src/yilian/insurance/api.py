"""JSON endpoints: group one case, run a settlement (what-if, nothing saved), save one, import claims."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, UploadFile
from pydantic import BaseModel, Field

from yilian.config import drg_scheme_dir, get_settings
from yilian.insurance import claims, service
from yilian.insurance.config import parse_config
from yilian.insurance.drg.rules import Case, Grouper
from yilian.kit.errors import Conflict
from yilian.kit.fields import Id
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api", tags=["insurance"])


class CaseIn(BaseModel):
    case_id: str = ""
    sex: int | str = Field(description="1/男/M or 2/女/F")
    age: int
    age_days: int | None = None
    weight: int | None = Field(default=None, description="birth weight in grams")
    department: str | None = None
    length_of_stay: int | None = None
    leaving_type: str | None = None
    diagnoses: list[str] = Field(min_length=1, description="the first is the principal diagnosis")
    procedures: list[str] = Field(default_factory=list, description="the first is the main procedure")


def shared_grouper() -> Grouper:
    grouper = service.configured_grouper()
    if grouper is None:
        directory = drg_scheme_dir(get_settings())
        raise Conflict(
            f"未配置DRG分组方案（{directory}中没有方案），请设置YILIAN_DRG_SCHEME_DIR",
            f"no DRG scheme in {directory}; set YILIAN_DRG_SCHEME_DIR",
        )
    return grouper


@router.post("/drg/group")
def group_case(data: CaseIn, actor: ApiActor) -> dict[str, Any]:
    del actor  # any signed-in user may group; the case carries no identity
    result = shared_grouper().group(Case(**data.model_dump()), trace=True)
    return {
        "case_id": result.case_id,
        "status": result.status,
        "status_key": result.status_key,
        "mdc": result.mdc,
        "adrg": result.adrg,
        "drg": result.drg,
        "drg_name": result.drg_name,
        "unknown_codes": list(result.unknown_codes),
        "trace": list(result.trace),
    }


@router.post("/insurance/consortia/{consortium_id}/settlement")
def what_if(
    consortium_id: Id, actor: ApiActor, session: DbSession, terms: dict[str, Any] = Body()
) -> dict[str, Any]:
    """Run the settlement on these terms and return every figure; nothing is saved."""
    consortium = service.access_consortium(session, actor.subject, consortium_id)
    report = service.settlement_report(
        session, consortium=consortium, config=parse_config(terms), scheme=drg_scheme_dir(get_settings()).name
    )
    return report.to_json()


@router.post("/insurance/claims", status_code=201)
def import_claims(file: UploadFile, actor: ApiActor, session: DbSession) -> dict[str, int]:
    result = claims.do_import_claims(
        session, actor=actor, filename=file.filename or "", data=file.file.read()
    )
    return {"imported": result.imported, "fund_fen": result.fund_fen}
