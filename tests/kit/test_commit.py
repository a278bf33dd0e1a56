"""Work tied to the outermost commit (kit/commit.py): an SMS leaves only after the request's
transaction commits, and the audit of a change commits with the change — not when a savepoint is
released, and not at all if the savepoint or the transaction it was made in rolls back."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.world import build_world
from yilian.auth.context import Actor
from yilian.auth.service import subject_of
from yilian.config import Settings
from yilian.kit.audit import DEMO_CHAIN_KEY, AuditWriter, verify_chain
from yilian.kit.clock import FixedClock
from yilian.kit.commit import on_commit
from yilian.models import AuditLog
from yilian.portal.service import do_send_code
from yilian.portal.sms import MemorySender


def test_sms_code_leaves_only_after_the_outermost_commit(
    session: Session, settings: Settings, clock: FixedClock
) -> None:
    """The portal sends the code inside a savepoint (portal/views.py): releasing it sent the SMS
    before the request had committed, and a request that then rolled back had still sent it."""
    sender = MemorySender()
    with session.begin_nested():
        do_send_code(session, phone="13912345678", now=clock.now(), settings=settings, sender=sender)
    assert sender.outbox == []  # the savepoint is released; the request has not committed
    session.rollback()
    assert sender.outbox == []  # … and never will: nothing leaves
    with session.begin_nested():
        do_send_code(session, phone="13912345678", now=clock.now(), settings=settings, sender=sender)
    session.commit()
    assert [phone for phone, _ in sender.outbox] == ["13912345678"]
    session.commit()  # a later commit of the same session sends nothing again
    assert len(sender.outbox) == 1


def test_change_audit_commits_with_the_change_and_goes_with_its_savepoint(
    session: Session, clock: FixedClock
) -> None:
    """A change recorded before a savepoint that rolls back keeps its row (the old hook dropped
    every pending event on any rollback); one recorded inside it has none; the rows are in the table
    when the transaction commits, without the audit writer."""
    world = build_world(session)
    writer = AuditWriter(engine=None, key=DEMO_CHAIN_KEY)
    actor = Actor(
        subject=subject_of(session, world.family_doctor_a), endpoint="TEST commit", audit=writer, clock=clock
    )

    def change(entity_id: int) -> None:
        actor.record_change(
            session, action="update", entity="resident", entity_id=entity_id, resident_id=world.resident_a.id
        )

    change(1)
    savepoint = session.begin_nested()
    change(2)
    savepoint.rollback()
    with session.begin_nested():
        change(3)
        with session.begin_nested():
            change(4)
    inner = session.begin_nested()
    with session.begin_nested():
        change(5)  # released into `inner`, which then rolls back
    inner.rollback()
    session.commit()
    stored = session.scalars(
        select(AuditLog.entity_id).where(AuditLog.endpoint == "TEST commit").order_by(AuditLog.id)
    ).all()
    assert stored == ["1", "3", "4"]
    assert writer.pending() == 0  # nothing went through the queue
    assert verify_chain(session.connection(), DEMO_CHAIN_KEY).ok


def test_work_runs_once_after_the_outermost_commit_and_a_failure_is_logged(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []
    on_commit(session, lambda: ran.append("outer"))
    with session.begin_nested():
        on_commit(session, lambda: ran.append("released"))

    def fails() -> None:
        raise RuntimeError("gateway down")

    on_commit(session, fails)
    assert ran == []
    with caplog.at_level(logging.ERROR, logger="yilian.commit"):
        session.commit()
    assert ran == ["outer", "released"] and "gateway down" in caplog.text
    session.commit()
    assert ran == ["outer", "released"]
    on_commit(session, lambda: ran.append("rolled back"))
    session.rollback()
    session.commit()
    assert ran == ["outer", "released"]
