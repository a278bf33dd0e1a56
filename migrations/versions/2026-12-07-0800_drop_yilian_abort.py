"""Drop yilian_abort(): a booking no longer fails a statement to undo it (PostgreSQL)

Revision ID: 0019_b
Revises: 0018_l
Create Date: 2026-12-07 08:00:00

Migration 0014 created it for the booking written as one statement with data-modifying CTEs
(decision 0008). A booking is now three plain statements in the request's transaction, the same on
both engines, and a lost place deletes its own row (issue 23, decision 0011): nothing calls it.
"""

from __future__ import annotations

from alembic import op

revision = "0019_b"
down_revision = "0018_l"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS yilian_abort(text)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION yilian_abort(message text) RETURNS integer
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            RAISE EXCEPTION USING MESSAGE = message, ERRCODE = 'YL001';
        END
        $$
        """
    )
