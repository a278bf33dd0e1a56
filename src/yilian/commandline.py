"""What every `yilian` subcommand shares: the console, the database URL, errors printed in both
languages, and acting as an account (one audited transaction)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from yilian.config import get_settings

console = Console()


def database_url() -> str:
    url = get_settings().database_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return url


def fail(error: Any) -> typer.Exit:
    """Print an AppError in both languages, each bad field with its row, and give exit code 1."""
    console.print(f"[red]{error.message_zh} / {error.message_en}[/red]")
    for field_error in error.errors[:50]:
        row = f"第{field_error.row}行 row {field_error.row} " if field_error.row else ""
        console.print(f"  {row}{field_error.field}: {field_error.message_zh} / {field_error.message_en}")
    return typer.Exit(1)


@contextmanager
def acting_as(
    username: str, endpoint: str, status: str = "校验并导入 / checking and importing…"
) -> Iterator[tuple[Any, Any]]:
    """(session, actor) for a command done as an account: one transaction, audited like the web,
    errors printed in both languages with their rows; nothing is written when anything fails.
    An empty `status` shows no spinner (the command draws its own progress bar)."""
    from yilian.auth import repository
    from yilian.auth.context import Actor
    from yilian.auth.service import subject_of
    from yilian.kit.audit import AuditWriter, load_chain_key
    from yilian.kit.clock import SystemClock
    from yilian.kit.db import Database
    from yilian.kit.errors import AppError

    database = Database(database_url())
    writer = AuditWriter(database.engine, key=load_chain_key(get_settings()))
    writer.start()
    try:
        with console.status(status) if status else nullcontext(), database.session_factory.begin() as session:
            user = repository.user_by_username(session, username)
            if user is None:
                raise typer.BadParameter(f"用户不存在 / no such user: {username}")
            yield (
                session,
                Actor(
                    subject=subject_of(session, user),
                    endpoint=f"CLI {endpoint}",
                    audit=writer,
                    clock=SystemClock(),
                ),
            )
    except AppError as error:
        raise fail(error) from None
    finally:
        writer.stop()
