"""Swagger UI for the native API at /docs, on the local server only (never deployed): Swagger UI's own
files from the swagger-ui-bundle package (nothing fetched at run time), reading the committed
docs/openapi.json, which the local server also answers at /openapi.json. /swagger leads to /docs.

The page is ours, not the bundle's: it loads the bundle's scripts and one small script of ours that starts
Swagger UI, so no script is inline and the page keeps a Content-Security-Policy (Swagger UI sets inline
styles on its elements, so styles may be inline here; the console's policy is stricter)."""

from __future__ import annotations

from pathlib import Path

from kassa_dev.gateway import HttpResponse
from kassa_dev.template import REPO_ROOT

OPENAPI = REPO_ROOT / "docs" / "openapi.json"

PAGE = b"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Kassa native API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/kassa-docs.js"></script>
</body>
</html>
"""

START = b"""window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
  });
});
"""

# The bundle's files the page uses, and their types.
BUNDLE_FILES = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}

POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _bundle() -> Path:
    from swagger_ui_bundle import swagger_ui_path  # dev tooling: imported when /docs is first asked for

    return Path(str(swagger_ui_path))


def _file(body: bytes, content_type: str) -> HttpResponse:
    headers = {"content-type": content_type, "content-security-policy": POLICY, "x-content-type-options": "nosniff"}
    return HttpResponse(200, headers, body)


def answer(method: str, path: str) -> HttpResponse | None:
    """The answer for a documentation path, or None when ``path`` is the API's (the gateway's) business."""
    if method not in ("GET", "HEAD"):
        return None
    if path in ("/swagger", "/swagger/", "/docs/"):
        return HttpResponse(302, {"location": "/docs"})
    if path == "/docs":
        return _file(PAGE, "text/html; charset=utf-8")
    if path == "/docs/kassa-docs.js":
        return _file(START, "text/javascript; charset=utf-8")
    if path == "/openapi.json":
        return _file(OPENAPI.read_bytes(), "application/json")
    name = path.removeprefix("/docs/")
    if name in BUNDLE_FILES and path.startswith("/docs/"):
        return _file((_bundle() / name).read_bytes(), BUNDLE_FILES[name])
    return None
