"""The acting request: who, through which endpoint, and where its audit events go."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from yilian.auth.rules import Subject
from yilian.kit.audit import AuditEvent, AuditWriter, append_events
from yilian.kit.clock import Clock
from yilian.kit.commit import with_commit


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
        # Cut to the columns' widths: an event PostgreSQL refused as too long would be retried by
        # the writer for ever (the chain hashes the event as stored).
        return AuditEvent(
            at=self.clock.now(),
            user_id=self.subject.user_id,
            username=self.subject.username[:64],
            role=self.subject.role[:16],
            action=action[:16],
            entity=entity[:32],
            entity_id=None if entity_id is None else str(entity_id)[:64],
            resident_id=resident_id,
            endpoint=self.endpoint[:200],
            client_ip=None if self.client_ip is None else self.client_ip[:64],
            detail=detail,
        )

    def record_read(
        self, *, entity: str, resident_ids: list[int], action: str = "read", detail: str | None = None
    ) -> None:
        """A read happened: audit it whatever becomes of the transaction. The writer's events are
        durable before the response starts (`kit.audit.DurableAudit`)."""
        for resident_id in resident_ids:
            self.audit.submit(self._event(action, entity, resident_id, resident_id, detail))

    def record_reads_in(
        self, session: Session, *, entity: str, resident_ids: list[int], action: str = "read"
    ) -> None:
        """Reads of many residents audited set-based in the caller's transaction: one append of all
        their rows (one chain lock), durable when it commits — for a batch job (a bulk export's
        page), where an event each through the writer's queue, then waiting for it, cost as much as
        the export itself."""
        append_events(session.connection(), [self._event(action, entity, r, r, None) for r in resident_ids])

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
        """A change: its audit row is written in the same transaction, just before the outermost
        commit (one append for all of them); gone with the change if it, or the savepoint it was
        made in, rolls back."""
        with_commit(session, append_events, self._event(action, entity, entity_id, resident_id, detail))
