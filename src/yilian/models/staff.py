"""Staff and their postings (县管乡用, 乡聘村用, dispatch to a township)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base, Versioned


class Staff(Versioned, Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(32))
    sex: Mapped[str] = mapped_column(String(1))
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    practitioner_type: Mapped[str] = mapped_column(
        String(16)
    )  # 执业医师 | 执业助理医师 | 乡村医生 | 护士 | 药师 | 技师
    title: Mapped[str | None] = mapped_column(String(16))
    specialty: Mapped[str | None] = mapped_column(String(32))
    licensed: Mapped[bool] = mapped_column(default=True)
    home_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    hired_on: Mapped[date | None]


class Posting(Base):
    """Work at an institution other than the home one, for a period (end open while ongoing)."""

    __tablename__ = "posting"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # 县管乡用 | 乡聘村用 | 派驻 | 对口支援
    start_on: Mapped[date]
    end_on: Mapped[date | None]


class StaffBlacklisting(Base):
    """The days a staff member stands on the bad-practice blacklist (004 §2.6): from `starts_on` to the
    day before `ends_before` (None: no end within the calendar).

    A fact evaluation records, in the transaction that records points, decides an appeal or changes
    the policy (`evaluation.conduct_service`); scheduling and postings read it in the registry, so the
    domains below evaluation never ask it (decision 0030)."""

    __tablename__ = "staff_blacklisting"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    starts_on: Mapped[date]
    ends_before: Mapped[date | None]
