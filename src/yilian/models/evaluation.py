"""Scoring schemes (versioned data), the units evaluated, entered scores, yearly results and cards."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class ScoringScheme(Base):
    """One version of a scheme; its sections, items and rules as JSON, never edited once used."""

    __tablename__ = "scoring_scheme"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128))
    total_points: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    bonus_cap: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    definition_json: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime]
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class EvaluationUnit(Base):
    """A unit a programme evaluates (a pilot county, a candidate, or a member institution)."""

    __tablename__ = "evaluation_unit"
    __table_args__ = (UniqueConstraint("programme", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme: Mapped[str] = mapped_column(String(32))  # the scheme code
    code: Mapped[str] = mapped_column(String(32))  # region or institution code
    name: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(12))  # pilot | candidate | disqualified
    status_since: Mapped[int]  # year


class ScoreEntry(Base):
    """What an evaluator entered for one item of one unit and year, with evidence."""

    __tablename__ = "score_entry"
    __table_args__ = (UniqueConstraint("scheme_id", "year", "unit_id", "item_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scoring_scheme.id"))
    year: Mapped[int]
    unit_id: Mapped[int] = mapped_column(ForeignKey("evaluation_unit.id"))
    item_number: Mapped[int]
    given: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    events_json: Mapped[str | None] = mapped_column(Text)
    count: Mapped[int | None]
    evidence: Mapped[str] = mapped_column(Text, default="")
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    entered_at: Mapped[datetime]


class EvaluationResult(Base):
    __tablename__ = "evaluation_result"
    __table_args__ = (UniqueConstraint("scheme_id", "year", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scoring_scheme.id"))
    year: Mapped[int]
    unit_id: Mapped[int] = mapped_column(ForeignKey("evaluation_unit.id"))
    status: Mapped[str] = mapped_column(String(12))  # the unit's status when evaluated
    rank: Mapped[int]  # among units of the same status
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    base: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    bonus: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    sections_json: Mapped[str] = mapped_column(Text)
    items_json: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime]


class YellowCard(Base):
    """亮黄牌 with its rectification deadline; the second in a row disqualifies (002 §1)."""

    __tablename__ = "yellow_card"
    __table_args__ = (UniqueConstraint("programme", "year", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme: Mapped[str] = mapped_column(String(32))
    year: Mapped[int]
    unit_id: Mapped[int] = mapped_column(ForeignKey("evaluation_unit.id"))
    rank: Mapped[int]
    deadline: Mapped[date]
    disqualified: Mapped[bool] = mapped_column(default=False)
    replaced_by_unit_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation_unit.id"))


class TaskList(Base):
    """A reform task list (e.g. 004's annex), imported whole."""

    __tablename__ = "task_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    imported_at: Mapped[datetime]
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class ReformTask(Base):
    """One 重点分工 row: what to do, who leads, who cooperates, by when."""

    __tablename__ = "reform_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("task_list.id"), index=True)
    seq: Mapped[int]
    project: Mapped[str] = mapped_column(Text)
    task: Mapped[str] = mapped_column(Text)
    division: Mapped[str] = mapped_column(Text)
    lead_units: Mapped[str] = mapped_column(Text)  # JSON list of unit names
    cooperating_units: Mapped[str] = mapped_column(Text)  # JSON list
    deadline_text: Mapped[str] = mapped_column(String(64))
    deadline: Mapped[date | None]
    ongoing: Mapped[bool] = mapped_column(default=False)
    # A window's first day ("4-11月逐步推进"), or the year ongoing work opens ("2021年持续推进").
    opens_on: Mapped[date | None]
    done_at: Mapped[datetime | None]


class TaskProgress(Base):
    __tablename__ = "task_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("reform_task.id"), index=True)
    unit: Mapped[str] = mapped_column(String(64))
    percent: Mapped[int]
    note: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="")
    reported_at: Mapped[datetime]
    reported_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))


class TaskUnitMember(Base):
    """Which accounts report for a unit named in task lists (市卫生健康局, 医疗健康总院 …)."""

    __tablename__ = "task_unit_member"
    __table_args__ = (UniqueConstraint("unit", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)


class ConductOffence(Base):
    """The catalogue of bad practices and their points (configurable by the commission)."""

    __tablename__ = "conduct_offence"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    points: Mapped[int]
    applies_to: Mapped[str] = mapped_column(String(12))  # staff | institution


class ConductPolicy(Base):
    """Threshold, expiry and appeal period; the newest row applies."""

    __tablename__ = "conduct_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    threshold: Mapped[int]
    expiry_days: Mapped[int]
    appeal_days: Mapped[int]
    set_at: Mapped[datetime]
    set_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class ConductRecord(Base):
    """One 不良执业行为 recorded against a staff member or an institution, with its appeal."""

    __tablename__ = "conduct_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    offence_code: Mapped[str] = mapped_column(ForeignKey("conduct_offence.code"))
    points: Mapped[int]  # copied from the catalogue when recorded
    occurred_on: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    status: Mapped[str] = mapped_column(String(12), default="active")
    appeal_reason: Mapped[str | None] = mapped_column(Text)
    appealed_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class EnteredFigure(Base):
    """A yearly figure the platform cannot compute (personnel spending, revenue structure …),
    entered by the institution with who and when; a correction replaces the value (audited)."""

    __tablename__ = "entered_figure"
    __table_args__ = (UniqueConstraint("institution_id", "year", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    year: Mapped[int]
    code: Mapped[str] = mapped_column(String(40))
    value: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    entered_at: Mapped[datetime]
