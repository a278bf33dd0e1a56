"""yilian_abort(): a statement that must not stand fails as a whole (PostgreSQL)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25 05:00:00

A booking on PostgreSQL is one statement in its own transaction (decision 0008). When its place was
taken by a concurrent booker after its row went in, the statement calls yilian_abort('place_taken'):
PostgreSQL then undoes the whole statement, and the caller sees the message. A function, not a cast
of a constant: the planner folds constants, and would fail every statement.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
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


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION yilian_abort(text)")
