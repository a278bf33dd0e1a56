"""The settlement page: the year's figures with charts; an officer changes a term to see its effect."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yilian.config import drg_scheme_dir, get_settings
from yilian.insurance import repository, service
from yilian.insurance.config import parse_config
from yilian.kit.errors import AppError, NotFound
from yilian.web.deps import DbSession, PageActor, PostedForm, check_csrf
from yilian.web.templating import render

router = APIRouter()

# The terms an officer can change on the page, with the demo's defaults (docs/settlement-example.toml).
EDITABLE = {
    "year": "2025",
    "budget_yuan": "90000000",
    "withheld_share": "5%",
    "retained_share": "80%",
    "overrun_threshold": "5%",
    "overrun_fund_ratio": "50%",
    "assessment_score": "92",
    "grassroots_tilt": "20%",
    "staff_reward_share": "60%",
    "drg_budget_yuan": "30000000",
    "drg_standard_year": "2025",
    "per_capita_yuan": "60",
}
LABELS = {
    "year": "年度",
    "budget_yuan": "总额预算(元)",
    "withheld_share": "考核预留比例",
    "retained_share": "结余留用比例",
    "overrun_threshold": "合理超支上限(占预算)",
    "overrun_fund_ratio": "合理超支基金分担比例",
    "assessment_score": "考核得分",
    "grassroots_tilt": "基层倾斜系数",
    "staff_reward_share": "人员奖励上限比例",
    "drg_budget_yuan": "住院DRG基金预算(元)",
    "drg_standard_year": "DRG权重基准年",
    "per_capita_yuan": "门诊人头费(元/人·年)",
}


def _terms(values: dict[str, str]) -> dict[str, Any]:
    year = int(values["year"]) if values["year"].isdigit() else 0
    terms: dict[str, Any] = {
        k: v for k, v in values.items() if k in EDITABLE and not k.startswith(("drg_", "per_"))
    }
    terms["year"] = year
    terms["drg"] = (
        {"inpatient_fund_budget_yuan": values["drg_budget_yuan"]} if values["drg_budget_yuan"] else {}
    )
    if values["drg_standard_year"].isdigit():
        terms["drg"]["standard_year"] = int(values["drg_standard_year"])
    terms["capitation"] = {"per_capita_yuan": values["per_capita_yuan"]} if values["per_capita_yuan"] else {}
    return terms


@router.get("/insurance/settlement", response_class=HTMLResponse)
def settlement_page(request: Request, actor: PageActor, session: DbSession, saved: str = "") -> Response:
    values = {k: request.query_params.get(k, default) for k, default in EDITABLE.items()}
    code = request.query_params.get("consortium") or None
    consortium = (
        repository.consortium_by_code(session, code) if actor.subject.role != "医共体管理员" else None
    )
    consortium_id = consortium.id if consortium else actor.subject.consortium_id
    if consortium_id is None:
        raise NotFound("医共体", "consortium")
    found = service.access_consortium(session, actor.subject, consortium_id)
    report, error = None, ""
    try:
        report = service.settlement_report(
            session,
            consortium=found,
            config=parse_config(_terms(values)),
            scheme=drg_scheme_dir(get_settings()).name,
        )
    except AppError as failure:
        error = (
            "；".join(f"{LABELS.get(e.field, e.field)}：{e.message_zh}" for e in failure.errors)
            or failure.message_zh
        )
    data = report.to_json() if report else None
    return render(
        request,
        "settlement.html",
        consortium=found,
        values=values,
        labels=LABELS,
        data=data,
        chart=json.dumps(data, ensure_ascii=False) if data else "null",
        error=error,
        saved=saved,
    )


@router.post("/insurance/settlement/save")
def save_settlement(
    request: Request, actor: PageActor, session: DbSession, form: PostedForm, csrf: Annotated[str, Form()]
) -> Response:
    check_csrf(request, csrf)
    values = {k: str(form.get(k, default)) for k, default in EDITABLE.items()}
    consortium_id = int(str(form.get("consortium_id", "0")))
    found = service.access_consortium(session, actor.subject, consortium_id)
    terms = _terms(values)
    report = service.settlement_report(
        session, consortium=found, config=parse_config(terms), scheme=drg_scheme_dir(get_settings()).name
    )
    saved = service.do_save_settlement(
        session, actor=actor, report=report, terms_text=json.dumps(terms, ensure_ascii=False)
    )
    query = "&".join(f"{k}={v}" for k, v in values.items())
    return RedirectResponse(
        f"/insurance/settlement?{query}&consortium={found.code}&saved={saved.id}", status_code=303
    )
