"""What the HTTP benchmarks share: `yilian serve` started as production starts it, on a free port."""

from __future__ import annotations

import os
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:PORT
    pid: int  # the `yilian serve` process; its workers are its children


@contextmanager
def serving(env: dict[str, str], workers: int, ready_path: str = "/login") -> Iterator[Server]:
    """`yilian serve --workers N` with the given environment until the block ends; yields it once
    `ready_path` answers."""
    port = free_port()
    server = subprocess.Popen(
        [
            # the `yilian` script of the interpreter running the bench (a worktree has no .venv of its own)
            str(Path(sys.executable).with_name("yilian")),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        # Served as in production: a key of its own (the default key is for the demo only).
        env={**os.environ, "YILIAN_SECRET_KEY": secrets.token_hex(32), **env},
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
        yield Server(base, server.pid)
    finally:
        server.terminate()
        server.wait(10)


def run_wrk(lua: str, server: Server, clients: int, seconds: float) -> dict[str, float]:
    """wrk (C, Debian package) drives the clients, so the load generator takes little of the 2 cores.
    The Lua script's done() writes one `RESULT key=value …` line; its values come back as numbers,
    with the CPU seconds each side spent meanwhile (`cpu_*`, see `cpu_seconds`)."""
    script = Path(tempfile.mkdtemp()) / "load.lua"
    script.write_text(lua)
    before, wrk_before = cpu_seconds(server.pid), _children_cpu()
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{clients}",
            f"-d{round(seconds)}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            server.base,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    after, wrk_after = cpu_seconds(server.pid), _children_cpu()
    line = next(line for line in out.splitlines() if line.startswith("RESULT"))
    result = {key: float(value) for key, value in (part.split("=") for part in line.split()[1:])}
    result |= {f"cpu_{group}": after[group] - before[group] for group in after}
    result["cpu_wrk"] = wrk_after - wrk_before
    return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far (user + system), read from /proc: by the server (the `yilian serve`
    process and its descendants), by PostgreSQL (every process named postgres, backends that ended
    counted through the postmaster: run the bench on a machine with no other cluster busy), and by
    the whole machine (`machine`, busy time of all cores). The difference over a run, divided by its
    requests, is what a request costs each side: a figure that Little's law does not bend, and that
    shows where the time goes."""
    ticks = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    name: dict[int, str] = {}
    used: dict[int, float] = {}
    reaped: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        pid = int(entry.name)
        name[pid] = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        parent[pid] = int(fields[1])
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks
        # what its ended children used (reaped): a backend whose connection closed, on the postmaster
        reaped[pid] = (int(fields[13]) + int(fields[14])) / ticks

    def in_server(pid: int) -> bool:
        while pid > 1:
            if pid == server_pid:
                return True
            pid = parent.get(pid, 0)
        return False

    # cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
    user, nice, system, _idle, _iowait, irq, softirq = map(
        int, Path("/proc/stat").read_text().split(maxsplit=8)[1:8]
    )
    busy = user + nice + system + irq + softirq
    return {
        "server": sum(seconds for pid, seconds in used.items() if in_server(pid)),
        "postgres": sum(used[pid] + reaped[pid] for pid in used if name[pid] == "postgres"),
        "machine": busy / ticks,
    }


def cpu_per_request(result: dict[str, float]) -> str:
    """One line: CPU milliseconds per request of the server, PostgreSQL and wrk, and how busy the
    machine's cores were (of `os.cpu_count()`), over the run `result` came from."""
    requests = max(result["requests"], 1)
    busy = result["cpu_machine"] / (result["seconds"] * (os.cpu_count() or 1))
    return (
        f"cpu_ms_per_request server={1000 * result['cpu_server'] / requests:.2f} "
        f"postgres={1000 * result['cpu_postgres'] / requests:.2f} wrk={1000 * result['cpu_wrk'] / requests:.2f} "
        f"machine_busy={100 * busy:.0f}%"
    )
