"""docs/openapi.yaml describes exactly the app's /api routes, with their methods."""

import re
from pathlib import Path

import yaml

from handlers import beacons

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def spec_routes() -> set[tuple[str, str]]:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return {
        (path, method.upper())
        for path, ops in spec["paths"].items()
        if path.startswith("/api/")
        for method in ops
        if method in {"get", "post", "put", "patch", "delete"}
    }


def app_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        routes |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    # Served in front of Flask's dispatch, not in url_map.
    routes |= {(beacons.PATH, m) for m in beacons.METHODS}
    return routes


def test_spec_lists_exactly_the_api_routes(app):
    documented, served = spec_routes(), app_routes(app)
    assert served - documented == set(), "routes missing from docs/openapi.yaml"
    assert documented - served == set(), "docs/openapi.yaml lists routes the app does not serve"
