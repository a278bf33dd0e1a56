"""`yilian evaluation …` end to end on a fresh database: import the annex, units, scores, run a year."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tests.factories.auth import CHEAP_SETTINGS
from tests.factories.evaluation import units_csv
from yilian.cli import app
from yilian.config import get_settings
from yilian.kit.migrate import upgrade
from yilian.synth.build import build_synthetic_region


def test_a_year_from_the_command_line(
    fresh_database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    annex_xlsx: bytes,
) -> None:
    upgrade(fresh_database_url)
    build_synthetic_region(
        fresh_database_url,
        residents_per_county=20,
        demo_password="Demo-Pass-2026",
        console=Console(quiet=True),
        settings=CHEAP_SETTINGS,
        today=date(2026, 11, 24),
    )
    monkeypatch.setenv("YILIAN_DATABASE_URL", fresh_database_url)
    get_settings.cache_clear()
    annex = tmp_path / "annex1.xlsx"
    annex.write_bytes(annex_xlsx)
    units = tmp_path / "units.csv"
    units.write_bytes(units_csv())
    scores = tmp_path / "scores.csv"
    scores.write_text(
        "单位编码,序号,得分,指标值,事件,数量,佐证\n"
        + "".join(f"P{i},1,{80 - 5 * i},,,,纪要\n" for i in range(6))
        + "P5,42,,,,20,编制批复\n",  # 洛浦县: 55 + 100 bonus (20 posts) → first
        encoding="utf-8",
    )
    runner = CliRunner()
    common = ["--code", "XJ-CLI", "--as", "admin"]  # the demo already has XJ-JCSYQ
    imported = runner.invoke(
        app,
        ["evaluation", "scheme-import", str(annex), "--name", "监测评价细则", "--version", "2023", *common],
    )
    assert imported.exit_code == 0, imported.output
    assert "满分 1000" in imported.output and "加分上限 100" in imported.output
    assert runner.invoke(app, ["evaluation", "units", str(units), "--year", "2023", *common]).exit_code == 0
    entered = runner.invoke(app, ["evaluation", "scores", str(scores), "--year", "2023", *common])
    assert entered.exit_code == 0 and "7 条评分" in entered.output
    ran = runner.invoke(app, ["evaluation", "run", "--year", "2023", "--deadline", "2024-06-30", *common])
    assert ran.exit_code == 0, ran.output
    lines = [line for line in ran.output.splitlines() if "县" in line or "市" in line]
    assert "洛浦县" in lines[0] and "155.00" in lines[0]
    assert sum("【黄牌】" in line for line in lines) == 2 and "【黄牌】" in lines[-1]
