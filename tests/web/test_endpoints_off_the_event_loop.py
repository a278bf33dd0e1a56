"""Synchronous SQLAlchemy on the event loop stalls every request of the process: an endpoint that
touches the database is a plain `def` (FastAPI runs it in the thread pool), or an `async def` that
hands its database work to a worker thread (`committed_in_thread`, decision 0011)."""

from __future__ import annotations

import inspect

from fastapi.routing import APIRoute

from yilian.app import routers


def test_no_coroutine_endpoint_works_the_database_on_the_event_loop() -> None:
    coroutines = [
        route
        for router in routers()
        for route in router.routes
        if isinstance(route, APIRoute) and inspect.iscoroutinefunction(route.endpoint)
    ]
    offenders = [
        f"{sorted(route.methods)} {route.path} ({route.endpoint.__module__}.{route.endpoint.__name__})"
        for route in coroutines
        if "committed_in_thread(" not in inspect.getsource(route.endpoint)
    ]
    assert offenders == []
    # The rule is checked against something: FHIR's endpoints are coroutines that do.
    assert "/fhir" in {route.path for route in coroutines}
