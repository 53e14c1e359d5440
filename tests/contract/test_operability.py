"""template.yaml watches itself and keeps its data under the stack's own key: alarms, log groups, dead-letter
queues, throttling, concurrency, encryption, the custom domain, and least privilege across every policy
the deployed stack holds (SAM's generated roles included). The metric names are tests/contract/test_metrics.py's.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kassa_dev import template as tpl
from kassa_dev.template_check import sam_transform

KEY_ARN = {"Fn::If": ["CreateKmsKey", {"Fn::GetAtt": ["KassaKey", "Arn"]}, {"Ref": "KmsKeyArn"}]}
FUNCTIONS = (
    "AuthorizerFunction",
    "AuthFunction",
    "WalletFunction",
    "TransactionsFunction",
    "ReconciliationFunction",
    "ReconciliationApiFunction",
)
QUEUES = ("StreamDeadLetterQueue", "AsyncInvokeDeadLetterQueue", "ScheduleDeadLetterQueue")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return tpl.load_template()


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="module")
def transformed(template: dict[str, Any]) -> dict[str, Any]:
    return sam_transform(template)


def _of_type(resources: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v["Type"] == resource_type}


def _metric_of(alarm: dict[str, Any]) -> set[str]:
    props = alarm["Properties"]
    names = {props["MetricName"]} if "MetricName" in props else set()
    return names | {q["MetricStat"]["Metric"]["MetricName"] for q in props.get("Metrics", []) if "MetricStat" in q}


# --------------------------------------------------------------------------- alarms


def test_alarm_topic_is_encrypted_and_email_is_optional(template: dict[str, Any], resources: dict[str, Any]) -> None:
    assert resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == KEY_ARN
    subscription = resources["AlarmTopicEmail"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""
    assert template["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    (publish, deny) = resources["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and publish["Action"] == "sns:Publish"
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# Each alarm the on-call engineer relies on: the metrics it watches, its threshold and period.
EXPECTED_ALARMS = {
    "LedgerDiscrepancyAlarm": ({"LedgerDiscrepancies"}, 0, 60),
    "HighSeverityAnomalyAlarm": ({"AnomaliesDetected"}, 0, 60),
    "MovementsGivenUpAlarm": ({"MovementsGivenUp"}, 0, 300),
    "StoreErrorsAlarm": ({"StoreErrors"}, 0, 60),
    "WalletPartitionSizeAlarm": ({"WalletCollectionSizeGB"}, 5, 3600),
    "ApiServerErrorRateAlarm": ({"5xx", "Count"}, 1, 300),
    "WalletDurationP99Alarm": ({"Duration"}, {"Ref": "DurationP99AlarmMilliseconds"}, 300),
    "TransactionsDurationP99Alarm": ({"Duration"}, {"Ref": "DurationP99AlarmMilliseconds"}, 300),
    "StreamIteratorAgeAlarm": ({"IteratorAge"}, 60000, 60),
    "DynamoDBThrottleAlarm": ({"ReadThrottleEvents", "WriteThrottleEvents"}, 0, 60),
    "ScheduledAuditFailureAlarm": (
        {"TargetErrorCount", "InvocationDroppedCount", "InvocationsFailedToBeSentToDeadLetterCount"},
        0,
        300,
    ),
    "AsyncInvokeFailureAlarm": ({"DeadLetterErrors"}, 0, 300),
    **{f"{f.removesuffix('Function')}ErrorsAlarm": ({"Errors", "Throttles"}, 0, 60) for f in FUNCTIONS},
    **{f"{q.removesuffix('Queue')}Alarm": ({"ApproximateNumberOfMessagesVisible"}, 0, 60) for q in QUEUES},
}


def test_every_alarm_of_the_contract(resources: dict[str, Any]) -> None:
    alarms = _of_type(resources, "AWS::CloudWatch::Alarm")
    assert set(alarms) == set(EXPECTED_ALARMS)
    for alarm_id, (metrics, threshold, period) in EXPECTED_ALARMS.items():
        props = alarms[alarm_id]["Properties"]
        assert _metric_of(alarms[alarm_id]) == metrics, alarm_id
        assert props["Threshold"] == threshold, alarm_id
        assert props["ComparisonOperator"] == "GreaterThanThreshold", alarm_id
        periods = {props.get("Period")} | {
            q["MetricStat"]["Period"] for q in props.get("Metrics", []) if "MetricStat" in q
        }
        assert periods - {None} == {period}, alarm_id
        assert props["TreatMissingData"] == "notBreaching", alarm_id  # quiet is healthy, not unknown
        assert props["OKActions"] == [{"Ref": "AlarmTopic"}], alarm_id
        assert len(json.dumps(props["AlarmDescription"])) > 150, f"{alarm_id}: say what it means and what to do"


def test_the_api_error_alarm_is_a_rate_that_never_divides_by_zero(resources: dict[str, Any]) -> None:
    (expression,) = [q for q in resources["ApiServerErrorRateAlarm"]["Properties"]["Metrics"] if "Expression" in q]
    assert expression["Expression"] == "IF(requests > 0, 100 * errors / requests, 0)"


def test_p99_alarms_use_the_parameter(template: dict[str, Any], resources: dict[str, Any]) -> None:
    assert template["Parameters"]["DurationP99AlarmMilliseconds"]["Default"] == 1000
    for alarm_id in ("WalletDurationP99Alarm", "TransactionsDurationP99Alarm"):
        assert resources[alarm_id]["Properties"]["ExtendedStatistic"] == "p99"


def test_the_dashboard_covers_every_area(resources: dict[str, Any]) -> None:
    (dashboard,) = _of_type(resources, "AWS::CloudWatch::Dashboard").values()
    widgets = json.loads(dashboard["Properties"]["DashboardBody"]["Fn::Sub"])["widgets"]
    titles = " | ".join(w["properties"].get("title", "") for w in widgets)
    for area in ("Movements", "discrepancies", "API requests", "API latency", "Lambda errors", "Lambda throttles",
                 "duration p99", "concurrency", "iterator age", "Dead-letter", "consumed capacity",
                 "DynamoDB throttles", "transaction conflicts"):  # fmt: skip
        assert area.lower() in titles.lower(), area
    rows = [row for w in widgets for row in w["properties"].get("metrics", [])]
    for function_id in FUNCTIONS:
        for metric in ("Errors", "Throttles", "Duration", "ConcurrentExecutions"):
            assert any(row[1] == metric and row[3] == f"${{{function_id}}}" for row in rows), (function_id, metric)


# --------------------------------------------------------------------------- logs, triggers, throttling, concurrency


def test_every_function_logs_into_its_own_retained_encrypted_group(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 90
    for function_id in FUNCTIONS:
        logging = resources[function_id]["Properties"]["LoggingConfig"]
        group = resources[logging["LogGroup"]["Ref"]]
        assert group["Type"] == "AWS::Logs::LogGroup"
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert group["Properties"]["KmsKeyId"] == KEY_ARN
        assert group["DeletionPolicy"] == "Retain"
    access = resources["HttpApiAccessLogs"]["Properties"]
    assert access["RetentionInDays"] == {"Ref": "LogRetentionDays"} and access["KmsKeyId"] == KEY_ARN
    # The key lets CloudWatch Logs use it for these groups only: their names fall under its context.
    groups = [g["Properties"]["LogGroupName"]["Fn::Sub"] for g in _of_type(resources, "AWS::Logs::LogGroup").values()]
    assert all(name.startswith("/kassa/${AWS::StackName}/") for name in groups)


def test_asynchronous_triggers_retry_then_dead_letter(resources: dict[str, Any]) -> None:
    props = resources["ReconciliationFunction"]["Properties"]
    assert props["EventInvokeConfig"] == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}
    assert props["DeadLetterQueue"] == {
        "Type": "SQS",
        "TargetArn": {"Fn::GetAtt": ["AsyncInvokeDeadLetterQueue", "Arn"]},
    }
    schedule = props["Events"]["HourlyAudit"]["Properties"]
    assert schedule["RetryPolicy"]["MaximumRetryAttempts"] == 3
    assert schedule["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]}}


def test_routes_are_throttled_and_reconciliation_has_reserved_concurrency(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    api = resources["HttpApi"]["Properties"]
    assert api["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
    }
    assert resources["ReconciliationFunction"]["Properties"]["ReservedConcurrentExecutions"] == {
        "Ref": "ReconciliationConcurrency"
    }
    # Neither the money path nor the back office's requests are capped by Lambda (a stream backlog would
    # otherwise throttle them).
    for function_id in set(FUNCTIONS) - {"ReconciliationFunction"}:
        assert "ReservedConcurrentExecutions" not in resources[function_id]["Properties"]


def test_the_transform_carries_throttling_and_the_stage(transformed: dict[str, Any]) -> None:
    stage = transformed["Resources"]["HttpApiStage"]["Properties"]
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}


# --------------------------------------------------------------------------- encryption


def test_everything_stored_or_sent_uses_the_stacks_key(template: dict[str, Any], resources: dict[str, Any]) -> None:
    assert template["Globals"]["Function"]["KmsKeyArn"] == KEY_ARN
    sse = resources["LedgerTable"]["Properties"]["SSESpecification"]
    assert sse == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": KEY_ARN}
    for bucket_id in ("ProviderReportsBucket", "ReconciliationResultsBucket"):
        (rule,) = resources[bucket_id]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN}
        assert resources[bucket_id]["Properties"]["LoggingConfiguration"]["DestinationBucketName"] == {
            "Ref": "AccessLogsBucket"
        }
    for queue_id in QUEUES:
        assert resources[queue_id]["Properties"]["KmsMasterKeyId"] == KEY_ARN


def test_the_key_is_created_or_named_and_rotated(template: dict[str, Any], resources: dict[str, Any]) -> None:
    assert template["Parameters"]["KmsKeyArn"]["Default"] == ""
    assert template["Conditions"]["CreateKmsKey"] == {"Fn::Equals": [{"Ref": "KmsKeyArn"}, ""]}
    key = resources["KassaKey"]
    assert key["Condition"] == "CreateKmsKey" and key["DeletionPolicy"] == "Retain"
    assert key["Properties"]["EnableKeyRotation"] is True


def test_the_key_policy_is_no_wider_than_the_account_and_the_services_that_need_it(resources: dict[str, Any]) -> None:
    account_root = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    statements = resources["KassaKey"]["Properties"]["KeyPolicy"]["Statement"]
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert not any("*" in action for action in statement["Action"]), statement["Sid"]
        principal = statement["Principal"]
        assert principal in (
            {"AWS": account_root},
            {"Service": "cloudwatch.amazonaws.com"},
            {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}},
        ), statement["Sid"]
    by_sid = {s["Sid"]: s for s in statements}
    # The account administers the key but may use it on data only through Kassa's services.
    assert "kms:Decrypt" not in by_sid["AccountAdministersTheKeyThroughIam"]["Action"]
    use = by_sid["AccountUsesTheKeyOnlyThroughKassasServices"]["Condition"]["StringEquals"]
    assert use["kms:CallerAccount"] == {"Ref": "AWS::AccountId"}
    assert {v["Fn::Sub"].split(".")[0] for v in use["kms:ViaService"]} == {"dynamodb", "s3", "sqs", "sns", "lambda"}
    assert by_sid["AlarmsPublishToTheEncryptedTopic"]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }


# --------------------------------------------------------------------------- custom domain


def test_custom_domain_is_optional_tls_1_2_with_optional_mutual_tls(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    for parameter in ("DomainName", "DomainCertificateArn", "MutualTlsTruststoreUri"):
        assert template["Parameters"][parameter]["Default"] == ""
    domain = resources["ApiDomain"]
    assert domain["Condition"] == "HasCustomDomain"
    (configuration,) = domain["Properties"]["DomainNameConfigurations"]
    assert configuration["SecurityPolicy"] == "TLS_1_2"
    assert domain["Properties"]["MutualTlsAuthentication"] == {
        "Fn::If": ["HasMutualTls", {"TruststoreUri": {"Ref": "MutualTlsTruststoreUri"}}, {"Ref": "AWS::NoValue"}]
    }
    assert resources["ApiDomainMapping"]["Condition"] == "HasCustomDomain"
    # With mutual TLS the execute-api URL would be a way around it.
    assert resources["HttpApi"]["Properties"]["DisableExecuteApiEndpoint"] == {"Fn::If": ["HasMutualTls", True, False]}
    assert set(template["Rules"]) == {"CustomDomainNeedsItsCertificate", "MutualTlsNeedsTheCustomDomain"}


# --------------------------------------------------------------------------- least privilege, everywhere


def _statements(transformed: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(resource, kind, statement) for every statement of every policy the deployed stack holds."""
    found = []
    for logical_id, resource in transformed["Resources"].items():
        props = resource.get("Properties") or {}
        documents: list[tuple[str, dict[str, Any]]] = []
        if resource["Type"] == "AWS::IAM::Role":
            documents += [("iam", p["PolicyDocument"]) for p in props.get("Policies", [])]
            documents.append(("trust", props["AssumeRolePolicyDocument"]))
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(("iam", props["PolicyDocument"]))
        elif resource["Type"] in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
            documents.append(("resource", props["PolicyDocument"]))
        elif resource["Type"] == "AWS::KMS::Key":
            documents.append(("key", props["KeyPolicy"]))
        for kind, document in documents:
            statements = document["Statement"]
            found += [(logical_id, kind, s) for s in (statements if isinstance(statements, list) else [statements])]
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# The only resource wildcards an IAM grant may hold: the table's own indexes and the buckets' objects.
ALLOWED_RESOURCE_WILDCARDS = (
    "${LedgerTable.Arn}/index/*",
    "${ReconciliationResultsBucket.Arn}/*",
    "${AccessLogsBucket.Arn}/*",
    "arn:${AWS::Partition}:s3:::kassa-reports-${StackUuid}/*",
)


def test_no_wildcard_action_and_no_resource_wildcard_but_indexes_and_objects(transformed: dict[str, Any]) -> None:
    statements = _statements(transformed)
    assert {kind for _, kind, _ in statements} == {"iam", "trust", "resource", "key"}
    for logical_id, kind, statement in statements:
        if statement["Effect"] != "Allow":
            continue
        assert "NotAction" not in statement and "NotResource" not in statement, logical_id
        actions = _as_list(statement["Action"])
        assert not any("*" in action for action in actions), (logical_id, actions)
        if kind == "trust":
            assert set(statement["Principal"]) == {"Service"}, logical_id
            continue
        if kind == "key":  # in a key policy, Resource '*' means this key; principals are checked above
            assert statement["Resource"] == "*", logical_id
            continue
        if kind == "resource":
            assert "*" not in json.dumps(statement["Principal"]), (logical_id, "an Allow to everyone")
        for resource in _as_list(statement["Resource"]):
            text = resource if isinstance(resource, str) else json.dumps(resource)
            if "*" in text:
                spelled = resource["Fn::Sub"] if isinstance(resource, dict) and "Fn::Sub" in resource else text
                spelled = spelled[0] if isinstance(spelled, list) else spelled
                assert spelled in ALLOWED_RESOURCE_WILDCARDS, (logical_id, resource)


def test_the_least_privilege_check_can_fail(transformed: dict[str, Any]) -> None:
    """Planted: a wildcard action, a Resource '*', a bucket policy allowing everyone; each is caught."""
    import copy

    for plant in (
        lambda role: role["Policies"][0]["PolicyDocument"]["Statement"].append(
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": {"Fn::GetAtt": ["LedgerTable", "Arn"]}}
        ),
        lambda role: role["Policies"][0]["PolicyDocument"]["Statement"].append(
            {"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": "*"}
        ),
    ):
        broken = copy.deepcopy(transformed)
        plant(broken["Resources"]["WalletFunctionRole"]["Properties"])
        with pytest.raises(AssertionError):
            test_no_wildcard_action_and_no_resource_wildcard_but_indexes_and_objects(broken)
    broken = copy.deepcopy(transformed)
    broken["Resources"]["AccessLogsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]["Principal"] = "*"
    with pytest.raises(AssertionError):
        test_no_wildcard_action_and_no_resource_wildcard_but_indexes_and_objects(broken)
