"""The app's routers: each path is served by exactly one."""

from __future__ import annotations

import re


def test_no_path_is_served_by_two_routers() -> None:
    """A route of an earlier router that matches a path a later router serves would take its
    requests: the later route would never be reached."""
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
