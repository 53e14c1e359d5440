"""``kassa``: the local stack, one-off invocations, and operator administration.

    kassa serve                                  embedded DynamoDB + the HTTP API on 127.0.0.1:3000
    kassa invoke FUNCTION -e events/x.json       run one handler on one event, like `sam local invoke`
    kassa operators create OPERATOR_ID [--scopes ...] [--json]
    kassa operators rotate-token OPERATOR_ID [--json]
    kassa keys create OPERATOR_ID [--name N] [--scopes ... | --role R] [--expires-at T] [--json]
    kassa keys list OPERATOR_ID [--json] | kassa keys revoke OPERATOR_ID KEY_ID [--json]
    kassa reconcile audit OPERATOR_ID | kassa reconcile report OPERATOR_ID S3_KEY
    kassa operators settings OPERATOR_ID [--promo-balance ...] [--stale-bet-hours N] [--refund-stale-bets yes|no]
    kassa anomalies OPERATOR_ID [--since T] [--until T] [--rule R] [--severity S] [--player P] [--json]

``operators`` and ``keys`` work against whatever DynamoDB the environment names (AWS_ENDPOINT_URL_DYNAMODB and
KASSA_TABLE locally; in AWS, the credentials' IAM permissions decide).
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import json
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_PORT = 3000
# How long Ctrl-C waits for a trigger's delivery in progress before it stops the workers anyway.
STOP_GRACE_SECONDS = 5


def main(argv: list[str] | None = None) -> int:
    from kassa.anomaly.rules import Rule

    parser = argparse.ArgumentParser(prog="kassa", description="Kassa wallet and ledger: local tools")
    parser.add_argument("--version", action="version", version=f"kassa {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("serve", help="start the local stack (embedded DynamoDB + HTTP API)")

    invoke = commands.add_parser("invoke", help="run one function's handler on one event")
    invoke.add_argument("function", help="logical id (WalletFunction) or name (wallet)")
    invoke.add_argument("-e", "--event", required=True, type=Path, help="event JSON file")

    operators = commands.add_parser("operators", help="manage operators").add_subparsers(dest="action", required=True)
    _operator_command(operators, "create", "create an operator; prints its API key and One Wallet token once", True)
    _operator_command(operators, "rotate-token", "replace the operator's One Wallet token")
    settings = _operator_command(operators, "settings", "show the operator's settings, or change those named")
    settings.add_argument("--promo-balance", choices=("cash", "bonus"), help="where One Wallet promo payouts go")
    settings.add_argument("--stale-bet-hours", type=int, help="the audit calls a bet stale after this many hours")
    settings.add_argument(
        "--refund-stale-bets", choices=("yes", "no"), help="whether the audit refunds the stale bets it finds"
    )

    keys = commands.add_parser("keys", help="manage an operator's API keys").add_subparsers(
        dest="action", required=True
    )
    create_key = _operator_command(keys, "create", "another API key for an operator; prints it once", True)
    create_key.add_argument("--name", default="created from the CLI", help="what the key is for")
    create_key.add_argument("--expires-at", default=None, help="ISO 8601 instant after which it is refused")
    _operator_command(keys, "list", "the operator's API keys (never a secret)")
    _operator_command(
        keys, "revoke", "revoke an API key and every key created under it: refused from their next request on"
    ).add_argument("key_id")

    reconcile = commands.add_parser("reconcile", help="run a reconciliation now").add_subparsers(
        dest="kind", required=True
    )
    audit = reconcile.add_parser("audit", help="full audit of an operator's wallets")
    audit.add_argument("operator_id")
    report = reconcile.add_parser("report", help="match a provider report (S3 key) against the ledger")
    report.add_argument("operator_id")
    report.add_argument("s3_key", help="key in the provider reports bucket, under OPERATOR_ID/")

    anomalies = commands.add_parser("anomalies", help="an operator's anomalies, newest first, as a table")
    anomalies.add_argument("operator_id")
    anomalies.add_argument("--since", help="ISO 8601 instant with a time zone (default: the operator's creation)")
    anomalies.add_argument("--until", help="ISO 8601 instant with a time zone (default: now)")
    anomalies.add_argument("--rule", choices=[rule.value for rule in Rule])
    anomalies.add_argument("--severity", choices=("high", "medium"))
    anomalies.add_argument("--player", help="only this player's")
    anomalies.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    anomalies.add_argument("--json", action="store_true", help="print JSON")

    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve()
    if args.command == "invoke":
        return invoke_once(args.function, args.event)
    if args.command == "reconcile":
        return reconcile_now(args.kind, args.operator_id, getattr(args, "s3_key", None))
    if args.command == "keys":
        return manage_keys(args)
    if args.command == "anomalies":
        return list_anomalies(args)
    return manage_operators(args)


def _operator_command(commands: Any, name: str, help_text: str, scopes: bool = False) -> argparse.ArgumentParser:
    """A subcommand acting on one operator: OPERATOR_ID, --json, and --scopes where it makes a key."""
    command: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
    command.add_argument("operator_id")
    if scopes:
        given = command.add_mutually_exclusive_group()
        given.add_argument("--scopes", nargs="+", default=None, help="API key scopes (default: all)")
        given.add_argument("--role", default=None, help="a role instead: owner, finance, support, ...")
    command.add_argument("--json", action="store_true", help="print JSON")
    return command


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kassa")
    except PackageNotFoundError:
        return "(not installed)"


def reconcile_now(kind: str, operator_id: str, s3_key: str | None) -> int:
    """Against the configured stack (AWS_ENDPOINT_URL_DYNAMODB / KASSA_TABLE / buckets, or AWS)."""
    from kassa import audit_log, errors
    from kassa.reconcile import runs
    from kassa.store.access_store import AccessStore

    if os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        _use_the_served_stacks_resources()  # its buckets too: never a real S3 behind a local table
    try:
        if AccessStore().get_operator(operator_id) is None:
            print(f"kassa: no operator {operator_id!r} in table {_table()}", file=sys.stderr)
            return 1
        # The run's logs go to stderr, its result alone to stdout.
        with _logs_on_stderr():
            run = runs.run_now(operator_id, kind, s3_key, actor=audit_log.cli_actor())
    except errors.KassaError as error:
        print(f"kassa: {error.detail}", file=sys.stderr)
        return 2
    print(json.dumps(run, indent=2))
    return 0 if run and run["status"] == "completed" else 1


@contextlib.contextmanager
def _logs_on_stderr() -> Any:
    """Kassa's log lines and anything printed go to stderr meanwhile: the logger's handler holds the
    stream it was made with, which redirecting sys.stdout alone would not move."""
    import logging

    from kassa.observability import SERVICE

    handlers = [h for h in logging.getLogger(SERVICE).handlers if isinstance(h, logging.StreamHandler)]
    before = [handler.setStream(sys.stderr) for handler in handlers]
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        for handler, stream in zip(handlers, before, strict=True):
            if stream is not None:
                handler.setStream(stream)


def _table() -> str:
    from kassa.settings import settings

    return settings().table_name


def serve() -> int:
    from kassa_dev import realistic, template
    from kassa_dev.gateway import LocalGateway
    from kassa_dev.http_server import make_server, serve_in_thread
    from kassa_dev.stack import LocalStack
    from kassa_dev.triggers import print_anomaly, run_forever, schedule_pumps
    from kassa_dev.workers import WorkerPool

    port = int(os.environ.get("KASSA_PORT") or DEFAULT_PORT)
    realism = realistic.from_environment(os.environ.get("KASSA_REALISTIC_DYNAMODB"))
    stack = LocalStack(dynamodb_port=int(os.environ.get("KASSA_DYNAMODB_PORT") or 0)).start()
    demo = stack.seed_demo_operator(
        api_key=os.environ.get("KASSA_DEMO_API_KEY") or None,
        onewallet_token=os.environ.get("KASSA_DEMO_ONEWALLET_TOKEN") or None,
    )
    pool = WorkerPool().start()
    server = make_server(LocalGateway(pool), port=port)
    serve_in_thread(server)
    stopped = threading.Event()
    # As Lambda's event sources would: the table's stream, report uploads and the template's schedules.
    # The stream's reader also prints each anomaly the rules store, as it appears.
    pumps = [stack.stream_pump(pool.invoke, print_anomaly).pump_once, stack.reports_pump(pool.invoke).pump_once]
    triggers = run_forever(pumps + schedule_pumps(pool.invoke, template.schedules()), stopped)
    base = f"http://127.0.0.1:{port}"
    print(f"Kassa is serving {base}  (embedded DynamoDB: {stack.dynamodb.endpoint_url}, table {stack.table})")
    if not os.environ.get("KASSA_DEMO_API_KEY"):
        print(f"  demo operator API key      : {demo.api_key}")
    if not os.environ.get("KASSA_DEMO_ONEWALLET_TOKEN"):
        print(f"  demo One Wallet authToken  : {demo.onewallet_token}")
    print(
        f"  try: curl -s {base}/v1/wallets -H 'Authorization: Bearer {demo.api_key}' "
        '-H \'Content-Type: application/json\' -d \'{"playerId":"alice","currency":"EUR"}\''
    )
    # One line for another shell: every kassa command (and the AWS CLI) then uses this stack, its
    # buckets and dummy credentials included, never an AWS account.
    exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in stack.shell_environment().items())
    print(f"  other shells (kassa, the AWS CLI): export {exports}")
    if realism.enabled:
        print(f"  realistic DynamoDB (KASSA_REALISTIC_DYNAMODB): {realism}")
    print("Ctrl-C stops everything.", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    # `kill -USR1` prints where every thread is (a stop that hangs, a request that never answers).
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    stopped.set()  # after Ctrl-C too: the triggers stop before the workers they hand work to
    # A trigger still waiting on a worker is let go after a moment: stopping the workers ends its wait.
    triggers.join(timeout=STOP_GRACE_SECONDS)
    server.shutdown()
    pool.stop()
    stack.stop()
    print("Kassa stopped.", flush=True)
    return 0


def invoke_once(function: str, event_path: Path) -> int:
    """Run one handler like `sam local invoke`: against the configured DynamoDB, or a fresh embedded one."""
    from kassa_dev import template

    function_id = template.find_function(function)
    if function_id is None:
        known = ", ".join(sorted(template.functions()))
        print(f"kassa: no function {function!r} in template.yaml; choose one of {known}", file=sys.stderr)
        return 2
    if not event_path.is_file():
        print(
            f"kassa: no event file {event_path} (the samples are in events/, listed in events/README.md)",
            file=sys.stderr,
        )
        return 2
    try:
        event = json.loads(event_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        print(f"kassa: {event_path} is not a JSON event: {error}", file=sys.stderr)
        return 2
    # Like `sam local invoke`: the function's logs go to stderr, its result alone to stdout.
    with _logs_on_stderr():
        result = _invoke(function_id, event)
    print(json.dumps(result, indent=2))
    return 0


def _invoke(function_id: str, event: dict[str, object]) -> object:
    from kassa_dev.gateway import FunctionRunner

    stack = None
    if os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        _use_the_served_stacks_resources()
    else:
        from kassa_dev.stack import LocalStack

        stack = LocalStack().start()
        stack.seed_demo_operator(
            os.environ.get("KASSA_DEMO_API_KEY") or None, os.environ.get("KASSA_DEMO_ONEWALLET_TOKEN") or None
        )
    try:
        return FunctionRunner().invoke(function_id, event)
    finally:
        if stack is not None:
            stack.stop()


def _use_the_served_stacks_resources() -> None:
    """`kassa serve` serves every service on its DynamoDB endpoint and names the template's buckets and
    event bus with local names: an invocation against it uses the same, unless the environment says
    otherwise."""
    from kassa_dev import template

    os.environ.setdefault("AWS_ENDPOINT_URL", os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    named = {
        logical_id: resource.local_name
        for logical_id, resource in template.local_resources().items()
        if resource.resource_type != "AWS::SQS::Queue"  # a queue is known by its URL, not its name
    }
    for variable, value in template.local_environment(named).items():
        os.environ.setdefault(variable, value)


def manage_keys(args: argparse.Namespace) -> int:
    """The key routes' acts from a shell: the CLI stands above the hierarchy (it holds the table's
    credentials), and its acts are recorded with the operating-system user as the actor."""
    from kassa import apikeys, audit_log, auth, errors
    from kassa.store.access_store import AccessStore, api_key_from_item

    store, actor = AccessStore(), audit_log.cli_actor()

    def act() -> dict[str, object]:
        if store.get_operator(args.operator_id) is None:
            raise errors.InvalidRequest(f"no operator {args.operator_id}")
        if args.action == "create":
            scopes = args.scopes if args.scopes or args.role else auth.SCOPES
            created = apikeys.create_api_key(
                store,
                args.operator_id,
                args.name,
                scopes=scopes,
                role=args.role,
                expires_at=args.expires_at,
                actor=actor,
            )
            return {"operatorId": args.operator_id, **created.key.as_dict(), "apiKey": created.api_key}
        if args.action == "list":
            found = [api_key_from_item(item) for item in store.all_api_keys(args.operator_id)]
            return {"operatorId": args.operator_id, "keys": [key.as_dict() for key in found]}
        apikeys.revoke_api_key(store, args.operator_id, args.key_id, by=None, actor=actor)
        return {"operatorId": args.operator_id, "keyId": args.key_id, "revoked": True}

    return _report(act, args.json, shown_once="apiKey")


def manage_operators(args: argparse.Namespace) -> int:
    from kassa import auth, operators
    from kassa.store.access_store import AccessStore

    def act() -> dict[str, object]:
        if args.action == "create":
            created = operators.create_operator(
                AccessStore(), args.operator_id, tuple(args.scopes) if args.scopes else auth.SCOPES
            )
            return {
                "operatorId": created.operator_id,
                "apiKey": created.api_key,
                "keyId": created.key_id,
                "scopes": list(created.scopes),
                "onewalletToken": created.onewallet_token,
            }
        if args.action == "settings":
            return {"operatorId": args.operator_id, **change_settings(args)}
        token = operators.rotate_onewallet_token(AccessStore(), args.operator_id)
        return {"operatorId": args.operator_id, "onewalletToken": token}

    return _report(act, args.json, shown_once="onewalletToken")


def list_anomalies(args: argparse.Namespace) -> int:
    """The operator's anomalies in a window, newest first: a table, or JSON lines' worth as one array."""
    from kassa import errors
    from kassa.api.windows import time_window
    from kassa.store.anomaly_store import AnomalyStore

    filters = {
        name: value
        for name, value in (("rule", args.rule), ("severity", args.severity), ("playerId", args.player))
        if value
    }
    found: list[dict[str, Any]] = []
    cursor = None
    try:
        window = time_window(args.operator_id, args.since, args.until)
        while len(found) < args.limit:
            page, cursor = AnomalyStore().page(args.operator_id, window, filters, args.limit - len(found), cursor)
            found += page
            if not cursor:
                break
    except errors.KassaError as error:
        print(f"kassa: {error.detail}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    rows = [("AT", "RULE", "SEVERITY", "PLAYER", "TRANSACTIONS", "ANOMALY ID")]
    for item in found:
        ids = item["transactionIds"]
        shown = " ".join(ids[:3]) + (f" (+{len(ids) - 3})" if len(ids) > 3 else "")
        rows.append((item["at"], item["rule"], item["severity"], item["playerId"], shown or "-", item["anomalyId"]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print(f"{len(found)} anomal{'y' if len(found) == 1 else 'ies'}")
    return 0


def change_settings(args: argparse.Namespace) -> dict[str, object]:
    """The settings as they are, after the change the options name (none named: only shown)."""
    from kassa import operators
    from kassa.store.access_store import AccessStore

    change = operators.SettingsChange(
        promo_balance=args.promo_balance,
        stale_bet_hours=args.stale_bet_hours,
        refund_stale_bets=None if args.refund_stale_bets is None else args.refund_stale_bets == "yes",
    )
    if not change.as_dict():
        return operators.current_settings(AccessStore(), args.operator_id)
    return operators.change_settings(AccessStore(), args.operator_id, change)


def _report(act: Callable[[], dict[str, object]], as_json: bool, shown_once: str) -> int:
    """Run one administrative act; print its result (JSON or lines), or its error on stderr with exit 2."""
    from kassa import errors

    try:
        result = act()
    except errors.KassaError as error:
        print(f"kassa: {error.detail}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(result))
        return 0
    for name, value in result.items():
        print(f"{name}: {' '.join(map(str, value)) if isinstance(value, list) else value}")
    if shown_once in result:
        print("Store these secrets now: Kassa keeps only their hashes and cannot show them again.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
