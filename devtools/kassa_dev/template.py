"""Read template.yaml: the single source of truth for HTTP routes, functions and the table schema.

The local server, the invoke emulator and the tests derive everything from here instead of restating
routes or key schemas, which function the table's stream, a bucket or a schedule triggers, or which
event bus, buckets and queues exist and which environment variables carry their names.

CloudFormation short tags (``!Ref X``, ``!GetAtt A.B``, ``!Sub ...``) load as their JSON form
(``{"Ref": "X"}``, ``{"Fn::GetAtt": ["A", "B"]}``, ``{"Fn::Sub": ...}``), which is also what
aws-sam-translator expects.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote

import yaml


def _repo_root() -> Path:
    """The checkout whose template.yaml and functions/ the tools use: the one this file is in (an editable
    install, the tests), else the working directory or its nearest parent holding a template.yaml (the
    package installed from a wheel, run in a checkout)."""
    here = Path(__file__).resolve().parents[2]
    if (here / "template.yaml").is_file():
        return here
    cwd = Path.cwd().resolve()
    return next((folder for folder in (cwd, *cwd.parents) if (folder / "template.yaml").is_file()), here)


REPO_ROOT = _repo_root()
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
TABLE_LOGICAL_ID = "LedgerTable"

FUNCTION_TYPE = "AWS::Serverless::Function"
HTTP_API_TYPE = "AWS::Serverless::HttpApi"
TABLE_TYPE = "AWS::DynamoDB::Table"
EVENT_BUS_TYPE = "AWS::Events::EventBus"
BUCKET_TYPE = "AWS::S3::Bucket"
QUEUE_TYPE = "AWS::SQS::Queue"
# What a local stack creates besides the table (moto serves all three).
LOCAL_RESOURCE_TYPES = (EVENT_BUS_TYPE, BUCKET_TYPE, QUEUE_TYPE)
# The property that names a resource of each type, where the template may fix the name.
_NAME_PROPERTY = {TABLE_TYPE: "TableName", EVENT_BUS_TYPE: "Name", BUCKET_TYPE: "BucketName", QUEUE_TYPE: "QueueName"}


# --------------------------------------------------------------------------- loading


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader + CloudFormation short tags; dates stay strings (as CloudFormation reads them)."""


_CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_short_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_short_tag)


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        loaded = yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: not a CloudFormation template (top level is not a mapping)")
    return loaded


def _template(template: dict[str, Any] | None) -> dict[str, Any]:
    return load_template() if template is None else template


def _resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, dict) and resource.get("Type") == resource_type
    }


def _function_globals(template: dict[str, Any]) -> dict[str, Any]:
    return ((template.get("Globals") or {}).get("Function")) or {}


def _ref_target(value: Any) -> str | None:
    """'X' for {"Ref": "X"} (or a plain string), else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"} and isinstance(value["Ref"], str):
        return value["Ref"]
    return None


def _attribute_target(value: Any, attribute: str) -> str | None:
    """'X' for ``!GetAtt X.<attribute>`` (list or dotted form) or ``!Sub "${X.<attribute>}"``, else None."""
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        parts = target if isinstance(target, list) else str(target).split(".", 1)
        return str(parts[0]) if len(parts) == 2 and parts[1] == attribute else None
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        match = re.fullmatch(r"\$\{(\w+)\." + re.escape(attribute) + r"\}", value["Fn::Sub"])
        return match.group(1) if match else None
    return None


# --------------------------------------------------------------------------- functions


@dataclass(frozen=True)
class FunctionSpec:
    function_id: str
    code_dir: Path
    handler: str
    environment: dict[str, Any]
    events: dict[str, Any]
    timeout: int | None = None
    memory_size: int | None = None


def find_function(name: str, known: dict[str, FunctionSpec] | None = None) -> str | None:
    """The logical id of the function ``name`` means: the logical id ("WalletFunction"), its code
    directory ("wallet") or the short name in any case ("Wallet"); None when there is none."""
    for function_id, spec in (known if known is not None else functions()).items():
        if name in (function_id, spec.code_dir.name) or name.lower() + "function" == function_id.lower():
            return function_id
    return None


def functions(template: dict[str, Any] | None = None) -> dict[str, FunctionSpec]:
    """Every AWS::Serverless::Function, with Globals.Function applied (intrinsics left unresolved).

    CodeUri is resolved against the repository root (the directory of TEMPLATE_PATH), whichever dict is passed.
    """
    template = _template(template)
    glob = _function_globals(template)
    global_env = ((glob.get("Environment") or {}).get("Variables")) or {}
    specs: dict[str, FunctionSpec] = {}
    for function_id, resource in _resources(template, FUNCTION_TYPE).items():
        props = resource.get("Properties") or {}
        code_uri = props.get("CodeUri", glob.get("CodeUri"))
        handler = props.get("Handler", glob.get("Handler"))
        if not isinstance(code_uri, str) or not isinstance(handler, str):
            raise ValueError(f"{function_id}: CodeUri and Handler must be plain strings")
        env = {**global_env, **(((props.get("Environment") or {}).get("Variables")) or {})}
        specs[function_id] = FunctionSpec(
            function_id=function_id,
            code_dir=(REPO_ROOT / code_uri).resolve(),
            handler=handler,
            environment=copy.deepcopy(env),
            events=copy.deepcopy(props.get("Events") or {}),
            timeout=props.get("Timeout", glob.get("Timeout")),
            memory_size=props.get("MemorySize", glob.get("MemorySize")),
        )
    return specs


def _default_authorizer_api(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    for api_id, resource in _resources(template, HTTP_API_TYPE).items():
        auth = (resource.get("Properties") or {}).get("Auth") or {}
        if auth.get("DefaultAuthorizer"):
            return api_id, auth
    raise ValueError("no AWS::Serverless::HttpApi with a DefaultAuthorizer in the template")


def authorizer_function_id(template: dict[str, Any] | None = None) -> str:
    """Logical id of the function behind the HttpApi's DefaultAuthorizer."""
    template = _template(template)
    _, auth = _default_authorizer_api(template)
    name = auth["DefaultAuthorizer"]
    arn = ((auth.get("Authorizers") or {}).get(name) or {}).get("FunctionArn")
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        target = arn["Fn::GetAtt"]
        return target[0] if isinstance(target, list) else str(target).partition(".")[0]
    if isinstance(arn, dict) and isinstance(arn.get("Fn::Sub"), str):
        match = re.fullmatch(r"\$\{(\w+)\.Arn\}", arn["Fn::Sub"])
        if match:
            return match.group(1)
    raise ValueError(f"authorizer {name!r}: FunctionArn is not a GetAtt of a function in this template")


# --------------------------------------------------------------------------- HTTP routes


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str
    function_id: str
    code_dir: Path
    handler: str
    authorized: bool
    event_id: str = field(default="", compare=False)

    @property
    def route_key(self) -> str:
        """The route as API Gateway names it in an event's ``routeKey``: ``"GET /v1/wallets/{playerId}"``."""
        return f"{self.method} {self.path}"


def http_routes(template: dict[str, Any] | None = None) -> list[HttpRoute]:
    """Every HttpApi event of every function, sorted by path then method."""
    template = _template(template)
    apis = _resources(template, HTTP_API_TYPE)
    routes: list[HttpRoute] = []
    for spec in functions(template).values():
        for event_id, event in spec.events.items():
            if not isinstance(event, dict) or event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties") or {}
            api_id = _ref_target(props.get("ApiId"))
            api_auth = ((apis.get(api_id or "") or {}).get("Properties") or {}).get("Auth") or {}
            authorizer = (props.get("Auth") or {}).get("Authorizer", api_auth.get("DefaultAuthorizer"))
            routes.append(
                HttpRoute(
                    method=str(props.get("Method", "ANY")).upper(),
                    path=str(props.get("Path", "$default")),
                    function_id=spec.function_id,
                    code_dir=spec.code_dir,
                    handler=spec.handler,
                    authorized=bool(authorizer) and authorizer != "NONE",
                    event_id=event_id,
                )
            )
    return sorted(routes, key=lambda r: (r.path, r.method))


def _segments(path: str) -> list[str]:
    return path.split("?", 1)[0].lstrip("/").split("/")


def _match_segments(pattern: list[str], actual: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """(specificity rank per segment, path parameters), or None. Rank: 0 literal, 1 {param}, 2 {proxy+}."""
    rank: list[int] = []
    params: dict[str, str] = {}
    for i, seg in enumerate(pattern):
        if seg.startswith("{") and seg.endswith("+}"):
            if i != len(pattern) - 1 or i >= len(actual) or not all(actual[i:]):
                return None
            params[seg[1:-2]] = unquote("/".join(actual[i:]))
            return (*rank, 2), params
        if i >= len(actual):
            return None
        if seg.startswith("{") and seg.endswith("}"):
            if not actual[i]:
                return None
            params[seg[1:-1]] = unquote(actual[i])
            rank.append(1)
        elif seg == actual[i]:
            rank.append(0)
        else:
            return None
    if len(pattern) != len(actual):
        return None
    return tuple(rank), params


def match_route(routes: list[HttpRoute], method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
    """The route API Gateway (HTTP API) would pick for ``method path``, with its path parameters.

    Literal segments match exactly (case-sensitive), ``{name}`` matches one non-empty segment,
    a trailing ``{name+}`` matches the rest of the path; the most specific route wins (literal before
    variable before greedy, left to right), and an exact method wins over ANY. Parameter values are
    percent-decoded, as in the event's ``pathParameters``. A ``$default`` route is not matched here.
    """
    method = method.upper()
    actual = _segments(path)
    best: tuple[tuple[tuple[int, ...], int], HttpRoute, dict[str, str]] | None = None
    for route in routes:
        if route.method not in (method, "ANY") or not route.path.startswith("/"):
            continue
        matched = _match_segments(_segments(route.path), actual)
        if matched is None:
            continue
        rank, params = matched
        key = (rank, 0 if route.method == method else 1)
        if best is None or key < best[0]:
            best = (key, route, params)
    return None if best is None else (best[1], best[2])


# --------------------------------------------------------------------------- the table

_LSI_KEYS = ("IndexName", "KeySchema", "Projection")
_GSI_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput")


def _table_properties(template: dict[str, Any]) -> dict[str, Any]:
    resource = (template.get("Resources") or {}).get(TABLE_LOGICAL_ID)
    if not resource or resource.get("Type") != "AWS::DynamoDB::Table":
        raise ValueError(f"no AWS::DynamoDB::Table named {TABLE_LOGICAL_ID} in the template")
    return copy.deepcopy(resource.get("Properties") or {})


def table_create_kwargs(table_name: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """boto3 ``create_table`` kwargs for the ledger table, translated from its CloudFormation properties."""
    props = _table_properties(_template(template))
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if kwargs["BillingMode"] == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    if props.get("LocalSecondaryIndexes"):
        kwargs["LocalSecondaryIndexes"] = [
            {k: v for k, v in index.items() if k in _LSI_KEYS} for index in props["LocalSecondaryIndexes"]
        ]
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = [
            {k: v for k, v in index.items() if k in _GSI_KEYS} for index in props["GlobalSecondaryIndexes"]
        ]
    stream = props.get("StreamSpecification")
    if stream and stream.get("StreamViewType"):
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = props.get("SSESpecification")
    if sse and sse.get("SSEEnabled"):
        kwargs["SSESpecification"] = {"Enabled": True}
        for key in ("SSEType", "KMSMasterKeyId"):
            # The stack's key is an intrinsic (the created key or a parameter's): locally there is no KMS key
            # to name, so the embedded table is encrypted the way an unnamed KMS key would encrypt it.
            if isinstance(sse.get(key), str):
                kwargs["SSESpecification"][key] = sse[key]
    return kwargs


def table_ttl_attribute(template: dict[str, Any] | None = None) -> str:
    spec = _table_properties(_template(template)).get("TimeToLiveSpecification") or {}
    if not spec.get("Enabled") or not spec.get("AttributeName"):
        raise ValueError(f"{TABLE_LOGICAL_ID} has no enabled TimeToLiveSpecification")
    return str(spec["AttributeName"])


def create_table(
    client: Any, table_name: str, template: dict[str, Any] | None = None, *, poll_seconds: float = 0.05
) -> dict[str, Any]:
    """Create the ledger table (if absent), wait until ACTIVE, enable TTL. Idempotent; returns describe_table."""
    template = _template(template)
    with contextlib.suppress(client.exceptions.ResourceInUseException):
        client.create_table(**table_create_kwargs(table_name, template))
    for _ in range(600):  # moto is ACTIVE at once; a real endpoint takes seconds
        table = client.describe_table(TableName=table_name)["Table"]
        if table["TableStatus"] == "ACTIVE":
            break
        time.sleep(poll_seconds)
    else:
        raise TimeoutError(f"table {table_name} did not become ACTIVE")
    ttl_attribute = table_ttl_attribute(template)
    ttl = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        client.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
        )
    return table


# --------------------------------------------------------------------------- event sources


@dataclass(frozen=True)
class StreamConsumer:
    """A function's DynamoDB event: what Lambda's event source mapping on a table's stream does.

    Defaults are Lambda's where the template says nothing: ``maximum_retry_attempts`` -1 means retry
    until the record expires from the stream (24 hours).
    """

    function_id: str
    event_id: str
    table_id: str | None  # the table of this template whose StreamArn the event reads, if it is one
    batch_size: int = 100
    starting_position: str = "LATEST"
    maximum_batching_window_seconds: int = 0
    bisect_on_error: bool = False
    maximum_retry_attempts: int = -1
    report_batch_item_failures: bool = False
    dead_letter_queue: str | None = None  # logical id of the OnFailure destination, if in this template


def stream_consumers(template: dict[str, Any] | None = None) -> list[StreamConsumer]:
    """Every DynamoDB (stream) event of every function, in template order."""
    template = _template(template)
    consumers = []
    for spec in functions(template).values():
        for event_id, event in spec.events.items():
            if not isinstance(event, dict) or event.get("Type") != "DynamoDB":
                continue
            props = event.get("Properties") or {}
            on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure")) or {}
            consumers.append(
                StreamConsumer(
                    function_id=spec.function_id,
                    event_id=event_id,
                    table_id=_attribute_target(props.get("Stream"), "StreamArn"),
                    batch_size=int(props.get("BatchSize", 100)),
                    starting_position=str(props.get("StartingPosition", "LATEST")),
                    maximum_batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
                    bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
                    maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                    report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                    dead_letter_queue=_attribute_target(on_failure.get("Destination"), "Arn"),
                )
            )
    return consumers


def stream_consumer(template: dict[str, Any] | None = None, table_id: str = TABLE_LOGICAL_ID) -> StreamConsumer:
    """The one function event reading the ledger table's stream (``!GetAtt LedgerTable.StreamArn``).

    ``.function_id`` is the function the local stream pump invokes, ``.batch_size`` how many records it
    hands over at once, ``.maximum_retry_attempts`` and ``.dead_letter_queue`` what becomes of a record
    the function keeps failing. Raises ValueError unless exactly one event reads that stream.
    """
    found = [c for c in stream_consumers(template) if c.table_id == table_id]
    if len(found) != 1:
        raise ValueError(f"expected one function event on {table_id}'s stream, found {len(found)}")
    return found[0]


def s3_consumers(template: dict[str, Any] | None = None) -> dict[str, str]:
    """Bucket logical id -> the function its S3 event triggers (``Events: ObjectCreated`` and the like).

    SAM only accepts ``Bucket: !Ref <a bucket of this template>``. Raises ValueError if a bucket triggers
    more than one function (the local bucket pump invokes one).
    """
    template = _template(template)
    consumers: dict[str, str] = {}
    for spec in functions(template).values():
        for event_id, event in spec.events.items():
            if not isinstance(event, dict) or event.get("Type") != "S3":
                continue
            bucket = (event.get("Properties") or {}).get("Bucket")
            bucket_id = _ref_target(bucket) if isinstance(bucket, dict) else None
            if bucket_id is None:
                raise ValueError(f"{spec.function_id}.{event_id}: Bucket is not a !Ref of a bucket in the template")
            if consumers.setdefault(bucket_id, spec.function_id) != spec.function_id:
                raise ValueError(f"bucket {bucket_id} triggers both {consumers[bucket_id]} and {spec.function_id}")
    return consumers


class Schedule(NamedTuple):
    """A function's Schedule (EventBridge rule) or ScheduleV2 (EventBridge Scheduler) event."""

    function_id: str
    expression: str  # rate(1 hour), cron(...), at(...)
    input: str | None  # the JSON text the function receives, as the template says it

    @property
    def event(self) -> Any:
        """``input`` parsed: the event the function is invoked with; None when the template sets none."""
        return None if self.input is None else json.loads(self.input)


def schedules(template: dict[str, Any] | None = None) -> list[Schedule]:
    """Every schedule of every function, in template order (the local stack runs them itself: moto
    stores schedules but never fires them)."""
    template = _template(template)
    found = []
    for spec in functions(template).values():
        for event in spec.events.values():
            if not isinstance(event, dict) or event.get("Type") not in ("Schedule", "ScheduleV2"):
                continue
            props = event.get("Properties") or {}
            expression = props.get("ScheduleExpression" if event["Type"] == "ScheduleV2" else "Schedule")
            input_text = props.get("Input")
            found.append(Schedule(spec.function_id, str(expression), None if input_text is None else str(input_text)))
    return found


# --------------------------------------------------------------------------- resources a local stack creates


def _names_resource(value: Any, template: dict[str, Any]) -> str | None:
    """The logical id of the resource whose name ``value`` is: a ``!Ref`` of it, or the very expression of
    its name property (how the function gets ProviderReportsBucket's name, where a !Ref would be circular)."""
    resources = template.get("Resources") or {}
    if isinstance(value, dict):
        target = _ref_target(value)
        if target in resources:
            return target
    for logical_id, resource in resources.items():
        name_property = _NAME_PROPERTY.get(str((resource or {}).get("Type")))
        props = (resource or {}).get("Properties") or {}
        if name_property and name_property in props and props[name_property] == value:
            return str(logical_id)
    return None


def environment_resources(function_id: str, template: dict[str, Any] | None = None) -> dict[str, str]:
    """Environment variable -> logical id, for each variable of the function (Globals included) that
    carries the name of a resource of this template (for a queue, a !Ref is its URL). Variables holding
    anything else (parameters, literals) are left out."""
    template = _template(template)
    spec = functions(template).get(function_id)
    if spec is None:
        raise KeyError(f"no function {function_id!r} in the template")
    named = {var: _names_resource(value, template) for var, value in spec.environment.items()}
    return {var: logical_id for var, logical_id in named.items() if logical_id is not None}


@dataclass(frozen=True)
class LocalResource:
    """An event bus, bucket or queue of the template, and the environment variables naming it."""

    logical_id: str
    resource_type: str
    environment: tuple[str, ...]  # variables (of any function) set to its name, sorted

    @property
    def local_name(self) -> str:
        """A name valid for a bus, a bucket and a queue alike: ``kassa-local-provider-reports-bucket``."""
        return local_name(self.logical_id)


def local_resources(template: dict[str, Any] | None = None) -> dict[str, LocalResource]:
    """Logical id -> LocalResource for every event bus, bucket and queue in the template, in template order:
    what the local stack creates (with local names) besides the table, and which environment variables
    it sets to their names. Which bucket is the reports bucket is ``s3_consumers``'s key; which queue the
    dead-letter queue, ``stream_consumer().dead_letter_queue``."""
    template = _template(template)
    variables: dict[str, set[str]] = {}
    for function_id in functions(template):
        for var, logical_id in environment_resources(function_id, template).items():
            variables.setdefault(logical_id, set()).add(var)
    return {
        logical_id: LocalResource(str(logical_id), str(resource["Type"]), tuple(sorted(variables.get(logical_id, ()))))
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, dict) and resource.get("Type") in LOCAL_RESOURCE_TYPES
    }


def local_environment(values: dict[str, str], template: dict[str, Any] | None = None) -> dict[str, str]:
    """The environment variables to set for ``values`` (logical id -> the local name, or a queue's URL):
    every variable of any function that carries the name of one of those resources. Raises ValueError if a
    variable names different resources in different functions (one process cannot set both)."""
    template = _template(template)
    environment: dict[str, str] = {}
    for function_id in functions(template):
        for var, logical_id in environment_resources(function_id, template).items():
            if logical_id not in values:
                continue
            if environment.setdefault(var, values[logical_id]) != values[logical_id]:
                raise ValueError(f"{var} names different resources in different functions")
    return environment


def local_name(logical_id: str, prefix: str = "kassa-local") -> str:
    """``ProviderReportsBucket`` -> ``kassa-local-provider-reports-bucket``: lowercase, digits and hyphens,
    at most 63 characters, so valid as a bucket, queue or event bus name."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", logical_id)
    name = "-".join([prefix, *(word.lower() for word in words)]) if words else prefix
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name):
        raise ValueError(f"{name!r} is not a valid local bucket/queue/bus name")
    return name
