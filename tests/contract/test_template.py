"""Contract tests for template.yaml and the tooling that reads it (kassa_dev.template, kassa_dev.template_check).

The expected route list below restates the HTTP contract on purpose: the template is the source of truth
for the code, this test is the check that the source of truth still says what was agreed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kassa_dev import template as tpl
from kassa_dev.template_check import check, main, sam_transform, trigger_findings

REPO_ROOT = Path(__file__).resolve().parents[2]

# (method, path, function, authorized by the operator-key authorizer)
EXPECTED_ROUTES = [
    ("GET", "/health", "WalletFunction", False),
    ("POST", "/v1/wallets", "WalletFunction", True),
    ("GET", "/v1/wallets", "WalletFunction", True),
    ("GET", "/v1/wallets/{playerId}", "WalletFunction", True),
    ("POST", "/v1/wallets/{playerId}/lock", "WalletFunction", True),
    ("POST", "/v1/wallets/{playerId}/unlock", "WalletFunction", True),
    ("POST", "/v1/wallets/{playerId}/transactions", "TransactionsFunction", True),
    ("GET", "/v1/wallets/{playerId}/transactions", "TransactionsFunction", True),
    ("GET", "/v1/wallets/{playerId}/transactions/{transactionId}", "TransactionsFunction", True),
    ("GET", "/v1/wallets/{playerId}/bets/{betId}", "TransactionsFunction", True),
    ("POST", "/v1/sessions", "AuthFunction", True),
    ("DELETE", "/v1/sessions/{sid}", "AuthFunction", True),
    ("POST", "/v1/keys", "AuthFunction", True),
    ("GET", "/v1/keys", "AuthFunction", True),
    ("GET", "/v1/keys/{keyId}", "AuthFunction", True),
    ("DELETE", "/v1/keys/{keyId}", "AuthFunction", True),
    ("GET", "/v1/audit-log", "AuthFunction", True),
    ("POST", "/onewallet/check", "AuthFunction", False),
    ("POST", "/onewallet/sid", "AuthFunction", False),
    ("POST", "/onewallet/balance", "WalletFunction", False),
    ("POST", "/onewallet/debit", "WalletFunction", False),
    ("POST", "/onewallet/credit", "WalletFunction", False),
    ("POST", "/onewallet/cancel", "WalletFunction", False),
    ("POST", "/onewallet/promo_payout", "WalletFunction", False),
    ("POST", "/v1/reconciliations", "ReconciliationApiFunction", True),
    ("GET", "/v1/reconciliations", "ReconciliationApiFunction", True),
    ("GET", "/v1/reconciliations/{runId}", "ReconciliationApiFunction", True),
    ("GET", "/v1/findings", "ReconciliationApiFunction", True),
    ("GET", "/v1/anomalies", "ReconciliationApiFunction", True),
    ("GET", "/v1/anomalies/{anomalyId}", "ReconciliationApiFunction", True),
    ("GET", "/v1/settings/anomaly-rules", "ReconciliationApiFunction", True),
    ("PUT", "/v1/settings/anomaly-rules", "ReconciliationApiFunction", True),
    ("GET", "/v1/wallets/{playerId}/audit", "ReconciliationApiFunction", True),
    ("GET", "/console", "ConsoleFunction", False),
    ("GET", "/console/{asset+}", "ConsoleFunction", False),
]

EXPECTED_FUNCTIONS = {
    "AuthorizerFunction": "functions/authorizer",
    "AuthFunction": "functions/auth",
    "WalletFunction": "functions/wallet",
    "TransactionsFunction": "functions/transactions",
    "ReconciliationFunction": "functions/reconciliation",
    "ReconciliationApiFunction": "functions/reconciliation_api",
    "ConsoleFunction": "functions/console",
}

# (Timeout, MemorySize) where a function departs from Globals (10 s, 512 MB).
EXPECTED_SIZES = {
    "ReconciliationFunction": (300, 1024),
    "ReconciliationApiFunction": (30, 1024),
    "ConsoleFunction": (10, 256),
}

# Every DynamoDB action each function may have (on the table or its indexes), and nothing else.
_READ_AND_WRITE_ITEMS = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:Query",
}
EXPECTED_DYNAMODB_ACTIONS = {
    "AuthorizerFunction": {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:BatchGetItem"},
    "AuthFunction": _READ_AND_WRITE_ITEMS | {"dynamodb:DeleteItem"},
    "WalletFunction": _READ_AND_WRITE_ITEMS,
    "TransactionsFunction": _READ_AND_WRITE_ITEMS,
    "ReconciliationApiFunction": _READ_AND_WRITE_ITEMS,
    "ConsoleFunction": set(),  # static files only
    # DeleteItem: an outbox marker whose event could not be published is removed again.
    "ReconciliationFunction": _READ_AND_WRITE_ITEMS | {"dynamodb:DeleteItem"},
}

# The provider reports bucket's name, as the bucket, the function's environment and its policy spell it
# (a fixed name: a !Ref or !GetAtt of the bucket in the function would be a circular dependency).
STACK_UUID = {"StackUuid": {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}}
REPORTS_BUCKET_NAME = {"Fn::Sub": ["kassa-reports-${StackUuid}", STACK_UUID]}
REPORTS_OBJECTS_ARN = {"Fn::Sub": ["arn:${AWS::Partition}:s3:::kassa-reports-${StackUuid}/*", STACK_UUID]}

# The stack's KMS key: the one it creates, or the existing one a parameter names.
KEY_ARN = {"Fn::If": ["CreateKmsKey", {"Fn::GetAtt": ["KassaKey", "Arn"]}, {"Ref": "KmsKeyArn"}]}
_DECRYPT = {("kms:Decrypt", repr(KEY_ARN)), ("kms:DescribeKey", repr(KEY_ARN))}
_USE_KEY = _DECRYPT | {("kms:Encrypt", repr(KEY_ARN)), ("kms:GenerateDataKey", repr(KEY_ARN))}

# Every non-DynamoDB action of each function's own policies, with the one resource it is allowed on.
EXPECTED_OTHER_GRANTS = {
    "AuthorizerFunction": _DECRYPT,
    "ConsoleFunction": _DECRYPT,
    "AuthFunction": _USE_KEY,
    "WalletFunction": _USE_KEY,
    "TransactionsFunction": _USE_KEY,
    "ReconciliationApiFunction": _USE_KEY,
    "ReconciliationFunction": _USE_KEY
    | {
        ("events:PutEvents", repr({"Fn::GetAtt": ["LedgerEventBus", "Arn"]})),
        ("s3:GetObject", repr(REPORTS_OBJECTS_ARN)),
        ("s3:PutObject", repr({"Fn::Sub": "${ReconciliationResultsBucket.Arn}/*"})),
    },
}


@pytest.fixture(scope="module")
def template_dict() -> dict:
    return tpl.load_template()


@pytest.fixture(scope="module")
def transformed(template_dict) -> dict:
    """What SAM would deploy (the check's own offline transform)."""
    return sam_transform(template_dict)


@pytest.fixture(scope="module")
def template_source() -> str:
    return tpl.TEMPLATE_PATH.read_text(encoding="utf-8")


def _resources(template: dict, resource_type: str) -> dict:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- the check itself


def test_real_template_passes_the_check_cli():
    result = subprocess.run(
        [sys.executable, "-m", "kassa_dev.template_check", str(tpl.TEMPLATE_PATH)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "template OK" in result.stdout


def _plant(source: str, old: str, new: str) -> str:
    assert source.count(old) >= 1, f"planting failed: {old!r} not in template"
    return source.replace(old, new, 1)


# name -> (text to replace, replacement, a fragment the findings must contain)
PLANTED = {
    # cfn-lint on the transformed template (cfn-lint >= 1.54 alone passes this one)
    "runtime_python3_99": (
        "      CodeUri: functions/wallet/\n",
        "      CodeUri: functions/wallet/\n      Runtime: python3.99\n",
        "python3.99",
    ),
    # a route on an API that does not exist: the SAM transform
    "route_on_missing_api": (
        "            ApiId: !Ref HttpApi\n            Method: POST\n            Path: /v1/wallets\n",
        "            ApiId: !Ref NoSuchApi\n            Method: POST\n            Path: /v1/wallets\n",
        "ApiId must be a valid reference",
    ),
    # the authorizer (every protected route) pointing at a function that does not exist: cfn-lint
    "authorizer_on_missing_function": (
        "!GetAtt AuthorizerFunction.Arn",
        "!GetAtt NoSuchFunction.Arn",
        "NoSuchFunction",
    ),
    # misspelled properties, at three depths
    "misspelled_function_property": (
        "      CodeUri: functions/wallet/\n      Handler:",
        "      CodeUri: functions/wallet/\n      Handlr:",
        "Handlr",
    ),
    "misspelled_event_property": (
        "            Method: GET\n            Path: /health",
        "            Metod: GET\n            Path: /health",
        "Metod",
    ),
    # silently ignored by the translator and by cfn-lint: only the SAM schema step sees these
    "misspelled_authorizer_property": (
        "EnableFunctionDefaultPermissions: true",
        "EnableFunctionDefaultPermission: true",
        "EnableFunctionDefaultPermission",
    ),
    "misspelled_open_route_auth": (
        "            Auth:\n              Authorizer: NONE",
        "            Auth:\n              Authorizr: NONE",
        "Authorizr",
    ),
    "reauthorize_every_at_wrong_level": (
        "              ReauthorizeEvery: 0",
        "            ReauthorizeEvery: 0",
        "ReauthorizeEvery",
    ),
    # a key attribute without an AttributeDefinition: cfn-lint E3039
    "key_attribute_not_defined": (
        "        - AttributeName: credentialHash\n          AttributeType: S\n",
        "",
        "E3039",
    ),
    "table_key_misspelled": (
        "        - AttributeName: sk\n          KeyType: RANGE",
        "        - AttributeName: skk\n          KeyType: RANGE",
        "E3039",
    ),
    "by_kind_attribute_not_defined": ("        - AttributeName: kind\n          AttributeType: S\n", "", "E3039"),
    # reconciliation: the stream event source
    "stream_on_missing_table": ("!GetAtt LedgerTable.StreamArn", "!GetAtt NoSuchTable.StreamArn", "NoSuchTable"),
    # SAM, its schema and cfn-lint pass these two; the check's trigger step does not
    "stream_on_table_arn": ("!GetAtt LedgerTable.StreamArn", "!GetAtt LedgerTable.Arn", "not its StreamArn"),
    "table_without_stream": (
        "      StreamSpecification:\n        StreamViewType: NEW_AND_OLD_IMAGES\n",
        "",
        "LedgerTable has no StreamSpecification",
    ),
    "function_response_types_misspelled": (
        "FunctionResponseTypes: [ReportBatchItemFailures]",
        "FunctionResponseType: [ReportBatchItemFailures]",
        "FunctionResponseType",
    ),
    "partial_batch_responses_misspelled": (
        "FunctionResponseTypes: [ReportBatchItemFailures]",
        "FunctionResponseTypes: [ReportBatchItemFailure]",
        "ReportBatchItemFailure",
    ),
    "bisect_misspelled": (
        "BisectBatchOnFunctionError: true",
        "BisectBatchOnFunctionErrors: true",
        "BisectBatchOnFunctionErrors",
    ),
    "dead_letter_queue_missing": (
        "Destination: !GetAtt StreamDeadLetterQueue.Arn",
        "Destination: !GetAtt NoSuchQueue.Arn",
        "NoSuchQueue",
    ),
    # without Type: SQS, SAM would silently add no sqs:SendMessage for the destination
    "dead_letter_type_misspelled": ("                Type: SQS\n", "                Typ: SQS\n", "Typ"),
    # reconciliation: the schedule
    "schedule_input_not_json": ("""Input: '{"kassa": "audit"}'""", "Input: '{kassa: audit}'", "not JSON"),
    "schedule_expression_invalid": ("rate(1 hour)", "rate(1 hours)", "rate(1 hours)"),
    "schedule_omit_name_misspelled": ("OmitName: true", "OmitNam: true", "OmitNam"),
    # reconciliation: the provider reports bucket
    "s3_event_on_missing_bucket": (
        "            Bucket: !Ref ProviderReportsBucket\n",
        "            Bucket: !Ref NoSuchBucket\n",
        "S3 events must reference an S3 bucket in the same template",
    ),
    "s3_event_name_misspelled": ("Events: s3:ObjectCreated:*", "Events: s3:ObjectCreatd:*", "s3:ObjectCreatd:*"),
    # the SAM pitfall: the function referring to the bucket that notifies it is a circular dependency
    "reports_bucket_by_getatt_in_policy": (
        "              Resource: !Sub\n                - 'arn:${AWS::Partition}:s3:::kassa-reports-${StackUuid}/*'\n"
        "                - StackUuid: !Select [2, !Split ['/', !Ref AWS::StackId]]\n",
        "              Resource: !Sub '${ProviderReportsBucket.Arn}/*'\n",
        "E3004",
    ),
    "reports_bucket_by_ref_in_environment": (
        "          KASSA_PROVIDER_REPORTS_BUCKET: !Sub\n            - 'kassa-reports-${StackUuid}'\n"
        "            - StackUuid: !Select [2, !Split ['/', !Ref AWS::StackId]]\n",
        "          KASSA_PROVIDER_REPORTS_BUCKET: !Ref ProviderReportsBucket\n",
        "E3004",
    ),
    "bucket_public_access_block_misspelled": ("BlockPublicAcls: true", "BlockPublicAcl: true", "BlockPublicAcl"),
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_planted_error_fails_the_check(name, template_source, tmp_path):
    old, new, expected = PLANTED[name]
    planted = tmp_path / "template.yaml"
    planted.write_text(_plant(template_source, old, new), encoding="utf-8")

    problems = check(planted)

    assert problems, f"planted error {name} was not caught"
    assert any(expected in problem for problem in problems), problems


def test_check_exit_status_and_messages_on_failure(template_source, tmp_path, capsys):
    planted = tmp_path / "template.yaml"
    planted.write_text(_plant(template_source, "    Runtime: python3.12\n", "    Runtime: python3.99\n"))

    assert main([str(planted)]) == 1

    err = capsys.readouterr().err
    assert "problem(s)" in err
    assert "E3030" in err and "Resources/WalletFunction/Properties/Runtime" in err


def test_trigger_findings_on_rules_and_queues():
    """The trigger step on shapes template.yaml does not use: EventBridge rules (no at() there), several
    targets, queue notifications; intrinsic values are left alone."""
    cfn = {
        "Resources": {
            "Rule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "ScheduleExpression": "at(2026-01-01T00:00:00)",
                    "Targets": [{"Id": "a", "Input": "{}"}, {"Id": "b", "Input": "audit"}],
                },
            },
            "Fine": {
                "Type": "AWS::Events::Rule",
                "Properties": {"ScheduleExpression": "cron(0 3 * * ? *)", "Targets": [{"Input": {"Ref": "X"}}]},
            },
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "NotificationConfiguration": {
                        "QueueConfigurations": [{"Event": "s3:ObjectRemoved:*"}, {"Event": "s3:ObjectDeleted"}]
                    }
                },
            },
        }
    }
    assert trigger_findings(cfn) == [
        "triggers at Resources/Rule/Properties/ScheduleExpression: 'at(2026-01-01T00:00:00)' is not a valid "
        "AWS::Events::Rule expression",
        "triggers at Resources/Rule/Properties/Targets/1/Input: not JSON (Expecting value: line 1 column 1 (char 0)): "
        "'audit'",
        "triggers at Resources/Bucket/Properties/NotificationConfiguration/QueueConfigurations/1/Event: "
        "no S3 event 's3:ObjectDeleted'",
    ]


def test_check_reports_unreadable_template(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert main([str(missing)]) == 1
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources: [unclosed\n")
    assert check(broken)


def test_transform_wires_the_authorizer(template_dict):
    """What the deployed API gets: invoke permission for the authorizer, no result caching, header identity."""
    cfn = sam_transform(template_dict)
    permissions = [
        r["Properties"]
        for r in cfn["Resources"].values()
        if r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"]["FunctionName"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    ]
    assert permissions, "no AWS::Lambda::Permission lets API Gateway invoke the authorizer"
    scheme = cfn["Resources"]["HttpApi"]["Properties"]["Body"]["components"]["securitySchemes"]
    authorizer = scheme["OperatorKeyAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert authorizer["authorizerResultTtlInSeconds"] == 0
    assert authorizer["identitySource"] == ["$request.header.Authorization"]
    assert authorizer["enableSimpleResponses"] is True
    assert authorizer["authorizerPayloadFormatVersion"] == "2.0"


# --------------------------------------------------------------------------- structure


def test_loader_reads_short_tags_as_intrinsics(template_dict):
    assert template_dict["AWSTemplateFormatVersion"] == "2010-09-09"
    assert template_dict["Transform"] == "AWS::Serverless-2016-10-31"
    env = template_dict["Globals"]["Function"]["Environment"]["Variables"]
    assert env["KASSA_TABLE"] == {"Ref": "LedgerTable"}
    authorizer = template_dict["Resources"]["HttpApi"]["Properties"]["Auth"]["Authorizers"]["OperatorKeyAuthorizer"]
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}


def test_parameters_and_globals(template_dict):
    assert template_dict["Parameters"]["Stage"]["Default"] == "prod"
    assert template_dict["Parameters"]["LogLevel"]["Default"] == "INFO"
    glob = template_dict["Globals"]["Function"]
    assert glob["Runtime"] == "python3.12"
    assert glob["Architectures"] == ["arm64"]
    assert glob["Timeout"] == 10
    assert glob["MemorySize"] == 512
    assert glob["Tracing"] == "Active"
    assert glob["Layers"] == [{"Ref": "CoreLayer"}]
    assert glob["KmsKeyArn"] == KEY_ARN
    assert glob["Environment"]["Variables"] == {
        "KASSA_TABLE": {"Ref": "LedgerTable"},
        "POWERTOOLS_SERVICE_NAME": {"Ref": "AWS::StackName"},
        "POWERTOOLS_METRICS_NAMESPACE": "Kassa",
        "POWERTOOLS_LOG_LEVEL": {"Ref": "LogLevel"},
        "LOG_LEVEL": {"Ref": "LogLevel"},
    }


def test_core_layer(template_dict):
    layer = template_dict["Resources"]["CoreLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/core"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Properties"]["RetentionPolicy"] == "Retain"
    # Built by its own Makefile (decision 36): sam runs its build-CoreLayer target.
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert "build-CoreLayer:" in (REPO_ROOT / "layers/core/Makefile").read_text()


def test_ledger_table(template_dict):
    table = template_dict["Resources"]["LedgerTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    attributes = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert attributes == {
        "pk": "S",
        "sk": "S",
        "entryVersion": "N",
        "credentialHash": "S",
        "kind": "S",
        "rejectedIn": "S",
        "createdAt": "S",
    }
    (lsi,) = props["LocalSecondaryIndexes"]
    assert lsi["IndexName"] == "EntriesByVersion"
    assert lsi["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "entryVersion", "KeyType": "RANGE"},
    ]
    assert lsi["Projection"] == {"ProjectionType": "ALL"}
    by_credential, by_kind, rejections = props["GlobalSecondaryIndexes"]
    assert by_credential["IndexName"] == "ByCredential"
    assert by_credential["KeySchema"] == [{"AttributeName": "credentialHash", "KeyType": "HASH"}]
    assert by_credential["Projection"] == {"ProjectionType": "ALL"}
    # Sparse (only operator and wallet items carry a kind) and keys only: what a full audit walks.
    assert by_kind["IndexName"] == "ByKind"
    assert by_kind["KeySchema"] == [
        {"AttributeName": "kind", "KeyType": "HASH"},
        {"AttributeName": "pk", "KeyType": "RANGE"},
    ]
    assert by_kind["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    # Sparse (only recorded rejections carry rejectedIn): the anomaly rules' and the round view's refusals.
    assert rejections["IndexName"] == "RejectionsByWallet"
    assert rejections["KeySchema"] == [
        {"AttributeName": "rejectedIn", "KeyType": "HASH"},
        {"AttributeName": "createdAt", "KeyType": "RANGE"},
    ]
    assert rejections["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["betId"]}
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True


def test_http_api_and_authorizer(template_dict):
    api = template_dict["Resources"]["HttpApi"]
    assert api["Type"] == "AWS::Serverless::HttpApi"
    props = api["Properties"]
    assert props["StageName"] == {"Ref": "Stage"}
    assert props["Auth"]["DefaultAuthorizer"] == "OperatorKeyAuthorizer"
    authorizer = props["Auth"]["Authorizers"]["OperatorKeyAuthorizer"]
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["EnableSimpleResponses"] is True
    assert authorizer["EnableFunctionDefaultPermissions"] is True
    assert authorizer["Identity"]["Headers"] == ["Authorization"]
    assert authorizer["Identity"]["ReauthorizeEvery"] in (0, 300)
    log_group = props["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert template_dict["Resources"][log_group]["Type"] == "AWS::Logs::LogGroup"
    assert tpl.authorizer_function_id(template_dict) == "AuthorizerFunction"


def test_outputs(template_dict):
    outputs = template_dict["Outputs"]
    assert {"ApiUrl", "TableName"} <= set(outputs)
    assert outputs["EventBusName"]["Value"] == {"Ref": "LedgerEventBus"}
    assert outputs["ProviderReportsBucketName"]["Value"] == {"Ref": "ProviderReportsBucket"}
    assert outputs["ResultsBucketName"]["Value"] == {"Ref": "ReconciliationResultsBucket"}
    assert outputs["StreamDeadLetterQueueUrl"]["Value"] == {"Ref": "StreamDeadLetterQueue"}
    # What the runbook's on-call engineer looks up: every queue, the alarm topic, the dashboard, the key.
    for queue in ("StreamDeadLetterQueue", "AsyncInvokeDeadLetterQueue", "ScheduleDeadLetterQueue"):
        assert outputs[f"{queue}Url"]["Value"] == {"Ref": queue}
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    assert outputs["DashboardName"]["Value"] == {"Ref": "Dashboard"}
    assert outputs["ReconciliationFunctionName"]["Value"] == {"Ref": "ReconciliationFunction"}
    assert outputs["KeyArn"]["Value"] == {
        "Fn::If": ["CreateKmsKey", {"Fn::GetAtt": ["KassaKey", "Arn"]}, {"Ref": "KmsKeyArn"}]
    }


def test_functions_and_code_dirs(template_dict):
    specs = tpl.functions(template_dict)
    assert set(specs) == set(EXPECTED_FUNCTIONS)
    for function_id, code_dir in EXPECTED_FUNCTIONS.items():
        spec = specs[function_id]
        assert spec.code_dir == (REPO_ROOT / code_dir).resolve()
        assert spec.code_dir.is_dir(), f"{function_id}: CodeUri {code_dir} does not exist"
        assert spec.handler == "app.lambda_handler"
        assert spec.environment["KASSA_TABLE"] == {"Ref": "LedgerTable"}
        assert spec.environment["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}
        assert (spec.timeout, spec.memory_size) == EXPECTED_SIZES.get(function_id, (10, 512))


def test_every_route_of_the_contract(template_dict):
    routes = tpl.http_routes(template_dict)
    actual = sorted((r.method, r.path, r.function_id, r.authorized) for r in routes)
    assert actual == sorted(EXPECTED_ROUTES)
    assert len({r.event_id for r in routes}) == len(routes)
    for route in routes:
        assert route.code_dir == tpl.functions(template_dict)[route.function_id].code_dir
        assert route.handler == "app.lambda_handler"


def test_one_wallet_routes_say_why_they_are_open(template_source):
    assert "INVALID_TOKEN_ID" in template_source


def test_iam_is_least_privilege(template_dict):
    """Inline Allow statements only, no wildcard action, no Resource '*'; exactly the expected grants."""
    for function_id, resource in _resources(template_dict, "AWS::Serverless::Function").items():
        actions: set[str] = set()
        others: set[tuple[str, str]] = set()
        for policy in resource["Properties"].get("Policies", []):
            assert isinstance(policy, dict), f"{function_id}: use inline statements, not {policy!r}"
            for statement in policy["Statement"]:
                assert statement["Effect"] == "Allow"
                assert "NotAction" not in statement and "NotResource" not in statement
                statement_actions = _as_list(statement["Action"])
                assert not any("*" in action for action in statement_actions), f"{function_id}: {statement_actions}"
                assert "*" not in _as_list(statement["Resource"]), f"{function_id}: Resource '*'"
                dynamodb = [a for a in statement_actions if a.lower().startswith("dynamodb:")]
                for action in set(statement_actions) - set(dynamodb):
                    (res,) = _as_list(statement["Resource"])
                    others.add((action, repr(res)))
                if not dynamodb:
                    continue
                for res in _as_list(statement["Resource"]):
                    text = str(res)
                    assert "LedgerTable" in text, f"{function_id}: DynamoDB statement on {res!r}"
                    if "/index/" not in text:
                        assert res == {"Fn::GetAtt": ["LedgerTable", "Arn"]}
                actions.update(dynamodb)
        assert actions == EXPECTED_DYNAMODB_ACTIONS[function_id], function_id
        assert others == EXPECTED_OTHER_GRANTS[function_id], function_id


def test_authorizer_queries_only_the_credential_index(template_dict):
    statements = template_dict["Resources"]["AuthorizerFunction"]["Properties"]["Policies"][0]["Statement"]
    query = [s for s in statements if "dynamodb:Query" in _as_list(s["Action"])]
    assert [s["Resource"] for s in query] == [{"Fn::Sub": "${LedgerTable.Arn}/index/ByCredential"}]


# --------------------------------------------------------------------------- routing helpers


def _route(method: str, path: str, function_id: str = "F") -> tpl.HttpRoute:
    return tpl.HttpRoute(method, path, function_id, Path("/x"), "app.lambda_handler", True)


def test_match_route_on_the_real_routes(template_dict):
    routes = tpl.http_routes(template_dict)

    route, params = tpl.match_route(routes, "GET", "/v1/wallets/p-1/transactions/tx-9")
    assert (route.function_id, route.path, params) == (
        "TransactionsFunction",
        "/v1/wallets/{playerId}/transactions/{transactionId}",
        {"playerId": "p-1", "transactionId": "tx-9"},
    )
    route, params = tpl.match_route(routes, "post", "/v1/wallets/p-1/lock")
    assert (route.function_id, params) == ("WalletFunction", {"playerId": "p-1"})
    route, params = tpl.match_route(routes, "GET", "/health")
    assert (route.function_id, route.authorized, params) == ("WalletFunction", False, {})
    route, _ = tpl.match_route(routes, "DELETE", "/v1/sessions/abc")
    assert route.function_id == "AuthFunction" and route.authorized
    route, _ = tpl.match_route(routes, "POST", "/onewallet/promo_payout")
    assert route.function_id == "WalletFunction" and not route.authorized
    route, params = tpl.match_route(routes, "GET", "/v1/wallets/p-1/audit")
    assert (route.function_id, route.authorized, params) == ("ReconciliationApiFunction", True, {"playerId": "p-1"})
    route, params = tpl.match_route(routes, "GET", "/v1/reconciliations/run-7")
    assert (route.function_id, route.authorized, params) == ("ReconciliationApiFunction", True, {"runId": "run-7"})
    route, params = tpl.match_route(routes, "GET", "/v1/reconciliations")
    assert (route.event_id, params) == ("ListReconciliations", {})
    assert tpl.match_route(routes, "DELETE", "/v1/reconciliations") is None
    route, params = tpl.match_route(routes, "GET", "/console/app.js")
    assert (route.function_id, route.authorized, params) == ("ConsoleFunction", False, {"asset": "app.js"})

    assert tpl.match_route(routes, "DELETE", "/health") is None  # method not routed
    assert tpl.match_route(routes, "GET", "/v1/wallets/") is None  # {param} needs a non-empty segment
    assert tpl.match_route(routes, "GET", "/v1/wallets/p/x") is None  # one segment per {param}
    assert tpl.match_route(routes, "GET", "/V1/wallets/p") is None  # literal segments are case-sensitive
    assert tpl.match_route(routes, "GET", "/nope") is None


def test_match_route_prefers_the_most_specific_route():
    routes = [
        _route("GET", "/items/{id}", "Param"),
        _route("GET", "/items/special", "Literal"),
        _route("ANY", "/items/special", "Any"),
        _route("GET", "/items/{proxy+}", "Greedy"),
    ]
    assert tpl.match_route(routes, "GET", "/items/special")[0].function_id == "Literal"
    assert tpl.match_route(routes, "POST", "/items/special")[0].function_id == "Any"
    assert tpl.match_route(routes, "GET", "/items/42") == (routes[0], {"id": "42"})
    assert tpl.match_route(routes, "GET", "/items/a/b/c") == (routes[3], {"proxy": "a/b/c"})
    assert tpl.match_route(routes, "GET", "/items") is None


def test_match_route_decodes_parameters_and_ignores_query_string():
    routes = [_route("GET", "/w/{playerId}")]
    assert tpl.match_route(routes, "GET", "/w/a%20b?x=1") == (routes[0], {"playerId": "a b"})


def test_http_routes_respect_default_and_route_authorizers():
    template = {
        "Resources": {
            "Api": {"Type": "AWS::Serverless::HttpApi", "Properties": {"Auth": {"DefaultAuthorizer": "A"}}},
            "NoAuthApi": {"Type": "AWS::Serverless::HttpApi", "Properties": {}},
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "functions/wallet/",
                    "Handler": "app.h",
                    "Events": {
                        "Default": {"Type": "HttpApi", "Properties": {"ApiId": {"Ref": "Api"}, "Path": "/a"}},
                        "Open": {
                            "Type": "HttpApi",
                            "Properties": {
                                "ApiId": {"Ref": "Api"},
                                "Method": "get",
                                "Path": "/b",
                                "Auth": {"Authorizer": "NONE"},
                            },
                        },
                        "NoDefault": {
                            "Type": "HttpApi",
                            "Properties": {"ApiId": {"Ref": "NoAuthApi"}, "Method": "GET", "Path": "/c"},
                        },
                        "Queue": {"Type": "SQS", "Properties": {}},
                    },
                },
            },
        }
    }
    routes = {r.path: r for r in tpl.http_routes(template)}
    assert set(routes) == {"/a", "/b", "/c"}
    assert routes["/a"].method == "ANY" and routes["/a"].authorized
    assert routes["/b"].method == "GET" and not routes["/b"].authorized
    assert not routes["/c"].authorized


# --------------------------------------------------------------------------- the table, locally


def test_table_create_kwargs_shape(template_dict):
    kwargs = tpl.table_create_kwargs("kassa-local", template_dict)
    assert kwargs["TableName"] == "kassa-local"
    assert kwargs["BillingMode"] == "PAY_PER_REQUEST"
    assert kwargs["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert [i["IndexName"] for i in kwargs["LocalSecondaryIndexes"]] == ["EntriesByVersion"]
    assert [i["IndexName"] for i in kwargs["GlobalSecondaryIndexes"]] == [
        "ByCredential",
        "ByKind",
        "RejectionsByWallet",
    ]
    assert kwargs["GlobalSecondaryIndexes"][1]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert {"AttributeName": "kind", "AttributeType": "S"} in kwargs["AttributeDefinitions"]
    assert tpl.table_ttl_attribute(template_dict) == "ttl"


def test_create_table_in_moto_matches_the_template(template_dict, stack):
    # Through the session's embedded DynamoDB, not ``mock_aws``: starting mock_aws resets all of moto's
    # in-process state, which would wipe the running embedded server's tables under the other tests.
    client = stack.client("dynamodb")
    table = tpl.create_table(client, "kassa-contract", template_dict)
    again = tpl.create_table(client, "kassa-contract", template_dict)  # idempotent

    described = client.describe_table(TableName="kassa-contract")["Table"]
    ttl = client.describe_time_to_live(TableName="kassa-contract")["TimeToLiveDescription"]

    assert table["TableName"] == again["TableName"] == "kassa-contract"
    assert described["TableStatus"] == "ACTIVE"
    assert described["KeySchema"] == template_dict["Resources"]["LedgerTable"]["Properties"]["KeySchema"]
    assert [i["IndexName"] for i in described["LocalSecondaryIndexes"]] == ["EntriesByVersion"]
    assert described["LocalSecondaryIndexes"][0]["KeySchema"][1] == {
        "AttributeName": "entryVersion",
        "KeyType": "RANGE",
    }
    indexes = [i["IndexName"] for i in described["GlobalSecondaryIndexes"]]
    assert indexes == ["ByCredential", "ByKind", "RejectionsByWallet"]
    assert described["GlobalSecondaryIndexes"][1]["KeySchema"] == [
        {"AttributeName": "kind", "KeyType": "HASH"},
        {"AttributeName": "pk", "KeyType": "RANGE"},
    ]
    assert described["GlobalSecondaryIndexes"][1]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert described["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}


# --------------------------------------------------------------------------- reconciliation (issue 4)

RECONCILIATION = "ReconciliationFunction"
BUCKETS = ("ProviderReportsBucket", "ReconciliationResultsBucket")


def _reconciliation_events(template: dict) -> dict:
    return template["Resources"][RECONCILIATION]["Properties"]["Events"]


def test_reconciliation_function(template_dict):
    props = template_dict["Resources"][RECONCILIATION]["Properties"]
    assert props["CodeUri"] == "functions/reconciliation/"
    assert props["Handler"] == "app.lambda_handler"
    assert (props["Timeout"], props["MemorySize"]) == (300, 1024)
    assert props["Environment"]["Variables"] == {
        "KASSA_EVENT_BUS": {"Ref": "LedgerEventBus"},
        "KASSA_PROVIDER_REPORTS_BUCKET": REPORTS_BUCKET_NAME,
        "KASSA_RESULTS_BUCKET": {"Ref": "ReconciliationResultsBucket"},
    }
    assert {event["Type"] for event in props["Events"].values()} == {"DynamoDB", "ScheduleV2", "S3"}


def test_reconciliation_routes_have_a_function_of_their_own(template_dict):
    """Outside the stream consumer's reserved concurrency, with the template's environment only."""
    props = template_dict["Resources"]["ReconciliationApiFunction"]["Properties"]
    assert {event["Type"] for event in props["Events"].values()} == {"HttpApi"}
    assert "ReservedConcurrentExecutions" not in props
    assert "Environment" not in props
    outputs = template_dict["Outputs"]
    assert outputs["ReconciliationApiFunctionName"]["Value"] == {"Ref": "ReconciliationApiFunction"}


def test_event_bus_and_dead_letter_queue(template_dict):
    resources = template_dict["Resources"]
    bus = resources["LedgerEventBus"]
    assert bus["Type"] == "AWS::Events::EventBus"
    # Named after the stack: unique per account and region, whatever the Stage.
    assert bus["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}-ledger"}
    for queue_id in ("StreamDeadLetterQueue", "AsyncInvokeDeadLetterQueue", "ScheduleDeadLetterQueue"):
        queue = resources[queue_id]
        assert queue["Type"] == "AWS::SQS::Queue"
        assert queue["Properties"] == {"KmsMasterKeyId": KEY_ARN, "MessageRetentionPeriod": 14 * 24 * 3600}


@pytest.mark.parametrize("bucket_id", BUCKETS)
def test_buckets_are_encrypted_private_versioned_retained_and_tls_only(template_dict, bucket_id):
    bucket = template_dict["Resources"][bucket_id]
    assert bucket["Type"] == "AWS::S3::Bucket"
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["UpdateReplacePolicy"] == "Retain"
    props = bucket["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "NotificationConfiguration" not in props  # SAM adds the reports bucket's, from the S3 event
    (policy,) = [
        r["Properties"]
        for r in _resources(template_dict, "AWS::S3::BucketPolicy").values()
        if r["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "s3:*")
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statement["Resource"] == [
        {"Fn::GetAtt": [bucket_id, "Arn"]},
        {"Fn::Sub": f"${{{bucket_id}.Arn}}/*"},
    ]


def test_reports_bucket_name_is_one_expression_everywhere(template_dict):
    """Bucket, environment and policy spell the same name; nothing in the function refers to the bucket."""
    resources = template_dict["Resources"]
    assert resources["ProviderReportsBucket"]["Properties"]["BucketName"] == REPORTS_BUCKET_NAME
    props = resources[RECONCILIATION]["Properties"]
    assert props["Environment"]["Variables"]["KASSA_PROVIDER_REPORTS_BUCKET"] == REPORTS_BUCKET_NAME
    (read,) = [s for s in props["Policies"][0]["Statement"] if s["Action"] == "s3:GetObject"]
    assert read["Resource"] == REPORTS_OBJECTS_ARN
    template, variables = REPORTS_OBJECTS_ARN["Fn::Sub"]
    assert template == "arn:${AWS::Partition}:s3:::" + REPORTS_BUCKET_NAME["Fn::Sub"][0] + "/*"
    assert variables == REPORTS_BUCKET_NAME["Fn::Sub"][1]
    # Only the events (which SAM wires through the bucket, not the function) name the bucket itself.
    props_without_events = {k: v for k, v in props.items() if k != "Events"}
    assert "ProviderReportsBucket" not in repr(props_without_events)


def test_ledger_stream_event(template_dict):
    stream = _reconciliation_events(template_dict)["LedgerStream"]
    assert stream == {
        "Type": "DynamoDB",
        "Properties": {
            "Stream": {"Fn::GetAtt": ["LedgerTable", "StreamArn"]},
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": 100,
            "MaximumBatchingWindowInSeconds": 1,
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": 5,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {
                "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["StreamDeadLetterQueue", "Arn"]}}
            },
        },
    }


def test_hourly_audit_and_provider_report_events(template_dict):
    events = _reconciliation_events(template_dict)
    assert events["HourlyAudit"] == {
        "Type": "ScheduleV2",
        "Properties": {
            "ScheduleExpression": "rate(1 hour)",
            "Input": '{"kassa": "audit"}',
            "OmitName": True,
            "GroupName": {"Ref": "AuditScheduleGroup"},
            "RoleArn": {"Fn::GetAtt": ["AuditScheduleRole", "Arn"]},
            "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]}},
        },
    }
    assert events["ProviderReport"] == {
        "Type": "S3",
        "Properties": {"Bucket": {"Ref": "ProviderReportsBucket"}, "Events": "s3:ObjectCreated:*"},
    }


def test_transform_wires_the_stream(transformed):
    mapping = transformed["Resources"]["ReconciliationFunctionLedgerStream"]
    assert mapping["Type"] == "AWS::Lambda::EventSourceMapping"
    props = mapping["Properties"]
    assert props["FunctionName"] == {"Ref": RECONCILIATION}
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["LedgerTable", "StreamArn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert (props["BatchSize"], props["MaximumRetryAttempts"], props["StartingPosition"]) == (100, 5, "TRIM_HORIZON")
    # "Type" is SAM's, consumed by the transform: only the destination reaches Lambda.
    assert props["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": ["StreamDeadLetterQueue", "Arn"]}}
    }


def test_transform_wires_the_schedule(transformed):
    (schedule,) = _resources(transformed, "AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert "Name" not in props  # OmitName: a fixed name would collide between two stacks
    assert props["ScheduleExpression"] == "rate(1 hour)"
    assert props["Target"]["Arn"] == {"Fn::GetAtt": [RECONCILIATION, "Arn"]}
    assert json.loads(props["Target"]["Input"]) == {"kassa": "audit"}
    assert props["GroupName"] == {"Ref": "AuditScheduleGroup"}
    assert props["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}
    assert props["Target"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]}}
    # The stack's own role, not one SAM generates: SAM's could not use the key of the dead-letter queue.
    assert props["Target"]["RoleArn"] == {"Fn::GetAtt": ["AuditScheduleRole", "Arn"]}
    (policy,) = transformed["Resources"]["AuditScheduleRole"]["Properties"]["Policies"]
    grants = {
        (s["Action"] if isinstance(s["Action"], str) else tuple(s["Action"]), repr(s["Resource"]))
        for s in policy["PolicyDocument"]["Statement"]
    }
    assert grants == {
        ("lambda:InvokeFunction", repr({"Fn::GetAtt": [RECONCILIATION, "Arn"]})),
        ("sqs:SendMessage", repr({"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]})),
        (("kms:Decrypt", "kms:GenerateDataKey"), repr(KEY_ARN)),
    }


def test_transform_wires_the_reports_bucket(transformed):
    bucket = transformed["Resources"]["ProviderReportsBucket"]
    assert bucket["Properties"]["NotificationConfiguration"] == {
        "LambdaConfigurations": [{"Function": {"Fn::GetAtt": [RECONCILIATION, "Arn"]}, "Event": "s3:ObjectCreated:*"}]
    }
    (permission_id,) = bucket["DependsOn"]
    permission = transformed["Resources"][permission_id]["Properties"]
    assert permission["Principal"] == "s3.amazonaws.com"
    assert permission["FunctionName"] == {"Ref": RECONCILIATION}
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert "NotificationConfiguration" not in transformed["Resources"]["ReconciliationResultsBucket"]["Properties"]


def test_transform_role_of_the_reconciliation_function(transformed):
    """SAM's additions to the role: sqs:SendMessage on the stream's dead-letter queue (because OnFailure says
    Type: SQS) and on the function's own (DeadLetterQueue), and the managed policy for the stream reads.
    Nothing else beyond the inline policy."""
    role = transformed["Resources"][f"{RECONCILIATION}Role"]["Properties"]
    assert sorted(arn.rsplit("/", 1)[1] for arn in role["ManagedPolicyArns"]) == [
        "AWSLambdaBasicExecutionRole",
        "AWSLambdaDynamoDBExecutionRole",
        "AWSXrayWriteOnlyAccess",
    ]
    policies = {policy["PolicyName"]: policy["PolicyDocument"]["Statement"] for policy in role["Policies"]}
    assert f"{RECONCILIATION}RolePolicy0" in policies
    added = [
        statement
        for name, statements in policies.items()
        if not name.endswith("RolePolicy0")
        for statement in statements
    ]
    assert {(s["Effect"], s["Action"], s["Resource"]["Fn::GetAtt"][0]) for s in added} == {
        ("Allow", "sqs:SendMessage", "StreamDeadLetterQueue"),
        ("Allow", "sqs:SendMessage", "AsyncInvokeDeadLetterQueue"),
    }
    assert len(added) == 2


def test_transform_routes_reconciliation_behind_the_authorizer(transformed):
    paths = transformed["Resources"]["HttpApi"]["Properties"]["Body"]["paths"]
    for path, method in [
        ("/v1/reconciliations", "post"),
        ("/v1/reconciliations/{runId}", "get"),
        ("/v1/wallets/{playerId}/audit", "get"),
    ]:
        operation = paths[path][method]
        assert operation["security"] == [{"OperatorKeyAuthorizer": []}], path
        assert "ReconciliationApiFunction.Arn" in json.dumps(operation["x-amazon-apigateway-integration"]["uri"]), path


# --------------------------------------------------------------------------- the helpers the local stack uses


def test_stream_consumer_helper(template_dict):
    consumer = tpl.stream_consumer(template_dict)
    assert consumer == tpl.StreamConsumer(
        function_id=RECONCILIATION,
        event_id="LedgerStream",
        table_id="LedgerTable",
        batch_size=100,
        starting_position="TRIM_HORIZON",
        maximum_batching_window_seconds=1,
        bisect_on_error=True,
        maximum_retry_attempts=5,
        report_batch_item_failures=True,
        dead_letter_queue="StreamDeadLetterQueue",
    )
    assert tpl.stream_consumers(template_dict) == [consumer]
    assert tpl.stream_consumer() == consumer  # reads template.yaml itself


def test_s3_consumers_and_schedules_helpers(template_dict):
    assert tpl.s3_consumers(template_dict) == {"ProviderReportsBucket": RECONCILIATION}
    (schedule,) = tpl.schedules(template_dict)
    function_id, expression, input_text = schedule
    assert (function_id, expression, input_text) == (RECONCILIATION, "rate(1 hour)", '{"kassa": "audit"}')
    assert schedule.event == {"kassa": "audit"}


def test_local_resources_helper(template_dict):
    resources = tpl.local_resources(template_dict)
    assert resources == {
        "LedgerEventBus": tpl.LocalResource("LedgerEventBus", "AWS::Events::EventBus", ("KASSA_EVENT_BUS",)),
        "StreamDeadLetterQueue": tpl.LocalResource("StreamDeadLetterQueue", "AWS::SQS::Queue", ()),
        "AsyncInvokeDeadLetterQueue": tpl.LocalResource("AsyncInvokeDeadLetterQueue", "AWS::SQS::Queue", ()),
        "ScheduleDeadLetterQueue": tpl.LocalResource("ScheduleDeadLetterQueue", "AWS::SQS::Queue", ()),
        "AccessLogsBucket": tpl.LocalResource("AccessLogsBucket", "AWS::S3::Bucket", ()),
        "ProviderReportsBucket": tpl.LocalResource(
            "ProviderReportsBucket", "AWS::S3::Bucket", ("KASSA_PROVIDER_REPORTS_BUCKET",)
        ),
        "ReconciliationResultsBucket": tpl.LocalResource(
            "ReconciliationResultsBucket", "AWS::S3::Bucket", ("KASSA_RESULTS_BUCKET",)
        ),
    }
    # The roles of the buckets and the queue, told by the triggers rather than by name.
    assert set(tpl.s3_consumers(template_dict)) == {"ProviderReportsBucket"}
    assert tpl.stream_consumer(template_dict).dead_letter_queue in resources
    assert resources["ProviderReportsBucket"].local_name == "kassa-local-provider-reports-bucket"


def test_environment_helpers(template_dict):
    assert tpl.environment_resources(RECONCILIATION, template_dict) == {
        "KASSA_TABLE": "LedgerTable",
        "KASSA_EVENT_BUS": "LedgerEventBus",
        "KASSA_PROVIDER_REPORTS_BUCKET": "ProviderReportsBucket",  # by its name expression, not a !Ref
        "KASSA_RESULTS_BUCKET": "ReconciliationResultsBucket",
    }
    assert tpl.environment_resources("WalletFunction", template_dict) == {"KASSA_TABLE": "LedgerTable"}
    with pytest.raises(KeyError):
        tpl.environment_resources("NoSuchFunction", template_dict)
    names = {logical_id: r.local_name for logical_id, r in tpl.local_resources(template_dict).items()}
    assert tpl.local_environment(names, template_dict) == {
        "KASSA_EVENT_BUS": "kassa-local-ledger-event-bus",
        "KASSA_PROVIDER_REPORTS_BUCKET": "kassa-local-provider-reports-bucket",
        "KASSA_RESULTS_BUCKET": "kassa-local-reconciliation-results-bucket",
    }


def test_local_name():
    assert tpl.local_name("ReconciliationResultsBucket") == "kassa-local-reconciliation-results-bucket"
    assert tpl.local_name("SQSQueue2", prefix="x") == "x-sqs-queue-2"
    with pytest.raises(ValueError):
        tpl.local_name("A" * 70)


def _function(events: dict, env: dict | None = None) -> dict:
    props: dict = {"CodeUri": "functions/wallet/", "Handler": "app.h", "Events": events}
    if env is not None:
        props["Environment"] = {"Variables": env}
    return {"Type": "AWS::Serverless::Function", "Properties": props}


def test_event_source_helpers_defaults_and_errors():
    template = {
        "Resources": {
            "T": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "fixed-name"}},
            "F": _function(
                {
                    "Plain": {"Type": "DynamoDB", "Properties": {"Stream": {"Fn::Sub": "${T.StreamArn}"}}},
                    "Elsewhere": {
                        "Type": "DynamoDB",
                        "Properties": {"Stream": "arn:aws:dynamodb:x:y:table/z/stream/1"},
                    },
                    "Rule": {"Type": "Schedule", "Properties": {"Schedule": "cron(0 3 * * ? *)"}},
                    "Upload": {"Type": "S3", "Properties": {"Bucket": {"Ref": "B"}, "Events": "s3:ObjectCreated:*"}},
                },
                env={"BUCKET": "fixed-name", "LEVEL": {"Ref": "LogLevel"}, "OTHER": "literal"},
            ),
            "G": _function({"Upload": {"Type": "S3", "Properties": {"Bucket": {"Ref": "B"}}}}),
        }
    }
    plain, elsewhere = tpl.stream_consumers(template)
    # Lambda's defaults where the template says nothing
    assert plain == tpl.StreamConsumer("F", "Plain", "T")
    assert (plain.batch_size, plain.maximum_retry_attempts, plain.report_batch_item_failures) == (100, -1, False)
    assert elsewhere.table_id is None
    assert tpl.stream_consumer(template, table_id="T") == plain
    with pytest.raises(ValueError, match="expected one"):
        tpl.stream_consumer(template)  # no event on LedgerTable's stream here
    (schedule,) = tpl.schedules(template)
    assert schedule == ("F", "cron(0 3 * * ? *)", None) and schedule.event is None
    with pytest.raises(ValueError, match="triggers both"):
        tpl.s3_consumers(template)
    assert tpl.environment_resources("F", template) == {"BUCKET": "B"}
    assert tpl.local_resources(template) == {"B": tpl.LocalResource("B", "AWS::S3::Bucket", ("BUCKET",))}


def test_local_resources_can_be_created_in_moto(template_dict, stack):
    """The local names are valid for moto's buses, buckets and queues (the local stack creates them so)."""
    s3, events, sqs = stack.client("s3"), stack.client("events"), stack.client("sqs")
    for logical_id, resource in tpl.local_resources(template_dict).items():
        name = tpl.local_name(logical_id, prefix="kassa-contract")
        if resource.resource_type == tpl.BUCKET_TYPE:
            s3.create_bucket(Bucket=name)
            assert s3.head_bucket(Bucket=name)
        elif resource.resource_type == tpl.EVENT_BUS_TYPE:
            assert events.create_event_bus(Name=name)["EventBusArn"].endswith(f"/{name}")
        else:
            assert sqs.create_queue(QueueName=name)["QueueUrl"].endswith(f"/{name}")
