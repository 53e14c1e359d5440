"""Validate template.yaml for real: SAM schema, SAM transform (offline), cfn-lint on the transform's output.

    python -m kassa_dev.template_check [template.yaml]

Why not just ``cfn-lint template.yaml``: cfn-lint 1.54 and later no longer apply the SAM transform, and
then pass a SAM template with ``Runtime: python3.99`` in it. So this check does the transform itself
with aws-sam-translator (the same library CloudFormation's transform is built on) and lints the
plain CloudFormation output, which works whatever cfn-lint version is installed.

Four steps, because each misses what another catches:
1. SAM schema: the SAM resources against aws-sam-translator's own property models (the ones its
   published JSON schema is generated from). The translator ignores unknown keys in nested maps, e.g.
   ``ReauthorizeEvery`` one level too high or a misspelled ``EnableFunctionDefaultPermission``
   (which silently leaves the authorizer without invoke permission); neither it nor cfn-lint says so.
2. SAM transform: unresolvable references between SAM resources, missing required event properties,
   unknown top-level properties of SAM resources, duplicate routes.
3. cfn-lint on the plain CloudFormation: property values (runtimes, enums), GetAtt/Ref targets,
   DynamoDB key schema vs attribute definitions, circular dependencies (E3004: the S3-event pitfall in
   template.yaml's ProviderReportsBucket), and everything else cfn-lint knows.
4. Triggers, on the plain CloudFormation, where all three pass something that fails at deploy or at
   run time: an event source mapping on a table's ``Arn`` instead of its ``StreamArn`` or on a table
   without a stream, a schedule expression AWS rejects (``rate(1 hours)``), a schedule ``Input`` that
   is not JSON, an S3 notification event name that does not exist (``s3:ObjectCreatd:*``).

Offline transform needs: a region (given to the translator through a boto3 Session; no call is made),
``s3://`` code locations (local CodeUri/ContentUri are swapped for placeholders in a copy), and managed
policy names resolved without IAM (aws-sam-translator 1.115 ships a bundled name -> ARN map and only
asks ``get_managed_policy_map`` for names it does not know; here that answers an empty map instead of
calling IAM, the unknown name passes through as-is and cfn-lint rejects it as not an ARN, E3031).

Exit status 0 and "template OK" when clean; 1 with one line per finding otherwise. cfn-lint errors and
warnings fail the check; informational findings do not.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

from kassa_dev.template import TEMPLATE_PATH, load_template

REGION = "us-east-1"
PLACEHOLDER_S3 = "s3://kassa-template-check/{}.zip"
_CODE_LOCATIONS = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


class TemplateError(Exception):
    """The template could not be read or transformed; ``messages`` says why."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


def _with_s3_code_locations(template: dict[str, Any]) -> dict[str, Any]:
    """A copy whose local CodeUri/ContentUri are s3:// placeholders, as the translator requires."""
    copied = copy.deepcopy(template)
    for logical_id, resource in (copied.get("Resources") or {}).items():
        if not isinstance(resource, dict):
            continue
        key = _CODE_LOCATIONS.get(str(resource.get("Type")), "")
        props = resource.get("Properties")
        if not key or not isinstance(props, dict):
            continue
        location = props.get(key)
        if isinstance(location, str) and not location.startswith("s3://"):
            props[key] = PLACEHOLDER_S3.format(logical_id)
    glob_fn = (copied.get("Globals") or {}).get("Function") or {}
    if isinstance(glob_fn.get("CodeUri"), str) and not glob_fn["CodeUri"].startswith("s3://"):
        glob_fn["CodeUri"] = PLACEHOLDER_S3.format("Globals")
    return copied


def _branches(error: Any) -> list[list[Any]]:
    grouped: dict[Any, list[Any]] = {}
    for sub in error.context:
        grouped.setdefault(sub.relative_schema_path[0], []).append(sub)
    return list(grouped.values())


def _cost(error: Any) -> int:
    """How far an instance is from a schema: lets anyOf reporting pick the branch that was meant."""
    if error.context:
        return min(sum(_cost(sub) for sub in branch) for branch in _branches(error))
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        return max(1, len(set(error.instance) - set(error.schema.get("properties") or {})))
    return 1


def _leaves(error: Any) -> list[Any]:
    if not error.context:
        return [error]
    best = min(_branches(error), key=lambda branch: sum(_cost(sub) for sub in branch))
    return [leaf for sub in best for leaf in _leaves(sub)]


def sam_schema_findings(template: dict[str, Any]) -> list[str]:
    """SAM resources and Globals checked against aws-sam-translator's property models (unknown keys, types)."""
    import typing

    import jsonschema
    from samtranslator.internal.schema_source import schema as sam_schema

    models: dict[str, Any] = {}
    for model in typing.get_args(sam_schema.Resources):
        for resource_type in typing.get_args(model.__fields__["Type"].type_):
            models[resource_type] = model
    targets: list[tuple[str, Any, Any]] = []
    if "Globals" in template:
        targets.append(("Globals", sam_schema.Globals, template["Globals"]))
    for logical_id, resource in (template.get("Resources") or {}).items():
        model = models.get(str(resource.get("Type"))) if isinstance(resource, dict) else None
        if model is not None:
            targets.append((f"Resources/{logical_id}", model, resource))
    findings = []
    schemas: dict[Any, Any] = {}
    for where, model, instance in targets:
        if model not in schemas:
            schemas[model] = jsonschema.Draft4Validator(model.schema())
        for error in schemas[model].iter_errors(instance):
            for leaf in _leaves(error):
                path = "/".join([where, *(str(part) for part in leaf.absolute_path)])
                findings.append(f"SAM schema at {path}: {leaf.message}")
    return findings


def sam_transform(template: dict[str, Any], region: str = REGION) -> dict[str, Any]:
    """The CloudFormation template SAM would deploy. Raises TemplateError with the translator's causes."""
    import boto3
    from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())
    translator = Translator(
        managed_policy_map=None,
        sam_parser=Parser(),
        boto_session=boto3.session.Session(region_name=region),
        metrics=metrics,
    )
    try:
        return translator.translate(
            sam_template=_with_s3_code_locations(template),
            parameter_values={"AWS::Region": region},
            get_managed_policy_map=dict,
        )
    except InvalidDocumentException as exc:
        raise TemplateError([f"SAM transform: {cause.message}" for cause in exc.causes]) from exc
    except Exception as exc:  # the translator also raises plain errors on malformed input
        raise TemplateError([f"SAM transform: {type(exc).__name__}: {exc}"]) from exc
    finally:
        metrics.publish()  # else its __del__ warns "There are unpublished metrics" on stderr


def lint(cfn_template: dict[str, Any], region: str = REGION) -> list[str]:
    """cfn-lint findings (errors and warnings) on a plain CloudFormation template."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    matches = cfn_lint(json.dumps(cfn_template, indent=1), config=ManualArgs(regions=[region]))
    findings = []
    for match in matches:
        rule_id = match.rule.id
        if rule_id.startswith("I"):
            continue
        where = "/".join(str(part) for part in (match.path or []))
        findings.append(f"cfn-lint {rule_id} at {where or '?'}: {match.message}")
    return findings


_RATE = r"rate\((?:1 (?:minute|hour|day)|(?:[2-9]|[1-9]\d+) (?:minutes|hours|days))\)"
_CRON = r"cron\(\S+(?: \S+){5}\)"
_AT = r"at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)"
_SCHEDULE_EXPRESSIONS = {
    "AWS::Scheduler::Schedule": re.compile(f"{_RATE}|{_CRON}|{_AT}"),
    "AWS::Events::Rule": re.compile(f"{_RATE}|{_CRON}"),
}


def _s3_event_names() -> list[str]:
    import botocore.session

    return list(botocore.session.get_session().get_service_model("s3").shape_for("Event").enum)


def _stream_source_findings(where: str, props: dict[str, Any], resources: dict[str, Any]) -> list[str]:
    source = props.get("EventSourceArn")
    target = source.get("Fn::GetAtt") if isinstance(source, dict) else None
    if isinstance(target, str):
        target = target.split(".", 1)
    if not isinstance(target, list) or len(target) != 2:
        return []
    table_id, attribute = target
    table = resources.get(table_id) or {}
    if table.get("Type") != "AWS::DynamoDB::Table":
        return []
    if attribute != "StreamArn":
        return [f"triggers at {where}/EventSourceArn: reads {table_id}.{attribute}, not its StreamArn"]
    if not ((table.get("Properties") or {}).get("StreamSpecification") or {}).get("StreamViewType"):
        return [f"triggers at {where}/EventSourceArn: {table_id} has no StreamSpecification"]
    return []


def _schedule_findings(where: str, kind: str, props: dict[str, Any]) -> list[str]:
    findings = []
    expression = props.get("ScheduleExpression")
    if isinstance(expression, str) and not _SCHEDULE_EXPRESSIONS[kind].fullmatch(expression):
        findings.append(f"triggers at {where}/ScheduleExpression: {expression!r} is not a valid {kind} expression")
    if kind == "AWS::Events::Rule":
        targets = {f"Targets/{i}": target for i, target in enumerate(props.get("Targets") or [])}
    else:
        targets = {"Target": props.get("Target")}
    for path, target in targets.items():
        text = target.get("Input") if isinstance(target, dict) else None
        if not isinstance(text, str):
            continue
        try:
            json.loads(text)
        except ValueError as exc:
            findings.append(f"triggers at {where}/{path}/Input: not JSON ({exc}): {text!r}")
    return findings


def _s3_event_findings(where: str, props: dict[str, Any], known: list[str]) -> list[str]:
    notifications = props.get("NotificationConfiguration") or {}
    findings = []
    for key in ("LambdaConfigurations", "QueueConfigurations", "TopicConfigurations"):
        for i, config in enumerate(notifications.get(key) or []):
            event = config.get("Event") if isinstance(config, dict) else None
            if isinstance(event, str) and event not in known:
                findings.append(f"triggers at {where}/NotificationConfiguration/{key}/{i}/Event: no S3 event {event!r}")
    return findings


def trigger_findings(cfn_template: dict[str, Any]) -> list[str]:
    """Event sources that SAM, its schema and cfn-lint 1.53.3 all pass, but AWS rejects or the target cannot
    use (step 4 in the module docstring). Values that are intrinsics are left alone."""
    resources = cfn_template.get("Resources") or {}
    findings: list[str] = []
    s3_events: list[str] = []
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        kind, props = str(resource.get("Type")), resource.get("Properties") or {}
        where = f"Resources/{logical_id}/Properties"
        if kind == "AWS::Lambda::EventSourceMapping":
            findings += _stream_source_findings(where, props, resources)
        elif kind in _SCHEDULE_EXPRESSIONS:
            findings += _schedule_findings(where, kind, props)
        elif kind == "AWS::S3::Bucket" and props.get("NotificationConfiguration"):
            s3_events = s3_events or _s3_event_names()
            findings += _s3_event_findings(where, props, s3_events)
    return findings


def check(path: Path | str = TEMPLATE_PATH) -> list[str]:
    """All problems found in the template at ``path``; an empty list means it is valid."""
    try:
        template = load_template(path)
    except (OSError, ValueError) as exc:
        return [f"cannot read {path}: {exc}"]
    except Exception as exc:  # yaml.YAMLError, without importing yaml here
        return [f"cannot parse {path}: {exc}"]
    findings = sam_schema_findings(template)
    try:
        transformed = sam_transform(template)
    except TemplateError as exc:
        return findings + exc.messages
    return findings + lint(transformed) + trigger_findings(transformed)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        print("usage: python -m kassa_dev.template_check [template.yaml]", file=sys.stderr)
        return 2
    path = Path(args[0]) if args else TEMPLATE_PATH
    problems = check(path)
    if problems:
        print(f"{path}: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print("template OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
