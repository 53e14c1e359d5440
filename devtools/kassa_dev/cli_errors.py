"""How a ``kassa`` command fails: one line on stderr saying what is wrong, and an exit code, never a traceback.
One place for every command (``one_line`` wraps them all), so a new command fails the same way.

- exit 2: what was asked is not right: argparse's usage errors, and Kassa refusing the request (an
  operator that already exists, an unknown scope, a malformed instant).
- exit 1: it could not be done: the environment (no region, no credentials, nobody at the endpoint, no
  such table, or not Kassa's), DynamoDB refusing or staying busy, a data dir that cannot be used, a write
  to AWS not confirmed.

botocore's errors arrive bare (the CLI's own checks) or as the cause of a Kassa error (a store that gave
up): the chain of causes is searched for the one that explains the failure.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ProxyConnectionError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

# AWS answered, and refused the credentials themselves.
CREDENTIALS_REFUSED = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    }
)
LOCAL_HINT = "is `kassa serve` running? Paste the export line its banner prints"


class CommandFailed(Exception):
    """A failure whose message is already the line to print."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def one_line(command: Callable[[], int]) -> int:
    """Run ``command``; a failure it raises is printed as one line, and its exit code returned."""
    from kassa.errors import KassaError
    from kassa_dev.data_dir import DataDirError

    try:
        return command()
    except KeyboardInterrupt:
        print("kassa: interrupted", file=sys.stderr, flush=True)
        return 130  # as a shell reports a command stopped by Ctrl-C
    except (CommandFailed, DataDirError, KassaError, BotoCoreError, ClientError) as error:
        message, exit_code = explain(error)
        print(f"kassa: {message}", file=sys.stderr, flush=True)
        return exit_code


def explain(error: Exception) -> tuple[str, int]:
    """The line that says what is wrong, and the exit code."""
    from kassa import errors

    for cause in _causes(error):
        said = _environment(cause)
        if said is not None:
            return said, 1
    if isinstance(error, CommandFailed):
        return str(error), error.exit_code
    if isinstance(error, (errors.StoreRefused, errors.TemporarilyUnavailable)):
        return error.detail, 1
    if isinstance(error, errors.KassaError):
        return error.detail, 2
    if isinstance(error, ClientError):
        return _refusal(error), 1
    return " ".join(str(error).split()), 1  # a data dir's problem, or botocore's, as it says it


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _environment(error: BaseException) -> str | None:
    """What ``error`` says about the environment (region, credentials, endpoint, table), if anything."""
    if isinstance(error, NoRegionError):
        return (
            "no AWS region: set AWS_DEFAULT_REGION to the region of Kassa's stack "
            "(for the local stack, paste the export line `kassa serve` prints)"
        )
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return (
            "no AWS credentials (none in the environment, in ~/.aws, or from an instance role): set them, "
            "e.g. AWS_PROFILE (for the local stack, paste the export line `kassa serve` prints)"
        )
    if isinstance(error, ProfileNotFound):
        return f"{error}: check AWS_PROFILE"
    if isinstance(error, ProxyConnectionError):
        return f"cannot reach AWS through the proxy {error.kwargs.get('proxy_url')}: check HTTPS_PROXY"
    if isinstance(error, (BotoConnectionError, HTTPClientError)):
        return _unreachable(str(error.kwargs.get("endpoint_url") or "the endpoint"))
    if isinstance(error, ClientError):
        return _answered(error)
    return None


def _unreachable(url: str) -> str:
    from kassa_dev.aws_target import local_endpoint, named_by

    variable = named_by(url)
    where = f"{url} ({variable})" if variable else url
    if local_endpoint() is not None:
        return f"cannot reach {where}: {LOCAL_HINT}"
    return f"cannot reach {where}: check the network, and the region (AWS_DEFAULT_REGION)"


def _answered(error: ClientError) -> str | None:
    """AWS (or the local stack) answered: a missing table or bucket, refused credentials."""
    from kassa_dev.aws_target import dynamodb_endpoint, local_endpoint, table_label

    code = str(error.response.get("Error", {}).get("Code", ""))
    if code == "ResourceNotFoundException" and _dynamodb_operation(error.operation_name):
        if local_endpoint() is not None:
            return f"{table_label()} not found at {dynamodb_endpoint()}: {LOCAL_HINT} (it sets KASSA_TABLE)"
        return (
            f"{table_label()} not found at {dynamodb_endpoint()}: set KASSA_TABLE to the stack's TableName "
            "output, and AWS_DEFAULT_REGION to its region"
        )
    if code == "NoSuchBucket":
        bucket = error.response.get("Error", {}).get("BucketName", "")
        return f"bucket {bucket} not found: check KASSA_PROVIDER_REPORTS_BUCKET and KASSA_RESULTS_BUCKET"
    if code in CREDENTIALS_REFUSED:
        return f"AWS refused the credentials ({_refusal(error)}): check AWS_PROFILE or AWS_ACCESS_KEY_ID"
    return None


def _dynamodb_operation(operation: str) -> bool:
    import botocore.session

    return operation in botocore.session.get_session().get_service_model("dynamodb").operation_names


def _refusal(error: ClientError) -> str:
    said = error.response.get("Error", {})
    message = " ".join(str(said.get("Message", "")).split())
    return f"{error.operation_name}: {said.get('Code', 'refused')}" + (f": {message}" if message else "")
