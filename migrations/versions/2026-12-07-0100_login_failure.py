"""login_failure: failed logins counted per address and per name and address

Revision ID: 0016_f
Revises: 0016_c
Create Date: 2026-12-07 01:00:00

Five failures locked an account for everyone, so anyone who knew a name could lock its owner out at
will. Failures are now kept for the lockout window with the address they came from: the name is
locked from that address only, and an address with many failures (any names) is throttled
(decision 0024). `app_user.failed_logins` and `locked_until` are no longer written.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_f"
down_revision = "0016_c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failure")),
    )
    op.create_index("ix_login_failure_address_at", "login_failure", ["client_ip", "at"])
    op.create_index("ix_login_failure_name_address", "login_failure", ["username", "client_ip"])
    op.create_index("ix_login_failure_at", "login_failure", ["at"])


def downgrade() -> None:
    op.drop_table("login_failure")
