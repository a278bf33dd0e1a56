"""staff_blacklisting: the days a staff member stands on the bad-practice blacklist

Revision ID: 0018_l
Revises: 0017_h
Create Date: 2026-12-07 07:00:00

Scheduling and postings read whether a staff member is blacklisted from this table in the registry
instead of asking evaluation (decision 0030); evaluation writes it with the points. Filled here from
every staff member's records under the newest policy, by the pure rule that writes it from now on
(`evaluation.conduct.blacklist_periods`: plain values in and out, no tables, so the revision does
not depend on today's models).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from yilian.evaluation.conduct import Point, Policy, blacklist_periods

revision = "0018_l"
down_revision = "0018_f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "staff_blacklisting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_before", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_staff_blacklisting_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_blacklisting")),
    )
    with op.batch_alter_table("staff_blacklisting", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_blacklisting_staff_id"), ["staff_id"], unique=False)

    connection = op.get_bind()
    newest = connection.execute(
        sa.text("SELECT threshold, expiry_days, appeal_days FROM conduct_policy ORDER BY id DESC LIMIT 1")
    ).first()
    policy = Policy(newest.threshold, newest.expiry_days, newest.appeal_days) if newest else Policy()
    records = sa.table(
        "conduct_record",
        sa.column("staff_id", sa.Integer),
        sa.column("points", sa.Integer),
        sa.column("occurred_on", sa.Date),  # typed, so SQLite's text comes back as a date
        sa.column("status", sa.String),
    )
    points: dict[int, list[Point]] = {}
    for staff_id, value, occurred_on, status in connection.execute(
        sa.select(records.c.staff_id, records.c.points, records.c.occurred_on, records.c.status).where(
            records.c.staff_id.is_not(None)
        )
    ):
        points.setdefault(staff_id, []).append(Point(value, occurred_on, status))
    rows = [
        {"staff_id": staff_id, "starts_on": starts_on, "ends_before": ends_before}
        for staff_id, own in points.items()
        for starts_on, ends_before in blacklist_periods(own, policy)
    ]
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    with op.batch_alter_table("staff_blacklisting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_blacklisting_staff_id"))
    op.drop_table("staff_blacklisting")
