"""Request dependencies: the database session, the acting subject, CSRF checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from yilian.auth import service as auth_service
from yilian.auth.context import Actor
from yilian.kit.errors import AppError, Forbidden, Unauthenticated
from yilian.kit.tokens import same_token

T = TypeVar("T")
SESSION_COOKIE = "yl_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session and transaction: commit on success, roll back on any error (an error
    that must still be recorded, such as a failed login, commits).

    `async` on purpose: a sync generator dependency costs two thread-pool hops per request (enter
    and exit; decision 0011). Creating a session does no I/O. The event loop never waits for the
    database: the endpoint's queries run in its worker thread, and the commit or rollback in one
    too — or in the endpoint's own thread (`committed_in_thread`), and then there is nothing left
    to send here."""
    database = request.app.state.db
    # FHIR's reads write nothing (their audit events go through the audit writer's own connection).
    read_only = request.method in ("GET", "HEAD") and request.url.path.startswith("/fhir/")
    session: Session = (database.read_session_factory if read_only else database.session_factory)()
    try:
        yield session
    except AppError as error:
        await run_in_threadpool(session.commit if error.commit_anyway else session.rollback)
        raise
    except BaseException:
        await run_in_threadpool(session.rollback)
        raise
    else:
        if session.in_transaction():
            await run_in_threadpool(session.commit)
    finally:
        session.close()


# scope="function": the commit (or rollback) runs before the response starts. FastAPI's default
# ("request") ran it after the response was sent: a 201 could go out for a write that then failed
# to commit or was lost to a kill -9, with its audit row.
DbSession = Annotated[Session, Depends(get_session, scope="function")]


async def committed_in_thread(session: Session, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `work` and commit, both in one worker thread: the event loop is never blocked on the
    database (the dependency's commit then has nothing to send). On an error nothing is committed
    and the dependency rolls back, as for any endpoint."""

    def work_and_commit() -> T:
        result = work(*args, **kwargs)
        session.commit()
        return result

    return await run_in_threadpool(work_and_commit)


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    """The server-side session's cookie, the same for staff (password) and residents (phone code)."""
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure)


@dataclass(frozen=True)
class PageUser:
    """What pages show of the signed-in account, as plain values: an error page renders after the
    request's session has rolled back and closed, when the account's ORM row can no longer load."""

    username: str
    display_name: str
    role: str
    resident_id: int | None


class LoginRequired(AppError):
    """Raised by page dependencies; the handler redirects to the login page."""

    def __init__(self) -> None:
        super().__init__("请先登录", "Please log in", 401)


def client_address(request: Request) -> str:
    """The peer's address: behind a reverse proxy, uvicorn puts the client's from X-Forwarded-For
    here when the proxy is trusted (`--forwarded-allow-ips`; 127.0.0.1 by default)."""
    return request.client.host if request.client else ""


def _actor(request: Request, session: Session, user_id_source: str) -> Actor:
    state = request.app.state
    return Actor(
        subject=request.state.subject,
        endpoint=f"{request.method} {request.url.path}",
        audit=state.audit,
        clock=state.clock,
        client_ip=client_address(request) or None,
    )


def _resolve_web_session(request: Request, session: Session) -> bool:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return False
    state = request.app.state
    user, web_session = auth_service.resume_web_session(
        session, token=token, now=state.clock.now(), settings=state.settings
    )
    request.state.subject = auth_service.subject_of(session, user)
    request.state.user = PageUser(user.username, user.display_name, user.role, user.resident_id)
    request.state.csrf_token = web_session.csrf_token
    return True


def check_csrf(request: Request, supplied: str | None) -> None:
    expected = getattr(request.state, "csrf_token", None)
    if not expected or not supplied or not same_token(expected, supplied):
        raise Forbidden(
            "表单已失效，请刷新页面后重试（CSRF校验失败）",
            "Form expired, reload and retry (CSRF check failed)",
        )


async def api_actor(request: Request, session: DbSession) -> Actor:
    """Bearer token for API clients; a browser session also works, with the CSRF header on writes.
    The token or session is read in the thread pool: the event loop never waits for the database."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    now = request.app.state.clock.now()
    return await run_in_threadpool(_resolve_api_actor, request, session, token, now)


def _resolve_api_actor(request: Request, session: Session, token: str | None, now: Any) -> Actor:
    if token is not None:
        request.state.subject = auth_service.subject_for_api_token(session, token=token, now=now)
    elif _resolve_web_session(request, session):
        if request.method in UNSAFE_METHODS:
            check_csrf(request, request.headers.get("x-csrf-token"))
    else:
        raise Unauthenticated("需要访问令牌或登录会话", "A bearer token or a login session is required")
    return _actor(request, session, "api")


ApiActor = Annotated[Actor, Depends(api_actor)]
