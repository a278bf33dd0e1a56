"""Pages that belong to no single domain: login, logout, the home page. Domain pages are included."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from yilian.auth import rules as roles
from yilian.auth import service as auth_service
from yilian.auth.scoping import institution_visibility, resident_visibility, subject_region
from yilian.chronic.views import router as chronic_pages
from yilian.encounters import repository as encounters_repository
from yilian.indicators import service as indicator_service
from yilian.kit.errors import AppError
from yilian.kit.tokens import same_token
from yilian.models import Institution, Resident
from yilian.referral.views import router as referral_pages
from yilian.registry import repository as registry_repository
from yilian.registry.views import router as registry_pages
from yilian.residents.views import router as residents_pages
from yilian.scheduling.views import router as booking_pages
from yilian.web.deps import (
    SESSION_COOKIE,
    DbSession,
    PageActor,
    check_csrf,
    client_address,
    set_session_cookie,
)
from yilian.web.templating import render

router = APIRouter(include_in_schema=False)
router.include_router(registry_pages)
router.include_router(residents_pages)
router.include_router(chronic_pages)
router.include_router(booking_pages)
router.include_router(referral_pages)
LOGIN_CSRF_COOKIE = "yl_login_csrf"


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    token = secrets.token_hex(16)
    response = render(request, "login.html", login_csrf=token, next=_safe_next(next), error=None)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
    )
    return response


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    state = request.app.state
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not same_token(cookie, csrf):
        return render(
            request,
            "login.html",
            status_code=403,
            login_csrf=cookie,
            next=_safe_next(next),
            error="表单已失效，请刷新后重试 / Form expired, reload the page",
        )
    try:
        result = auth_service.do_login(
            session,
            username=username,
            password=password,
            client_ip=client_address(request),
            now=state.clock.now(),
            settings=state.settings,
        )
    except AppError as error:
        # The page is a normal response, so the request still commits the failure count.
        return render(
            request,
            "login.html",
            status_code=error.status,
            login_csrf=cookie,
            next=_safe_next(next),
            error=f"{error.message_zh} / {error.message_en}",
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, result.session_token, secure=state.settings.secure_cookies)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, actor: PageActor, session: DbSession, csrf: Annotated[str, Form()]) -> Response:
    check_csrf(request, csrf)
    auth_service.do_logout(session, token=request.cookies.get(SESSION_COOKIE, ""), now=actor.clock.now())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def last_months(today: date, count: int) -> list[str]:
    """'YYYY-MM' of the last `count` months, oldest first, ending with today's month."""
    index = today.year * 12 + today.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


@router.get("/", response_class=HTMLResponse)
def home(request: Request, actor: PageActor, session: DbSession) -> Response:
    """The county at a glance: institutions, residents, visits this year, the grassroots share and
    in-county rate of the year so far (the indicators' own figures), monthly visits by tier."""
    subject = actor.subject
    if subject.role == roles.RESIDENT and subject.resident_id:
        return RedirectResponse(f"/residents/{subject.resident_id}", status_code=303)
    today = actor.clock.now().date()
    region = subject_region(session, subject)
    region_range = roles.region_range(region)
    by_type = session.execute(
        select(Institution.type, func.count())
        .where(institution_visibility(subject))
        .group_by(Institution.type)
        .order_by(func.count().desc())
    ).all()
    residents = (
        session.scalar(select(func.count()).select_from(Resident).where(resident_visibility(subject))) or 0
    )
    visits = encounters_repository.visits_at_institutions(
        session, region_range=region_range, since=date(today.year, 1, 1)
    )
    months = last_months(today, 12)
    series = encounters_repository.monthly_volume(
        session, region_range=region_range, start=date.fromisoformat(months[0] + "-01"), end=today
    )
    tiers = ["基层", "县级", "县外"]
    counts = {(m, t): c for m, t, c in series}
    chart = {t: [counts.get((m, t), 0) for m in months] for t in tiers}
    # The shares are the catalogue's indicators, computed as the indicator page computes them, for
    # the year so far (a test app without a database URL shows none).
    database_url = getattr(request.app.state.db, "url", None)
    figures = (
        {
            v.code: v
            for v in indicator_service.division_figures(
                database_url=database_url, region_code=region, today=today
            )
        }
        if database_url
        else {}
    )
    division = registry_repository.division(session, region)
    return render(
        request,
        "home.html",
        division=division,
        by_type=by_type,
        institutions=sum(c for _, c in by_type),
        residents=residents,
        visits=visits,
        months=months,
        chart=chart,
        figures=figures,
        year=today.year,
    )
