"""Roles and what each may see: pure rules, tested with plain values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from yilian.kit.errors import ValidationFailed

COMMISSION = "卫健局管理员"
CONSORTIUM_ADMIN = "医共体管理员"
INSTITUTION_ADMIN = "机构管理员"
DOCTOR = "医生"
FAMILY_DOCTOR = "家庭医生"
INSURANCE = "医保经办"
RESIDENT = "居民"

ROLES = (COMMISSION, CONSORTIUM_ADMIN, INSTITUTION_ADMIN, DOCTOR, FAMILY_DOCTOR, INSURANCE, RESIDENT)

# Which scope attribute each role must carry.
ROLE_SCOPE = {
    COMMISSION: "region_code",
    CONSORTIUM_ADMIN: "consortium_id",
    INSTITUTION_ADMIN: "institution_id",
    DOCTOR: "institution_id",
    FAMILY_DOCTOR: "institution_id",
    INSURANCE: "region_code",
    RESIDENT: "resident_id",
}

# Full ID and phone numbers in lists and exports: only where settlement reconciles on them.
FULL_IDENTIFIERS_IN_LISTS = frozenset({INSURANCE})
# Full numbers on one resident's page: those who register, treat or settle, and the resident.
FULL_IDENTIFIERS_ON_RECORD = frozenset({DOCTOR, FAMILY_DOCTOR, INSURANCE, RESIDENT})
# Who may manage the registry and merge resident records.
REGISTRY_MANAGERS = frozenset({COMMISSION, CONSORTIUM_ADMIN, INSTITUTION_ADMIN})
RESIDENT_REGISTRARS = frozenset({CONSORTIUM_ADMIN, INSTITUTION_ADMIN, DOCTOR, FAMILY_DOCTOR})
RECORD_MERGERS = frozenset({CONSORTIUM_ADMIN, INSTITUTION_ADMIN})
ENCOUNTER_RECORDERS = frozenset({INSTITUTION_ADMIN, DOCTOR, FAMILY_DOCTOR})


@dataclass(frozen=True)
class Subject:
    """Who is acting: resolved once per request from the session or the bearer token."""

    user_id: int
    username: str
    role: str
    region_code: str | None = None
    consortium_id: int | None = None
    institution_id: int | None = None
    resident_id: int | None = None
    grid_ids: tuple[int, ...] = field(default_factory=tuple)
    staff_id: int | None = None  # the registry's staff member behind the account (work and fee shares)

    def may(self, roles: frozenset[str]) -> bool:
        return self.role in roles


def region_range(region_code: str) -> tuple[str, str]:
    """The county codes under a division: 640000 → 64xxxx, 640100 → 6401xx, 640181 → itself."""
    if region_code.endswith("0000"):
        prefix = region_code[:2]
    elif region_code.endswith("00"):
        prefix = region_code[:4]
    else:
        return region_code, region_code
    return prefix + "0" * (6 - len(prefix)), prefix + "9" * (6 - len(prefix))


def check_password_strength(password: str, username: str = "") -> None:
    """等保2.0: at least 10 characters and three of: lower, upper, digit, symbol; not the username."""
    classes = sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if len(password) < 10 or classes < 3:
        raise ValidationFailed.one(
            "password",
            "密码至少10位，且包含大写字母、小写字母、数字、符号中的三类",
            "at least 10 characters with three of: upper, lower, digit, symbol",
        )
    if username and username.lower() in password.lower():
        raise ValidationFailed.one("password", "密码不能包含用户名", "must not contain the username")


ADDRESS = "address"
ACCOUNT = "account"


@dataclass(frozen=True)
class LoginGate:
    """Logins refused for now: from the whole `address`, or for this `account` name from it."""

    kind: str
    until: datetime


def login_gate(
    failures: Sequence[tuple[datetime, bool]],
    *,
    now: datetime,
    window: timedelta,
    per_account: int,
    per_address: int,
) -> LoginGate | None:
    """From one address's failed logins — (when, whether for the name now tried), newest first —
    whether it may try again: `per_address` failures within the window throttle the address,
    `per_account` for one name lock that name from that address. Either lasts until enough of the
    failures have left the window (a sliding window; a success clears the name's failures)."""
    recent = [(at, same) for at, same in failures if at > now - window]
    if len(recent) >= per_address:
        return LoginGate(ADDRESS, recent[per_address - 1][0] + window)
    own = [at for at, same in recent if same]
    if len(own) >= per_account:
        return LoginGate(ACCOUNT, own[per_account - 1] + window)
    return None
