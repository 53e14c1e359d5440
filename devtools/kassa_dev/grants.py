"""Every DynamoDB action a function performs must be granted to it by template.yaml.

The template's least-privilege policies are written by hand, and an API call added to the code without
its grant passes every local test (the embedded DynamoDB checks no IAM) and fails on AWS with
AccessDenied. This records, while tests run, which function made which DynamoDB call (``invoking`` is
set by ``kassa_dev.gateway.FunctionRunner``), translates each call into the IAM actions it needs, and
compares them with the function's statements in the template.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from typing import Any

from kassa_dev import template

# The function whose handler is running in this thread (None: a test or a tool calling directly).
invoking: contextvars.ContextVar[str | None] = contextvars.ContextVar("kassa_invoking", default=None)

# A transaction is authorised per action inside it, not as a whole.
_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


def needed(operation: str, params: dict[str, Any]) -> set[str]:
    """The IAM actions one DynamoDB API call needs."""
    if operation == "TransactWriteItems":
        return {f"dynamodb:{_TRANSACT[kind]}" for item in params.get("TransactItems", []) for kind in item}
    if operation == "TransactGetItems":
        return {"dynamodb:GetItem"}
    return {f"dynamodb:{operation}"}


class CallRecorder:
    """A botocore hook: (function, IAM action) for every call made while a function runs."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb.*", self._record, unique_id="kassa-grants")

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        function = invoking.get()
        if function is not None:
            self.seen.update((function, action) for action in needed(model.name, params))


def granted(template_dict: dict[str, Any] | None = None) -> dict[str, set[str]]:
    """The DynamoDB actions each function's inline policies allow."""
    found: dict[str, set[str]] = {}
    resources = (template_dict or template.load_template()).get("Resources", {})
    for function_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        actions: set[str] = set()
        for policy in resource.get("Properties", {}).get("Policies", []):
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                listed = statement.get("Action", [])
                actions.update(
                    a for a in ([listed] if isinstance(listed, str) else listed) if a.startswith("dynamodb:")
                )
        found[function_id] = actions
    return found


def missing(seen: Iterable[tuple[str, str]], grants: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(function, action) pairs performed but not granted."""
    return sorted((function, action) for function, action in seen if action not in grants.get(function, set()))
