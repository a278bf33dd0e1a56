"""One Settings class; every value comes from the environment with the prefix YILIAN_."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YILIAN_", env_file=None)

    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'yilian.db'}"
    # Signs nothing secret by itself; sessions are server-side. Used to sign CSRF tokens.
    secret_key: str = "change-me-outside-the-demo"
    session_idle_minutes: int = 30
    max_failed_logins: int = 5
    lockout_minutes: int = 30
    # Web pages set the Secure cookie flag when served over HTTPS behind a proxy.
    secure_cookies: bool = False
    audit_batch_size: int = 500
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
    # A server process moves what it loaded at start-up out of the garbage collector's way
    # (gc.freeze, decision 0011). Off in the test suite, which builds hundreds of apps in one process.
    gc_freeze: bool = True
    # A CHS-DRG scheme directory (tables/ and rules/). Unset: ../shared/drg/chs-drg-1.1 next to the
    # checkout, where the demo and the tests find the national scheme; never copied into the project.
    drg_scheme_dir: str | None = None
    # ../shared next to the checkout: the notices (seeds/) the demo reads 002's annex from, and the
    # default home of the DRG scheme.
    shared_dir: str | None = None
    # Where the shared imaging centre keeps DICOM files it has filed (and quarantined ones).
    dicom_dir: str = str(PROJECT_ROOT / "var" / "dicom")
    # The centre's PACS (Orthanc's REST API), e.g. http://127.0.0.1:8042; unset: no PACS.
    orthanc_url: str | None = None
    orthanc_user: str | None = None
    orthanc_password: str | None = None
    # Text messages (login codes): "console" writes them to the log; a gateway is "module:Class"
    # (see portal/sms.py for the interface).
    sms_sender: str = "console"


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
