"""The notice 002 and its annex 1 as a sheet, read once per session: every test that needs them only
reads them (an import takes the bytes; none changes them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories.evaluation import annex_workbook


@pytest.fixture(scope="session")
def seed_002(shared_root: Path) -> Path:
    found = sorted((shared_root / "seeds").glob("002_*"))
    if not found:
        pytest.fail(f"the notice 002 is not in {shared_root / 'seeds'} (set YILIAN_SHARED_DIR)")
    return found[0]


@pytest.fixture(scope="session")
def annex_xlsx(seed_002: Path) -> bytes:
    """002's annex 1 laid out as an Excel sheet."""
    return annex_workbook(seed_002)
