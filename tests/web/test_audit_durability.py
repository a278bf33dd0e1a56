"""A served process killed with SIGKILL right after answering a read: the read's audit row is in the
database (the response waited for it); while another process holds the lock the writer needs, the
read is refused (503) rather than answered without its audit row."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from tests.factories.audit import audit_table_locked
from tests.factories.auth import bearer
from tests.factories.live import free_port
from tests.factories.world import build_world
from yilian.kit.db import make_engine
from yilian.kit.migrate import upgrade
from yilian.models import AuditLog

SRC = Path(__file__).resolve().parents[2] / "src"


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "YILIAN_DATABASE_URL": url,
        "YILIAN_SECRET_KEY": "test",
        "YILIAN_GC_FREEZE": "false",
        "YILIAN_AUDIT_WAIT_SECONDS": "2",
        "YILIAN_DB_POOL_SIZE": "4",
    }
    command = [sys.executable, "-m", "uvicorn", "yilian.app:create_app", "--factory", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/fhir/metadata", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError("the server did not start")


def test_a_read_answered_is_audited_even_when_the_server_is_killed(fresh_database_url: str) -> None:
    url = fresh_database_url
    upgrade(url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as setup:
        world = build_world(setup)
        headers = {**bearer(setup, world.family_doctor_a), "Accept": "application/fhir+json"}
        resident_id, name = world.resident_a.id, world.resident_a.name
        setup.commit()

    def audited_reads() -> int:
        with engine.connect() as connection:
            return (
                connection.scalar(
                    select(func.count())
                    .select_from(AuditLog)
                    .where(AuditLog.resident_id == resident_id, AuditLog.action == "read")
                )
                or 0
            )

    port = free_port()
    path = f"http://127.0.0.1:{port}/fhir/Patient/{resident_id}"
    server = start_server(url, port)
    try:
        # Another process holds the lock: the read's audit row cannot be written in time.
        with audit_table_locked(url):
            blocked = httpx.get(path, headers=headers, timeout=30)
        server.kill()
        server.wait(10)
        assert blocked.status_code == 503, blocked.text  # not 200 with no audit row
        assert name not in blocked.text
        assert blocked.headers["cache-control"] == "no-store"

        # Normal load: answered, then killed at once; the row is there when the database is opened again.
        server = start_server(url, port)
        before = audited_reads()
        answered = []
        for _ in range(5):
            response = httpx.get(path, headers=headers, timeout=30)
            answered.append(response.status_code)
        server.kill()
        server.wait(10)
        assert answered == [200] * 5 and name in response.text
        assert audited_reads() >= before + 5
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
        engine.dispose()
