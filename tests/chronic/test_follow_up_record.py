"""The national follow-up record (高血压/2型糖尿病患者随访服务记录表) through the API, the drug catalogue
the long-prescription form picks from, and bounded prescription input."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.auth import bearer
from tests.factories.chronic import diagnosed
from tests.factories.family_doctor import create_drug
from tests.factories.world import World, build_world
from yilian.models import ChronicVisit

FORM = {
    "disease": "hypertension",
    "visited_on": "2026-11-24",
    "way": "家庭",
    "symptoms": ["头痛头晕", "心悸胸闷"],
    "sbp": 150,
    "dbp": 92,
    "heart_rate": 78,
    "weight_kg": 70,
    "target_weight_kg": 65,
    "height_cm": 165,
    "cigarettes_per_day": 10,
    "target_cigarettes_per_day": 0,
    "salt": "重",
    "target_salt": "轻",
    "psychology": "良好",
    "compliance": "一般",
    "adherence": "间断",
    "adverse_reaction": False,
    "visit_class": "控制不满意",
    "drugs": [{"name": "苯磺酸氨氯地平片", "usage": "每日1次", "dose": "5mg"}],
    "referral_reason": "血压控制不满意",
    "referral_to": "灵武市人民医院心内科",
    "next_visit_on": "2026-12-08",
    "doctor_signature": "王医生",
}


def hypertensive(session: Session) -> World:
    world = build_world(session)
    diagnosed(session, resident=world.resident_a, institution=world.township_a, codes=("I10.x00",))
    return world


def test_the_form_is_kept_and_the_doctor_may_bring_the_next_visit_forward(
    client: TestClient, session: Session
) -> None:
    world = hypertensive(session)
    headers = bearer(session, world.family_doctor_a)
    saved = client.post(
        "/api/chronic/visits", json={"resident_id": world.resident_a.id, **FORM}, headers=headers
    )
    assert saved.status_code == 201, saved.text
    record = saved.json()
    # 150/92 on a 66-year-old is yellow (30 days: 12-24); the doctor asked for two weeks (控制不满意).
    register = record["registers"][0]
    assert (register["colour"], register["next_due_on"]) == ("yellow", "2026-12-08")
    shown = record["visits"][0]
    assert (shown["way"], shown["visit_class"], shown["next_visit_on"]) == (
        "家庭",
        "控制不满意",
        "2026-12-08",
    )
    assert shown["form"]["symptoms"] == ["头痛头晕", "心悸胸闷"]
    assert shown["form"]["drugs"] == [{"name": "苯磺酸氨氯地平片", "usage": "每日1次", "dose": "5mg"}]
    assert shown["form"]["bmi"] == 25.7 and shown["form"]["referral_to"] == "灵武市人民医院心内科"
    assert shown["form"]["adverse_reaction"] is False
    stored = session.scalar(select(ChronicVisit).where(ChronicVisit.resident_id == world.resident_a.id))
    assert stored is not None and stored.adherence == "间断" and stored.sbp == 150

    # A later date than the colour's plan does not postpone it.
    later = {**FORM, "sbp": 128, "dbp": 78, "visit_class": "控制满意", "next_visit_on": "2027-06-01"}
    green = client.post(
        "/api/chronic/visits", json={"resident_id": world.resident_a.id, **later}, headers=headers
    )
    assert green.json()["registers"][0]["next_due_on"] == "2027-02-22"


def test_older_callers_and_bad_form_fields(client: TestClient, session: Session) -> None:
    world = hypertensive(session)
    headers = bearer(session, world.family_doctor_a)
    plain = client.post(
        "/api/chronic/visits",
        json={"resident_id": world.resident_a.id, "visited_on": "2026-11-24", "sbp": 128, "dbp": 78},
        headers=headers,
    )
    assert plain.status_code == 201 and plain.json()["visits"][0]["form"] == {}

    def refused(**change: object) -> dict[str, str]:
        body = {"resident_id": world.resident_a.id, **FORM, **change}
        response = client.post("/api/chronic/visits", json=body, headers=headers)
        assert response.status_code == 422, response.text
        return response.json()["error"]["fields"][0]  # type: ignore[no-any-return]

    assert refused(symptoms=["无症状", "头痛头晕"])["field"] == "symptoms"
    assert "多饮" in refused(symptoms=["多饮"])["message_zh"]  # a diabetes box on the hypertension form
    assert refused(next_visit_on="2026-11-24")["field"] == "next_visit_on"
    assert refused(way="上门")["field"].endswith("way")
    assert refused(visit_class="很好")["field"].endswith("visit_class")


def test_drug_catalogue_is_the_consortium_s_and_paged(client: TestClient, session: Session) -> None:
    world = build_world(session)
    for name in ("苯磺酸氨氯地平片", "二甲双胍片", "阿托伐他汀钙片"):
        create_drug(session, world, name=name)
    headers = bearer(session, world.family_doctor_a)
    page = client.get("/api/drugs", params={"q": "双胍"}, headers=headers).json()
    assert page["total"] == 1 and page["items"][0]["name"] == "二甲双胍片"
    first = client.get("/api/drugs", params={"limit": 2}, headers=headers).json()
    assert first["total"] == 3 and len(first["items"]) == 2
    assert client.get("/api/drugs", headers=bearer(session, world.insurance)).status_code == 403


def test_prescription_diagnosis_is_bounded(client: TestClient, session: Session) -> None:
    """A diagnosis longer than its column was a database error (a 500 on PostgreSQL)."""
    world = build_world(session)
    drug = create_drug(session, world)
    body = {
        "resident_id": world.resident_a.id,
        "diagnosis": "I10.x00" * 5,
        "days": 7,
        "items": [{"drug_id": drug.id, "daily_dose": 1}],
    }
    response = client.post("/api/prescriptions", json=body, headers=bearer(session, world.family_doctor_a))
    assert response.status_code == 422 and response.json()["error"]["fields"][0]["field"].endswith(
        "diagnosis"
    )
