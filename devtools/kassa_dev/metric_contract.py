"""The metric contract between the code and template.yaml's alarms and dashboard.

    python -m kassa_dev.metric_contract [template.yaml]

A misspelt metric name in an alarm is an alarm that never fires, and nothing else says so: CloudWatch
accepts any name. So this check reads both sides and ties them together:

- the code side: every ``metrics.add_metric(name=...)`` in the layer and the functions (read from the
  source, so a metric counted only on a rare path is seen too). Powertools publishes each one under the
  namespace ``POWERTOOLS_METRICS_NAMESPACE`` with one dimension, ``service`` = ``POWERTOOLS_SERVICE_NAME``;
- the template side: every metric an alarm (``MetricName`` or ``Metrics[].MetricStat``) or a dashboard
  widget names.

Rules: every Kassa metric an alarm or widget names is emitted by the code, under the template's namespace
and exactly the ``service`` dimension with the value the functions' environment gives it; every metric the
code emits is on the dashboard; every AWS metric is one the service publishes (names listed below, from
the services' documentation) and its dimensions name resources of this template; every alarm notifies the
alarm topic and says in its description where the runbook covers it.

Exit status 0 and "metric contract OK", or 1 with one line per problem.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kassa_dev.template import REPO_ROOT, TEMPLATE_PATH, load_template

CODE_ROOTS = (REPO_ROOT / "layers" / "core" / "kassa", REPO_ROOT / "functions")
RUNBOOK = REPO_ROOT / "docs" / "RUNBOOK.md"
ACTION_ENUM = ("kassa.domain.model", "Action")
# Kassa's metrics with dimensions of their own besides ``service`` (emitted with ``single_metric``), and
# where the values each dimension may take come from: every rule, with the severity it has.
DIMENSIONED = {"AnomaliesDetected": ("rule", "severity")}
ANOMALY_SEVERITY = ("kassa.anomaly.rules", "SEVERITY")

# What each AWS namespace the template uses publishes, with the dimension sets the template may use
# (from the services' CloudWatch documentation). A name outside these is a typo or an unsupported metric.
AWS_METRICS: dict[str, tuple[set[str], set[frozenset[str]]]] = {
    "AWS/Lambda": (
        {
            "Errors",
            "Throttles",
            "Duration",
            "ConcurrentExecutions",
            "IteratorAge",
            "AsyncEventsDropped",
            "DeadLetterErrors",
            "Invocations",
        },
        {frozenset({"FunctionName"})},
    ),
    "AWS/ApiGateway": (
        {"Count", "4xx", "5xx", "Latency", "IntegrationLatency", "DataProcessed"},
        {frozenset({"ApiId", "Stage"})},
    ),
    "AWS/SQS": ({"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}, {frozenset({"QueueName"})}),
    "AWS/DynamoDB": (
        {
            "ConsumedReadCapacityUnits",
            "ConsumedWriteCapacityUnits",
            "ReadThrottleEvents",
            "WriteThrottleEvents",
            "TransactionConflict",
            "ThrottledRequests",
        },
        {frozenset({"TableName"}), frozenset({"TableName", "GlobalSecondaryIndexName"})},
    ),
    "AWS/Scheduler": (
        {
            "TargetErrorCount",
            "InvocationDroppedCount",
            "InvocationsFailedToBeSentToDeadLetterCount",
            "InvocationAttemptCount",
            "InvocationsSentToDeadLetterCount",
        },
        {frozenset({"ScheduleGroup"})},
    ),
}
# Which resource type a dimension of an AWS metric must name.
DIMENSION_RESOURCE = {
    "FunctionName": "AWS::Serverless::Function",
    "ApiId": "AWS::Serverless::HttpApi",
    "QueueName": "AWS::SQS::Queue",
    "TableName": "AWS::DynamoDB::Table",
    "ScheduleGroup": "AWS::Scheduler::ScheduleGroup",
}


@dataclass(frozen=True)
class MetricRef:
    """One metric as a template alarm or widget names it; dimension values as the template spells them."""

    where: str
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]


# --------------------------------------------------------------------------- the code side


def _from_layer(module: str, name: str) -> Any:
    sys.path.insert(0, str(REPO_ROOT / "layers" / "core"))
    try:
        return getattr(__import__(module, fromlist=[name]), name)
    finally:
        sys.path.pop(0)


def _action_values() -> list[str]:
    return [member.value for member in _from_layer(*ACTION_ENUM)]


def _dimension_values() -> set[tuple[tuple[str, str], ...]]:
    """The (rule, severity) dimension pairs AnomaliesDetected can carry."""
    severity = _from_layer(*ANOMALY_SEVERITY)
    return {(("rule", rule.value), ("severity", level.value)) for rule, level in severity.items()}


def _literal(call: ast.Call, keyword: str) -> str | None:
    node = next((kw.value for kw in call.keywords if kw.arg == keyword), None)
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _metric_names(call: ast.Call, source: str, where: str) -> list[str]:
    """The names one add_metric call can emit. A name built from a movement's action (the one computed
    name the code has) expands over every action; any other computed name cannot be checked, so it fails."""
    node = next((kw.value for kw in call.keywords if kw.arg == "name"), call.args[0] if call.args else None)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        parts = node.values
        fixed = [p for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str)]
        holes = [p for p in parts if isinstance(p, ast.FormattedValue)]
        if len(holes) == 1 and len(fixed) == 1 and parts[0] is fixed[0]:
            expression = ast.get_source_segment(source, holes[0].value) or ""
            if expression.endswith("action.value"):
                return [f"{fixed[0].value!s}{value}" for value in _action_values()]
    raise ValueError(f"{where}: cannot tell which metric names add_metric emits here; name it literally")


def code_metrics(roots: tuple[Path, ...] = CODE_ROOTS) -> dict[str, str]:
    """Every metric name the code can emit -> where (file:line)."""
    found: dict[str, str] = {}
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            for node in ast.walk(ast.parse(source)):
                if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute | ast.Name):
                    continue
                where = f"{path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}:{node.lineno}"
                called = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
                if called == "single_metric":
                    name = _literal(node, "name")
                    if name not in DIMENSIONED:
                        raise ValueError(f"{where}: a metric with its own dimensions; declare it in DIMENSIONED")
                    found.setdefault(name, where)
                if called == "add_dimension":
                    allowed = {"service"} | {d for dims in DIMENSIONED.values() for d in dims}
                    if _literal(node, "name") not in allowed:
                        raise ValueError(f"{where}: a dimension DIMENSIONED does not declare")
                if called == "add_metric":
                    for name in _metric_names(node, source, where):
                        found.setdefault(name, where)
    return found


# --------------------------------------------------------------------------- the template side


def _spelled(value: Any) -> str:
    """A dimension value as one string: ``!Ref X`` -> ``${X}``, ``!GetAtt X.Y`` -> ``${X.Y}``."""
    if isinstance(value, dict) and "Ref" in value:
        return "${" + str(value["Ref"]) + "}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    return str(value)


def _alarm_metrics(logical_id: str, props: dict[str, Any]) -> Iterator[MetricRef]:
    stats = [(props, props)] if "MetricName" in props else []
    stats += [(q["MetricStat"]["Metric"], q) for q in props.get("Metrics") or [] if "MetricStat" in q]
    for metric, _ in stats:
        dims = tuple((d["Name"], _spelled(d["Value"])) for d in metric.get("Dimensions") or [])
        yield MetricRef(f"alarm {logical_id}", metric["Namespace"], metric["MetricName"], dims)


def _dashboard_metrics(logical_id: str, props: dict[str, Any]) -> Iterator[MetricRef]:
    body = props["DashboardBody"]
    text = body["Fn::Sub"] if isinstance(body, dict) else body
    for widget in json.loads(text)["widgets"]:
        title = (widget.get("properties") or {}).get("title", widget.get("type"))
        for row in (widget.get("properties") or {}).get("metrics") or []:
            fields = [item for item in row if not isinstance(item, dict)]
            namespace, name, rest = fields[0], fields[1], fields[2:]
            dims = tuple(zip(rest[::2], rest[1::2], strict=True))
            yield MetricRef(f"dashboard {logical_id} widget {title!r}", namespace, name, dims)


def template_metrics(template: dict[str, Any]) -> list[MetricRef]:
    refs: list[MetricRef] = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") == "AWS::CloudWatch::Alarm":
            refs += _alarm_metrics(logical_id, resource["Properties"])
        elif resource.get("Type") == "AWS::CloudWatch::Dashboard":
            refs += _dashboard_metrics(logical_id, resource["Properties"])
    return refs


# --------------------------------------------------------------------------- the contract


def _resource_of(value: str, template: dict[str, Any]) -> tuple[str, str] | None:
    match = re.fullmatch(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}", value)
    resource = (template.get("Resources") or {}).get(match.group(1)) if match else None
    return (match.group(1), resource["Type"]) if match and resource else None


def _alarm_problems(template: dict[str, Any], runbook: str) -> list[str]:
    problems = []
    anchors = {_anchor(line) for line in runbook.splitlines() if line.startswith("#")}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        if props.get("AlarmActions") != [{"Ref": "AlarmTopic"}]:
            problems.append(f"alarm {logical_id}: AlarmActions is not [!Ref AlarmTopic]")
        description = json.dumps(props.get("AlarmDescription", ""))
        linked = re.findall(r"RUNBOOK\.md#([a-z0-9-]+)", description)
        if not linked:
            problems.append(f"alarm {logical_id}: its description names no docs/RUNBOOK.md#section")
        problems += [f"alarm {logical_id}: docs/RUNBOOK.md has no section #{a}" for a in linked if a not in anchors]
    return problems


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = heading.lstrip("#").strip().lower()
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def problems(template: dict[str, Any], emitted: dict[str, str], runbook: str) -> list[str]:
    variables = ((template.get("Globals") or {}).get("Function") or {}).get("Environment", {}).get("Variables", {})
    namespace = variables.get("POWERTOOLS_METRICS_NAMESPACE")
    service = _spelled(variables.get("POWERTOOLS_SERVICE_NAME"))
    found: list[str] = []
    refs = template_metrics(template)
    for ref in refs:
        if ref.namespace == namespace:
            if ref.name not in emitted:
                found.append(f"{ref.where}: {ref.namespace}/{ref.name} is not emitted by the code")
            if ref.name in DIMENSIONED:
                if ref.dimensions[:1] != (("service", service),) or ref.dimensions[1:] not in _dimension_values():
                    found.append(f"{ref.where}: {ref.name} dimensions {ref.dimensions} are not service, rule, severity")
            elif ref.dimensions != (("service", service),):
                found.append(f"{ref.where}: {ref.name} dimensions {ref.dimensions} are not (('service', '{service}'),)")
        elif ref.namespace in AWS_METRICS:
            names, dimension_sets = AWS_METRICS[ref.namespace]
            if ref.name not in names:
                found.append(f"{ref.where}: {ref.namespace} publishes no metric {ref.name!r}")
            if frozenset(name for name, _ in ref.dimensions) not in dimension_sets:
                found.append(f"{ref.where}: {ref.namespace}/{ref.name} has no dimensions {ref.dimensions}")
            for dimension, value in ref.dimensions:
                wanted, named = DIMENSION_RESOURCE.get(dimension), _resource_of(value, template)
                if wanted and (named is None or named[1] != wanted):
                    found.append(f"{ref.where}: {dimension} {value} does not name a {wanted} of this template")
        else:
            found.append(f"{ref.where}: unknown namespace {ref.namespace!r}")
    on_dashboard = {ref.name for ref in refs if ref.namespace == namespace and ref.where.startswith("dashboard")}
    found += [
        f"{emitted[name]}: {name} is emitted but not on the dashboard" for name in emitted if name not in on_dashboard
    ]
    return found + _alarm_problems(template, runbook)


def check(template_path: Path | str = TEMPLATE_PATH, runbook_path: Path = RUNBOOK) -> list[str]:
    runbook = runbook_path.read_text(encoding="utf-8") if runbook_path.exists() else ""
    return problems(load_template(template_path), code_metrics(), runbook)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    found = check(args[0] if args else TEMPLATE_PATH)
    for problem in found:
        print(problem)
    print("metric contract OK" if not found else f"{len(found)} metric contract problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
