"""The process's one Logger and Metrics, and the decorator every Lambda handler wears.

Tracer is built only inside Lambda with tracing on (local runs never trace; outside Lambda the X-Ray SDK
would build a sampler that polls X-Ray through a botocore client of its own), and then when the handler is
defined, at init: every invocation of a traced function needs it, and work done at init is off the request
path wherever an environment is started ahead of a request (provisioned concurrency, SnapStart), where the
first request would otherwise pay for it. It patches botocore only, the one library Kassa calls out through:
left to patch everything, it imports every library it knows how to trace that happens to be installed
(requests, sqlite3, httplib, ...), about 30 ms for nothing.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from kassa import deadline, startup

# Powertools warns on every invocation that emitted no business metric (a replay, a refused request);
# that is normal here, and the warning would only fill the logs.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

# The service name is the one dimension of every metric (the stack's name in AWS, see template.yaml); the
# alarms and the dashboard name that dimension, so it is set even where the environment leaves it out.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "kassa")
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Kassa"), service=SERVICE)

Handler = Callable[[dict[str, Any], Any], Any]

CORRELATION_HEADER = "x-correlation-id"

# What X-Ray records subsegments for: every call to AWS (DynamoDB, EventBridge, S3) goes through botocore.
TRACED_MODULES = ("botocore",)


def correlation_id(event: dict[str, Any]) -> str:
    """The caller's X-Correlation-Id when it sends one, else API Gateway's request id."""
    headers = event.get("headers") or {}
    given = headers.get(CORRELATION_HEADER) or headers.get("X-Correlation-Id")
    if isinstance(given, str) and 0 < len(given) <= 128 and given.isprintable():
        return given
    return request_id(event)


def trace_id() -> str:
    """The X-Ray trace id of this invocation (the Root of ``_X_AMZN_TRACE_ID``, which Lambda sets per
    invocation when tracing is on), or ""."""
    header = os.environ.get("_X_AMZN_TRACE_ID") or ""
    fields = dict(part.split("=", 1) for part in header.split(";") if "=" in part)
    return fields.get("Root", "")


def request_id(event: dict[str, Any]) -> str:
    """API Gateway's id of this request."""
    return str((event.get("requestContext") or {}).get("requestId") or "")


def lambda_handler(handler: Handler | None = None, *, traced_modules: tuple[str, ...] = TRACED_MODULES) -> Any:
    """Logger context with the correlation id, EMF metrics flushed per invocation, tracing in Lambda, the
    invocation's end recorded for retry budgets (``kassa.deadline``), and at the first invocation the end of
    init's pause of the garbage collector (``kassa.startup``).

    ``traced_modules``: the libraries X-Ray patches; a function that calls no AWS service passes none, as
    patching botocore would import it (about 100 ms of its cold start) only to trace nothing."""
    if handler is None:
        return functools.partial(lambda_handler, traced_modules=traced_modules)
    traced = _traced(handler, traced_modules)

    @functools.wraps(handler)
    def wrapper(event: dict[str, Any], context: Any) -> Any:
        stale = startup.init_done()  # the first invocation ends init: the collector runs again (kassa.startup)
        if stale:  # what ran is right, only slower to start: the layer was built from an old recording
            logger.warning(
                "dataclass methods compiled at init: the layer's table lacks them (make dataclass-code)",
                extra={"compiled": len(stale)},
            )
        logger.set_correlation_id(correlation_id(event))
        with deadline.invocation(context):
            return metrics.log_metrics(logger.inject_lambda_context(traced, log_event=False))(event, context)

    return wrapper


def _traced(handler: Handler, modules: tuple[str, ...]) -> Handler:
    tracer = _tracer(modules)
    return tracer.capture_lambda_handler(handler) if tracer is not None else handler


@functools.cache
def _tracer(modules: tuple[str, ...]) -> Any:
    """The process's Tracer in Lambda with tracing on, else None (and the X-Ray SDK never imported)."""
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or os.environ.get("POWERTOOLS_TRACE_DISABLED") == "true":
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(auto_patch=bool(modules), patch_modules=list(modules) or None)
