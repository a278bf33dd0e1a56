"""What a server process does once at start-up."""

from __future__ import annotations

import gc

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
