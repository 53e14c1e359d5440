"""A local stand-in for API Gateway (HTTP API): routes from template.yaml, payload 2.0 events,
the Lambda authorizer, and the gateway's own answers, run in-process.

It answers as the gateway would: 404 {"message":"Not Found"} for an unknown route, 401
{"message":"Unauthorized"} when an authorized route gets no Authorization header (the authorizer is not
called), 403 {"message":"Forbidden"} when the authorizer denies, 500 {"message":"Internal Server
Error"} when a function fails.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote

from kassa_dev import grants, template

ACCOUNT_ID = "123456789012"


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    cookies: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)


# The response header in which API Gateway's HTTP APIs name the request (its requestContext.requestId).
REQUEST_ID_HEADER = "apigw-requestid"


def _message(status: int, message: str) -> HttpResponse:
    return HttpResponse(status, {"content-type": "application/json"}, json.dumps({"message": message}).encode())


class FunctionRunner:
    """Loads each function's ``app.py`` once, as Lambda would keep a warm container."""

    def __init__(self, functions: dict[str, template.FunctionSpec] | None = None) -> None:
        self.functions = functions or template.functions()
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.Lock()

    def resolve_id(self, name: str) -> str:
        """Accept the logical id ("WalletFunction") or the short name ("wallet", "Wallet")."""
        found = template.find_function(name, self.functions)
        if found is None:
            raise KeyError(f"no function {name!r} in template.yaml; known: {', '.join(sorted(self.functions))}")
        return found

    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        spec = self.functions[function_id]
        module_name, _, attribute = spec.handler.rpartition(".")
        handler = getattr(self._module(function_id, module_name), attribute)
        context = LambdaContext(function_id, int(spec.timeout or 3), int(spec.memory_size or 128))
        running = grants.invoking.set(function_id)
        try:
            return handler(event, context)
        finally:
            grants.invoking.reset(running)

    def _module(self, function_id: str, module_name: str) -> ModuleType:
        with self._lock:
            if function_id not in self._modules:
                path = self.functions[function_id].code_dir / f"{module_name.replace('.', '/')}.py"
                unique = f"kassa_function_{function_id}"
                spec = importlib.util.spec_from_file_location(unique, path)
                assert spec is not None and spec.loader is not None, path
                module = importlib.util.module_from_spec(spec)
                sys.modules[unique] = module
                spec.loader.exec_module(module)
                self._modules[function_id] = module
            return self._modules[function_id]


class LambdaContext:
    """The few context attributes handlers and Powertools read."""

    def __init__(self, function_id: str, timeout_seconds: int = 10, memory_mb: int = 512) -> None:
        self.function_name = function_id
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{function_id}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_id}"
        self.log_stream_name = "local"
        # The function's timeout (template.yaml), counted from the invocation's start, as in Lambda.
        self._ends = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends - time.monotonic()) * 1000))


class Invoker(Protocol):
    def invoke(self, function_id: str, event: dict[str, Any]) -> Any: ...


class LocalGateway:
    """Routes requests to functions. ``invoker`` runs them: in this process (``FunctionRunner``, for
    single-threaded use) or in a pool of worker processes (``WorkerPool``, for concurrent requests)."""

    def __init__(self, invoker: Invoker | None = None) -> None:
        self.routes = template.http_routes()
        self.runner = invoker or FunctionRunner()
        self.authorizer_id = template.authorizer_function_id()

    def handle(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> HttpResponse:
        # HTTP APIs decode the path before routing: the function sees rawPath and pathParameters decoded
        # (/v1/wallets/alice%40example is alice@example's wallet). An encoded slash they cannot route.
        if "%2f" in path.lower():
            return _message(404, "Not Found")
        path = unquote(path)
        found = template.match_route(self.routes, method.upper(), path)
        if found is None:
            return _message(404, "Not Found")
        route, params = found
        event = payload_v2_event(method.upper(), route.path, path, query, headers, body, params)
        answer = self._route(route, event)
        # As an HTTP API does: every answer names its request (the id the function saw as requestId).
        answer.headers[REQUEST_ID_HEADER] = event["requestContext"]["requestId"]
        return answer

    def _route(self, route: template.HttpRoute, event: dict[str, Any]) -> HttpResponse:
        if route.authorized:
            denied = self._authorize(event)
            if denied is not None:
                return denied
        try:
            result = self.runner.invoke(route.function_id, event)
        except Exception:  # the gateway hides a function's crash behind a plain 500
            return _message(500, "Internal Server Error")
        return lambda_result_to_http(result)

    def _authorize(self, event: dict[str, Any]) -> HttpResponse | None:
        authorization = event["headers"].get("authorization")
        if not authorization:
            return _message(401, "Unauthorized")
        request = {
            **event,
            "type": "REQUEST",
            "identitySource": [authorization],
            "routeArn": f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:local/$default/{event['routeKey']}",
        }
        request.pop("body", None)
        try:
            decision = self.runner.invoke(self.authorizer_id, request)
        except Exception:
            return _message(500, "Internal Server Error")
        if not isinstance(decision, dict) or decision.get("isAuthorized") is not True:
            return _message(403, "Forbidden")
        event["requestContext"]["authorizer"] = {"lambda": decision.get("context") or {}}
        return None


def payload_v2_event(
    method: str,
    route_path: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    params: dict[str, str],
) -> dict[str, Any]:
    """The event API Gateway's HTTP API sends a Lambda integration (payload format 2.0)."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    cookies = lowered.pop("cookie", None)
    query_parameters: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        query_parameters[name] = f"{query_parameters[name]},{value}" if name in query_parameters else value
    now = time.time()
    route_key = f"{method} {route_path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": lowered.get("host", "localhost"),
            "domainPrefix": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = [cookie.strip() for cookie in cookies.split(";")]
    if query_parameters:
        event["queryStringParameters"] = query_parameters
    if params:
        event["pathParameters"] = params
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


def lambda_result_to_http(result: Any) -> HttpResponse:
    """How an HTTP API reads a payload-2.0 Lambda result (a dict without statusCode is a 200 JSON body)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return HttpResponse(200, {"content-type": "application/json"}, json.dumps(result).encode())
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(name).lower()] = ",".join(str(v) for v in values)
    return HttpResponse(int(result["statusCode"]), headers, raw, list(result.get("cookies") or []))
