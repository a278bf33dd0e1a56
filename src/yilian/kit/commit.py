"""Work tied to the outermost commit of a session: written with it, or run once after it.

SQLAlchemy's `after_commit` (and `before_commit`) also fire when a SAVEPOINT is released, so a side
effect bound to them left before its request committed (an SMS code), and one made inside a
savepoint that the request later rolled back stayed (a booking's "create" audit row). Here, what is
registered belongs to the transaction or savepoint that was current at the time: a savepoint rolled
back drops what was registered inside it, a savepoint released hands it to its parent, and only the
outermost transaction's commit uses it. (Zulip's `send_event_on_commit`, Django's `on_commit`.)

- `on_commit(session, fn)`: `fn()` after the outermost commit (an error is logged, not raised: the
  transaction has committed; an SMS gateway outage must not turn it into an error page).
- `with_commit(session, writer, item)`: `writer(connection, items)` inside the outermost
  transaction, just before it commits, with every item handed to that writer in order: what it
  writes commits with the transaction or not at all (the audit of a change).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger("yilian.commit")
_KEY = "yilian_commit_work"


@dataclass(frozen=True)
class _Work:
    transaction: SessionTransaction
    before: bool
    fn: Callable[..., None]
    item: Any = None


def on_commit(session: Session, fn: Callable[[], None]) -> None:
    """Run `fn()` once, after the outermost transaction commits; never if it (or the savepoint
    current now) rolls back."""
    _register(session, _Work(_current(session), False, fn))


def with_commit(session: Session, writer: Callable[[Connection, list[Any]], None], item: Any) -> None:
    """Hand `item` to `writer(connection, items)` just before the outermost commit, in the same
    transaction; dropped if it (or the savepoint current now) rolls back."""
    _register(session, _Work(_current(session), True, writer, item))


def _current(session: Session) -> SessionTransaction:
    """The innermost transaction (a savepoint or the outermost), begun if there is none yet."""
    current = session.get_nested_transaction() or session.get_transaction()
    return current if current is not None else session.begin()


def _register(session: Session, work: _Work) -> None:
    session.info.setdefault(_KEY, []).append(work)


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: its work now belongs to the parent
        return
    batches: dict[Callable[..., None], list[Any]] = {}
    for work in session.info.get(_KEY, ()):
        if work.before:
            batches.setdefault(work.fn, []).append(work.item)
    if batches:
        session.info[_KEY] = [work for work in session.info[_KEY] if not work.before]
        # The session's own changes first: a writer may take a lock (the audit chain's) that must
        # be the transaction's last, or two transactions could each wait for the other's rows.
        session.flush()
        connection = session.connection()
        for writer, items in batches.items():
            writer(connection, items)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for work in session.info.pop(_KEY, ()):
        if work.before:
            continue
        try:
            work.fn()
        except Exception:
            log.exception("提交后的操作失败 / work after commit failed: %r", work.fn)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_KEY)
    if pending:
        session.info[_KEY] = [w for w in pending if not _within(w.transaction, previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended (committed, rolled back, or closed without either): nothing
    # registered in it may run in a later transaction of the same session.
    if transaction.parent is None:
        session.info.pop(_KEY, None)
