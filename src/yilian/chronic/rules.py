"""Pure rules of chronic care: measurements, blood-pressure grade, risk tiers, rule tables as data,
colours and follow-up plans, control, long prescriptions. No database, no web.

A rule table is data (`rulesets/*.json`): ordered rules, each a list of conditions
`[field, op, value]`; the first rule whose conditions all hold fires. `evaluate` runs a table on one
patient's facts; `assessment.py` compiles the same table to one SQL CASE for a whole county. A
condition on a missing value (None / NULL) never holds, in Python as in SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from yilian.kit.errors import FieldError, ValidationFailed

HYPERTENSION, DIABETES, HYPERLIPIDAEMIA = "hypertension", "diabetes", "hyperlipidaemia"
DISEASES = (HYPERTENSION, DIABETES, HYPERLIPIDAEMIA)
DISEASE_LABELS = {HYPERTENSION: "高血压", DIABETES: "糖尿病", HYPERLIPIDAEMIA: "高脂血症"}
ASSESSED_DISEASES = (HYPERTENSION, DIABETES)
# ICD-10 categories that put a resident on a register (三高).
REGISTER_ICD_PREFIXES = {
    HYPERTENSION: ("I10", "I11", "I12", "I13", "I15"),
    DIABETES: ("E10", "E11", "E12", "E13", "E14"),
    HYPERLIPIDAEMIA: ("E78",),
}
COLOURS = {"low": "green", "medium": "yellow", "high": "red"}
COLOUR_LABELS = {"green": "绿", "yellow": "黄", "red": "红"}
LEVEL_LABELS = {"low": "低危", "medium": "中危", "high": "高危"}


@dataclass(frozen=True)
class FollowUpPlan:
    interval_days: int
    responsible_role: str
    content: str


# The 国家基本公共卫生服务规范 asks for ≥4 follow-ups a year for controlled patients and a re-visit
# within two weeks for uncontrolled ones; the colours tighten that by risk.
PLANS = {
    "green": FollowUpPlan(90, "村医", "每3个月随访：测血压/血糖、用药依从性、生活方式指导"),
    "yellow": FollowUpPlan(30, "全科医生", "每月随访：调整用药、加强监测，必要时转慢病联合门诊"),
    "red": FollowUpPlan(14, "专科医生", "2周内随访：县级专科医生评估，慢病联合门诊优先就诊或上转"),
}
RULESET_DIR = Path(__file__).parent / "rulesets"


# -- measurements ----------------------------------------------------------------------------------
PLAUSIBLE = {
    "sbp": (60, 300, "收缩压", "mmHg"),
    "dbp": (30, 200, "舒张压", "mmHg"),
    "heart_rate": (20, 250, "心率", "次/分"),
    "fasting_glucose": (1.0, 40.0, "空腹血糖", "mmol/L"),
    "hba1c": (3.0, 20.0, "糖化血红蛋白", "%"),
    "total_cholesterol": (1.0, 20.0, "总胆固醇", "mmol/L"),
    "ldl": (0.3, 15.0, "低密度脂蛋白胆固醇", "mmol/L"),
    "weight_kg": (2.0, 300.0, "体重", "kg"),
    "height_cm": (40.0, 250.0, "身高", "cm"),
}


def check_measurements(values: dict[str, Any]) -> None:
    """Refuse impossible vital signs, naming each field (BP 400/20 and glucose −1 are typing errors)."""
    errors = []
    for field, (low, high, label, unit) in PLAUSIBLE.items():
        value = values.get(field)
        if value is not None and not low <= value <= high:
            errors.append(
                FieldError(
                    field,
                    f"{label}{value}{unit}不在合理范围{low}–{high}内",
                    f"{field} {value} is outside {low}–{high} {unit}",
                )
            )
    sbp, dbp = values.get("sbp"), values.get("dbp")
    if (sbp is None) != (dbp is None):
        errors.append(
            FieldError(
                "dbp" if dbp is None else "sbp",
                "收缩压与舒张压须同时填写",
                "systolic and diastolic pressure go together",
            )
        )
    elif sbp is not None and dbp is not None and sbp <= dbp:
        errors.append(FieldError("dbp", "舒张压应低于收缩压", "diastolic must be below systolic"))
    if errors:
        raise ValidationFailed(errors, "测量值不合理", "Implausible measurements")


def bp_grade(sbp: int | None, dbp: int | None) -> str | None:
    """The higher of the systolic and diastolic categories (2018 guideline)."""
    if sbp is None or dbp is None:
        return None
    order = ["normal", "high_normal", "grade1", "grade2", "grade3"]

    def category(value: int, cuts: tuple[int, int, int, int]) -> int:
        return sum(value >= cut for cut in cuts)

    return order[max(category(sbp, (130, 140, 160, 180)), category(dbp, (85, 90, 100, 110)))]


def bmi(weight_kg: float | None, height_cm: float | None) -> float | None:
    if weight_kg is None or not height_cm:
        return None
    return round(weight_kg / (height_cm / 100) ** 2, 1)


@dataclass(frozen=True)
class PatientFacts:
    """What the rule tables read. Flags come from diagnoses; values from the latest visit."""

    age: int
    sex: str
    sbp: int | None = None
    dbp: int | None = None
    fasting_glucose: float | None = None
    hba1c: float | None = None
    bmi: float | None = None
    smoker: bool = False
    dyslipidaemia: bool = False
    diabetes: bool = False
    diabetes_complications: bool = False
    target_organ_damage: bool = False
    ckd_stage: int = 0
    clinical_complications: bool = False

    @property
    def risk_factor_count(self) -> int:
        """Risk factors the platform records: age (men > 55, women > 65), smoking, dyslipidaemia, obesity."""
        old = self.age > (55 if self.sex == "M" else 65)
        obese = self.bmi is not None and self.bmi >= 28
        return sum([old, self.smoker, self.dyslipidaemia, obese])

    @property
    def tier(self) -> int:
        return risk_tier(
            risk_factor_count=self.risk_factor_count,
            target_organ_damage=self.target_organ_damage,
            ckd_stage=self.ckd_stage,
            diabetes=self.diabetes,
            diabetes_complications=self.diabetes_complications,
            clinical_complications=self.clinical_complications,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "bp_grade": bp_grade(self.sbp, self.dbp),
            "tier": self.tier,
            "risk_factor_count": self.risk_factor_count,
        }


@dataclass(frozen=True)
class PrecomputedFacts(PatientFacts):
    """Facts whose risk tier was already derived (by the batch SQL) from the diagnoses."""

    sql_tier: int = 1

    @property
    def tier(self) -> int:
        return self.sql_tier


def risk_tier(
    *,
    risk_factor_count: int,
    target_organ_damage: bool,
    ckd_stage: int,
    diabetes: bool,
    diabetes_complications: bool,
    clinical_complications: bool,
) -> int:
    """The row of the 2018 table: 4 clinical complications…, 3 ≥3 factors/TOD/CKD3/diabetes, 2 1–2 factors, 1 none."""
    if clinical_complications or ckd_stage >= 4 or (diabetes and diabetes_complications):
        return 4
    if risk_factor_count >= 3 or target_organ_damage or ckd_stage == 3 or diabetes:
        return 3
    if risk_factor_count >= 1:
        return 2
    return 1


# -- rule tables -----------------------------------------------------------------------------------
OPERATORS = {
    "==": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "in": lambda a, b: a in b,
}


@dataclass(frozen=True)
class RuleTable:
    code: str
    version: str
    disease: str
    source: str
    rules: tuple[dict[str, Any], ...]
    default: dict[str, Any]

    @classmethod
    def from_json(cls, text: str) -> RuleTable:
        data = json.loads(text)
        table = cls(
            code=data["code"],
            version=data["version"],
            disease=data["disease"],
            source=data["source"],
            rules=tuple(data["rules"]),
            default=data["default"],
        )
        table.check()
        return table

    def check(self) -> None:
        """A table is data someone edits: refuse unknown operators, levels and duplicate ids."""
        ids = [r["id"] for r in self.rules] + [self.default["id"]]
        if len(set(ids)) != len(ids):
            raise ValidationFailed.one("rules", "规则编号重复", "duplicate rule ids")
        for rule in (*self.rules, self.default):
            if rule["level"] not in COLOURS:
                raise ValidationFailed.one(
                    "level", f"未知风险等级{rule['level']}", f"unknown level {rule['level']}"
                )
            for _field, op, _value in rule.get("when", []):
                if op not in OPERATORS:
                    raise ValidationFailed.one("when", f"未知运算符{op}", f"unknown operator {op}")


@lru_cache(maxsize=32)
def parse_table(text: str) -> RuleTable:
    """Parse and check a stored table once per process; every visit re-assesses with it."""
    return RuleTable.from_json(text)


def load_table(name: str) -> RuleTable:
    return RuleTable.from_json((RULESET_DIR / name).read_text(encoding="utf-8"))


def builtin_tables() -> dict[str, RuleTable]:
    return {t.disease: t for t in (load_table("cn-htn-2018.json"), load_table("cn-dm-2022.json"))}


@dataclass(frozen=True)
class Assessment:
    disease: str
    rule_id: str
    level: str
    colour: str
    guideline: str
    explanation: str
    plan: FollowUpPlan


def _holds(facts: dict[str, Any], condition: list[Any]) -> bool:
    field, op, expected = condition
    value = facts.get(field)
    return value is not None and bool(OPERATORS[op](value, expected))


def evaluate(table: RuleTable, facts: PatientFacts) -> Assessment:
    """First matching rule wins; the explanation says which rule fired and why."""
    values = facts.as_dict()
    fired = next((r for r in table.rules if all(_holds(values, c) for c in r["when"])), table.default)
    colour = COLOURS[fired["level"]]
    explanation = (
        f"{table.code}-{table.version} {fired['id']}：{fired['why']}（指南分层：{fired['guideline']}）"
    )
    return Assessment(
        table.disease, fired["id"], fired["level"], colour, fired["guideline"], explanation, PLANS[colour]
    )


def next_due(assessed_on: date, colour: str) -> date:
    return assessed_on + timedelta(days=PLANS[colour].interval_days)


def is_controlled(
    disease: str,
    *,
    age: int,
    sbp: int | None = None,
    dbp: int | None = None,
    fasting_glucose: float | None = None,
    hba1c: float | None = None,
) -> bool | None:
    """Control targets: BP < 140/90 (< 150/90 at 80+); FPG < 7.0 mmol/L or HbA1c < 7 %. None if unmeasured."""
    if disease == HYPERTENSION:
        if sbp is None or dbp is None:
            return None
        return sbp < (150 if age >= 80 else 140) and dbp < 90
    if disease == DIABETES:
        if fasting_glucose is None and hba1c is None:
            return None
        return (fasting_glucose is None or fasting_glucose < 7.0) and (hba1c is None or hba1c < 7.0)
    return None


def screened_positive(
    *,
    sbp: int | None,
    dbp: int | None,
    fasting_glucose: float | None,
    total_cholesterol: float | None,
    ldl: float | None,
) -> list[str]:
    """Health-check thresholds: BP ≥ 140/90, FPG ≥ 7.0, TC ≥ 6.2 or LDL-C ≥ 4.1 mmol/L."""
    found = []
    if (sbp is not None and sbp >= 140) or (dbp is not None and dbp >= 90):
        found.append(HYPERTENSION)
    if fasting_glucose is not None and fasting_glucose >= 7.0:
        found.append(DIABETES)
    if (total_cholesterol is not None and total_cholesterol >= 6.2) or (ldl is not None and ldl >= 4.1):
        found.append(HYPERLIPIDAEMIA)
    return found


# -- the national follow-up record ------------------------------------------------------------------
# 国家基本公共卫生服务规范（第三版）: 高血压患者随访服务记录表 and 2型糖尿病患者随访服务记录表.
VISIT_WAYS = ("门诊", "家庭", "电话")
SYMPTOMS = {
    HYPERTENSION: (
        "无症状",
        "头痛头晕",
        "恶心呕吐",
        "眼花耳鸣",
        "呼吸困难",
        "心悸胸闷",
        "鼻衄出血不止",
        "四肢发麻",
        "下肢水肿",
    ),
    DIABETES: ("无症状", "多饮", "多食", "多尿", "视力模糊", "感染", "手脚麻木", "下肢浮肿", "体重明显下降"),
}
VISIT_CLASSES = ("控制满意", "控制不满意", "不良反应", "并发症")
LEVELS_OF_THREE = ("良好", "一般", "差")  # 心理调整, 遵医行为
SALT_INTAKE = ("轻", "中", "重")
DORSALIS_PEDIS = ("未触及", "触及双侧对称", "触及左侧弱或消失", "触及右侧弱或消失")


def check_symptoms(disease: str | None, symptoms: list[str]) -> None:
    """Symptoms are the form's boxes for the disease; "无症状" excludes the others."""
    allowed = set(SYMPTOMS.get(disease or "", ())) or set(SYMPTOMS[HYPERTENSION]) | set(SYMPTOMS[DIABETES])
    unknown = [s for s in symptoms if s not in allowed]
    if unknown:
        raise ValidationFailed.one(
            "symptoms", f"症状不在随访记录表中：{'、'.join(unknown)}", "symptom not on the national form"
        )
    if "无症状" in symptoms and len(symptoms) > 1:
        raise ValidationFailed.one(
            "symptoms", "勾选“无症状”时不能同时勾选其他症状", "'no symptoms' excludes the other symptoms"
        )


def next_visit_due(planned: date | None, chosen: date | None) -> date | None:
    """The doctor may ask to see the patient sooner than the colour's plan, never later."""
    if chosen is None:
        return planned
    if planned is None:
        return chosen
    return min(planned, chosen)


# -- prescriptions ---------------------------------------------------------------------------------
LONG_PRESCRIPTION_MAX_DAYS = 84  # 12 weeks (002 item 18)
ORDINARY_MAX_DAYS = 7  # 处方管理办法 art. 19
CHRONIC_MAX_DAYS = 30  # 慢性病、老年病 may be extended — to a month without a contract


def check_prescription_days(days: int, *, on_register: bool, signed: bool, stable: bool) -> bool:
    """Return whether this is a long prescription; refuse lengths the patient does not qualify for."""
    if days < 1:
        raise ValidationFailed.one("days", "用药天数至少为1天", "at least one day")
    if days > LONG_PRESCRIPTION_MAX_DAYS:
        raise ValidationFailed.one(
            "days",
            f"长处方最长12周（84天），本处方{days}天",
            f"long prescriptions are limited to 12 weeks (84 days); got {days}",
        )
    if days > CHRONIC_MAX_DAYS:
        if not (on_register and signed and stable):
            missing = [
                w
                for w, ok in (
                    ("在慢病登记中", on_register),
                    ("已签约家庭医生", signed),
                    ("病情稳定（绿色）", stable),
                )
                if not ok
            ]
            raise ValidationFailed.one(
                "days",
                f"超过30天的长处方须满足：{'、'.join(missing)}",
                "over 30 days needs a registered, signed, stable (green) chronic patient",
            )
        return True
    if days > ORDINARY_MAX_DAYS and not on_register:
        raise ValidationFailed.one(
            "days", "非慢病患者处方一般不超过7天", "ordinary prescriptions are limited to 7 days"
        )
    return False
