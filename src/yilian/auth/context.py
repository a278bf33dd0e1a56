"""The acting request: who, through which endpoint, and where its audit events go."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from yilian.auth.rules import Subject
from yilian.kit.audit import AuditEvent, AuditWriter
from yilian.kit.clock import Clock

PENDING_KEY = "audit_pending"


@dataclass
class Actor:
    subject: Subject
    endpoint: str
    audit: AuditWriter
    clock: Clock
    client_ip: str | None = None

    def _event(
        self, action: str, entity: str, entity_id: Any, resident_id: int | None, detail: str | None
    ) -> AuditEvent:
        return AuditEvent(
            at=self.clock.now(),
            user_id=self.subject.user_id,
            username=self.subject.username,
            role=self.subject.role,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            resident_id=resident_id,
            endpoint=self.endpoint,
            client_ip=self.client_ip,
            detail=detail,
        )

    def record_read(
        self, *, entity: str, resident_ids: list[int], action: str = "read", detail: str | None = None
    ) -> None:
        """A read happened: audit it now, whatever becomes of the transaction."""
        for resident_id in resident_ids:
            self.audit.submit(self._event(action, entity, resident_id, resident_id, detail))

    def record_change(
        self,
        session: Session,
        *,
        action: str,
        entity: str,
        entity_id: Any,
        resident_id: int | None,
        detail: str | None = None,
    ) -> None:
        """A change: audited once the transaction commits; forgotten if it rolls back."""
        pending = session.info.setdefault(PENDING_KEY, [])
        pending.append((self.audit, self._event(action, entity, entity_id, resident_id, detail)))


@event.listens_for(Session, "after_commit")
def _submit_pending(session: Session) -> None:
    for writer, audit_event in session.info.pop(PENDING_KEY, []):
        writer.submit(audit_event)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, _previous_transaction: Any) -> None:
    session.info.pop(PENDING_KEY, None)
