"""The synthetic county on a fresh database, as the tests build it: migrated, seed 7, two years,
the demo password, on the tests' fixed day."""

from __future__ import annotations

from datetime import date

from rich.console import Console

from tests.factories.auth import CHEAP_SETTINGS
from yilian.kit.migrate import upgrade
from yilian.synth.build import SynthReport, build_synthetic_region

TODAY = date(2026, 11, 24)
DEMO_PASSWORD = "Demo-Pass-2026"


def build_county(url: str, residents: int = 3000, counties: int = 1) -> SynthReport:
    """Migrate `url` and build `counties` synthetic counties of `residents` each on it."""
    upgrade(url)
    return build_synthetic_region(
        url,
        residents_per_county=residents,
        counties=counties,
        seed=7,
        years=2,
        demo_password=DEMO_PASSWORD,
        console=Console(quiet=True),
        settings=CHEAP_SETTINGS,
        today=TODAY,
    )
