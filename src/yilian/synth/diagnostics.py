"""Demo data for the shared diagnostic centres of each county consortium: five centres at the county
hospital, devices at townships and village clinics, the recognition catalogue and lab QC, remote
specialties, and a year of exams read for the townships (with a few waiting on today's worklist)."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from typing import cast

from rich.console import Console
from sqlalchemy import Engine, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.auth.rules import Subject
from yilian.config import Settings
from yilian.diagnostics import rules
from yilian.diagnostics.recognition import do_import_catalogue
from yilian.diagnostics.schemas import CentreIn
from yilian.diagnostics.service import do_create_centre
from yilian.kit.audit import AuditWriter, load_chain_key
from yilian.kit.clock import FixedClock
from yilian.kit.money import yuan_to_fen
from yilian.models import (
    Consortium,
    ConsortiumMember,
    CriticalAlert,
    Equipment,
    ExamOrder,
    ExamReport,
    Grid,
    Institution,
    QcRecord,
    RecognitionEvent,
    RemoteSpecialty,
    Resident,
)

CATALOGUE = [
    # code, name, kind label, modality, validity days, QC needed, price yuan
    ("DR-CHEST", "胸部正位片", "影像诊断中心", "DX", 30, "是", "60"),
    ("DR-LSPINE", "腰椎正侧位片", "影像诊断中心", "DX", 90, "是", "90"),
    ("CT-HEAD", "头颅CT平扫", "影像诊断中心", "CT", 90, "是", "280.5"),
    ("CT-CHEST", "胸部CT平扫", "影像诊断中心", "CT", 90, "是", "320"),
    ("MR-LSPINE", "腰椎MRI平扫", "影像诊断中心", "MR", 180, "是", "650"),
    ("US-ABD", "腹部超声", "超声诊断中心", "US", 30, "是", "120"),
    ("ECG-12", "常规十二导联心电图", "心电诊断中心", "ECG", 7, "否", "25"),
    ("LAB-HBA1C", "糖化血红蛋白", "医学检验中心", "LAB", 90, "是", "55"),
    ("PATH-BIOPSY", "活检组织病理", "病理诊断中心", "PATH", 365, "是", "300"),
]
CENTRES = [
    ("imaging", "影像诊断中心", {"DX": 120, "CR": 120, "CT": 60, "MR": 240}),
    ("ecg", "心电诊断中心", {"ECG": 30}),
    ("ultrasound", "超声诊断中心", {"US": 60}),
    ("laboratory", "医学检验中心", {"LAB": 240}),
    ("pathology", "病理诊断中心", {"PATH": 4320}),
]
REMOTE_SPECIALTIES = [
    "心血管内科",
    "呼吸内科",
    "消化内科",
    "神经内科",
    "内分泌科",
    "肾内科",
    "血液科",
    "风湿免疫科",
    "感染科",
    "普外科",
    "骨科",
    "神经外科",
    "泌尿外科",
    "妇科",
    "产科",
    "儿科",
    "眼科",
    "耳鼻喉科",
    "皮肤科",
    "精神心理科",
    "康复医学科",
    "肿瘤科",
]
ITEM_MIX = [
    ("DR-CHEST", 35),
    ("ECG-12", 25),
    ("US-ABD", 15),
    ("CT-HEAD", 8),
    ("CT-CHEST", 7),
    ("LAB-HBA1C", 7),
    ("DR-LSPINE", 3),
]


def build_diagnostics_demo(
    engine: Engine,
    *,
    now: datetime,
    seed: int,
    console: Console,
    settings: Settings,
    exams_per_1000: int = 40,
) -> None:
    rng = random.Random(seed)
    audit = AuditWriter(engine, key=load_chain_key(settings))
    with Session(engine) as session:
        consortia = session.execute(
            select(Consortium.id, Consortium.lead_institution_id)
            .where(Consortium.kind == "县域医共体")
            .order_by(Consortium.id)
        ).all()
        for consortium_id, lead_id in consortia:
            actor = Actor(
                subject=Subject(
                    user_id=0, username="synth", role=roles.CONSORTIUM_ADMIN, consortium_id=consortium_id
                ),
                endpoint="synth",
                audit=audit,
                clock=FixedClock(now),
            )
            _county(session, actor, rng, consortium_id, lead_id, now, exams_per_1000)
        session.commit()
    with engine.begin() as connection:
        audit.drain(connection)
    console.print(f"共享诊断中心：{len(consortia)} 个医共体，各 5 个中心")


def _county(
    session: Session,
    actor: Actor,
    rng: random.Random,
    consortium_id: int,
    lead_id: int,
    now: datetime,
    per_1000: int,
) -> None:
    members = session.execute(
        select(Institution.id, Institution.type)
        .join(ConsortiumMember, ConsortiumMember.institution_id == Institution.id)
        .where(ConsortiumMember.consortium_id == consortium_id)
    ).all()
    everyone = [i for i, _ in members]
    townships = [i for i, t in members if t in ("乡镇卫生院", "社区卫生服务中心")]
    villages = [i for i, t in members if t == "村卫生室"]
    centre_ids: dict[str, int] = {}
    for kind, label, targets in CENTRES:
        # Pathology serves the county and the townships, not the village clinics: coverage shows it.
        served = [i for i in everyone if kind != "pathology" or i not in villages]
        centre = do_create_centre(
            session,
            actor=actor,
            data=CentreIn(
                name=f"县{label}",
                kind=kind,
                host_institution_id=lead_id,
                member_institution_ids=served,
                turnaround_minutes=targets,
            ),
        )
        centre_ids[kind] = centre.id
    header = "项目编码,项目名称,类别,检查类型,有效期(天),需质控合格,价格(元),生效日期\n"
    rows = "".join(",".join(map(str, row)) + f",{now.year - 1}-01-01\n" for row in CATALOGUE)
    do_import_catalogue(session, actor=actor, filename="互认目录.csv", data=(header + rows).encode())
    # Devices: most townships take X-rays (001 §2.1: 80% → 100%), most village clinics record ECGs.
    devices = [
        {
            "institution_id": i,
            "modality": "DX",
            "name": "数字化X线摄影系统(DR)",
            "installed_on": date(now.year - 3, 5, 1),
        }
        for i in townships
        if rng.random() < 0.9
    ] + [
        {
            "institution_id": i,
            "modality": "ECG",
            "name": "十二导联心电图机",
            "installed_on": date(now.year - 2, 3, 1),
        }
        for i in villages
        if rng.random() < 0.75
    ]
    devices += [
        {
            "institution_id": lead_id,
            "modality": m,
            "name": f"{m}设备",
            "installed_on": date(now.year - 5, 1, 1),
        }
        for m in ("DX", "CT", "MR", "US", "ECG")
    ]
    session.execute(insert(Equipment), devices)
    year_start = date(now.year - 1, 1, 1)
    session.execute(
        insert(QcRecord),
        [
            {
                "institution_id": lead_id,
                "item_code": None,
                "kind": "internal",
                "checked_on": year_start + timedelta(days=30 * n),
                "valid_until": year_start + timedelta(days=30 * n + 29),
                "passed": True,
                "score": None,
                "note": "室内质控在控",
                "recorded_by": None,
                "recorded_at": now,
            }
            for n in range(0, 30)
        ]
        + [
            {
                "institution_id": lead_id,
                "item_code": None,
                "kind": "external",
                "checked_on": date(now.year - 1, 6, 1),
                "valid_until": date(now.year + 1, 5, 31),
                "passed": True,
                "score": 92.0,
                "note": "自治区临检中心室间质评",
                "recorded_by": None,
                "recorded_at": now,
            }
        ],
    )
    session.add_all(RemoteSpecialty(institution_id=lead_id, specialty=s) for s in REMOTE_SPECIALTIES)
    _exams(session, rng, consortium_id, lead_id, centre_ids, now, per_1000)


def _exams(
    session: Session,
    rng: random.Random,
    consortium_id: int,
    lead_id: int,
    centre_ids: dict[str, int],
    now: datetime,
    per_1000: int,
) -> None:
    """A year of exams ordered by the townships and read at the county, inserted in bulk."""
    residents = session.execute(
        select(Resident.id, Grid.institution_id)
        .join(Grid, Grid.id == Resident.grid_id)
        .where(Grid.consortium_id == consortium_id)
        .order_by(Resident.id)
    ).all()
    count = len(residents) * per_1000 // 1000
    if not count:
        return
    catalogue = {row[0]: row for row in CATALOGUE}
    codes = [code for code, weight in ITEM_MIX for _ in range(weight)]
    targets = {m: t for _, _, ts in CENTRES for m, t in ts.items()}
    orders, reports, waiting = [], [], 12
    start = now - timedelta(days=365)
    for n in range(count):
        resident_id, institution_id = residents[rng.randrange(len(residents))]
        code = rng.choice(codes)
        _, name, kind_label, modality, _, _, price = catalogue[code]
        kind = rules.MODALITIES[modality][0]
        recent = n < waiting
        ordered_at = (
            now - timedelta(minutes=rng.randint(30, 240))
            if recent
            else start + timedelta(minutes=rng.randint(0, 364 * 1440))
        )
        acquired_at = ordered_at + timedelta(minutes=rng.randint(10, 90))
        # Reading time: log-normal around 60% of the target, so most but not all are on time.
        read = max(3, int(rng.lognormvariate(math.log(targets[modality] * 0.6), 0.5)))
        reported_at = acquired_at + timedelta(minutes=read)
        status = rules.ACQUIRED if recent else rules.REPORTED
        orders.append(
            {
                "accession_number": f"P{n}",
                "resident_id": resident_id,
                "ordering_institution_id": institution_id,
                "ordering_user_id": None,
                "centre_id": centre_ids[kind],
                "item_code": code,
                "item_name": name,
                "modality": modality,
                "body_part": None,
                "clinical_note": "",
                "priority": rng.choices([0, 1, 2], [2, 38, 60])[0],
                "status": status,
                "price_fen": yuan_to_fen(price),
                "repeat_reason": None,
                "ordered_at": ordered_at,
                "acquired_at": acquired_at,
                "received_at": acquired_at,
                "reported_at": None if recent else reported_at,
                "report_read_at": None if recent else reported_at + timedelta(minutes=rng.randint(5, 600)),
                "cancelled_at": None,
            }
        )
    ids = list(
        session.scalars(insert(ExamOrder).returning(ExamOrder.id, sort_by_parameter_order=True), orders)
    )
    _set_accessions(session, ids, orders)
    impressions = {
        "DX": "心肺未见明显异常",
        "CT": "颅内未见明显异常",
        "MR": "腰4/5椎间盘膨出",
        "US": "肝胆胰脾未见异常",
        "ECG": "窦性心律，正常心电图",
        "LAB": "结果见检验单",
        "PATH": "慢性炎症",
    }
    alerts = []
    for order_id, o in zip(ids, orders, strict=True):
        if o["status"] != rules.REPORTED:
            continue
        critical = rng.random() < 0.01
        reports.append(
            {
                "order_id": order_id,
                "reader_user_id": None,
                "reader_institution_id": lead_id,
                "findings": "见影像/记录",
                "impression": impressions[str(o["modality"])],
                "is_critical": critical,
                "critical_note": "危急值，已电话通知" if critical else None,
                "reported_at": o["reported_at"],
            }
        )
        if critical:
            raised = o["reported_at"]
            alerts.append(
                {
                    "order_id": order_id,
                    "institution_id": o["ordering_institution_id"],
                    "user_id": None,
                    "message": f"危急值：{o['item_name']}",
                    "raised_at": raised,
                    "acknowledged_at": raised + timedelta(minutes=rng.randint(2, 25)),  # type: ignore[operator]
                    "acknowledged_by": None,
                    "action_taken": "已通知患者就医",
                }
            )
    if reports:
        session.execute(insert(ExamReport), reports)
    if alerts:
        session.execute(insert(CriticalAlert), alerts)
    events = [
        {
            "resident_id": o["resident_id"],
            "item_code": o["item_code"],
            "prior_order_id": order_id,
            "order_id": None,
            "outcome": "reused" if rng.random() < 0.8 else "repeated",
            "reason": None,
            "price_fen": o["price_fen"],
            "institution_id": o["ordering_institution_id"],
            "user_id": None,
            "at": o["reported_at"] + timedelta(days=rng.randint(1, 6)),  # type: ignore[operator]
        }
        for order_id, o in zip(ids, orders, strict=True)
        if o["status"] == rules.REPORTED
        and rng.random() < 0.04
        and o["reported_at"] < now - timedelta(days=7)  # type: ignore[operator]
    ]
    for event in events:
        if event["outcome"] == "repeated":
            event["reason"] = "病情变化需复查"
    if events:
        session.execute(insert(RecognitionEvent), events)
    session.flush()


def _set_accessions(session: Session, ids: list[int], orders: list[dict[str, object]]) -> None:
    table = cast(Table, ExamOrder.__table__)
    session.execute(
        update(table).where(table.c.id == bindparam("order_id")).values(accession_number=bindparam("number")),
        [
            {"order_id": order_id, "number": rules.accession_number(o["ordered_at"].date(), order_id)}  # type: ignore[attr-defined]
            for order_id, o in zip(ids, orders, strict=True)
        ],
    )
