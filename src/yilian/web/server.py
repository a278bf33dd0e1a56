"""Serve the platform with several processes that the kernel balances (SO_REUSEPORT).

uvicorn's own `--workers` shares one listening socket: keep-alive connections stay with whichever
process accepted them, and under a burst of clients one process ends up with nearly all of them
(measured: one worker at 98 % CPU, the other at 10 %). Here each process binds its own socket with
SO_REUSEPORT and the kernel spreads new connections across them by hash.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
from types import FrameType


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _serve_one(host: str, port: int, access_log: bool) -> None:
    import uvicorn

    config = uvicorn.Config("yilian.app:create_app", factory=True, access_log=access_log, backlog=2048)
    uvicorn.Server(config).run(sockets=[_listen(host, port)])


def serve_balanced(host: str, port: int, workers: int, access_log: bool = True) -> None:
    """Run `workers` processes on one port; stop them all on SIGINT or SIGTERM."""
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_serve_one, args=(host, port, access_log), name=f"yilian-{n}")
        for n in range(workers)
    ]
    for process in processes:
        process.start()

    def stop(signum: int, _frame: FrameType | None) -> None:
        for process in processes:
            if process.is_alive():
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for process in processes:
        process.join()


def can_balance() -> bool:
    return hasattr(socket, "SO_REUSEPORT")
