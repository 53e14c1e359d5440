"""The console function (functions/console/app.py) answers exactly its own files, each with the strict
Content-Security-Policy, and nothing else: no path from a request ever reaches the disk."""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kassa_dev.gateway import LambdaContext

APP = Path(__file__).resolve().parents[2] / "functions" / "console" / "app.py"


@pytest.fixture
def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("console_app_under_test", APP)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "index.html").write_text("<!doctype html><title>Kassa</title>")
    (tmp_path / "app.js").write_text("export const x = 1;")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "notes.txt").write_text("not servable")
    (tmp_path / ".hidden.js").write_text("not servable either")
    (tmp_path.parent / "secret.js").write_text("outside")
    monkeypatch.setattr(module, "FILES", module._load(tmp_path))
    return module


def get(console: ModuleType, asset: str | None) -> dict[str, Any]:
    event = {
        "rawPath": "/console" + (f"/{asset}" if asset else ""),
        "pathParameters": {"asset": asset} if asset else None,
    }
    answer: dict[str, Any] = console.lambda_handler(event, LambdaContext("ConsoleFunction"))
    return answer


def test_the_page_and_its_files_are_served_with_the_strict_policy(console: ModuleType) -> None:
    page = get(console, None)
    assert page["statusCode"] == 200 and page["body"].startswith("<!doctype html>")
    assert page["headers"]["content-type"] == "text/html; charset=utf-8"
    policy = page["headers"]["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "http" not in policy
    assert page["headers"]["x-content-type-options"] == "nosniff"

    script = get(console, "app.js")
    assert script["statusCode"] == 200 and script["headers"]["content-type"].startswith("text/javascript")
    image = get(console, "logo.png")
    assert image["isBase64Encoded"] and base64.b64decode(image["body"]) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "asset", ["notes.txt", ".hidden.js", "../secret.js", "..%2Fsecret.js", "app.py", "nope.js", "a/app.js"]
)
def test_anything_else_is_404_and_never_read(console: ModuleType, asset: str) -> None:
    answer = get(console, asset)
    assert answer["statusCode"] == 404 and '"code": "not_found"' in answer["body"]
    assert answer["headers"]["content-security-policy"] == console.CONTENT_SECURITY_POLICY


def test_the_shipped_console_has_its_page_and_no_inline_script() -> None:
    static = APP.parent / "static"
    page = (static / "index.html").read_text()
    assert "<script" in page
    for tag in page.split("<script")[1:]:
        opening, _, rest = tag.partition(">")
        assert 'src="/console/' in opening and rest.lstrip().startswith("</script>"), "inline script"
    assert "style=" not in page and "<style" not in page
    assert "http://" not in page and "https://" not in page  # no third-party origin


def test_on_a_named_stage_the_page_names_its_files_under_the_stage(console: ModuleType) -> None:
    console.FILES["index.html"] = (
        b'<script type="module" src="/console/app.js"></script>',
        console.CONTENT_TYPES[".html"],
    )
    for stage, expected in (
        ("prod", "/prod/console/app.js"),
        ("$default", "/console/app.js"),
        (None, "/console/app.js"),
    ):
        event = {"rawPath": "/console", "requestContext": {"stage": stage} if stage else {}}
        answer = console.lambda_handler(event, LambdaContext("ConsoleFunction"))
        assert f'src="{expected}"' in answer["body"], (stage, answer["body"])
