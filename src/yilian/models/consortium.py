"""Consortia of the four kinds, their members, and the grids members serve."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class Consortium(Base):
    __tablename__ = "consortium"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # 县域医共体 | 城市医疗集团 | 专科联盟 | 远程医疗协作网
    region_code: Mapped[str] = mapped_column(ForeignKey("admin_division.code"), index=True)
    lead_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    established_on: Mapped[date | None]


class ConsortiumMember(Base):
    """An institution's membership; an institution may belong to several consortia."""

    __tablename__ = "consortium_member"
    __table_args__ = (UniqueConstraint("consortium_id", "institution_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    role: Mapped[str] = mapped_column(String(8))  # 牵头 | 次中心 | 成员
    joined_on: Mapped[date | None]
    left_on: Mapped[date | None]


class Grid(Base):
    """A village or community assigned to one member institution (and its village clinic)."""

    __tablename__ = "grid"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(ForeignKey("admin_division.code"), index=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
