"""One Settings class; every value comes from the environment with the prefix YILIAN_."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SECRET_KEY = "change-me-outside-the-demo"


class UnsafeSettings(RuntimeError):
    """Settings the platform refuses to serve with."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YILIAN_", env_file=None)

    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'yilian.db'}"
    # Keys the portal's login codes and health cards. The default is public: the server refuses to
    # start with it unless `demo` is on (scripts/run sets YILIAN_DEMO=1). Demo mode also accepts the
    # audit chain's public demo key (decision 0020).
    secret_key: str = DEFAULT_SECRET_KEY
    demo: bool = False
    session_idle_minutes: int = 30
    # A session ends this long after login however busy it is (等保2.0: no session lives forever).
    session_absolute_hours: int = 8
    # Failed logins within `lockout_minutes`: this many for one account from one address lock that
    # account from that address; this many from one address (any accounts) throttle the address.
    max_failed_logins: int = 5
    max_failed_logins_per_address: int = 20
    lockout_minutes: int = 30
    # Web pages set the Secure cookie flag when served over HTTPS behind a proxy.
    secure_cookies: bool = False
    audit_batch_size: int = 500
    # The share of county-level slots reserved for grassroots bookings rises every year (001 §2.1
    # "逐年提高") until it reaches this ceiling, in percent, which the health commission sets.
    reserved_share_ceiling: float = 50.0
    # A response waits at most this long for its audit events to be written, then answers 503
    # without its data; the writer's queue holds at most `audit_max_pending` events (decision 0019).
    audit_wait_seconds: float = 15.0
    audit_max_pending: int = 100_000
    # PostgreSQL pool: at least the web thread pool (40), so no request waits 30 s for a connection.
    db_pool_size: int = 40
    db_max_overflow: int = 10
    # FastAPI's native OpenTelemetry (spans, metrics, logs to the global providers). Off unless a
    # collector is set up: even with no provider configured, its per-request check of the global
    # providers cost ~5 % of a booking's CPU (decision 0011).
    telemetry: bool = False
    # A CHS-DRG scheme directory (tables/ and rules/). Unset: ../shared/drg/chs-drg-1.1 next to the
    # checkout, where the demo and the tests find the national scheme; never copied into the project.
    drg_scheme_dir: str | None = None
    # ../shared next to the checkout: the notices (seeds/) the demo reads 002's annex from, and the
    # default home of the DRG scheme.
    shared_dir: str | None = None
    # Where the shared imaging centre keeps DICOM files it has filed (and quarantined ones).
    dicom_dir: str = str(PROJECT_ROOT / "var" / "dicom")
    # FHIR bulk export ($export) writes its NDJSON files here, under names the server makes.
    fhir_export_dir: str = str(PROJECT_ROOT / "var" / "fhir-export")
    # The centre's PACS (Orthanc's REST API), e.g. http://127.0.0.1:8042; unset: no PACS.
    orthanc_url: str | None = None
    orthanc_user: str | None = None
    orthanc_password: str | None = None
    # Text messages (login codes): "console" writes them to the log; a gateway is "module:Class"
    # (see portal/sms.py for the interface).
    sms_sender: str = "console"
    # The built front end (default: frontend/dist of the checkout, built by scripts/setup).
    frontend_dist: str | None = None
    # Days after the appointment's day on which a late patient may still be checked in (0: that day only).
    arrival_grace_days: int = 0
    # The audit chain's HMAC key: a file outside the database (hex, or >= 32 raw bytes) that the
    # database's administrators cannot read (`yilian audit keygen PATH`; decision 0020).
    audit_key_file: str | None = None
    # Anchors of the audit chain's head (count + hash), appended at intervals outside the database:
    # a file per database under this directory, unless audit_anchor_file names one. Point it at
    # storage the database's administrators cannot rewrite (another host, an append-only mount).
    audit_anchor_dir: str = str(PROJECT_ROOT / "var" / "audit-anchors")
    audit_anchor_file: str | None = None
    audit_anchor_seconds: float = 60.0
    # The argon2id cost of a new password's hash: argon2-cffi's defaults, RFC 9106's low-memory
    # profile (3 passes over 64 MiB in 4 lanes, ~0.1 s). A login verifies with the parameters stored
    # in the hash, so a change applies to accounts made afterwards. The test suite sets the
    # cheapest (tests/factories/auth.py); tests/auth/test_passwords.py checks these.
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    password_parallelism: int = 4


def check_can_start(settings: Settings) -> None:
    """Refuse, in both languages, to serve with settings that are only fit for the demo."""
    if settings.secret_key == DEFAULT_SECRET_KEY and not settings.demo:
        raise UnsafeSettings(
            "YILIAN_SECRET_KEY 仍是公开的默认密钥，非演示模式下拒绝启动。请设置随机密钥，例如 "
            "YILIAN_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')；"
            "仅演示时可设 YILIAN_DEMO=1。 / "
            "YILIAN_SECRET_KEY is still the public default secret key: refusing to start outside demo "
            "mode. Set a random key, e.g. "
            "YILIAN_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))'); "
            "for a demo only, set YILIAN_DEMO=1."
        )


def shared_dir(settings: Settings) -> Path:
    """Third-party material read in place (never copied here): the notices, the DRG scheme, FHIR samples."""
    return Path(settings.shared_dir) if settings.shared_dir else PROJECT_ROOT.parent / "shared"


def drg_scheme_dir(settings: Settings) -> Path:
    if settings.drg_scheme_dir:
        return Path(settings.drg_scheme_dir)
    return shared_dir(settings) / "drg" / "chs-drg-1.1"


@lru_cache
def get_settings() -> Settings:
    return Settings()
