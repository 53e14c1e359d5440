"""Contract tests for template.yaml and the tooling that reads it (kassa_dev.template, kassa_dev.template_check).

The expected route list below restates the HTTP contract on purpose: the template is the source of truth
for the code, this test is the check that the source of truth still says what was agreed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kassa_dev import template as tpl
from kassa_dev.template_check import check, main, sam_transform

REPO_ROOT = Path(__file__).resolve().parents[2]

# (method, path, function, authorized by the operator-key authorizer)
EXPECTED_ROUTES = [
    ("GET", "/health", "WalletFunction", False),
    ("POST", "/v1/wallets", "WalletFunction", True),
    ("GET", "/v1/wallets/{playerId}", "WalletFunction", True),
    ("POST", "/v1/wallets/{playerId}/lock", "WalletFunction", True),
    ("POST", "/v1/wallets/{playerId}/unlock", "WalletFunction", True),
    ("POST", "/v1/wallets/{playerId}/transactions", "TransactionsFunction", True),
    ("GET", "/v1/wallets/{playerId}/transactions", "TransactionsFunction", True),
    ("GET", "/v1/wallets/{playerId}/transactions/{transactionId}", "TransactionsFunction", True),
    ("POST", "/v1/sessions", "AuthFunction", True),
    ("DELETE", "/v1/sessions/{sid}", "AuthFunction", True),
    ("POST", "/onewallet/check", "AuthFunction", False),
    ("POST", "/onewallet/sid", "AuthFunction", False),
    ("POST", "/onewallet/balance", "WalletFunction", False),
    ("POST", "/onewallet/debit", "WalletFunction", False),
    ("POST", "/onewallet/credit", "WalletFunction", False),
    ("POST", "/onewallet/cancel", "WalletFunction", False),
    ("POST", "/onewallet/promo_payout", "WalletFunction", False),
]

EXPECTED_FUNCTIONS = {
    "AuthorizerFunction": "functions/authorizer",
    "AuthFunction": "functions/auth",
    "WalletFunction": "functions/wallet",
    "TransactionsFunction": "functions/transactions",
}

# Every DynamoDB action each function may have (on the table or its indexes), and nothing else.
EXPECTED_DYNAMODB_ACTIONS = {
    "AuthorizerFunction": {"dynamodb:Query", "dynamodb:GetItem"},
    "AuthFunction": {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:Query",
    },
    "WalletFunction": {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:Query",
    },
    "TransactionsFunction": {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:Query",
    },
}


@pytest.fixture(scope="module")
def template_dict() -> dict:
    return tpl.load_template()


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
    assert glob["Environment"]["Variables"] == {
        "KASSA_TABLE": {"Ref": "LedgerTable"},
        "POWERTOOLS_SERVICE_NAME": "kassa",
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
    assert layer["Metadata"]["BuildMethod"] == "python3.12"
    assert (REPO_ROOT / "layers/core").is_dir()


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
    assert attributes == {"pk": "S", "sk": "S", "entryVersion": "N", "credentialHash": "S"}
    (lsi,) = props["LocalSecondaryIndexes"]
    assert lsi["IndexName"] == "EntriesByVersion"
    assert lsi["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "entryVersion", "KeyType": "RANGE"},
    ]
    assert lsi["Projection"] == {"ProjectionType": "ALL"}
    (gsi,) = props["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "ByCredential"
    assert gsi["KeySchema"] == [{"AttributeName": "credentialHash", "KeyType": "HASH"}]
    assert gsi["Projection"] == {"ProjectionType": "ALL"}
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
    assert {"ApiUrl", "TableName"} <= set(template_dict["Outputs"])


def test_functions_and_code_dirs(template_dict):
    specs = tpl.functions(template_dict)
    assert set(specs) == set(EXPECTED_FUNCTIONS)
    for function_id, code_dir in EXPECTED_FUNCTIONS.items():
        spec = specs[function_id]
        assert spec.code_dir == (REPO_ROOT / code_dir).resolve()
        assert spec.code_dir.is_dir(), f"{function_id}: CodeUri {code_dir} does not exist"
        assert spec.handler == "app.lambda_handler"
        assert spec.environment["KASSA_TABLE"] == {"Ref": "LedgerTable"}
        assert spec.environment["POWERTOOLS_SERVICE_NAME"] == "kassa"
        assert spec.timeout == 10
        assert spec.memory_size == 512


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
    for function_id, resource in _resources(template_dict, "AWS::Serverless::Function").items():
        actions: set[str] = set()
        for policy in resource["Properties"].get("Policies", []):
            assert isinstance(policy, dict), f"{function_id}: use inline statements, not {policy!r}"
            for statement in policy["Statement"]:
                statement_actions = _as_list(statement["Action"])
                dynamodb = [a for a in statement_actions if a.lower().startswith("dynamodb:")]
                if not dynamodb:
                    continue
                assert statement["Effect"] == "Allow"
                assert not any("*" in action for action in dynamodb), f"{function_id}: wildcard action {dynamodb}"
                for res in _as_list(statement["Resource"]):
                    assert res != "*", f"{function_id}: DynamoDB statement on Resource '*'"
                    text = str(res)
                    assert "LedgerTable" in text, f"{function_id}: DynamoDB statement on {res!r}"
                    if "/index/" not in text:
                        assert res == {"Fn::GetAtt": ["LedgerTable", "Arn"]}
                actions.update(dynamodb)
        assert actions == EXPECTED_DYNAMODB_ACTIONS[function_id], function_id


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
    assert [i["IndexName"] for i in kwargs["GlobalSecondaryIndexes"]] == ["ByCredential"]
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
    assert [i["IndexName"] for i in described["GlobalSecondaryIndexes"]] == ["ByCredential"]
    assert described["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}
