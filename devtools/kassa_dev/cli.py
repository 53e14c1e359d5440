"""``kassa``: the local stack, one-off invocations, and operator administration.

    kassa serve [--port N] [--dynamodb-port N] [--workers N] [--data-dir DIR]
                                                 embedded DynamoDB + the HTTP API on 127.0.0.1:3000
    kassa invoke FUNCTION -e events/x.json       run one handler on one event, like `sam local invoke`
    kassa operators create OPERATOR_ID [--scopes ...] [--json]
    kassa operators rotate-token OPERATOR_ID [--json]
    kassa keys create OPERATOR_ID [--name N] [--scopes ... | --role R] [--expires-at T] [--json]
    kassa keys list OPERATOR_ID [--json] | kassa keys revoke OPERATOR_ID KEY_ID [--json]
    kassa reconcile audit OPERATOR_ID | kassa reconcile report OPERATOR_ID S3_KEY
    kassa operators settings OPERATOR_ID [--promo-balance ...] [--stale-bet-hours N] [--refund-stale-bets yes|no]
    kassa anomalies OPERATOR_ID [--since T] [--until T] [--rule R] [--severity S] [--player P] [--json]

Every command but ``serve`` works against whatever the environment names (``kassa_dev.aws_target``; ``invoke``
without an endpoint: a throwaway stack of its own): the local stack an endpoint points at
(AWS_ENDPOINT_URL_DYNAMODB and KASSA_TABLE: the export line ``kassa serve`` prints), never AWS then; or, with
no endpoint, the AWS account of the credentials, where a command that writes first says which account,
region and table and asks (``--yes`` answers for a script). A failure is one line (``kassa_dev.cli_errors``).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import faulthandler
import json
import os
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kassa_dev import aws_target
from kassa_dev.cli_errors import CommandFailed, one_line

DEFAULT_PORT = 3000
# How long Ctrl-C waits for a trigger's delivery in progress before it stops the workers anyway.
STOP_GRACE_SECONDS = 5
USAGE = 2  # the exit code of a usage error, as argparse's own

# What a command does with the environment's table (see _table_access).
READS, WRITES = "reads", "writes"


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(words)
    return one_line(lambda: run(args, shlex.join(words)))


def run(args: argparse.Namespace, command_line: str) -> int:
    if args.command == "serve":
        return serve(args)
    _prepare_target(args, command_line)
    if args.command == "invoke":
        return invoke_once(args.function, args.event)
    if args.command == "reconcile":
        return reconcile_now(args.kind, args.operator_id, getattr(args, "s3_key", None))
    if args.command == "keys":
        return manage_keys(args)
    if args.command == "anomalies":
        return list_anomalies(args)
    return manage_operators(args)


def _prepare_target(args: argparse.Namespace, command_line: str) -> None:
    """Before a command that uses the environment's table: on a local stack, keep every service there; on
    an AWS account, say where a write goes and ask; either way, see that the table is there."""
    access = _table_access(args)
    if access is None:
        return
    endpoint = aws_target.local_endpoint()
    if endpoint is not None:
        aws_target.stay_local(endpoint)
    elif access == WRITES:
        aws_target.confirm_write(command_line, yes=getattr(args, "yes", False))
    aws_target.check_table()


def _table_access(args: argparse.Namespace) -> str | None:
    """What the command does with the environment's table: nothing (None: ``kassa serve``, ``kassa invoke``
    on a throwaway stack), READS or WRITES. Writing is the default, so a command not known to only read
    asks before it acts on an AWS account."""
    if args.command == "serve" or (args.command == "invoke" and not _invoke_uses_the_environment()):
        return None
    if args.command == "anomalies" or (args.command == "keys" and args.action == "list"):
        return READS
    if args.command == "operators" and args.action == "settings" and not _settings_change(args).as_dict():
        return READS
    return WRITES


def _parser() -> argparse.ArgumentParser:
    from kassa.anomaly.rules import Rule

    parser = argparse.ArgumentParser(prog="kassa", description="Kassa wallet and ledger: local tools")
    parser.add_argument("--version", action="version", version=f"kassa {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    # Every command that can write: --yes answers the question asked before writing to an AWS account.
    confirmed = argparse.ArgumentParser(add_help=False)
    confirmed.add_argument(
        "-y", "--yes", action="store_true", help="write to an AWS account without asking (needed without a terminal)"
    )

    _serve_command(commands)

    invoke = commands.add_parser("invoke", help="run one function's handler on one event", parents=[confirmed])
    invoke.add_argument(
        "function", type=_function, help="logical id (WalletFunction) or name (wallet)", metavar="FUNCTION"
    )
    invoke.add_argument("-e", "--event", required=True, type=_event, help="event JSON file")

    operators = commands.add_parser("operators", help="manage operators").add_subparsers(dest="action", required=True)
    _operator_command(
        operators, "create", "create an operator; prints its API key and One Wallet token once", confirmed, True
    )
    _operator_command(operators, "rotate-token", "replace the operator's One Wallet token", confirmed)
    settings = _operator_command(
        operators, "settings", "show the operator's settings, or change those named", confirmed
    )
    settings.add_argument("--promo-balance", choices=("cash", "bonus"), help="where One Wallet promo payouts go")
    settings.add_argument("--stale-bet-hours", type=int, help="the audit calls a bet stale after this many hours")
    settings.add_argument(
        "--refund-stale-bets", choices=("yes", "no"), help="whether the audit refunds the stale bets it finds"
    )

    keys = commands.add_parser("keys", help="manage an operator's API keys").add_subparsers(
        dest="action", required=True
    )
    create_key = _operator_command(
        keys, "create", "another API key for an operator; prints it once", confirmed, scopes=True
    )
    create_key.add_argument("--name", default="created from the CLI", help="what the key is for")
    create_key.add_argument("--expires-at", default=None, help="ISO 8601 instant after which it is refused")
    _operator_command(keys, "list", "the operator's API keys (never a secret)")
    _operator_command(
        keys,
        "revoke",
        "revoke an API key and every key created under it: refused from their next request on",
        confirmed,
    ).add_argument("key_id")

    reconcile = commands.add_parser("reconcile", help="run a reconciliation now").add_subparsers(
        dest="kind", required=True
    )
    audit = reconcile.add_parser("audit", help="full audit of an operator's wallets", parents=[confirmed])
    audit.add_argument("operator_id")
    report = reconcile.add_parser(
        "report", help="match a provider report (S3 key) against the ledger", parents=[confirmed]
    )
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
    return parser


def _serve_command(commands: Any) -> None:
    """``kassa serve``'s flags; each defaults to its environment variable (what ``make run`` passes)."""
    serve = commands.add_parser("serve", help="start the local stack (embedded DynamoDB + HTTP API)")
    # argparse converts a string default with the option's type: a bad variable is a usage error too.
    serve.add_argument(
        "--port",
        type=_port,
        default=os.environ.get("KASSA_PORT") or DEFAULT_PORT,
        help=f"the HTTP API's port (default: KASSA_PORT, else {DEFAULT_PORT}; 0: a free one)",
    )
    serve.add_argument(
        "--dynamodb-port",
        type=_port,
        default=os.environ.get("KASSA_DYNAMODB_PORT") or 0,
        help="the embedded DynamoDB's port (default: KASSA_DYNAMODB_PORT, else a free one)",
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        default=os.environ.get("KASSA_WORKERS") or None,
        help="worker processes serving requests (default: KASSA_WORKERS, else one per CPU core)",
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=os.environ.get("KASSA_DATA_DIR") or None,
        help="keep the tables and buckets here between runs: saved when it stops, restored when it starts "
        "(default: KASSA_DATA_DIR, else nothing is kept)",
    )


def _port(value: str) -> int:
    if not value.isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number")
    return int(value)


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number")
    return int(value)


def _function(name: str) -> str:
    """A function of template.yaml, by logical id or folder name; otherwise a usage error naming the choices."""
    from kassa_dev import template

    function_id = template.find_function(name)
    if function_id is None:
        known = ", ".join(sorted(template.functions()))
        raise argparse.ArgumentTypeError(f"no function {name!r} in template.yaml; choose one of {known}")
    return function_id


def _event(path: str) -> dict[str, Any]:
    """An event file's JSON; otherwise a usage error saying where the samples are."""
    event_path = Path(path)
    if not event_path.is_file():
        raise argparse.ArgumentTypeError(
            f"no event file {event_path} (the samples are in events/, listed in events/README.md)"
        )
    try:
        event: dict[str, Any] = json.loads(event_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise argparse.ArgumentTypeError(f"{event_path} is not a JSON event: {error}") from error
    return event


def _operator_command(
    commands: Any,
    name: str,
    help_text: str,
    confirmed: argparse.ArgumentParser | None = None,
    scopes: bool = False,
) -> argparse.ArgumentParser:
    """A subcommand acting on one operator: OPERATOR_ID, --json, --scopes where it makes a key, and --yes
    where it can write (``confirmed``)."""
    command: argparse.ArgumentParser = commands.add_parser(
        name, help=help_text, parents=[confirmed] if confirmed else []
    )
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
    """Against the environment's stack (the local one's buckets too: never a real S3 behind a local table)."""
    from kassa import audit_log
    from kassa.reconcile import runs
    from kassa.store.access_store import AccessStore

    if AccessStore().get_operator(operator_id) is None:
        raise CommandFailed(f"no operator {operator_id!r} in {aws_target.table_label()}")
    # The run's logs go to stderr, its result alone to stdout.
    with _logs_on_stderr():
        run = runs.run_now(operator_id, kind, s3_key, actor=audit_log.cli_actor())
    print(json.dumps(run, indent=2))
    return 0 if run and run["status"] == "completed" else 1


@contextlib.contextmanager
def _logs_on_stderr() -> Iterator[None]:
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


def serve(args: argparse.Namespace) -> int:
    """The local stack until Ctrl-C or SIGTERM. Everything started is stopped in the reverse order, also when
    a later step fails to start: the triggers before the workers they hand work to, the workers before the
    embedded DynamoDB they write to, which saves to the data dir last."""
    from kassa_dev import template
    from kassa_dev.gateway import LocalGateway
    from kassa_dev.http_server import make_server, serve_in_thread
    from kassa_dev.stack import LocalStack
    from kassa_dev.triggers import print_anomaly, run_forever, schedule_pumps
    from kassa_dev.workers import WorkerPool

    realism = _realism()
    with contextlib.ExitStack() as running:
        with _port_taken("the embedded DynamoDB", args.dynamodb_port, "--dynamodb-port or KASSA_DYNAMODB_PORT"):
            stack = running.enter_context(LocalStack(dynamodb_port=args.dynamodb_port, data_dir=args.data_dir))
        demo = stack.seed_demo_operator(
            api_key=os.environ.get("KASSA_DEMO_API_KEY") or None,
            onewallet_token=os.environ.get("KASSA_DEMO_ONEWALLET_TOKEN") or None,
        )
        pool = WorkerPool(args.workers).start()
        running.callback(pool.stop)
        # Listening only now: a request is answered from its first connection (a client waiting for the
        # port to answer, as the tests do, is not left hanging while the stack starts).
        with _port_taken("the HTTP API", args.port, "--port or KASSA_PORT"):
            server = make_server(LocalGateway(pool), port=args.port)
        running.callback(server.server_close)
        serve_in_thread(server)
        running.callback(server.shutdown)
        stopped = threading.Event()
        # As Lambda's event sources would: the table's stream, report uploads and the template's schedules.
        # The stream's reader also prints each anomaly the rules store, as it appears.
        pumps = [stack.stream_pump(pool.invoke, print_anomaly).pump_once, stack.reports_pump(pool.invoke).pump_once]
        triggers = run_forever(pumps + schedule_pumps(pool.invoke, template.schedules()), stopped)
        # A trigger still waiting on a worker is let go after a moment: stopping the workers ends its wait.
        running.callback(triggers.join, timeout=STOP_GRACE_SECONDS)
        running.callback(stopped.set)  # after Ctrl-C too: the triggers stop before the workers
        _print_banner(stack, demo, int(server.server_address[1]), pool.size, realism)
        _wait_for_a_stop(stopped)
    kept = f" Kept in {stack.data_dir.path}: {stack.saved.summary()}." if stack.data_dir and stack.saved else ""
    print(f"Kassa stopped.{kept}", flush=True)
    return 0


def _realism() -> Any:
    from kassa_dev import realistic

    try:
        return realistic.from_environment(os.environ.get("KASSA_REALISTIC_DYNAMODB"))
    except ValueError as error:
        raise CommandFailed(str(error), USAGE) from error


@contextlib.contextmanager
def _port_taken(what: str, port: int, choice: str) -> Iterator[None]:
    """A port already in use, said as such (and how to choose another) instead of a bind's traceback."""
    try:
        yield
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise CommandFailed(
            f"port {port} is in use: {what} cannot listen on it; choose another with {choice}"
        ) from error


def _print_banner(stack: Any, demo: Any, port: int, workers: int, realism: Any) -> None:
    base = f"http://127.0.0.1:{port}"
    served = f"embedded DynamoDB: {stack.dynamodb.endpoint_url}, table {stack.table}"
    print(f"Kassa is serving {base}  ({served}, {workers} worker{'' if workers == 1 else 's'})")
    # Shown unless the environment chose them (a restored demo operator keeps the secrets it was made with).
    if demo.api_key != os.environ.get("KASSA_DEMO_API_KEY"):
        print(f"  demo operator API key      : {demo.api_key}")
    if demo.onewallet_token != os.environ.get("KASSA_DEMO_ONEWALLET_TOKEN"):
        print(f"  demo One Wallet authToken  : {demo.onewallet_token}")
    print(
        f"  try: curl -s {base}/v1/wallets -H 'Authorization: Bearer {demo.api_key}' "
        '-H \'Content-Type: application/json\' -d \'{"playerId":"alice","currency":"EUR"}\''
    )
    print(f"  console: {base}/console   API docs (Swagger UI): {base}/docs")
    # One line for another shell: every kassa command (and the AWS CLI) then uses this stack, its
    # buckets and dummy credentials included, never an AWS account.
    exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in stack.shell_environment().items())
    print(f"  other shells (kassa, the AWS CLI): export {exports}")
    if stack.data_dir is not None:
        restored = f"restored {stack.restored.summary()}" if stack.restored else "nothing to restore"
        print(f"  data dir {stack.data_dir.path}: {restored}; saved again when Kassa stops")
    if realism.enabled:
        print(f"  realistic DynamoDB (KASSA_REALISTIC_DYNAMODB): {realism}")
    print("Ctrl-C stops everything.", flush=True)


def _wait_for_a_stop(stopped: threading.Event) -> None:
    """Until Ctrl-C or SIGTERM (``kill``, a process manager)."""
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    # `kill -USR1` prints where every thread is (a stop that hangs, a request that never answers).
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()


def invoke_once(function_id: str, event: dict[str, Any]) -> int:
    """Run one handler like `sam local invoke`: against the environment's DynamoDB, or a fresh embedded one.
    Like `sam local invoke`, the function's logs go to stderr, its result alone to stdout."""
    with _logs_on_stderr():
        result = _invoke(function_id, event)
    print(json.dumps(result, indent=2))
    return 0


def _invoke_uses_the_environment() -> bool:
    return bool(os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"))


def _invoke(function_id: str, event: dict[str, Any]) -> object:
    from kassa_dev.gateway import FunctionRunner

    if _invoke_uses_the_environment():
        return FunctionRunner().invoke(function_id, event)
    from kassa_dev.stack import LocalStack

    with LocalStack() as stack:
        stack.seed_demo_operator(
            os.environ.get("KASSA_DEMO_API_KEY") or None, os.environ.get("KASSA_DEMO_ONEWALLET_TOKEN") or None
        )
        return FunctionRunner().invoke(function_id, event)


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

    return _report(act(), args.json, shown_once="apiKey")


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

    return _report(act(), args.json, shown_once="onewalletToken")


def list_anomalies(args: argparse.Namespace) -> int:
    """The operator's anomalies in a window, newest first: a table, or JSON lines' worth as one array."""
    from kassa.api.windows import time_window
    from kassa.store.anomaly_store import AnomalyStore

    filters = {
        name: value
        for name, value in (("rule", args.rule), ("severity", args.severity), ("playerId", args.player))
        if value
    }
    found: list[dict[str, Any]] = []
    cursor = None
    window = time_window(args.operator_id, args.since, args.until)
    while len(found) < args.limit:
        page, cursor = AnomalyStore().page(args.operator_id, window, filters, args.limit - len(found), cursor)
        found += page
        if not cursor:
            break
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


def _settings_change(args: argparse.Namespace) -> Any:
    from kassa import operators

    return operators.SettingsChange(
        promo_balance=args.promo_balance,
        stale_bet_hours=args.stale_bet_hours,
        refund_stale_bets=None if args.refund_stale_bets is None else args.refund_stale_bets == "yes",
    )


def change_settings(args: argparse.Namespace) -> dict[str, object]:
    """The settings as they are, after the change the options name (none named: only shown)."""
    from kassa import operators
    from kassa.store.access_store import AccessStore

    change = _settings_change(args)
    if not change.as_dict():
        return operators.current_settings(AccessStore(), args.operator_id)
    return operators.change_settings(AccessStore(), args.operator_id, change)


def _report(result: dict[str, object], as_json: bool, shown_once: str) -> int:
    """Print an administrative act's result: JSON, or one line per field."""
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
