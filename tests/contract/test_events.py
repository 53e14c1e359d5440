"""Every sample event in ``events/`` runs through its function's handler (ARCHITECTURE.md, Layout:
"Every file in it is exercised by a test").

The events are what a real API Gateway HTTP API sends a deployment of ``template.yaml``: payload
format 2.0 on the template's default stage ``prod`` (so ``rawPath`` carries the ``/prod`` prefix, as
it does in AWS for any stage but ``$default``), and, on authorized routes, the context the Lambda
authorizer put there: ``requestContext.authorizer.lambda = {"operatorId": "sample-events", "scopes":
...}``. They are fixed files, used as they are by ``sam local invoke -e`` and ``kassa invoke FUNCTION
-e``. A file's name says its function: ``<function>-<what>.json``, the prefix being the function's
folder under ``functions/``.

The story the files tell, in order, with the answer each step must get, the sample operator it seeds and
the placeholders it fills in (session and run ids), is ``tests/event_story.py``: shared with the artifact
smoke test (tests/artifact), which runs the same story on the handlers as ``sam build`` ships them. Here
it runs in-process on the session's embedded DynamoDB, and the files' shapes are checked against the
template's routes.

Adding a file to ``events/`` without adding it to ``SCENARIO`` fails ``test_every_event_file_is_exercised``.
"""

from __future__ import annotations

import calendar
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from kassa import operators
from kassa.store.access_store import AccessStore
from kassa.store.reconcile_store import ReconcileStore
from kassa_dev import template
from kassa_dev.gateway import FunctionRunner
from kassa_dev.sample_events import (
    EVENTS_DIR,
    PLAYER,
    SAMPLE_API_KEY,
    SAMPLE_ONEWALLET_TOKEN,
    SAMPLE_OPERATOR,
    load_event,
)
from kassa_dev.stack import LocalStack
from tests.event_story import (
    PROVIDER_REPORT_KEY,
    REPO_ROOT,
    RUN_PLACEHOLDER,
    SCENARIO,
    SID_PLACEHOLDER,
    Step,
    check_answer,
    event_files,
    function_for,
    is_onewallet,
    onewallet_method,
    onewallet_request,
    prefix_of,
    routed_function_for,
    run_story,
)
from tests.reconciliation.conftest import Queue


@pytest.fixture(scope="module")
def runner() -> FunctionRunner:
    return FunctionRunner()


@pytest.fixture(scope="module")
def published(stack: LocalStack) -> Iterator[Queue]:
    """Every Kassa event put on the bus while the story runs."""
    with stack.event_queue("sample-events-published") as url:
        yield Queue(stack.client("sqs"), url)


@pytest.fixture(scope="module")
def outcomes(stack: LocalStack, runner: FunctionRunner, published: Queue) -> dict[str, Any]:
    """The whole story, run once, in order, in this process (``event_story.run_story``)."""
    return run_story(stack, runner)


# --------------------------------------------------------------------------- coverage


def test_every_event_file_is_exercised() -> None:
    on_disk = set(event_files())
    in_scenario = {step.file for step in SCENARIO}
    assert on_disk - in_scenario == set(), "event files no test runs: add them to SCENARIO"
    assert in_scenario - on_disk == set(), "SCENARIO names files that are not in events/"


def test_events_holds_only_events_and_their_readme() -> None:
    others = {path.name for path in EVENTS_DIR.iterdir()} - set(event_files())
    assert others == {"README.md"}, others
    readme = (EVENTS_DIR / "README.md").read_text(encoding="utf-8")
    assert SID_PLACEHOLDER in readme and RUN_PLACEHOLDER in readme and SAMPLE_ONEWALLET_TOKEN in readme
    assert PROVIDER_REPORT_KEY in readme
    missing = [step.file for step in SCENARIO if step.file not in readme]
    assert missing == [], f"events/README.md does not tell the story of {missing}"


def test_step_keys_are_unique() -> None:
    keys = [step.key for step in SCENARIO]
    assert len(keys) == len(set(keys)), sorted(key for key in keys if keys.count(key) > 1)


@pytest.mark.parametrize("step", SCENARIO, ids=[step.key for step in SCENARIO])
def test_a_step_substitutes_a_placeholder_exactly_when_its_file_has_it(step: Step) -> None:
    text = json.dumps(load_event(step.file))
    earlier = [other.key for other in SCENARIO[: SCENARIO.index(step)]]
    for placeholder, source in ((SID_PLACEHOLDER, step.sid_from), (RUN_PLACEHOLDER, step.run_from)):
        carries = placeholder in text
        assert carries == (source is not None), f"{step.key}: {placeholder} {carries}, taken from {source}"
        assert source is None or source in earlier, f"{step.key} takes {placeholder} from a step that has not run"


@pytest.mark.parametrize("name", event_files())
def test_event_file_names_a_function_of_the_template(name: str, runner: FunctionRunner) -> None:
    assert re.fullmatch(r"[a-z]+-[a-z0-9-]+\.json", name), f"{name}: expected <function>-<what>.json"
    function_id = function_for(runner, name)  # KeyError when no function has that folder name
    assert runner.functions[function_id].code_dir.name == prefix_of(name)
    load_event(name)


# --------------------------------------------------------------------------- running them


@pytest.mark.parametrize("step", SCENARIO, ids=[step.key for step in SCENARIO])
def test_event_runs_through_its_handler(step: Step, outcomes: dict[str, Any]) -> None:
    check_answer(step, outcomes)


def test_allowed_authorizer_context_is_what_the_native_events_carry(outcomes: dict[str, Any]) -> None:
    """The native events' requestContext.authorizer.lambda is exactly what authorizer-allow answers."""
    allowed = outcomes["authorizer-allow.json"]
    if isinstance(allowed, Exception):
        raise allowed
    carried = {
        name: load_event(name)["requestContext"]["authorizer"]["lambda"]
        for name in event_files()
        if "authorizer" in load_event(name).get("requestContext", {})
    }
    assert carried, "no event carries an authorizer context"
    assert all(context == allowed["context"] for context in carried.values()), (allowed["context"], carried)


def test_deny_event_carries_a_key_no_operator_has() -> None:
    event = load_event("authorizer-deny.json")
    assert event["headers"]["authorization"].startswith("Bearer ")
    assert event["headers"]["authorization"] != f"Bearer {SAMPLE_API_KEY}"


# --------------------------------------------------------------------------- shapes

HTTP_EVENT_KEYS = {"version", "routeKey", "rawPath", "rawQueryString", "headers", "requestContext", "isBase64Encoded"}
HTTP_EVENT_OPTIONAL = {"cookies", "queryStringParameters", "pathParameters", "body", "stageVariables"}
AUTHORIZER_EVENT_KEYS = {
    "version",
    "type",
    "routeArn",
    "identitySource",
    "routeKey",
    "rawPath",
    "rawQueryString",
    "headers",
    "requestContext",
}
AUTHORIZER_EVENT_OPTIONAL = {"cookies", "queryStringParameters", "pathParameters", "stageVariables"}
CONTEXT_KEYS = {
    "accountId",
    "apiId",
    "domainName",
    "domainPrefix",
    "http",
    "requestId",
    "routeKey",
    "stage",
    "time",
    "timeEpoch",
}
HTTP_KEYS = {"method", "path", "protocol", "sourceIp", "userAgent"}


def _stage_name() -> str:
    return str(template.load_template()["Parameters"]["Stage"]["Default"])


def _identity_headers() -> list[str]:
    """The authorizer's identity sources (template.yaml: HttpApi Auth ... Identity.Headers)."""
    for resource in template.load_template()["Resources"].values():
        auth = (resource.get("Properties") or {}).get("Auth") or {}
        if resource.get("Type") == template.HTTP_API_TYPE and auth.get("DefaultAuthorizer"):
            return list(auth["Authorizers"][auth["DefaultAuthorizer"]]["Identity"]["Headers"])
    raise AssertionError("no HttpApi with a DefaultAuthorizer in template.yaml")


def _check_common_shape(name: str, event: dict[str, Any], routes_by_key: dict[str, template.HttpRoute]) -> Any:
    """What HTTP events and authorizer requests share; returns the template route the event is for."""
    assert event["version"] == "2.0"
    route_key = event["routeKey"]
    assert route_key in routes_by_key, f"{name}: {route_key!r} is not a route of {sorted(routes_by_key)}"
    route = routes_by_key[route_key]
    method, _, route_path = route_key.partition(" ")

    headers = event["headers"]
    assert all(k == k.lower() and isinstance(v, str) for k, v in headers.items()), f"{name}: headers lowercase, str"

    context = event["requestContext"]
    assert set(context) >= CONTEXT_KEYS, f"{name}: requestContext lacks {CONTEXT_KEYS - set(context)}"
    assert set(context["http"]) == HTTP_KEYS
    assert context["routeKey"] == route_key
    assert context["http"]["method"] == method
    assert context["http"]["userAgent"] == headers.get("user-agent")
    assert headers.get("host") == context["domainName"]
    assert context["domainPrefix"] == context["domainName"].split(".")[0]
    assert re.fullmatch(r"\d{12}", context["accountId"])
    assert context["stage"] in ("$default", _stage_name())
    epoch_seconds = calendar.timegm(time.strptime(context["time"], "%d/%b/%Y:%H:%M:%S +0000"))
    assert context["timeEpoch"] // 1000 == epoch_seconds, f"{name}: time and timeEpoch disagree"

    # rawPath is the route's path with the path parameters filled in (after /<stage> unless $default).
    parameters = event.get("pathParameters")
    names = re.findall(r"\{(\w+)\+?\}", route_path)  # a greedy {name+} is named name
    assert (parameters or {}).keys() == set(names), f"{name}: pathParameters {parameters} for {route_path}"
    assert parameters is None or parameters, f"{name}: API Gateway omits pathParameters when there are none"
    path = route_path
    for parameter, value in (parameters or {}).items():
        path = path.replace("{" + parameter + "+}", value).replace("{" + parameter + "}", value)
    stage_prefix = "" if context["stage"] == "$default" else f"/{context['stage']}"
    assert event["rawPath"] == stage_prefix + path
    assert context["http"]["path"] == event["rawPath"]
    matched = template.match_route(list(routes_by_key.values()), method, path)
    assert matched is not None and matched[0] == route and matched[1] == (parameters or {})

    query = event["rawQueryString"]
    if query:
        expected_query: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            expected_query[key] = f"{expected_query[key]},{value}" if key in expected_query else value
        assert event.get("queryStringParameters") == expected_query
    else:
        assert "queryStringParameters" not in event, f"{name}: API Gateway omits it for an empty query"
    return route


HTTP_EVENTS = [name for name in event_files() if prefix_of(name) != "authorizer" and "routeKey" in load_event(name)]
TRIGGER_EVENTS = [name for name in event_files() if "routeKey" not in load_event(name)]
AUTHORIZER_EVENTS = [name for name in event_files() if prefix_of(name) == "authorizer"]


@pytest.mark.parametrize("name", HTTP_EVENTS)
def test_http_event_has_the_payload_2_0_shape_of_its_route(name: str, runner: FunctionRunner) -> None:
    event = load_event(name)
    assert HTTP_EVENT_KEYS <= set(event) <= HTTP_EVENT_KEYS | HTTP_EVENT_OPTIONAL, f"{name}: {sorted(event)}"
    function_id = routed_function_for(runner, name, event)
    routes = {r.route_key: r for r in template.http_routes() if r.function_id == function_id}
    route = _check_common_shape(name, event, routes)

    assert set(event["requestContext"]) - CONTEXT_KEYS <= {"authorizer", "authentication"}
    if route.authorized:
        # The gateway only calls the function after the authorizer allowed it, and passes its context.
        assert event["headers"].get("authorization", "").startswith("Bearer "), f"{name}: no Authorization"
        lambda_context = event["requestContext"]["authorizer"]["lambda"]
        assert lambda_context["operatorId"] == SAMPLE_OPERATOR
    else:
        assert "authorizer" not in event["requestContext"], f"{name}: {route.path} has no authorizer"

    assert event["isBase64Encoded"] is False
    if "body" in event:
        assert isinstance(event["body"], str)
        assert event["headers"]["content-length"] == str(len(event["body"].encode()))
        assert event["headers"]["content-type"] == "application/json"
    else:
        assert "content-length" not in event["headers"]

    assert route.path.startswith("/onewallet/") == is_onewallet(name), f"{name}: One Wallet files name its routes"
    if is_onewallet(name):
        _check_onewallet_shape(name, event, route)


ONEWALLET_METHODS = {"check", "sid", "balance", "debit", "credit", "cancel", "promo_payout"}
# ONEWALLET.md, Requests: the fields each method's body carries besides sid, userId and uuid.
ONEWALLET_FIELDS = {
    "check": {"channel"},
    "sid": {"channel"},
    "balance": {"currency", "game"},
    **{method: {"currency", "game", "transaction"} for method in ("debit", "credit", "cancel")},
    "promo_payout": {"currency", "game", "promoTransaction"},
}


def _is_json_number(value: Any) -> bool:
    return type(value) in (int, Decimal)


def _check_onewallet_shape(name: str, event: dict[str, Any], route: template.HttpRoute) -> None:
    """A provider's call: open at the gateway, the token only in the query string, a JSON body."""
    method = onewallet_method(event)
    assert method in ONEWALLET_METHODS and route.path == f"/onewallet/{method}", name
    assert route.method == "POST" and not route.authorized, f"{name}: {route} must be open at the gateway"
    # No credential but the token: no Authorization header, no authorizer context (checked above too).
    assert "authorization" not in event["headers"], f"{name}: One Wallet sends no Authorization header"
    assert "authorizer" not in event["requestContext"] and "authentication" not in event["requestContext"]
    # The token: exactly one authToken, in the query string and nowhere else.
    token = event["queryStringParameters"].get("authToken")
    assert event["queryStringParameters"] == {"authToken": token}, f"{name}: {event['queryStringParameters']}"
    assert event["rawQueryString"] == f"authToken={token}", name
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token), f"{name}: a token needs no URL encoding"
    if name.endswith("-bad-token.json"):
        assert token != SAMPLE_ONEWALLET_TOKEN, f"{name}: a bad-token event carries another token"
    else:
        assert token == SAMPLE_ONEWALLET_TOKEN, f"{name}: the sample operator's token"
    elsewhere = {key: value for key, value in event.items() if key not in ("rawQueryString", "queryStringParameters")}
    assert token not in json.dumps(elsewhere), f"{name}: the token appears outside the query string"

    assert "body" in event, f"{name}: every One Wallet call has a body"
    request = onewallet_request(event)
    if name.endswith("-malformed.json"):
        assert request is None, f"{name}: a malformed body must not parse as JSON"
        return
    assert isinstance(request, dict), f"{name}: the body is a JSON object"
    assert {"sid", "userId", "uuid"} | ONEWALLET_FIELDS[method] <= set(request), f"{name}: {sorted(request)}"
    assert all(isinstance(request[key], str) for key in ("sid", "userId", "uuid")), name
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", request["uuid"])
    if method == "sid":
        assert request["sid"] == "", f"{name}: the sid method's sid is empty"
    if "currency" in request:
        assert re.fullmatch(r"[A-Z]{3}", request["currency"]), name
    if request.get("game") is not None:
        assert {"id", "type", "details"} <= set(request["game"]), name
    for key in ("transaction", "promoTransaction"):
        if key in request:
            money = request[key]
            assert {"id", "amount"} | ({"refId"} if key == "transaction" else {"type"}) <= set(money), name
            assert _is_json_number(money["amount"]), f"{name}: {key}.amount is a JSON number, not {money['amount']!r}"


def test_onewallet_uuids_are_new_on_every_call() -> None:
    """uuid is a trace id, new on every call and retry (ONEWALLET.md): no two files share one."""
    uuids = [
        request["uuid"]
        for name in event_files()
        if is_onewallet(name) and isinstance(request := onewallet_request(load_event(name)), dict)
    ]
    assert uuids and len(uuids) == len(set(uuids)), uuids


@pytest.mark.parametrize("name", AUTHORIZER_EVENTS)
def test_authorizer_event_has_the_payload_2_0_request_shape(name: str, runner: FunctionRunner) -> None:
    event = load_event(name)
    assert function_for(runner, name) == template.authorizer_function_id()
    assert AUTHORIZER_EVENT_KEYS <= set(event) <= AUTHORIZER_EVENT_KEYS | AUTHORIZER_EVENT_OPTIONAL, sorted(event)
    assert event["type"] == "REQUEST"
    # Only routes behind the authorizer ever produce an authorizer request.
    routes = {r.route_key: r for r in template.http_routes() if r.authorized}
    _check_common_shape(name, event, routes)
    context = event["requestContext"]
    assert set(context) == CONTEXT_KEYS  # no authorizer context yet: this is the authorizer's input
    assert event["identitySource"] == [event["headers"][header.lower()] for header in _identity_headers()]
    method, _, _ = event["routeKey"].partition(" ")
    region = context["domainName"].split(".")[2]
    path = event["rawPath"] if context["stage"] == "$default" else event["rawPath"][len(context["stage"]) + 1 :]
    assert event["routeArn"] == (
        f"arn:aws:execute-api:{region}:{context['accountId']}:{context['apiId']}/{context['stage']}/{method}{path}"
    )


# --------------------------------------------------------------------------- the CLI


def _kassa_executable() -> str:
    beside_python = Path(sys.executable).with_name("kassa")
    found = str(beside_python) if beside_python.exists() else shutil.which("kassa")
    assert found, "the kassa console script is not installed (pip install -e '.[dev]')"
    return found


def kassa_invoke(function: str, name: str, env: dict[str, str]) -> Any:
    """``kassa invoke FUNCTION -e events/NAME`` in a child process; its stdout is the Lambda result and
    nothing else."""
    completed = subprocess.run(
        [_kassa_executable(), "invoke", function, "-e", str(EVENTS_DIR / name)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def without_a_stack() -> dict[str, str]:
    """This environment without a DynamoDB endpoint: `kassa invoke` starts its own embedded one (and must
    not touch the session's, which the stack fixture may have put in os.environ)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_ENDPOINT_URL")}
    env["POWERTOOLS_METRICS_DISABLED"] = "true"
    return env


def test_kassa_invoke_runs_the_health_event_on_its_own_embedded_dynamodb() -> None:
    result = kassa_invoke("wallet", "wallet-health.json", without_a_stack())
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"status": "ok"}


@pytest.mark.parametrize(
    ("demo_token", "status"),
    [(SAMPLE_ONEWALLET_TOKEN, "INVALID_SID"), (None, "INVALID_TOKEN_ID")],
    ids=["demo-operator-has-the-token", "token-of-nobody"],
)
def test_kassa_invoke_runs_a_onewallet_event_alone(demo_token: str | None, status: str) -> None:
    """What events/README.md says a One Wallet file does when run alone on a throwaway DynamoDB: with
    KASSA_DEMO_ONEWALLET_TOKEN set to the files' token it reaches the ``demo`` operator, which has no
    session for player-1 (the placeholder sid is unknown anyway); without it the token is nobody's."""
    env = without_a_stack()
    env.pop("KASSA_DEMO_ONEWALLET_TOKEN", None)
    if demo_token is not None:
        env["KASSA_DEMO_ONEWALLET_TOKEN"] = demo_token
    name = "wallet-onewallet-balance.json"
    result = kassa_invoke("wallet", name, env)
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"status": status, "uuid": onewallet_request(load_event(name))["uuid"]}


# --------------------------------------------------------------------------- the reconciliation triggers


def test_the_trigger_events_are_the_reconciliation_functions() -> None:
    consumer = template.stream_consumer()
    assert consumer.function_id in template.s3_consumers().values()
    assert {schedule.function_id for schedule in template.schedules()} == {consumer.function_id}
    assert TRIGGER_EVENTS and all(prefix_of(name) == "reconciliation" for name in TRIGGER_EVENTS), TRIGGER_EVENTS
    assert FunctionRunner().resolve_id("reconciliation") == consumer.function_id


def test_the_schedule_event_is_the_templates_input() -> None:
    (schedule,) = template.schedules()
    assert load_event("reconciliation-schedule.json") == schedule.event


STREAM_RECORD_KEYS = {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb", "eventSourceARN"}


@pytest.mark.parametrize("name", [name for name in TRIGGER_EVENTS if "-stream-" in name])
def test_stream_event_has_lambdas_dynamodb_shape(name: str) -> None:
    table = template.table_create_kwargs("any")
    view = table["StreamSpecification"]["StreamViewType"]
    key_names = {key["AttributeName"] for key in table["KeySchema"]}
    records = load_event(name)["Records"]
    assert records
    for record in records:
        assert set(record) == STREAM_RECORD_KEYS, sorted(record)
        assert record["eventSource"] == "aws:dynamodb" and record["eventName"] in ("INSERT", "MODIFY", "REMOVE")
        arn = record["eventSourceARN"]
        assert re.fullmatch(r"arn:aws:dynamodb:[a-z0-9-]+:\d{12}:table/[\w.-]+/stream/[\w:.-]+", arn), arn
        change = record["dynamodb"]
        assert change["StreamViewType"] == view
        assert set(change["Keys"]) == key_names
        assert {name: change["NewImage"][name] for name in key_names} == change["Keys"]
        assert isinstance(change["ApproximateCreationDateTime"], int) and change["SequenceNumber"].isdigit()


def test_provider_report_event_has_s3s_shape() -> None:
    (record,) = load_event("reconciliation-provider-report.json")["Records"]
    assert record["eventSource"] == "aws:s3" and record["eventName"].startswith("ObjectCreated:")
    bucket = record["s3"]["bucket"]
    assert bucket["arn"] == f"arn:aws:s3:::{bucket['name']}"
    # Percent-encoded as S3 sends keys; the sample's needs no encoding.
    assert record["s3"]["object"]["key"] == PROVIDER_REPORT_KEY


def test_the_stream_samples_publish_what_they_verified(outcomes: dict[str, Any], published: Queue) -> None:
    # The story's player (the anomaly samples that follow are other wallets' records).
    events = [e for e in published.of(SAMPLE_OPERATOR) if e["detail"].get("playerId") == PLAYER]
    committed = [e["detail"] for e in events if e["detail-type"] == "TransactionCommitted"]
    (record,) = load_event("reconciliation-stream-entry.json")["Records"]
    sample_time = record["dynamodb"]["NewImage"]["createdAt"]["S"]
    assert [(d["transactionId"], d["createdAt"]) for d in committed] == [("tx-deposit-1", sample_time)]
    discrepancies = sorted(
        (e["detail"]["kind"], e["detail"]["transactionId"]) for e in events if e["detail-type"] == "LedgerDiscrepancy"
    )
    assert discrepancies == [("entry_arithmetic", "tx-deposit-1"), ("entry_hash", "tx-deposit-1")]


def test_the_tampered_entry_is_a_finding_of_exactly_that_entry(outcomes: dict[str, Any]) -> None:
    found, _ = ReconcileStore().findings(SAMPLE_OPERATOR, None, 100, None)
    assert sorted((f["kind"], f["playerId"], f["version"], f["transactionId"]) for f in found) == [
        # The negative-balance sample: a wallet image that is wrong as well as suspicious.
        ("balance_mismatch", "anomaly-negative", 1, None),
        ("entry_arithmetic", PLAYER, 1, "tx-deposit-1"),
        ("entry_hash", PLAYER, 1, "tx-deposit-1"),
    ]


def test_kassa_invoke_uses_the_served_stacks_buckets(stack: LocalStack) -> None:
    """Pointed at a running stack's DynamoDB (as `make run` prints it), `kassa invoke` finds the same
    endpoint's S3 and the template's buckets by their local names: the audit writes its report there."""
    env = {name: value for name, value in without_a_stack().items() if not name.startswith("KASSA_")}
    env.update(AWS_ENDPOINT_URL_DYNAMODB=stack.dynamodb.endpoint_url, KASSA_TABLE=stack.table)
    operators.create_operator(AccessStore(), "invoke-served-stack")
    runs = kassa_invoke("reconciliation", "reconciliation-schedule.json", env)
    assert runs and all(run["status"] == "completed" for run in runs), runs
    s3 = stack.client("s3")
    results = s3.list_objects_v2(Bucket=os.environ["KASSA_RESULTS_BUCKET"], Prefix="invoke-served-stack/")
    assert results["KeyCount"] == 1, results


def test_kassa_invoke_runs_the_schedule_event_on_its_own_embedded_dynamodb() -> None:
    (run,) = kassa_invoke("ReconciliationFunction", "reconciliation-schedule.json", without_a_stack())
    assert run["status"] == "completed" and run["counts"] == {}, run  # the demo operator, on a fresh table


@pytest.mark.parametrize("function", ["reconciliation", "reconciliation_api"])
def test_a_reconciliation_routes_event_is_answered_by_either_function(function: str) -> None:
    """The gateway sends the reconciliation routes to ReconciliationApiFunction; their files are named for
    ReconciliationFunction, which still answers them when handed them directly, as it did before the
    routes had a function of their own."""
    result = kassa_invoke(function, "reconciliation-runs-list.json", without_a_stack())
    assert result["statusCode"] == 200, result
    assert json.loads(result["body"]) == {"items": [], "nextCursor": None}  # no run yet on a fresh table
