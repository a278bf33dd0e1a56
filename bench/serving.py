"""What the HTTP benchmarks share: `yilian serve` started as production starts it, on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(env: dict[str, str], workers: int, ready_path: str = "/login") -> Iterator[str]:
    """`yilian serve --workers N` with the given environment until the block ends; yields the base URL
    once `ready_path` answers."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/yilian"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                httpx.get(f"{base}{ready_path}", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(10)


def run_wrk(lua: str, base: str, clients: int, seconds: float) -> dict[str, float]:
    """wrk (C, Debian package) drives the clients, so the load generator takes little of the 2 cores.
    The Lua script's done() writes one `RESULT key=value …` line; its values come back as numbers."""
    script = Path(tempfile.mkdtemp()) / "load.lua"
    script.write_text(lua)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{round(seconds)}s", "--timeout", "30s", "-s", str(script), base],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT"))
    return {key: float(value) for key, value in (part.split("=") for part in line.split()[1:])}
