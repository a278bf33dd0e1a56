"""The master patient index: one record per person within a scope, found by the resident ID number."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base, Versioned


class Household(Base):
    __tablename__ = "household"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(200))


class Resident(Versioned, Base):
    __tablename__ = "resident"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Not unique: a registrar who registers a number already held outside their scope gets a record
    # of their own rather than learning that the other exists (decision 0021); the MPI's merge
    # joins the two. Within a scope, registration matches the existing record.
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(32), index=True)
    sex: Mapped[str] = mapped_column(String(1))  # M | F, derived from the ID number
    birth_date: Mapped[date]
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    # County of residence (6-digit code): the unit a commission's scope is cut by.
    region_code: Mapped[str] = mapped_column(ForeignKey("admin_division.code"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    health_card_no: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | merged | deceased
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ResidentMerge(Base):
    """History of merges: the merged record stays, pointing at the survivor, with a snapshot."""

    __tablename__ = "resident_merge"

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    merged_at: Mapped[datetime]
    merged_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reason: Mapped[str] = mapped_column(String(200))
    moved_encounters: Mapped[int]
    snapshot_json: Mapped[str] = mapped_column(Text)
