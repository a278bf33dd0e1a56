"""JSON endpoints of authentication: a password for a bearer token (machines), or for a browser session
(the front end).

In web, not in auth: signing in sets the cookie of web's request dependencies, and those stand on
auth (the subject of a token), so the endpoints sit with them, above auth (decision 0030)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from yilian.auth import service
from yilian.kit.errors import Unauthenticated, ValidationFailed
from yilian.web.deps import SESSION_COOKIE, ApiActor, DbSession, client_address, set_session_cookie

router = APIRouter(prefix="/api/auth", tags=["auth"])


class TokenIn(BaseModel):
    username: str
    password: str
    name: str = "api"


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    role: str


class MeOut(BaseModel):
    username: str
    role: str
    region_code: str | None
    consortium_id: int | None
    institution_id: int | None
    grid_ids: list[int]


@router.post("/token", response_model=TokenOut)
def create_token(data: TokenIn, request: Request, session: DbSession) -> TokenOut:
    state = request.app.state
    now = state.clock.now()
    user = service.check_credentials(
        session,
        username=data.username,
        password=data.password,
        client_ip=client_address(request),
        now=now,
        settings=state.settings,
    )
    token = service.do_create_api_token(session, user=user, name=data.name, now=now)
    return TokenOut(access_token=token, role=user.role)


@router.get("/me", response_model=MeOut)
def me(actor: ApiActor) -> MeOut:
    s = actor.subject
    return MeOut(
        username=s.username,
        role=s.role,
        region_code=s.region_code,
        consortium_id=s.consortium_id,
        institution_id=s.institution_id,
        grid_ids=list(s.grid_ids),
    )


class SessionIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class SessionOut(BaseModel):
    """The signed-in account as the front end shows it, and the CSRF token its writes must carry
    (the `X-CSRF-Token` header)."""

    username: str
    display_name: str
    role: str
    institution_id: int | None
    consortium_id: int | None
    region_code: str | None
    resident_id: int | None
    csrf_token: str


def _session_out(user: Any, csrf_token: str) -> SessionOut:
    return SessionOut(
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        institution_id=user.institution_id,
        consortium_id=user.consortium_id,
        region_code=user.region_code,
        resident_id=user.resident_id,
        csrf_token=csrf_token,
    )


@router.post("/session", response_model=SessionOut)
def open_session(data: SessionIn, request: Request, response: Response, session: DbSession) -> SessionOut:
    """The staff front end's login: the same checks, lockout and server-side session as the login page,
    the session in an HttpOnly cookie. JSON only, so a cross-site form cannot sign a browser in."""
    if "application/json" not in request.headers.get("content-type", ""):
        raise ValidationFailed.one("body", "请以JSON提交", "send the credentials as JSON")
    state = request.app.state
    result = service.do_login(
        session,
        username=data.username,
        password=data.password,
        client_ip=client_address(request),
        now=state.clock.now(),
        settings=state.settings,
    )
    set_session_cookie(response, result.session_token, secure=state.settings.secure_cookies)
    return _session_out(result.user, result.csrf_token)


@router.get("/session", response_model=SessionOut)
def current_session(request: Request, session: DbSession) -> SessionOut:
    """Who is signed in on this browser (401 when no one is)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated("请先登录", "Please log in")
    state = request.app.state
    user, web_session = service.resume_web_session(
        session, token=token, now=state.clock.now(), settings=state.settings
    )
    return _session_out(user, web_session.csrf_token)


@router.delete("/session", status_code=204)
def close_session(request: Request, actor: ApiActor, session: DbSession) -> Response:
    """Sign out: the server-side session ends (the CSRF header is checked as for every write)."""
    service.do_logout(session, token=request.cookies.get(SESSION_COOKIE, ""), now=actor.clock.now())
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    return response
