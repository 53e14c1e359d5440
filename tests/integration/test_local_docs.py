"""The local server's Swagger UI (/docs) and OpenAPI document (/openapi.json), over real HTTP; and the
console's page, served by the stack's own console function through the gateway."""

from __future__ import annotations

import json
from pathlib import Path

import requests

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_swagger_ui_reads_the_committed_openapi_document(base_url: str) -> None:
    page = requests.get(f"{base_url}/docs", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script>" not in page.text  # every script is a file
    for script in ("/docs/swagger-ui-bundle.js", "/docs/swagger-ui-standalone-preset.js", "/docs/kassa-docs.js"):
        assert f'src="{script}"' in page.text
        loaded = requests.get(base_url + script, timeout=10)
        assert loaded.status_code == 200 and loaded.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in requests.get(f"{base_url}/docs/swagger-ui-bundle.js", timeout=10).text
    assert requests.get(f"{base_url}/docs/swagger-ui.css", timeout=10).status_code == 200
    assert '"/openapi.json"' in requests.get(f"{base_url}/docs/kassa-docs.js", timeout=10).text

    document = requests.get(f"{base_url}/openapi.json", timeout=10)
    assert document.status_code == 200 and document.json() == json.loads(OPENAPI.read_text())
    assert "/v1/wallets" in document.json()["paths"]


def test_swagger_leads_to_docs_and_other_paths_stay_the_apis(base_url: str) -> None:
    moved = requests.get(f"{base_url}/swagger", timeout=10, allow_redirects=False)
    assert moved.status_code == 302 and moved.headers["location"] == "/docs"
    for path in ("/docs/index.html", "/docs/../template.yaml", "/docs/swagger-ui.js.map"):
        assert requests.get(base_url + path, timeout=10).status_code == 404, path
    assert requests.post(f"{base_url}/docs", timeout=10).status_code == 404


def test_the_console_is_served_by_the_stack_with_its_policy(base_url: str) -> None:
    page = requests.get(f"{base_url}/console", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert requests.get(f"{base_url}/console/app.js", timeout=10).status_code == 200
    missing = requests.get(f"{base_url}/console/nope.js", timeout=10)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
