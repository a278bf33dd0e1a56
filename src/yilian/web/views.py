"""Pages that belong to no single domain: `/` and `/login` lead to the front end; the form logout of the
Jinja pages that remain. Domain pages are included."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from yilian.auth import service as auth_service
from yilian.chronic.views import router as chronic_pages
from yilian.kit.fields import Id
from yilian.referral.views import router as referral_pages
from yilian.scheduling.views import router as booking_pages
from yilian.web.deps import SESSION_COOKIE, DbSession, PageActor, check_csrf

router = APIRouter(include_in_schema=False)
router.include_router(chronic_pages)
router.include_router(booking_pages)
router.include_router(referral_pages)


@router.get("/login")
def login_page(request: Request) -> Response:
    """The staff sign-in is the front end's (JSON, same session and lockout): a Jinja page that
    still needs a login (LoginRequired) sends the browser here, and it goes on to the app's login."""
    return RedirectResponse("/app/login", status_code=303)


@router.post("/logout")
def logout(request: Request, actor: PageActor, session: DbSession, csrf: Annotated[str, Form()]) -> Response:
    check_csrf(request, csrf)
    auth_service.do_logout(session, token=request.cookies.get(SESSION_COOKIE, ""), now=actor.clock.now())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
def home() -> Response:
    """The workstation is the front end under /app/ (decision 0026)."""
    return RedirectResponse("/app/", status_code=303)


# The pages the front end replaced: old links (the remaining Jinja pages, bookmarks) lead to its screens.
@router.get("/residents")
def residents_moved() -> Response:
    return RedirectResponse("/app/residents", status_code=308)


@router.get("/residents/{resident_id}")
def resident_moved(resident_id: Id) -> Response:
    return RedirectResponse(f"/app/residents/{resident_id}", status_code=308)


@router.get("/institutions")
def institutions_moved() -> Response:
    return RedirectResponse("/app/registry/institutions", status_code=308)


@router.get("/consortia")
def consortia_moved() -> Response:
    return RedirectResponse("/app/registry/consortia", status_code=308)
