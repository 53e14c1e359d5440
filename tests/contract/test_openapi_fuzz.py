"""Property-based contract test (schemathesis): docs/openapi.json against the running native API.

Every request goes over real HTTP to the local stack as `kassa serve` runs it (the `base_url` fixture:
the threaded HTTP server, the local gateway with the authorizer, handlers in worker processes, the
embedded DynamoDB), and every request is generated from the document itself:

- with an operator key of its own, each operation gets schema-valid and schema-violating requests (the
  coverage phase's boundary values and missing parameters, then random ones); each response must not
  be a server error, must have a documented status code, content type and headers, and must match the
  documented schema; invalid requests must be refused with a 4xx and valid ones not refused (see
  RULE_BOUND); a credential the document requires must really be enforced (schemathesis re-sends a
  successful request without it and with a wrong one);
- without a credential, and with a key this stack never issued, each operation must be refused (401
  from the gateway, 403 from the authorizer), as documented;
- methods the document does not declare for a path must be answered as API Gateway does (404);
- stateful sequences follow the links schemathesis infers (open a wallet then read it, move money then
  read the transaction, open then end a session, start then read a reconciliation run).

Generation is seeded so that every run sends the same requests; set KASSA_FUZZ_SEED to explore others.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis import Case

from tests.conftest import new_id

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
SEED = int(os.environ.get("KASSA_FUZZ_SEED") or 20261126)
UNKNOWN_KEY = "kassa_key_never-issued-by-this-stack"

# Statuses that do not make a schema-valid request "rejected": 404 (generated ids rarely exist), 409.
ACCEPTED: list[str | int] = ["2xx", 401, 403, 404, 409, "5xx"]
# Operations whose schema-valid requests can still break rules a JSON schema does not state (a bet needs
# a betId, an adjustment is non-zero, a report's s3Key lies under the operator's prefix, a cursor is
# opaque, a locked wallet refuses bets, a key takes scopes or a role and expires in the future, an audit
# log's window is two instants with a time zone, in order; a threshold amount has at most 6 decimals): for them
# a 422 or 423 is no fault either.
RULE_BOUND = [
    "POST /v1/keys",
    "GET /v1/keys",
    "GET /v1/audit-log",
    "GET /v1/anomalies",
    "PUT /v1/settings/anomaly-rules",
    "POST /v1/wallets/{playerId}/transactions",
    "GET /v1/wallets/{playerId}/transactions",
    "GET /v1/reconciliations/{runId}",
    "POST /v1/reconciliations",
    "GET /v1/wallets",
    "GET /v1/reconciliations",
    "GET /v1/findings",
]


def _config(**overrides: Any) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            # The credential is the test's own (never generated, never dropped): requests without a
            # valid one have their own tests below.
            "generation": {"mode": "all", "max-examples": 12, "with-security-parameters": False},
            # Undeclared methods have their own test below.
            "phases": {"coverage": {"unexpected-methods": []}, "stateful": {"enabled": False}},
            # Every built-in check (object_level_authorization and the stateful-only checks act only where
            # they have what they need: a second identity, a sequence of calls).
            "checks": {"enabled": True, "positive_data_acceptance": {"expected-statuses": ACCEPTED}},
            "operations": [
                {
                    "include-name": label,
                    "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 422, 423]}},
                }
                for label in RULE_BOUND
            ],
            **overrides,
        }
    )


# Loaded at import: schemathesis makes one test per documented operation when pytest collects.
native_api = schemathesis.openapi.from_path(DOCUMENT, config=_config())

# Without a valid credential: a few schema-valid requests (the gateway refuses before any validation).
refused_api = schemathesis.openapi.from_path(
    DOCUMENT,
    config=_config(
        generation={"mode": "positive", "max-examples": 3, "with-security-parameters": False},
        phases={"examples": {"enabled": False}, "coverage": {"enabled": False}, "stateful": {"enabled": False}},
        checks={
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
        },
    ),
)

# The coverage phase, for its probes with methods the document does not declare for a path.
undeclared_api = schemathesis.openapi.from_path(
    DOCUMENT,
    config=_config(
        generation={"mode": "negative", "with-security-parameters": False},
        phases={"examples": {"enabled": False}, "fuzzing": {"enabled": False}, "stateful": {"enabled": False}},
        checks={"enabled": False, "not_a_server_error": {"enabled": True}},
    ),
)


@pytest.fixture(scope="module")
def operator_key(stack: Any) -> str:
    """An operator of the fuzz's own (every scope): sequences may revoke its key, as a key may revoke
    itself (schemathesis links GET /v1/keys to DELETE /v1/keys/{keyId}), and no other test must care."""
    from kassa import operators
    from kassa.store.access_store import AccessStore

    return operators.create_operator(AccessStore(), new_id("fuzz")).api_key


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _documented_as_needing_a_credential(case: Case) -> bool:
    return case.operation.definition.raw.get("security", native_api.raw_schema.get("security")) != []


@native_api.parametrize()
def test_operation_conforms_with_the_operator_key(
    case: Case, base_url: str, operator_key: str, http: requests.Session
) -> None:
    case.call_and_validate(base_url=base_url, session=http, headers=_bearer(operator_key))


@refused_api.parametrize()
def test_operation_without_a_credential_is_refused_as_documented(
    case: Case, base_url: str, http: requests.Session
) -> None:
    response = case.call_and_validate(base_url=base_url, session=http)
    if _documented_as_needing_a_credential(case):
        assert response.status_code == 401, f"{case.method} {case.formatted_path} without a credential: {response.text}"


@refused_api.parametrize()
def test_operation_with_an_unknown_key_is_refused_as_documented(
    case: Case, base_url: str, http: requests.Session
) -> None:
    response = case.call_and_validate(base_url=base_url, session=http, headers=_bearer(UNKNOWN_KEY))
    if _documented_as_needing_a_credential(case):
        assert response.status_code == 403, f"{case.method} {case.formatted_path} with an unknown key: {response.text}"


@undeclared_api.parametrize()
def test_undeclared_methods_are_not_found(case: Case, base_url: str, operator_key: str, http: requests.Session) -> None:
    """API Gateway answers a method it has no route for with 404 (before any authorizer), never a 5xx."""
    if case.method.lower() in undeclared_api.raw_schema["paths"][case.path]:
        return  # the coverage phase's other probes: the first test sends those
    response = case.call_and_validate(base_url=base_url, session=http, headers=_bearer(operator_key))
    assert response.status_code == 404, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"


def test_stateful_sequences_conform(base_url: str, operator_key: str) -> None:
    schema = schemathesis.openapi.from_path(
        DOCUMENT,
        config=_config(
            **{
                "base-url": base_url,
                "auth": {"openapi": {"operatorKey": {"bearer": operator_key}}},
                "phases": {"stateful": {"enabled": True}},
            }
        ),
    )
    schema.as_state_machine().run(
        settings=hypothesis.settings(
            max_examples=10,
            stateful_step_count=6,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
