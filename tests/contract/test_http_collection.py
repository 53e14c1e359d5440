"""docs/kassa.http, the request collection for VS Code's REST Client and JetBrains' HTTP client: every route
of template.yaml has a request there, every request targets a route (or one of the local server's own
pages), carries the credentials its route takes, and every JSON body is valid for its route."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest

from kassa.onewallet.protocol import MODELS as ONEWALLET_MODELS
from kassa_dev.template import HttpRoute, http_routes, load_template, match_route

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "docs" / "kassa.http"
OPENAPI = json.loads((ROOT / "docs" / "openapi.json").read_text())
# Served by the local server alone (kassa serve), not by the deployed API: no route in template.yaml.
LOCAL_ONLY = {("GET", "/docs"), ("GET", "/openapi.json")}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
VARIABLE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
DEFINITION = re.compile(r"^@([A-Za-z_][\w-]*)\s*=\s*(.*?)\s*$")
NAME_COMMENT = re.compile(r"^(?:#|//)\s*@name\s+(\S+)\s*$")


@dataclass
class Request:
    """One request of the collection, its variables substituted."""

    line: int  # where its request line is, 1-based
    name: str | None
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query, keep_blank_values=True)

    def __str__(self) -> str:
        return f"line {self.line}: {self.method} {self.url}"


def parse(text: str) -> tuple[dict[str, str], list[Request]]:
    """(file variables as written, requests) of a .http file: blocks separated by ``###`` lines; in each,
    ``@name = value`` lines and comments (``#``, ``//``; ``# @name N`` names the request), then
    ``METHOD URL [HTTP/1.1]``, header lines, a blank line and the body. Variables are substituted: file
    variables (anywhere in the file, recursively), and a named request's response (``{{N.response...}}``),
    which must be a request above, stands for a value of its own."""
    variables: dict[str, str] = {}
    raw: list[tuple[int, str | None, str, list[str]]] = []  # (line, name, request line, the lines after it)
    block: list[tuple[int, str]] = []
    lines = text.splitlines()
    for number, text_line in enumerate([*lines, "###"], start=1):
        if not text_line.startswith("###"):
            block.append((number, text_line))
            continue
        name, request, rest = None, None, []
        for at, content in block:
            if request is not None:
                rest.append(content)
            elif match := DEFINITION.match(content):
                assert match.group(1) not in variables, f"line {at}: @{match.group(1)} defined twice"
                variables[match.group(1)] = match.group(2)
            elif match := NAME_COMMENT.match(content.strip()):
                name = match.group(1)
            elif content.strip() and not content.lstrip().startswith(("#", "//")):
                request = (at, content)
        if request is not None:
            raw.append((request[0], name, request[1], rest))
        block = []

    names_above: set[str] = set()
    requests = []
    for line, name, request_line, rest in raw:

        def substitute(value: str, line: int = line, depth: int = 0) -> str:
            def one(match: re.Match[str]) -> str:
                reference = match.group(1)
                if ".response." in reference:
                    request_name, _, selector = reference.partition(".response.")
                    assert request_name in names_above, f"line {line}: {{{{{reference}}}}} names no request above"
                    return f"{request_name}-{re.findall(r'[A-Za-z]+', selector)[-1]}"
                assert reference in variables, f"line {line}: {{{{{reference}}}}} is not defined"
                assert depth < 10, f"line {line}: {{{{{reference}}}}} refers to itself"
                return substitute(variables[reference], line, depth + 1)

            return VARIABLE.sub(one, value)

        method, url, *version = substitute(request_line).split()
        assert version in ([], ["HTTP/1.1"]), f"line {line}: {request_line!r} is not METHOD URL [HTTP/1.1]"
        headers: dict[str, str] = {}
        body_at = len(rest)
        for i, header in enumerate(rest):
            if not header.strip():
                body_at = i + 1
                break
            if header.lstrip().startswith(("#", "//")):
                continue
            key, sep, value = substitute(header).partition(":")
            assert sep, f"line {line}: {header!r} is not a header"
            headers[key.strip().lower()] = value.strip()
        requests.append(Request(line, name, method, url, headers, substitute("\n".join(rest[body_at:])).strip()))
        if name is not None:
            names_above.add(name)
    return variables, requests


@pytest.fixture(scope="module")
def collection() -> tuple[dict[str, str], list[Request]]:
    return parse(COLLECTION.read_text())


@pytest.fixture(scope="module")
def routes() -> list[HttpRoute]:
    return http_routes(load_template(ROOT / "template.yaml"))


def route_of(routes: list[HttpRoute], request: Request) -> HttpRoute | None:
    matched = match_route(routes, request.method, request.path)
    return None if matched is None else matched[0]


def unrouted(routes: list[HttpRoute], requests: list[Request]) -> list[str]:
    """The requests that target no route of the template (the local server's own pages aside)."""
    return [
        str(request)
        for request in requests
        if route_of(routes, request) is None and (request.method, request.path) not in LOCAL_ONLY
    ]


def uncovered(routes: list[HttpRoute], requests: list[Request]) -> list[str]:
    """The template's routes no request of the collection targets."""
    covered = {route.route_key for request in requests if (route := route_of(routes, request))}
    return [route.route_key for route in routes if route.route_key not in covered]


# --------------------------------------------------------------------------- the collection


def test_collection_uses_the_demo_variables(collection: tuple[dict[str, str], list[Request]]) -> None:
    variables, requests = collection
    assert variables["baseUrl"] == "http://127.0.0.1:3000"
    assert variables["playerId"] == "alice"
    assert variables["apiKey"] and variables["owToken"]
    # The file says how to start the local stack with the very key and token it uses.
    text = COLLECTION.read_text()
    assert f"KASSA_DEMO_API_KEY={variables['apiKey']}" in text
    assert f"KASSA_DEMO_ONEWALLET_TOKEN={variables['owToken']}" in text
    assert requests and all(request.url.startswith(variables["baseUrl"] + "/") for request in requests)
    assert all(request.method in METHODS for request in requests), [str(r) for r in requests]
    assert not [str(r) for r in requests if "{{" in r.url + r.body + "".join(r.headers.values())]


def test_every_request_targets_a_route(
    collection: tuple[dict[str, str], list[Request]], routes: list[HttpRoute]
) -> None:
    _, requests = collection
    stray = unrouted(routes, requests)
    assert not stray, f"no such route in template.yaml: {stray}"
    for method, path in LOCAL_ONLY:
        assert match_route(routes, method, path) is None, f"{method} {path} is a template route now: not local-only"
        assert any((r.method, r.path) == (method, path) for r in requests), f"no request for {method} {path}"


def test_every_route_has_a_request(collection: tuple[dict[str, str], list[Request]], routes: list[HttpRoute]) -> None:
    _, requests = collection
    missing = uncovered(routes, requests)
    assert not missing, f"no request in docs/kassa.http for: {missing}"
    # The listings and the console's pages, by their paths (whether or not template.yaml has them yet).
    paths = {(r.method, r.path) for r in requests}
    for path in ("/v1/wallets", "/v1/reconciliations", "/v1/findings", "/console"):
        assert ("GET", path) in paths, path
    assert any(method == "GET" and path.startswith("/console/") for method, path in paths)


def test_each_request_carries_its_routes_credentials(
    collection: tuple[dict[str, str], list[Request]], routes: list[HttpRoute]
) -> None:
    variables, requests = collection
    for request in requests:
        route = route_of(routes, request)
        if route is not None and route.authorized:
            assert request.headers.get("authorization") == f"Bearer {variables['apiKey']}", str(request)
        else:
            assert "authorization" not in request.headers, f"{request}: the route takes no key"
        if request.path.startswith("/onewallet/"):
            assert request.query.get("authToken") == [variables["owToken"]], str(request)


def _request_schema(route: HttpRoute) -> tuple[dict[str, object] | None, bool]:
    """(the JSON schema of the route's request body in docs/openapi.json, whether a body is required);
    (None, False) where the document has no body for the route (or not the route yet)."""
    operation = OPENAPI["paths"].get(route.path, {}).get(route.method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None, False
    return {**content["schema"], "components": OPENAPI["components"]}, bool(operation["requestBody"].get("required"))


def test_each_body_is_valid_for_its_route(
    collection: tuple[dict[str, str], list[Request]], routes: list[HttpRoute]
) -> None:
    _, requests = collection
    checked = 0
    for request in requests:
        route = route_of(routes, request)
        body = None
        if request.body:
            assert request.headers.get("content-type") == "application/json", f"{request}: a JSON body says so"
            body = json.loads(request.body, parse_float=Decimal)  # One Wallet's amounts are exact numbers
        if route is None:
            assert not request.body, f"{request}: a body for a local page"
            continue
        schema, required = _request_schema(route)
        if schema is not None:
            assert request.body or not required, f"{request}: the route requires a body"
            if request.body:
                jsonschema.Draft202012Validator(schema).validate(json.loads(request.body))
                checked += 1
        elif route.path.startswith("/onewallet/"):
            assert body is not None, f"{request}: every One Wallet call has a body"
            ONEWALLET_MODELS[route.path.rsplit("/", 1)[1]].model_validate(body)
            checked += 1
        else:
            assert not request.body, f"{request}: {route.method} {route.path} takes no body"
    assert checked >= 20, checked


# --------------------------------------------------------------------------- the checks can fail


def test_a_route_without_a_request_is_reported(
    collection: tuple[dict[str, str], list[Request]], routes: list[HttpRoute]
) -> None:
    _, requests = collection
    without_health = [r for r in requests if r.path != "/health"]
    assert set(uncovered(routes, without_health)) - set(uncovered(routes, requests)) == {"GET /health"}
    stray = Request(0, None, "GET", "http://127.0.0.1:3000/v1/nowhere")
    assert set(unrouted(routes, [*requests, stray])) - set(unrouted(routes, requests)) == {str(stray)}


def test_the_parser_reads_variables_names_headers_and_bodies() -> None:
    variables, requests = parse(
        "@host = http://h\n@key = k\n\n### first\n# @name made\nPOST {{host}}/v1/x HTTP/1.1\n"
        'Authorization: Bearer {{key}}\nContent-Type: application/json\n\n{"a": 1}\n\n'
        "###\n@id = {{made.response.body.$.items[0].runId}}\n\nGET {{host}}/v1/x/{{id}}\n"
    )
    assert variables == {"host": "http://h", "key": "k", "id": "{{made.response.body.$.items[0].runId}}"}
    first, second = requests
    assert (first.name, first.method, first.url, first.body) == ("made", "POST", "http://h/v1/x", '{"a": 1}')
    assert first.headers == {"authorization": "Bearer k", "content-type": "application/json"}
    assert (second.method, second.url, second.body) == ("GET", "http://h/v1/x/made-runId", "")
    with pytest.raises(AssertionError, match="names no request above"):
        parse("@id = {{later.response.body.$.id}}\n###\nGET http://h/{{id}}\n###\n# @name later\nGET http://h/\n")
    with pytest.raises(AssertionError, match="is not defined"):
        parse("GET http://h/{{nothing}}\n")
