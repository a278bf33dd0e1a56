"""`yilian residents import` from the command line: all or nothing, audited as the named user."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select
from typer.testing import CliRunner

from yilian.cli import app
from yilian.config import get_settings
from yilian.kit.db import make_engine
from yilian.kit.id_numbers import make_id_number
from yilian.kit.migrate import upgrade
from yilian.models import AuditLog, Resident
from yilian.synth.build import build_synthetic_region


def test_import_from_the_command_line(
    fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(fresh_database_url)
    build_synthetic_region(
        fresh_database_url,
        residents_per_county=30,
        demo_password="Demo-Pass-2026",
        console=Console(quiet=True),
        today=date(2026, 11, 24),
    )
    monkeypatch.setenv("YILIAN_DATABASE_URL", fresh_database_url)
    get_settings.cache_clear()
    good = [make_id_number("640181", date(1990, 1, 1), n, "M") for n in (5, 6)]
    bad = good[0][:-1] + ("0" if good[0][-1] != "0" else "1")
    engine = make_engine(fresh_database_url)

    def residents() -> int:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(Resident)) or 0

    before = residents()
    rejected = tmp_path / "bad.csv"
    rejected.write_text(
        f"身份证号,姓名,网格编码\n{good[0]},甲,640181T01V01G\n{bad},乙,640181T01V01G\n", encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["residents", "import", str(rejected), "--as", "ygt1"])
    assert result.exit_code == 1 and "第3行" in result.output and "id_number" in result.output
    assert residents() == before
    accepted = tmp_path / "good.csv"
    accepted.write_text(
        "身份证号,姓名,网格编码\n" + "".join(f"{n},丙{i},640181T01V01G\n" for i, n in enumerate(good)),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["residents", "import", str(accepted), "--as", "ygt1"])
    assert result.exit_code == 0, result.output
    assert residents() == before + 2
    with engine.connect() as connection:
        audited = connection.scalars(
            select(AuditLog.username).where(AuditLog.action == "import", AuditLog.entity == "resident")
        ).all()
    assert audited == ["ygt1", "ygt1"]
    engine.dispose()
    get_settings.cache_clear()
