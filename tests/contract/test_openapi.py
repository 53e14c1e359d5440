"""The OpenAPI document is generated from the routes, and the routes are the template's."""

from __future__ import annotations

import json
from pathlib import Path

from kassa_dev import openapi, template

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_matches_the_routes() -> None:
    assert DOCUMENT.read_text() == openapi.document(), "docs/openapi.json drifted: run `make openapi`"


def test_openapi_paths_are_exactly_the_templates_native_routes() -> None:
    documented = {
        (method.upper(), path)
        for path, operations in json.loads(openapi.document())["paths"].items()
        for method in operations
    }
    # One Wallet has its own protocol (docs/onewallet.md); the console's routes serve its page and scripts.
    native = {
        (route.method, route.path)
        for route in template.http_routes()
        if not route.path.startswith(("/onewallet", "/console"))
    }
    assert documented == native


def test_drift_check_can_fail(tmp_path: Path) -> None:
    stale = json.loads(DOCUMENT.read_text())
    stale["paths"].pop("/health")
    assert json.dumps(stale, indent=2, sort_keys=True) + "\n" != openapi.document()
