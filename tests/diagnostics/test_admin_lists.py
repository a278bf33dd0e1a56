"""The administrator's paged quarantine list and QC records: scoped, newest first, never cut short."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, create_user
from tests.factories.diagnostics import open_centres, upload
from tests.factories.world import build_far_county, build_world
from yilian.auth import rules as roles


def test_quarantine_page_pages_past_any_cap_and_resolved_leave_it(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    centres = open_centres(client, session, world)
    result = upload(client, centres.township_doctor, [(f"note{n}.txt", b"not an image") for n in range(3)])
    assert result["quarantined"] == 3
    admin = bearer(session, world.consortium_admin)  # the consortium's: files its members' staff sent
    page = client.get("/api/diagnostics/quarantine/page", params={"limit": 2}, headers=admin).json()
    assert (page["total"], len(page["items"])) == (3, 2)
    assert all("不是DICOM" in r["reason_zh"] for r in page["items"])
    rest = client.get(
        "/api/diagnostics/quarantine/page", params={"offset": 2, "limit": 2}, headers=admin
    ).json()
    assert len(rest["items"]) == 1
    first = page["items"][0]["id"]
    resolved = client.post(
        f"/api/diagnostics/quarantine/{first}/resolve", json={"resolution": "拒收：非影像文件"}, headers=admin
    )
    assert resolved.status_code == 200, resolved.text
    assert client.get("/api/diagnostics/quarantine/page", headers=admin).json()["total"] == 2
    everything = client.get(
        "/api/diagnostics/quarantine/page", params={"include_resolved": True}, headers=admin
    ).json()
    assert everything["total"] == 3
    assert [r["resolution"] for r in everything["items"] if r["id"] == first] == ["拒收：非影像文件"]
    far = build_far_county(session)
    assert (
        client.get("/api/diagnostics/quarantine/page", headers=bearer(session, far.consortium_admin)).json()[
            "total"
        ]
        == 0
    )


def test_qc_records_listed_for_the_labs_run_with_item_names(client: TestClient, session: Session) -> None:
    world = build_world(session)
    centres = open_centres(client, session, world)
    for checked_on, passed in (("2026-10-01", False), ("2026-11-01", True)):
        recorded = client.post(
            "/api/diagnostics/qc",
            json={
                "item_code": "DR-CHEST",
                "kind": "external",
                "checked_on": checked_on,
                "valid_until": "2027-06-30",
                "passed": passed,
                "score": 92,
            },
            headers=centres.hospital_admin,
        )
        assert recorded.status_code == 201, recorded.text
    page = client.get("/api/diagnostics/qc", params={"limit": 1}, headers=centres.hospital_admin).json()
    assert page["total"] == 2
    newest = page["items"][0]
    assert (newest["checked_on"], newest["passed"], newest["institution_name"]) == (
        "2026-11-01",
        True,
        world.hospital.name,
    )
    assert newest["item_name"] == "胸部正位片"  # the catalogue's name, not its code
    failed = client.get(
        "/api/diagnostics/qc", params={"passed": False}, headers=centres.hospital_admin
    ).json()
    assert [r["checked_on"] for r in failed["items"]] == ["2026-10-01"]
    internal = client.get("/api/diagnostics/qc", params={"kind": "internal"}, headers=centres.hospital_admin)
    assert internal.json()["total"] == 0
    # A township's administrator runs another lab: none of these.
    township = bearer(
        session, create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.township_a.id)
    )
    assert client.get("/api/diagnostics/qc", headers=township).json()["total"] == 0
    # The consortium's administrator sees its members' labs.
    assert client.get("/api/diagnostics/qc", headers=centres.admin).json()["total"] == 2
