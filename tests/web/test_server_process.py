"""What a server process does once at start-up."""

from __future__ import annotations

import gc
import re

from fastapi.testclient import TestClient

from yilian.app import create_app
from yilian.config import Settings
from yilian.kit.audit import AuditWriter
from yilian.kit.db import Database


def test_start_up_freezes_what_is_loaded_out_of_the_collectors_way(settings: Settings) -> None:
    """The libraries, the app and FHIR's models stay for the life of the process: frozen, a full
    collection under load walks only what requests made (decision 0011)."""
    app = create_app(
        settings.model_copy(update={"gc_freeze": True}),
        database=Database.__new__(Database),
        audit=AuditWriter(),
    )
    gc.unfreeze()
    try:
        with TestClient(app):
            assert gc.get_freeze_count() > 100_000
    finally:
        gc.unfreeze()


def test_no_path_is_served_by_two_routers() -> None:
    """The routers are ordered by traffic (`app.routers`), which is safe only while no route of an
    earlier router matches a path that a later router serves."""
    from fastapi.routing import APIRoute

    from yilian.app import routers

    seen: list[tuple[str, APIRoute]] = []
    clashes = []
    for router in routers():
        own = [route for route in router.routes if isinstance(route, APIRoute)]
        assert own, f"router without routes: {router.prefix}"
        for route in own:
            concrete = re.sub(r"\{[^}]+\}", "1", route.path_format)
            clashes += [
                (earlier.path_format, route.path_format, method)
                for prefix, earlier in seen
                for method in route.methods & earlier.methods
                if earlier.path_regex.match(concrete)
            ]
        seen += [(router.prefix, route) for route in own]
    assert clashes == []
    assert len(seen) > 100
