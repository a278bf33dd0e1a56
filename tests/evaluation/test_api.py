"""Evaluation over HTTP: upload the annex, units and scores, run a year, read it back."""

from __future__ import annotations

import io

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import bearer
from tests.factories.evaluation import XINJIANG, scores_csv, units_csv
from tests.factories.world import build_world

CODE = XINJIANG


def test_upload_run_read_and_export(client: TestClient, session: Session, annex_xlsx: bytes) -> None:
    world = build_world(session)
    headers = bearer(session, world.commission)
    scheme = client.post(
        "/api/evaluation/schemes",
        data={"code": CODE, "name": "自治区基层卫生健康综合试验区监测评价细则(试行)", "version": "2023"},
        files={"file": ("annex1.xlsx", annex_xlsx)},
        headers=headers,
    )
    assert scheme.status_code == 201, scheme.text
    assert scheme.json() == {"code": CODE, "version": "2023", "total": "1000.00", "bonus_cap": "100.00"}
    again = client.post(
        "/api/evaluation/schemes",
        data={"code": CODE, "name": "x", "version": "2023"},
        files={"file": ("annex1.xlsx", annex_xlsx)},
        headers=headers,
    )
    assert again.status_code == 409  # a version never changes once imported
    units = client.post(
        f"/api/evaluation/{CODE}/units",
        params={"year": 2025},
        files={"file": ("u.csv", units_csv())},
        headers=headers,
    )
    assert units.json() == {"units": 9}
    first = {"P0": 78, "P1": 74, "P2": 70, "P3": 61, "P4": 66, "P5": 52, "C0": 60, "C1": 70, "C2": 30}
    scores = client.post(
        f"/api/evaluation/{CODE}/scores",
        params={"year": 2025},
        files={"file": ("s.csv", scores_csv(first))},
        headers=headers,
    )
    assert scores.json() == {"entries": 9}
    ran = client.post(
        f"/api/evaluation/{CODE}/run", params={"year": 2025, "deadline": "2026-06-30"}, headers=headers
    )
    assert ran.status_code == 200, ran.text
    pilots = [r for r in ran.json()["ranking"] if r["group"] == "试点"]
    assert [r["name"] for r in pilots] == ["新源县", "伊宁市", "布尔津县", "拜城县", "巴里坤县", "洛浦县"]
    assert pilots[0]["sections"][0] == "78.00" and len(pilots[0]["sections"]) == 10
    assert [(c["name"], c["rank"]) for c in ran.json()["cards"]] == [("洛浦县", 6), ("巴里坤县", 5)]
    assert (
        client.get(
            f"/api/evaluation/{CODE}/results", params={"year": 2025}, headers=bearer(session, world.doctor)
        ).status_code
        == 403
    )

    listed = client.get("/api/evaluation/schemes", headers=headers).json()
    assert listed == [
        {"code": CODE, "name": "自治区基层卫生健康综合试验区监测评价细则(试行)", "version": "2023", "years": [2025]}
    ]
    detail = client.get(f"/api/evaluation/{CODE}/units/P5", params={"year": 2025}, headers=headers).json()
    assert detail["name"] == "洛浦县" and detail["rank"] == 6 and detail["group"] == "试点"
    assert len(detail["sections"]) == 10 and detail["sections"][0]["points"] == "52.00"
    assert all(i["text"] for s in detail["sections"] for i in s["items"])
    assert client.get(f"/api/evaluation/{CODE}/units/NOPE", params={"year": 2025}, headers=headers).status_code == 404

    exported = client.get(f"/api/evaluation/{CODE}/export", params={"year": 2025}, headers=headers)
    assert exported.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(exported.content))
    assert book.sheetnames == ["2025年排名", "亮黄牌记录", "说明"]
    first = [c.value for c in book["2025年排名"][2]]
    assert first[:5] == ["试点", 1, "P0", "新源县", 78] and len(first) == 7 + 10
    assert [c.value for c in book["亮黄牌记录"][2]] == [2025, "洛浦县", 6, "2026-06-30", "限期整改"]

    printed = client.get(f"/api/evaluation/{CODE}/export.pdf", params={"year": 2025}, headers=headers)
    assert printed.status_code == 200 and printed.headers["content-type"] == "application/pdf"
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(printed.content)).pages)
    assert "2025年评价结果" in text and "满分 1000.00 分，加分项最高 100.00 分" in text
    assert (
        "新源县" in text and "洛浦县（黄牌）" in text and "巴里坤县（黄牌）" in text and "2026-06-30" in text
    )
