"""Jinja2 environment shared by every page, with the filters pages need."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from yilian.kit.masking import mask_id_number, mask_phone

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["mask_id"] = mask_id_number
templates.env.filters["mask_phone"] = mask_phone
templates.env.filters["thousands"] = lambda n: f"{n:,}" if isinstance(n, int) else n
templates.env.globals["SEX"] = {"M": "男", "F": "女"}
templates.env.globals["KIND"] = {"outpatient": "门诊", "inpatient": "住院"}


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("user", getattr(request.state, "user", None))
    context.setdefault("csrf_token", getattr(request.state, "csrf_token", ""))
    # Inline scripts run only with the response's nonce (app.SecurityHeaders sets the policy).
    context.setdefault("csp_nonce", getattr(request.state, "csp_nonce", ""))
    return templates.TemplateResponse(request, name, context, status_code=status_code)
