"""Addresses of the retired server-rendered pages (issue 22): `/` and `/login` lead to the front end,
and old bookmarks of the residents, institutions and consortia pages to their screens. Every screen
is the front end's; the only HTML the server renders itself is the error page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from yilian.kit.fields import Id

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(request: Request) -> Response:
    """The staff sign-in is the front end's (JSON, same session and lockout)."""
    return RedirectResponse("/app/login", status_code=303)


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
