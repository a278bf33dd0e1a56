"""Clinic and exam schedules of the county-level hospitals, with two weeks of published slots.

Working days only; a clinic session is 08:00–12:00 in 12-minute slots and 14:30–17:30 likewise;
exam devices (CT, MRI, ultrasound) take 20-minute slots. 20 % of each session is reserved for
grassroots bookings, spread over the session, as the default policy does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from yilian.kit.bulk import BulkLoader, sqlite_datetime
from yilian.scheduling.rules import MIN_RESERVED_PERMILLE, PUBLIC, RESERVED, reserved_positions

CLINICS = ["心血管内科", "内分泌科", "呼吸内科", "消化内科", "神经内科", "骨科", "儿科", "妇产科"]
EXAMS = [("CT", "CT室", 20), ("MRI", "磁共振室", 30), ("超声", "超声科", 15)]
SESSIONS = [(time(8, 0), 240), (time(14, 30), 180)]


def build_schedules(
    *,
    loader: BulkLoader,
    ids: Callable[[str], int],
    today: date,
    hospitals: dict[int, dict[str, int]],
    days: int = 14,
) -> int:
    """hospitals: institution id → department name → department id. Returns slots published."""
    schedules, slots = [], []
    for institution_id, departments in hospitals.items():
        plans: list[tuple[str, str, str, str | None, int]] = [
            (d, "clinic", f"{d}专家门诊", None, 12) for d in CLINICS if d in departments
        ]
        plans += [
            ("医学影像科", "exam", name, equipment, minutes)
            for equipment, name, minutes in EXAMS
            if "医学影像科" in departments
        ]
        for department, kind, name, equipment, minutes in plans:
            schedule_id = ids("schedule")
            schedules.append(
                (schedule_id, institution_id, departments.get(department), kind, name, equipment, True)
            )
            for offset in range(1, days + 1):
                day = today + timedelta(days=offset)
                if day.weekday() >= 5:
                    continue
                for start, length in SESSIONS:
                    count = length // minutes
                    reserved = set(reserved_positions(count, MIN_RESERVED_PERMILLE))
                    first = datetime.combine(day, start)
                    for i in range(count):
                        begins = first + timedelta(minutes=i * minutes)
                        slots.append(
                            (
                                ids("slot"),
                                schedule_id,
                                institution_id,
                                sqlite_datetime(begins),
                                sqlite_datetime(begins + timedelta(minutes=minutes)),
                                RESERVED if i in reserved else PUBLIC,
                                1,
                                0,
                                True,
                            )
                        )
    loader.insert(
        "schedule",
        ["id", "institution_id", "department_id", "kind", "name", "equipment", "is_active"],
        schedules,
    )
    loader.insert(
        "slot",
        [
            "id",
            "schedule_id",
            "institution_id",
            "starts_at",
            "ends_at",
            "pool",
            "capacity",
            "booked",
            "published",
        ],
        slots,
    )
    return len(slots)
