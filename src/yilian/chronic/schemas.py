"""Pydantic shapes of chronic care."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from yilian.kit.fields import Day, Id


class VisitDrug(BaseModel):
    """One line of 用药情况: the drug's name, how often and how much each time."""

    name: str = Field(min_length=1, max_length=64)
    usage: str = Field(default="", max_length=32, description="每日几次, e.g. 每日1次")
    dose: str = Field(default="", max_length=32, description="每次剂量, e.g. 5mg")


class VisitIn(BaseModel):
    resident_id: Id
    kind: str = Field(default="follow_up", pattern="^(follow_up|health_check)$")
    disease: str | None = None
    visited_on: Day
    sbp: int | None = None
    dbp: int | None = None
    heart_rate: int | None = None
    fasting_glucose: float | None = None
    hba1c: float | None = None
    total_cholesterol: float | None = None
    ldl: float | None = None
    weight_kg: float | None = None
    height_cm: float | None = None
    smoker: bool | None = None
    adherence: str | None = Field(default=None, pattern="^(规律|间断|不服药)$")
    note: str | None = Field(default=None, max_length=500)
    # The national follow-up record's fields (all optional, so older callers keep working).
    way: str | None = Field(default=None, pattern="^(门诊|家庭|电话)$", description="随访方式")
    symptoms: list[str] = Field(default=[], max_length=12)
    symptoms_other: str | None = Field(default=None, max_length=200)
    target_weight_kg: float | None = Field(default=None, gt=0, le=500)
    dorsalis_pedis: str | None = Field(
        default=None,
        pattern="^(未触及|触及双侧对称|触及左侧弱或消失|触及右侧弱或消失)$",
        description="足背动脉搏动",
    )
    signs_other: str | None = Field(default=None, max_length=200)
    cigarettes_per_day: int | None = Field(default=None, ge=0, le=200)
    target_cigarettes_per_day: int | None = Field(default=None, ge=0, le=200)
    alcohol_liang_per_day: float | None = Field(default=None, ge=0, le=100, description="日饮酒量（两）")
    target_alcohol_liang_per_day: float | None = Field(default=None, ge=0, le=100)
    exercise_times_per_week: int | None = Field(default=None, ge=0, le=50)
    exercise_minutes: int | None = Field(default=None, ge=0, le=600, description="每次分钟")
    target_exercise_times_per_week: int | None = Field(default=None, ge=0, le=50)
    target_exercise_minutes: int | None = Field(default=None, ge=0, le=600)
    salt: str | None = Field(default=None, pattern="^(轻|中|重)$", description="摄盐情况")
    target_salt: str | None = Field(default=None, pattern="^(轻|中|重)$")
    staple_grams_per_day: int | None = Field(default=None, ge=0, le=5000, description="主食（克/天），糖尿病")
    target_staple_grams_per_day: int | None = Field(default=None, ge=0, le=5000)
    psychology: str | None = Field(default=None, pattern="^(良好|一般|差)$", description="心理调整")
    compliance: str | None = Field(default=None, pattern="^(良好|一般|差)$", description="遵医行为")
    auxiliary_exam: str | None = Field(default=None, max_length=500, description="辅助检查")
    adverse_reaction: bool | None = Field(default=None, description="药物不良反应")
    adverse_reaction_detail: str | None = Field(default=None, max_length=200)
    hypoglycaemia: str | None = Field(
        default=None, pattern="^(无|偶尔|频繁)$", description="低血糖反应，糖尿病"
    )
    visit_class: str | None = Field(
        default=None, pattern="^(控制满意|控制不满意|不良反应|并发症)$", description="此次随访分类"
    )
    drugs: list[VisitDrug] = Field(default=[], max_length=12)
    referral_reason: str | None = Field(default=None, max_length=200)
    referral_to: str | None = Field(default=None, max_length=64, description="转诊机构及科别")
    next_visit_on: Day | None = None
    doctor_signature: str | None = Field(default=None, max_length=32)


class RegisterOut(BaseModel):
    disease: str
    disease_label: str
    source: str
    registered_on: date
    risk_level: str | None
    colour: str | None
    assessed_on: date | None
    next_due_on: date | None
    responsible_role: str | None
    last_visit_on: date | None
    controlled: bool | None
    explanation: str | None = None


class VisitOut(BaseModel):
    id: int
    kind: str
    visited_on: date
    sbp: int | None
    dbp: int | None
    fasting_glucose: float | None
    hba1c: float | None
    weight_kg: float | None
    adherence: str | None
    disease: str | None = None
    way: str | None = None
    visit_class: str | None = None
    next_visit_on: date | None = None
    form: dict[str, object] = Field(default={}, description="the rest of the national follow-up record")


class ChronicRecord(BaseModel):
    resident_id: int
    signed: bool
    registers: list[RegisterOut]
    visits: list[VisitOut]


class WorkItem(BaseModel):
    resident_id: int
    name: str
    age: int
    grid_name: str | None
    disease: str | None
    colour: str | None
    next_due_on: date | None
    days_overdue: int | None


class GridCount(BaseModel):
    grid_id: int
    name: str
    count: int


class WorkPage(BaseModel):
    """One page of a work list, its total and the villages it spans (the filter's choices)."""

    kind: str
    total: int
    offset: int
    limit: int
    items: list[WorkItem]
    grids: list[GridCount]


class Figures(BaseModel):
    as_of: date
    residents: int
    signed: int
    signing_rate: float | None
    key_population: int
    key_population_signed: int
    key_population_signing_rate: float | None
    registered: dict[str, int]
    managed_on_time: dict[str, int]
    on_time_rate: dict[str, float | None]
    controlled: dict[str, int]
    control_rate: dict[str, float | None]
    colours: dict[str, dict[str, int]]


class PrescriptionItemIn(BaseModel):
    drug_id: Id
    daily_dose: float = Field(gt=0)


class PrescriptionIn(BaseModel):
    resident_id: Id
    diagnosis: str = Field(min_length=1, max_length=16, description="ICD-10 code, e.g. I10.x00")
    days: int = Field(ge=-1000, le=1000, description="the rule names what is allowed")
    items: list[PrescriptionItemIn] = Field(min_length=1, max_length=20)


class PrescriptionOut(BaseModel):
    id: int
    days: int
    is_long: bool
    items: list[dict[str, object]]


class DrugOut(BaseModel):
    id: int
    name: str
    specification: str
    unit: str
    price_fen: int
    is_vbp: bool


class DrugPage(BaseModel):
    items: list[DrugOut]
    total: int
    offset: int
    limit: int
