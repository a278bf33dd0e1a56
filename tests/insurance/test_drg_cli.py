"""`yilian drg group` follows the scheme on code validity (SPEC §3.3) unless asked to be strict."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from typer.testing import CliRunner

from yilian.cli import app

CASES = "病案号,性别,年龄,诊断编码\nA1,1,60,\"D48.900x005+M90.6*,XYZ.123\"\n"


def _drgs(path: Path) -> dict[str, tuple[str, str, str]]:
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    return {r["病案号"]: (r["DRG"], r["状态"], r["未识别编码"]) for r in rows}


def test_the_cli_groups_a_case_with_an_unknown_secondary_code_as_the_reference_does(
    tmp_path: Path, drg_scheme_path: Path
) -> None:
    source = tmp_path / "cases.csv"
    source.write_text(CASES, encoding="utf-8")
    runner = CliRunner()
    plain = runner.invoke(
        app, ["drg", "group", str(source), "-o", str(tmp_path / "out.csv"), "--scheme", str(drg_scheme_path)]
    )
    assert plain.exit_code == 0, plain.output
    assert _drgs(tmp_path / "out.csv")["A1"][0] == "IU15"
    strict = runner.invoke(
        app,
        ["drg", "group", str(source), "-o", str(tmp_path / "strict.csv"), "--scheme", str(drg_scheme_path),
         "--check-codes"],
    )
    assert strict.exit_code == 0, strict.output
    drg, status, unknown = _drgs(tmp_path / "strict.csv")["A1"]
    assert (drg, status, unknown) == ("0000", "诊断不是有效的ICD编码", "XYZ.123")
