"""Errors of the native API as ``application/problem+json`` (RFC 9457) with a stable ``code``."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from kassa import errors

PROBLEM_JSON = "application/problem+json"

STATUS: dict[type[errors.KassaError], int] = {
    errors.InvalidRequest: 422,
    errors.Forbidden: 403,
    errors.ScopeEscalation: 403,
    errors.WalletNotFound: 404,
    errors.TransactionNotFound: 404,
    errors.BetNotFound: 404,
    errors.AnomalyNotFound: 404,
    errors.SessionNotFound: 404,
    errors.RunNotFound: 404,
    errors.KeyNotFound: 404,
    errors.WalletExists: 409,
    errors.InsufficientFunds: 409,
    errors.BetAlreadySettled: 409,
    errors.BetAlreadyExists: 409,
    errors.IdempotencyConflict: 409,
    errors.WalletLocked: 423,
    errors.TemporarilyUnavailable: 503,
    errors.StoreRefused: 500,
}

TITLES = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    423: "Locked",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def status_of(error: errors.KassaError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def problem(status: int, code: str, detail: str, **extra: Any) -> Response[str]:
    body = {
        "type": f"urn:kassa:problem:{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    headers = {"Retry-After": "1"} if status == 503 else None
    return Response(status_code=status, content_type=PROBLEM_JSON, body=json.dumps(body), headers=headers)


def from_error(error: errors.KassaError) -> Response[str]:
    return problem(status_of(error), error.code, error.detail)
