"""Reform tasks: a window's first day and the year ongoing work opens (issue 21)

Revision ID: 0016_h
Revises: 0015
Create Date: 2026-12-07 01:00:00

"4-11月逐步推进" is a window in the list's year, and "2021年持续推进" is ongoing work checked once a
year from 2021 — before, the first read as due on 11-30 only and the second as due on 2021-12-31.
Rows already imported are re-read here with the same two patterns (self-contained, so later changes
to the parser cannot change what this migration did).
"""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0016_h"
down_revision = "0015"
branch_labels = None
depends_on = None

_ONGOING = re.compile(r"^(\d{4})年.*(长期|持续|常态)")
_WINDOW = re.compile(r"(\d{1,2})\s*[-—–~至到]\s*(\d{1,2})月")


def upgrade() -> None:
    with op.batch_alter_table("reform_task") as batch:
        batch.add_column(sa.Column("opens_on", sa.Date(), nullable=True))
    task = sa.table(
        "reform_task",
        sa.column("id", sa.Integer),
        sa.column("deadline_text", sa.String),
        sa.column("deadline", sa.Date),
        sa.column("ongoing", sa.Boolean),
        sa.column("opens_on", sa.Date),
    )
    bind = op.get_bind()
    for row in bind.execute(sa.select(task.c.id, task.c.deadline_text, task.c.deadline)).all():
        text = (row.deadline_text or "").replace(" ", "")
        ongoing = _ONGOING.match(text)
        window = _WINDOW.search(text)
        if ongoing and "月" not in text:
            values = {"ongoing": True, "deadline": None, "opens_on": date(int(ongoing.group(1)), 1, 1)}
        elif window and row.deadline is not None and 1 <= int(window.group(1)) <= 12:
            values = {"opens_on": date(row.deadline.year, int(window.group(1)), 1)}
        else:
            continue
        bind.execute(sa.update(task).where(task.c.id == row.id).values(**values))


def downgrade() -> None:
    with op.batch_alter_table("reform_task") as batch:
        batch.drop_column("opens_on")
