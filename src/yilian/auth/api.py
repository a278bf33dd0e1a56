"""JSON endpoints of authentication: exchange a password for a bearer token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from yilian.auth import service
from yilian.web.deps import ApiActor, DbSession, client_address

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
