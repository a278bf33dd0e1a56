"""Family-doctor teams, service packages, contracts and the signing-fee rule."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base, Versioned


class FamilyDoctorTeam(Versioned, Base):
    __tablename__ = "family_doctor_team"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)


class TeamMember(Base):
    """村医 (village doctor), 全科医生 (township GP), 专科医生 (county specialist), 健康管理师."""

    __tablename__ = "team_member"
    __table_args__ = (UniqueConstraint("team_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("family_doctor_team.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    role: Mapped[str] = mapped_column(String(8))


class TeamGrid(Base):
    """The grids a team serves: its residents, its 应签尽签 work list."""

    __tablename__ = "team_grid"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("family_doctor_team.id", ondelete="CASCADE"), primary_key=True
    )
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id"), primary_key=True, index=True)


class ServicePackage(Base):
    __tablename__ = "service_package"
    __table_args__ = (UniqueConstraint("consortium_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(
        String(16)
    )  # 基础包 | 高血压 | 糖尿病 | 老年人 | 母婴 | 残疾人 | 其他
    contents: Mapped[str] = mapped_column(Text)
    price_fen: Mapped[int] = mapped_column(BigInteger)
    # Per-mille shares of the price: insurance fund, public health funding; the resident pays the rest.
    insurance_permille: Mapped[int]
    public_permille: Mapped[int]
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]


class Contract(Base):
    """One signing: resident × team × package × period. Renewal and team change start a new row."""

    __tablename__ = "contract"
    __table_args__ = (
        # At most one active contract per resident and consortium, whatever the concurrency.
        Index(
            "uq_contract_active_per_consortium",
            "resident_id",
            "consortium_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_contract_team_status", "team_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("family_doctor_team.id"))
    package_id: Mapped[int] = mapped_column(ForeignKey("service_package.id"))
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"))
    start_on: Mapped[date]
    end_on: Mapped[date]  # inclusive
    fee_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))  # active | renewed | changed | terminated | expired
    signed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    signed_at: Mapped[datetime]
    ended_on: Mapped[date | None]
    end_reason: Mapped[str | None] = mapped_column(String(200))
    previous_contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"))


class FeeRule(Base):
    """How a consortium splits signing fees: the team's share (≥ 70 %) and the members' weights."""

    __tablename__ = "fee_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"), unique=True)
    team_permille: Mapped[int]
    # JSON: {"role_weights": {"全科医生": 4, …}, "base": 0.4, "work": 0.4, "quality": 0.2}
    member_split_json: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
