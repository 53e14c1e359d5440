"""Where a ``kassa`` command acts, and the care that takes: the local stack an endpoint names, or an AWS account.

- An endpoint that is not AWS's (``kassa serve``'s export line sets AWS_ENDPOINT_URL and
  AWS_ENDPOINT_URL_DYNAMODB to the embedded one): every service goes there (``stay_local``), so no command
  reaches AWS, whatever else the environment holds (a profile, real credentials).
- No endpoint: the command acts on an AWS account. Before one that writes, the CLI says which account,
  region and table, and asks (``confirm_write``); ``--yes`` answers for a script, and without a terminal
  to ask on, nothing is written without it.
- Either way the table is looked at first (``check_table``): a missing table, or one that is not Kassa's,
  is said in one line before the command starts.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kassa_dev.cli_errors import CommandFailed

# Where botocore sends a DynamoDB call, in the order it reads them: the service's own variable first.
DYNAMODB_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL")
AWS_DOMAINS = ("amazonaws.com", "amazonaws.com.cn", "api.aws")
# botocore ignores every endpoint variable when this is true: the local stack's endpoint would be ignored.
IGNORE_ENDPOINTS = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"


@dataclass(frozen=True)
class Endpoint:
    variable: str
    url: str


def local_endpoint() -> Endpoint | None:
    """The endpoint the environment sends DynamoDB calls to instead of AWS (the local stack's, a DynamoDB
    Local), or None when the table is in an AWS account."""
    for variable in DYNAMODB_ENDPOINT_VARIABLES:
        url = os.environ.get(variable)
        if url:
            return None if is_aws(url) else Endpoint(variable, url)
    return None


def is_aws(url: str) -> bool:
    """Whether ``url`` is one of AWS's own endpoints (by its domain)."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == domain or host.endswith(f".{domain}") for domain in AWS_DOMAINS)


def stay_local(endpoint: Endpoint) -> None:
    """Every service on the local stack's endpoint: S3, EventBridge and STS too where only DynamoDB's was
    named; the endpoint honoured even where AWS_IGNORE_CONFIGURED_ENDPOINT_URLS says to ignore it; the
    buckets and the event bus under the local names ``kassa serve`` gave them, unless the environment names
    them. A service sent to AWS explicitly next to a local table is refused, not guessed at."""
    from kassa_dev import template

    sent_to_aws = sorted(
        name for name, url in os.environ.items() if name.startswith("AWS_ENDPOINT_URL") and url and is_aws(url)
    )
    if sent_to_aws:
        raise CommandFailed(
            f"the table is on the local endpoint {endpoint.url} ({endpoint.variable}) but {', '.join(sent_to_aws)} "
            "points at AWS: unset it, or set both to AWS"
        )
    os.environ.pop(IGNORE_ENDPOINTS, None)
    os.environ.setdefault("AWS_ENDPOINT_URL", endpoint.url)
    named = {
        logical_id: resource.local_name
        for logical_id, resource in template.local_resources().items()
        if resource.resource_type != "AWS::SQS::Queue"  # a queue is known by its URL, not its name
    }
    for variable, value in template.local_environment(named).items():
        os.environ.setdefault(variable, value)
    _forget_clients()


def _forget_clients() -> None:
    """Kassa reads its settings and builds its clients once: after the environment changed, again."""
    from kassa.settings import settings
    from kassa.store.client import aws

    settings.cache_clear()
    aws.cache_clear()


def table_label() -> str:
    """``table kassa-ledger (KASSA_TABLE unset)``: the default table is named as such, since an unset
    variable is the usual reason it is the wrong one."""
    from kassa.settings import settings

    unset = "" if os.environ.get("KASSA_TABLE") else " (KASSA_TABLE unset)"
    return f"table {settings().table_name}{unset}"


def dynamodb_endpoint() -> str:
    """The URL Kassa's DynamoDB calls go to, and the variable that chose it, if one did."""
    from kassa.store.client import dynamodb

    url = str(dynamodb().meta.endpoint_url)
    return f"{url} ({named_by(url)})" if named_by(url) else url


def named_by(url: str) -> str | None:
    """The endpoint variable holding ``url`` (the service's own variable before the general one)."""
    variables = sorted((name for name in os.environ if name.startswith("AWS_ENDPOINT_URL")), reverse=True)
    return next((name for name in variables if os.environ[name].rstrip("/") == url.rstrip("/")), None)


def check_table() -> None:
    """The command's table is where the environment points, and has Kassa's key: said now, in one line,
    rather than as whatever the command's first read would raise (no region, no credentials, nobody at
    the endpoint, no table: ``cli_errors`` says those)."""
    from botocore.exceptions import ClientError

    from kassa.settings import settings
    from kassa.store.client import dynamodb
    from kassa_dev import template

    name = settings().table_name
    try:
        table = dynamodb().describe_table(TableName=name)["Table"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("AccessDeniedException", "AccessDenied"):
            return  # allowed to use the table without describing it: the command itself will tell
        raise
    try:
        expected = _key(template.table_create_kwargs(name)["KeySchema"])
    except OSError:
        return  # no template.yaml (an installed kassa run outside a checkout): nothing to compare with
    if _key(table["KeySchema"]) != expected:
        raise CommandFailed(
            f"{table_label()} at {dynamodb_endpoint()} is not Kassa's ledger table (its key is "
            f"{', '.join(_key(table['KeySchema']))}, Kassa's is {', '.join(expected)}): check KASSA_TABLE"
        )


def _key(schema: list[dict[str, Any]]) -> list[str]:
    """``pk (HASH)``, ``sk (RANGE)``: a key schema, partition key first, as a person reads it."""
    ordered = sorted(schema, key=lambda part: part["KeyType"] != "HASH")
    return [f"{part['AttributeName']} ({part['KeyType']})" for part in ordered]


# --- Writing to an AWS account


@dataclass(frozen=True)
class AwsTarget:
    account: str
    principal: str
    region: str
    table: str

    def __str__(self) -> str:
        return f"AWS account {self.account} ({self.principal}), region {self.region}, {self.table}"


def caller_identity() -> tuple[str, str]:
    """The account and the principal of the environment's credentials (STS GetCallerIdentity, which needs
    no permission). The one call a test replaces to fake an AWS account."""
    from kassa.store.client import aws

    answer = aws("sts").get_caller_identity()
    return str(answer["Account"]), str(answer["Arn"])


def aws_target() -> AwsTarget:
    from kassa.store.client import dynamodb

    region = str(dynamodb().meta.region_name)  # no region: NoRegionError here, before anything is sent
    account, principal = caller_identity()
    return AwsTarget(account, principal, region, table_label())


def confirm_write(command: str, *, yes: bool) -> None:
    """Say where ``command`` (``keys revoke acme k1``) is about to write, and go on only if the person at the
    terminal agrees, or ``--yes`` did beforehand. Raises CommandFailed otherwise: nothing is written then."""
    target = aws_target()
    if yes:
        print(f"kassa: `{command}` writes to {target} (--yes)", file=sys.stderr, flush=True)
        return
    if not sys.stdin.isatty():
        raise CommandFailed(f"`{command}` would write to {target}: no terminal to confirm on; pass --yes to go ahead")
    print(f"kassa: `{command}` writes to {target}.", file=sys.stderr)
    print("Go ahead? [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        print(file=sys.stderr)  # the refusal on a line of its own, not after the prompt
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise CommandFailed("nothing written")
