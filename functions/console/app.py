"""Console function: the back-office console's files (docs/console.md), served by the HTTP API itself so
the console deploys with the stack and runs on `make run`. It holds no credential and touches no data:
the page calls the same JSON API as everyone else, with the key the person signs in with.

Every answer carries a Content-Security-Policy that allows scripts, styles and calls from this origin
only: no inline script or style, no third-party origin, nothing framed. The files are read once, at
start, from a fixed list; a request names one of them or gets 404, so no path ever reaches the disk.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from kassa.observability import lambda_handler as observed

STATIC = Path(__file__).resolve().parent / "static"
INDEX = "index.html"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
# What travels base64-encoded through API Gateway (everything else is text).
BINARY = ("image/png", "image/x-icon")
ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    # The files change with each deploy and carry no version in their names: always revalidate.
    "cache-control": "no-cache",
}


def _load(directory: Path) -> dict[str, tuple[bytes, str]]:
    """name -> (content, content type) for every servable file of ``directory`` (flat; others ignored)."""
    files = {}
    for path in sorted(directory.iterdir()) if directory.is_dir() else []:
        if path.is_file() and path.suffix in CONTENT_TYPES and ASSET_NAME.match(path.name):
            files[path.name] = (path.read_bytes(), CONTENT_TYPES[path.suffix])
    return files


FILES = _load(STATIC)


def _answer(status: int, body: bytes, content_type: str) -> dict[str, Any]:
    binary = content_type in BINARY
    return {
        "statusCode": status,
        "headers": {"content-type": content_type, **SECURITY_HEADERS},
        "body": base64.b64encode(body).decode() if binary else body.decode(),
        "isBase64Encoded": binary,
    }


def _not_found(name: str) -> dict[str, Any]:
    problem = {
        "type": "urn:kassa:problem:not_found",
        "title": "Not Found",
        "status": 404,
        "code": "not_found",
        "detail": f"the console has no file {name!r}",
    }
    return _answer(404, json.dumps(problem).encode(), "application/problem+json")


# Logged, traced and measured like every function of the stack; it calls no AWS service, so X-Ray patches
# nothing (patching botocore would import it for nothing).
@observed(traced_modules=())
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    name = (event.get("pathParameters") or {}).get("asset") or INDEX
    found = FILES.get(name)
    if found is None:
        return _not_found(name[:100])
    content, content_type = found
    if name == INDEX:
        content = _under_stage(content, (event.get("requestContext") or {}).get("stage"))
    return _answer(200, content, content_type)


def _under_stage(page: bytes, stage: str | None) -> bytes:
    """The page with its files' paths under the stage's (a deployed HTTP API's URL is /<stage>/..., except on
    the $default stage): the page names them absolutely, /console/app.js, so that /console and /console/
    load the same files. The scripts find the API's base path from their own address."""
    if not stage or stage == "$default":
        return page
    return page.replace(b'"/console/', f'"/{stage}/console/'.encode())
