"""Log in and out, sessions with idle and absolute expiry, failed-login limits, API tokens, accounts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.orm import Session

from yilian.auth import repository, rules
from yilian.auth.passwords import dummy_hash, hash_password, verify_password
from yilian.auth.rules import Subject
from yilian.config import Settings
from yilian.kit.errors import AppError, Unauthenticated, ValidationFailed
from yilian.kit.tokens import digest, new_token
from yilian.models import ApiToken, User, UserGrid, WebSession


def bad_login() -> AppError:
    error = Unauthenticated("用户名或密码错误", "Wrong username or password")
    error.commit_anyway = True
    return error


# Touch last_seen_at at most this often, so reading pages is not one write per request.
SESSION_TOUCH_INTERVAL = timedelta(seconds=60)


class AccountLocked(AppError):
    def __init__(self, until: datetime) -> None:
        super().__init__(
            f"该账户从本地址连续登录失败次数过多，已锁定至{until:%H:%M}",
            f"Too many failed logins for this account from this address; locked until {until:%H:%M}",
            423,
            commit_anyway=True,
        )


class AddressThrottled(AppError):
    def __init__(self, until: datetime) -> None:
        super().__init__(
            f"本地址登录失败次数过多，请于{until:%H:%M}后再试",
            f"Too many failed logins from this address; try again after {until:%H:%M}",
            429,
            commit_anyway=True,
        )


def _refusal(gate: rules.LoginGate) -> AppError:
    return AddressThrottled(gate.until) if gate.kind == rules.ADDRESS else AccountLocked(gate.until)


@dataclass(frozen=True)
class LoginResult:
    user: User
    session_token: str
    csrf_token: str


def subject_of(session: Session, user: User) -> Subject:
    grid_ids = repository.grid_ids_of(session, user.id) if user.role == rules.FAMILY_DOCTOR else ()
    return Subject(
        user_id=user.id,
        username=user.username,
        role=user.role,
        region_code=user.region_code,
        consortium_id=user.consortium_id,
        institution_id=user.institution_id,
        resident_id=user.resident_id,
        grid_ids=grid_ids,
        staff_id=user.staff_id,
    )


def check_credentials(
    session: Session, *, username: str, password: str, client_ip: str, now: datetime, settings: Settings
) -> User:
    """Verify a password (等保2.0 level 3: failures limited). Failures count per address and per name
    and address (`rules.login_gate`): a stranger's failures lock a name from the stranger's address
    only. Every attempt that gets as far as a password costs one argon2 verify, whether the name
    exists or not, so the answer's timing does not tell which names exist."""
    name = username[:64]
    window = timedelta(minutes=settings.lockout_minutes)
    failures = repository.login_failures(
        session,
        client_ip=client_ip,
        username=name,
        since=now - window,
        limit=settings.max_failed_logins_per_address,
    )
    gate_of = partial(
        rules.login_gate,
        now=now,
        window=window,
        per_account=settings.max_failed_logins,
        per_address=settings.max_failed_logins_per_address,
    )
    gate = gate_of(failures)
    if gate is not None:
        raise _refusal(gate)
    user = repository.user_by_username(session, username)
    valid = verify_password(user.password_hash if user is not None else dummy_hash(settings), password)
    if user is None or not user.is_active or not valid:
        repository.add_login_failure(
            session, client_ip=client_ip, username=name, at=now, forget_before=now - window
        )
        gate = gate_of([(now, True), *failures])
        raise _refusal(gate) if gate is not None else bad_login()
    if any(same for _, same in failures):
        repository.clear_login_failures(session, client_ip=client_ip, username=name)
    return user


def do_login(
    session: Session, *, username: str, password: str, client_ip: str, now: datetime, settings: Settings
) -> LoginResult:
    user = check_credentials(
        session, username=username, password=password, client_ip=client_ip, now=now, settings=settings
    )
    return start_web_session(session, user=user, now=now)


def start_web_session(session: Session, *, user: User, now: datetime) -> LoginResult:
    """A server-side session for a user who proved who they are (a password, or a phone code)."""
    token = new_token()
    csrf = secrets.token_hex(16)
    session.add(
        WebSession(
            token_hash=digest(token), user_id=user.id, csrf_token=csrf, created_at=now, last_seen_at=now
        )
    )
    session.flush()
    return LoginResult(user=user, session_token=token, csrf_token=csrf)


def resume_web_session(
    session: Session, *, token: str, now: datetime, settings: Settings
) -> tuple[User, WebSession]:
    """Find a live session; one idle longer than the limit, or older than the absolute lifetime
    however busy, is ended and refused."""
    web_session = repository.web_session_by_token_hash(session, digest(token))
    if web_session is None or web_session.ended_at is not None:
        raise Unauthenticated()
    if now - web_session.last_seen_at > timedelta(minutes=settings.session_idle_minutes):
        web_session.ended_at = now
        session.flush()
        raise Unauthenticated(
            "会话已超时，请重新登录", "Session expired after inactivity; please log in again"
        )
    if now - web_session.created_at > timedelta(hours=settings.session_absolute_hours):
        web_session.ended_at = now
        session.flush()
        raise Unauthenticated(
            f"会话已超过最长{settings.session_absolute_hours}小时，请重新登录",
            f"Session reached its {settings.session_absolute_hours}-hour limit; please log in again",
        )
    user = repository.user_by_id(session, web_session.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated()
    if now - web_session.last_seen_at > SESSION_TOUCH_INTERVAL:
        web_session.last_seen_at = now
        session.flush()
    return user, web_session


def do_logout(session: Session, *, token: str, now: datetime) -> None:
    web_session = repository.web_session_by_token_hash(session, digest(token))
    if web_session is not None and web_session.ended_at is None:
        web_session.ended_at = now
        session.flush()


def do_create_api_token(
    session: Session, *, user: User, name: str, now: datetime, days: int | None = 90, scopes: str = "user/*.*"
) -> str:
    """A bearer token; `scopes` (SMART-style, e.g. "user/*.read") limits what it may do through /fhir."""
    token = "yl_" + new_token()
    expires = now + timedelta(days=days) if days else None
    session.add(
        ApiToken(
            token_hash=digest(token),
            user_id=user.id,
            name=name,
            created_at=now,
            expires_at=expires,
            scopes=scopes,
        )
    )
    session.flush()
    return token


def subject_for_api_token(session: Session, *, token: str, now: datetime) -> Subject:
    """The subject behind a bearer token, read on every request: a revoked token or a deactivated
    account is refused at once."""
    _api_token, user = _token_and_user(session, digest(token), now)
    return subject_of(session, user)


def user_for_api_token(session: Session, *, token: str, now: datetime) -> User:
    return _token_and_user(session, digest(token), now)[1]


def _token_and_user(session: Session, token_hash: str, now: datetime) -> tuple[ApiToken, User]:
    found = repository.api_token_and_user(session, token_hash)
    if found is None:
        raise Unauthenticated("访问令牌无效或已过期", "API token is invalid or expired")
    api_token, user = found
    if (
        api_token.revoked_at is not None
        or (api_token.expires_at and api_token.expires_at <= now)
        or not user.is_active
    ):
        raise Unauthenticated("访问令牌无效或已过期", "API token is invalid or expired")
    return api_token, user


def do_create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    now: datetime,
    display_name: str | None = None,
    region_code: str | None = None,
    consortium_id: int | None = None,
    institution_id: int | None = None,
    staff_id: int | None = None,
    resident_id: int | None = None,
    grid_ids: tuple[int, ...] = (),
    settings: Settings,
) -> User:
    """Create an account; the password must be strong — there are no default passwords. It is
    hashed with the settings' argon2id cost."""
    if role not in rules.ROLES:
        raise ValidationFailed.one("role", f"未知角色：{role}", f"unknown role: {role}")
    scope = rules.ROLE_SCOPE[role]
    values = {
        "region_code": region_code,
        "consortium_id": consortium_id,
        "institution_id": institution_id,
        "resident_id": resident_id,
    }
    if values[scope] is None:
        raise ValidationFailed.one(scope, f"角色“{role}”必须指定{scope}", f"role {role} requires {scope}")
    rules.check_password_strength(password, username)
    if repository.user_by_username(session, username) is not None:
        raise ValidationFailed.one(
            "username", f"用户名{username}已存在", f"username {username} already exists"
        )
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password, settings=settings),
        role=role,
        created_at=now,
        staff_id=staff_id,
        **values,
    )
    session.add(user)
    session.flush()
    session.add_all(UserGrid(user_id=user.id, grid_id=g) for g in grid_ids)
    session.flush()
    return user
