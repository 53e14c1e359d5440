"""The story the sample events in ``events/`` tell, run in order through the functions' handlers, and
the answers each step must get: shared by the events contract test (tests/contract/test_events.py, the
handlers in-process) and the artifact smoke test (tests/artifact, the handlers as ``sam build`` ships
them, in a Python 3.12 process of their own).

Credentials: the events carry the API key ``kassa_key_demo_sample_only`` (a sample value, not a
secret). ``run_story`` seeds an operator ``sample-events`` with exactly that key in the DynamoDB Kassa
points at (``kassa.operators.create_operator(AccessStore(), "sample-events",
api_key="kassa_key_demo_sample_only")``), so ``authorizer-allow.json`` is allowed and answers with the
same operator and scopes the native events carry. A freshly created operator also means ``player-1``
has no wallet yet, so the fixed events can run as one story, in ``SCENARIO`` order; a second run needs
a table of its own.

The One Wallet events (``*-onewallet-*.json``) are what a game provider sends to the open routes
``POST /onewallet/{method}?authToken=...`` (no Authorization header, no authorizer context: the adapter
checks the token). They carry the sample One Wallet token ``kassa_ow_demo_sample_only``, which the
same operator is given (``create_operator(..., onewallet_token="kassa_ow_demo_sample_only")``), so they
play on ``player-1``'s wallet after the native part of the story. One Wallet answers HTTP 200 whatever
happens, with ``status``, the request's ``uuid`` and, for balance and money methods, ``balance`` and
``bonus`` as JSON numbers: their bodies are read with ``json.loads(body, parse_float=Decimal)`` and the
balances compared exactly.

Session ids are random, so a fixed file cannot know one. Files that need a live session carry the
placeholder ``SID-FROM-SESSION-CREATE`` (``SID_PLACEHOLDER``): in a One Wallet body's ``"sid"``, and in
``auth-session-delete.json``'s ``pathParameters.sid``, ``rawPath`` and ``requestContext.http.path`` (its
``routeKey`` stays ``DELETE /v1/sessions/{sid}``). Before invoking such a step the story replaces the
placeholder, wherever it occurs in the event, with the ``sid`` an earlier step answered (``Step.sid_from``:
``auth-session-create.json`` or ``auth-onewallet-sid.json``) and recomputes ``content-length``; likewise
``RUN-FROM-AUDIT-START`` (``RUN_PLACEHOLDER``) with the run id ``reconciliation-audit-start.json``
answered. Run as they are, the placeholder is an unknown session (``check``, ``balance`` and ``debit``
answer ``INVALID_SID``, the delete 404). ``events/README.md`` tells the same to whoever runs them by hand.
"""

from __future__ import annotations

import calendar
import functools
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from kassa.domain.model import Entry
from kassa.money import from_units
from kassa.reconcile.report import GAME_ACTIONS
from kassa.store.reconcile_store import ReconcileStore
from kassa_dev.gateway import FunctionRunner, HttpResponse, lambda_result_to_http
from kassa_dev.sample_events import (
    EVENTS_DIR,
    PLAYER,
    SAMPLE_KEY_ID,
    SAMPLE_OPERATOR,
    load_event,
    seed_sample_operator,
)
from kassa_dev.stack import LocalStack
from kassa_dev.template import authorizer_function_id, http_routes, load_template

REPO_ROOT = Path(__file__).resolve().parents[1]
PROBLEM_JSON = "application/problem+json"
# Stands, in the fixed files, for a session id only known at run time (see the module docstring).
SID_PLACEHOLDER = "SID-FROM-SESSION-CREATE"
SESSION_CREATE = "auth-session-create.json"
ONEWALLET_SID = "auth-onewallet-sid.json"
# Stands for a reconciliation run id, only known once reconciliation-audit-start.json has answered.
RUN_PLACEHOLDER = "RUN-FROM-AUDIT-START"
AUDIT_START = "reconciliation-audit-start.json"
# Where reconciliation-provider-report.json says the provider dropped its report (the test uploads it).
PROVIDER_REPORT_KEY = f"{SAMPLE_OPERATOR}/reports/daily.jsonl"


# --------------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class Step:
    """One event file run once, and what its handler must answer.

    ``status`` is the HTTP status of the Lambda result, or None for the authorizer (whose simple
    response is not an HTTP result). ``fields`` maps a dotted path in the (JSON) body to its expected
    value; a ``Decimal`` compares by value, so "100.000000" equals Decimal("100"). In native bodies an
    amount is a decimal string; in One Wallet bodies it is a JSON number (read as ``Decimal``).
    ``sid_from`` names the earlier step whose answered ``sid`` replaces ``SID_PLACEHOLDER`` in the event;
    ``run_from`` the one whose answered ``runId`` replaces ``RUN_PLACEHOLDER``. ``prepare`` runs just
    before the event (what the world must hold for it, such as the provider's report in S3). The
    reconciliation function's stream, schedule and S3 events (no ``routeKey``) have ``status`` None
    too: their results are the function's own return values.
    """

    file: str
    status: int | None
    fields: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    check: Callable[[Any, dict[str, Any]], None] | None = None  # (body, outcomes so far)
    label: str = ""
    sid_from: str | None = None
    run_from: str | None = None
    prepare: Callable[[LocalStack], None] | None = None

    @property
    def key(self) -> str:
        return self.label or self.file

    @property
    def onewallet(self) -> bool:
        return is_onewallet(self.file)


def _transaction_ids_newest_first(body: Any, _: dict[str, Any]) -> None:
    assert [item["transactionId"] for item in body["items"]] == [
        "tx-adjustment-1",
        "tx-withdrawal-1",
        "tx-refund-1",
        "tx-bet-2",
        "tx-win-1",
        "tx-bet-1",
        "tx-deposit-1",
    ]
    assert [item["version"] for item in body["items"]] == sorted(
        (item["version"] for item in body["items"]), reverse=True
    )
    assert body["nextCursor"] is None


def _same_body_as_the_first_deposit(body: Any, outcomes: dict[str, Any]) -> None:
    assert body == outcomes["transactions-deposit.json"].json()


def _exactly_ok(body: Any, _: dict[str, Any]) -> None:
    assert body == {"status": "ok"}


def _a_key_shown_once(body: Any, _: dict[str, Any]) -> None:
    assert body["apiKey"].startswith("kassa_key_") and body["scopes"] == ["wallets:read", "wallets:lock", "audit:read"]


def _the_lock_is_on_record(body: Any, _: dict[str, Any]) -> None:
    (locked,) = body["items"]
    assert locked["action"] == "wallet_locked" and locked["target"] == {"playerId": PLAYER}, locked
    assert locked["actor"] == {"keyId": SAMPLE_KEY_ID, "name": "owner"}, locked
    assert locked["details"] == {"reason": "chargeback under review"}, locked


def _the_round_in_commit_order(body: Any, _: dict[str, Any]) -> None:
    steps = [(entry["transactionId"], entry["type"], entry["status"]) for entry in body["entries"]]
    assert steps[0] == ("ow-debit-1", "bet", "applied") and steps[-1][1:] == ("win", "applied"), steps
    assert {entry["protocol"] for entry in body["entries"]} == {"onewallet"}, body


def _problem(code: str) -> dict[str, Any]:
    return {"code": code}


def _answered_sid(outcomes: dict[str, Any], key: str) -> str:
    answer = outcomes[key]
    assert isinstance(answer, HttpResponse), f"{key} did not answer: {answer!r}"
    sid = answer.json()["sid"]
    assert isinstance(sid, str) and sid, answer.body
    return sid


def _a_new_session_of_an_hour(body: Any, _: dict[str, Any]) -> None:
    assert body["sid"].startswith("kassa_sid_") and len(body["sid"]) >= len("kassa_sid_") + 22, body  # >= 128 bits
    assert set(body) == {"sid", "playerId", "expiresAt"}, body
    expires = calendar.timegm(time.strptime(body["expiresAt"], "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(expires - (time.time() + 3600)) < 120, body["expiresAt"]


def _no_body(body: Any, _: dict[str, Any]) -> None:
    assert body is None, body


def _echoes_the_launch_sid(body: Any, outcomes: dict[str, Any]) -> None:
    assert body["sid"] == _answered_sid(outcomes, SESSION_CREATE)


def _echoes_the_new_sid(body: Any, outcomes: dict[str, Any]) -> None:
    assert body["sid"] == _answered_sid(outcomes, ONEWALLET_SID)


def _a_new_session_id(body: Any, outcomes: dict[str, Any]) -> None:
    assert body["sid"].startswith("kassa_sid_"), body
    assert body["sid"] != _answered_sid(outcomes, SESSION_CREATE)


def _answered_run(outcomes: dict[str, Any], key: str) -> str:
    answer = outcomes[key]
    assert isinstance(answer, HttpResponse), f"{key} did not answer: {answer!r}"
    run_id = answer.json()["runId"]
    assert isinstance(run_id, str) and re.fullmatch(r"[A-Za-z0-9-]{1,64}", run_id), answer.body
    return run_id


def _tells_nothing_about_a_wallet(body: Any, _: dict[str, Any]) -> None:
    assert "balance" not in body and "bonus" not in body, body


def _five_movements_after_the_native_story(body: Any, outcomes: dict[str, Any]) -> None:
    # debit, credit, debit, cancel, promo: the refused calls moved nothing.
    before = outcomes["wallet-get.json#final"]
    assert isinstance(before, HttpResponse), before
    assert body["version"] == before.json()["version"] + 5, (before.json(), body)


def _final_version(outcomes: dict[str, Any]) -> int:
    final = outcomes["wallet-get.json#after-onewallet"]
    assert isinstance(final, HttpResponse), final
    return int(final.json()["version"])


def _every_entry_checked(body: Any, outcomes: dict[str, Any]) -> None:
    assert body["version"] == body["entries"] == _final_version(outcomes), body


def _the_started_run(body: Any, outcomes: dict[str, Any]) -> None:
    assert body["runId"] == _answered_run(outcomes, AUDIT_START), body


def _a_page_loading_its_scripts(body: Any, _: dict[str, Any]) -> None:
    # The sample is the prod stage's: the page's files are under /prod, as the deployed API's URL is.
    assert body.startswith("<!doctype html>") and '<script type="module" src="/prod/console/app.js">' in body, body


def _a_script(body: Any, _: dict[str, Any]) -> None:
    assert "import" in body, body[:200]


def _only_the_sample_wallet(body: Any, _: dict[str, Any]) -> None:
    assert [wallet["playerId"] for wallet in body["items"]] == [PLAYER], body
    assert Decimal(body["items"][0]["balance"]) == Decimal("90"), body


def _the_tampered_entrys_finding(body: Any, _: dict[str, Any]) -> None:
    # Its amount was altered: the arithmetic no longer holds, nor does the hash.
    found = sorted((f["kind"], f["playerId"], f["transactionId"]) for f in body["items"])
    assert found == [("entry_arithmetic", PLAYER, "tx-deposit-1"), ("entry_hash", PLAYER, "tx-deposit-1")], body
    assert all(f["foundAt"] for f in body["items"]), body


def _the_runs_newest_first(body: Any, outcomes: dict[str, Any]) -> None:
    listed = [run["runId"] for run in body["items"]]
    assert listed == sorted(listed, reverse=True) and len(listed) == 2, body
    assert listed[1] == _answered_run(outcomes, AUDIT_START), body
    assert all(run["status"] == "completed" for run in body["items"]), body


def _a_new_run_id(body: Any, _: dict[str, Any]) -> None:
    assert set(body) == {"runId", "status"} and re.fullmatch(r"[A-Za-z0-9-]{1,64}", body["runId"]), body


def _one_completed_clean_run_per_operator(body: Any, _: dict[str, Any]) -> None:
    assert isinstance(body, list) and len(body) == len(ReconcileStore().operators()), body
    assert all(run["status"] == "completed" and run["type"] == "audit" for run in body), body
    # Other tests' operators may hold deliberately corrupted wallets; the sample operator's ledger is clean.
    assert all(run["error"] is None for run in body), body


def _game_entries() -> list[Entry]:
    _, applied, _, _ = ReconcileStore().partition(SAMPLE_OPERATOR, PLAYER)
    return [entry for entry in applied if entry.action in GAME_ACTIONS]


def _upload_the_providers_report(stack: LocalStack) -> None:
    """The provider's own record of every game round of the story (JSON lines), exactly as the ledger has it."""
    lines = [
        json.dumps(
            {
                "transactionId": entry.transaction_id,
                "action": entry.action.value,
                "userId": PLAYER,
                "amount": str(from_units(abs(entry.amount), 6)),
                "currency": "EUR",
                "time": entry.created_at,
            }
        )
        for entry in _game_entries()
    ]
    bucket = os.environ["KASSA_PROVIDER_REPORTS_BUCKET"]
    stack.client("s3").put_object(Bucket=bucket, Key=PROVIDER_REPORT_KEY, Body="\n".join(lines).encode())


def _every_round_matched(body: Any, _: dict[str, Any]) -> None:
    # bet-1, win-1, bet-2, refund-1; One Wallet: debit, credit, debit, cancel, promo payout
    assert len(_game_entries()) == 9
    assert isinstance(body, list) and len(body) == 1, body
    (run,) = body
    assert run["status"] == "completed" and run["type"] == "report", run
    assert run["s3Key"] == PROVIDER_REPORT_KEY and run["counts"] == {"matched": 9}, run


PROBLEM = {"content-type": PROBLEM_JSON}
CONSOLE_POLICY = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}
D = Decimal
OW_BALANCE_90 = {"balance": D("90"), "bonus": D(0)}


# The story the fixed events tell, in the order they run (balances after each step in comments).
def _image(name: str) -> dict[str, Any]:
    image: dict[str, Any] = load_event(name)["Records"][0]["dynamodb"]["NewImage"]
    return image


def _put(stack: LocalStack, *items: dict[str, Any]) -> None:
    """Into the table the story runs on (KASSA_TABLE: the artifact's story has a table of its own)."""
    from kassa.settings import settings

    for item in items:
        stack.client("dynamodb").put_item(TableName=settings().table_name, Item=item)


def _entry_like(image: dict[str, Any], transaction_id: str, **changes: Any) -> dict[str, Any]:
    """Another entry of the same wallet: the image with another transaction id and the given attributes."""
    action = image["action"]["S"]
    return {
        **image,
        "sk": {"S": f"TX#{transaction_id}#{action}"},
        "transactionId": {"S": transaction_id},
        **{name: value for name, value in changes.items()},
    }


def _earlier(at: str, seconds: int) -> str:
    from kassa.clock import iso, parse_instant

    return iso(parse_instant(at, "at") - timedelta(seconds=seconds))


def _predecessor(image: dict[str, Any]) -> dict[str, Any]:
    """The applied entry before the record's, with the hash the record names, so the verifier finds the
    sample record's chain intact (only the rule has something to say about it)."""
    version = {"N": str(int(image["version"]["N"]) - 1)}
    before = _entry_like(image, "before", version=version, entryVersion=version, hash=image["previousHash"])
    before["action"], before["sk"] = {"S": "deposit"}, {"S": "TX#before#deposit"}
    return before


def _a_bet_of_one(stack: LocalStack) -> None:
    win = _image("reconciliation-stream-anomaly-large-win.json")
    _put(stack, _predecessor(win))
    bet = {
        "pk": win["pk"],
        "sk": {"S": f"BET#{win['betId']['S']}"},
        "type": {"S": "bet"},
        "betId": win["betId"],
        "state": {"S": "settled"},
        "amount": {"N": "1000000"},
        "transactionId": {"S": "bet-1"},
        "createdAt": {"S": _earlier(win["createdAt"]["S"], 5)},
        "settledBy": win["transactionId"],
    }
    _put(stack, bet)


def _a_movement_120_versions_and_30_seconds_back(stack: LocalStack) -> None:
    image = _image("reconciliation-stream-anomaly-velocity.json")
    first = {"N": "1"}
    _put(
        stack,
        _entry_like(
            image,
            "deposit-1",
            version=first,
            entryVersion=first,
            createdAt={"S": _earlier(image["createdAt"]["S"], 30)},
        ),
        _predecessor(image),
    )


def _a_deposit_and_no_play(stack: LocalStack) -> None:
    image = _image("reconciliation-stream-anomaly-deposit-withdraw-no-play.json")
    _put(stack, {**_predecessor(image), "amount": {"N": "100000000"}})


def _twenty_refusals_in_a_minute(stack: LocalStack) -> None:
    image = _image("reconciliation-stream-anomaly-rejection-burst.json")
    at = image["createdAt"]["S"]
    earlier = [_entry_like(image, f"bet-{i}", createdAt={"S": _earlier(at, 20 - i)}) for i in range(1, 20)]
    _put(stack, *earlier, image)  # the record's own entry is in the table too, as it would be


def _the_last_entry_at_one(stack: LocalStack) -> None:
    """The wallet's last entry left it at 1: the image at -5 is then a balance mismatch as well."""
    wallet = _image("reconciliation-stream-anomaly-negative-balance.json")
    velocity = _image("reconciliation-stream-anomaly-velocity.json")  # any applied deposit, re-homed
    first = {"N": "1"}
    entry = _entry_like(velocity, "deposit-1", version=first, entryVersion=first, hash=wallet["lastHash"])
    entry.update(pk=wallet["pk"], playerId=wallet["playerId"], walletBalance={"N": "1000000"})
    _put(stack, entry)


def _one_anomaly_per_rule(body: Any, _: dict[str, Any]) -> None:
    found = {(item["rule"], item["playerId"]) for item in body["items"]}
    assert found == {
        ("large_win", "anomaly-large-win"),
        ("velocity", "anomaly-velocity"),
        ("deposit_withdraw_no_play", "anomaly-no-play"),
        ("rejection_burst", "anomaly-refusals"),
        ("negative_balance", "anomaly-negative"),
    }, body


SCENARIO: list[Step] = [
    Step("wallet-health.json", 200, check=_exactly_ok),
    # the back-office console: its page and its first script, open at the gateway, under a strict policy
    Step("console-page.json", 200, headers=CONSOLE_POLICY, check=_a_page_loading_its_scripts),
    Step("console-script.json", 200, headers=CONSOLE_POLICY, check=_a_script),
    Step("authorizer-allow.json", None, {"isAuthorized": True, "context.operatorId": SAMPLE_OPERATOR}),
    Step("authorizer-deny.json", None, {"isAuthorized": False}),
    Step(
        "wallet-create.json",
        201,
        {"playerId": PLAYER, "currency": "EUR", "balance": D(0), "bonus": D(0), "status": "active", "version": 0},
    ),
    # 100.00
    Step(
        "transactions-deposit.json",
        201,
        {
            "transaction.transactionId": "tx-deposit-1",
            "transaction.type": "deposit",
            "transaction.status": "applied",
            "transaction.amount": D("100"),
            "transaction.balanceBefore": D(0),
            "transaction.balanceAfter": D("100"),
            "transaction.version": 1,
            "transaction.currency": "EUR",
            # the event's X-Correlation-Id header is stored on the entry
            "transaction.correlationId": "backoffice-cashier-7f3a91",
            "wallet.playerId": PLAYER,
            "wallet.balance": D("100"),
            "wallet.version": 1,
        },
    ),
    Step(
        "wallet-get.json",
        200,
        {"playerId": PLAYER, "currency": "EUR", "balance": D("100"), "bonus": D(0), "status": "active", "version": 1},
    ),
    # 89.50
    Step(
        "transactions-bet.json",
        201,
        {
            "transaction.transactionId": "tx-bet-1",
            "transaction.type": "bet",
            "transaction.betId": "bet-1",
            "transaction.amount": D("10.50"),
            "transaction.balanceAfter": D("89.50"),
            "transaction.version": 2,
            "wallet.balance": D("89.50"),
        },
    ),
    # 114.50
    Step(
        "transactions-win.json",
        201,
        {
            "transaction.transactionId": "tx-win-1",
            "transaction.type": "win",
            "transaction.betId": "bet-1",
            "transaction.amount": D("25"),
            "transaction.balanceAfter": D("114.50"),
            "transaction.version": 3,
            "wallet.balance": D("114.50"),
        },
    ),
    # 109.50: a second bet, which the refund then cancels
    Step(
        "transactions-bet-refunded.json",
        201,
        {
            "transaction.transactionId": "tx-bet-2",
            "transaction.type": "bet",
            "transaction.betId": "bet-2",
            "transaction.amount": D("5"),
            "transaction.balanceAfter": D("109.50"),
            "transaction.version": 4,
        },
    ),
    # 114.50: the refund carries no amount; it gives back the stored bet amount
    Step(
        "transactions-refund.json",
        201,
        {
            "transaction.transactionId": "tx-refund-1",
            "transaction.type": "refund",
            "transaction.betId": "bet-2",
            "transaction.amount": D("5"),
            "transaction.balanceAfter": D("114.50"),
            "transaction.version": 5,
            "wallet.balance": D("114.50"),
        },
    ),
    # 94.50
    Step(
        "transactions-withdrawal.json",
        201,
        {
            "transaction.transactionId": "tx-withdrawal-1",
            "transaction.type": "withdrawal",
            "transaction.amount": D("20"),
            "transaction.balanceAfter": D("94.50"),
            "transaction.version": 6,
            "wallet.balance": D("94.50"),
        },
    ),
    # still 94.50: refused, nothing moves
    Step("transactions-insufficient-funds.json", 409, _problem("insufficient_funds"), PROBLEM),
    # 90.00: adjustments are signed and need a reason (and the admin scope)
    Step(
        "transactions-adjustment.json",
        201,
        {
            "transaction.transactionId": "tx-adjustment-1",
            "transaction.type": "adjustment",
            "transaction.amount": D("-4.50"),
            "transaction.reason": "goodwill correction, ticket 4711",
            "transaction.balanceBefore": D("94.50"),
            "transaction.balanceAfter": D("90"),
            "wallet.balance": D("90"),
        },
    ),
    Step("transactions-list.json", 200, check=_transaction_ids_newest_first),
    Step(
        "transactions-get.json",
        200,
        {
            "transactionId": "tx-deposit-1",
            "type": "deposit",
            "amount": D("100"),
            "balanceAfter": D("100"),
            "version": 1,
            "correlationId": "backoffice-cashier-7f3a91",
        },
    ),
    Step("wallet-lock.json", 200, {"playerId": PLAYER, "status": "locked", "balance": D("90")}),
    Step("transactions-bet-locked.json", 423, _problem("wallet_locked"), PROBLEM),
    Step("wallet-unlock.json", 200, {"playerId": PLAYER, "status": "active", "balance": D("90")}),
    Step("transactions-malformed-json.json", 400, _problem("invalid_request"), PROBLEM),
    # The same deposit event again: a replay answers 200 with the very body of the first answer.
    Step(
        "transactions-deposit.json",
        200,
        {"transaction.transactionId": "tx-deposit-1"},
        {"idempotent-replayed": "true"},
        check=_same_body_as_the_first_deposit,
        label="transactions-deposit.json#replay",
    ),
    Step("wallet-get.json", 200, {"balance": D("90"), "status": "active"}, label="wallet-get.json#final"),
    # the console's wallet search: the sample operator's wallets whose player id starts with "player"
    Step("wallet-list.json", 200, {"nextCursor": None}, check=_only_the_sample_wallet),
    # ---- player sessions (native, AuthFunction): the operator opens one at game launch
    Step(
        SESSION_CREATE,
        201,
        {"playerId": PLAYER},
        check=_a_new_session_of_an_hour,
    ),
    Step("auth-session-create-unknown-player.json", 404, _problem("wallet_not_found"), PROBLEM),
    # ---- API keys (native, AuthFunction): the owner delegates a support key under its own
    Step(
        "auth-key-create.json",
        201,
        {"name": "support desk", "role": "support", "parentKeyId": SAMPLE_KEY_ID},
        check=_a_key_shown_once,
    ),
    # ---- the audit trail (AuthFunction, scope audit:read): who locked the wallet, and why
    Step("auth-audit-log.json", 200, check=_the_lock_is_on_record),
    # ---- One Wallet (the provider's calls; open routes, HTTP 200 with a status). Balance 90.
    # Every body carrying SID-FROM-SESSION-CREATE gets the sid auth-session-create answered.
    Step(
        "auth-onewallet-check.json",
        200,
        {"status": "OK"},
        check=_echoes_the_launch_sid,
        sid_from=SESSION_CREATE,
    ),
    # a session id Kassa never issued; the user is known, so the balance comes along
    Step("auth-onewallet-check-invalid-sid.json", 200, {"status": "INVALID_SID", **OW_BALANCE_90}),
    Step("wallet-onewallet-balance.json", 200, {"status": "OK", **OW_BALANCE_90}, sid_from=SESSION_CREATE),
    Step(
        "wallet-onewallet-balance-bad-token.json",
        200,
        {"status": "INVALID_TOKEN_ID"},
        check=_tells_nothing_about_a_wallet,
        sid_from=SESSION_CREATE,
    ),
    Step(
        "wallet-onewallet-balance-wrong-currency.json",
        200,
        {"status": "INVALID_PARAMETER", **OW_BALANCE_90},
        sid_from=SESSION_CREATE,
    ),
    # 79.5: a bet (debit) of 10.5 on round ow-round-1
    Step(
        "wallet-onewallet-debit.json",
        200,
        {"status": "OK", "balance": D("79.5"), "bonus": D(0)},
        sid_from=SESSION_CREATE,
    ),
    # the provider's retry of that debit: already there, nothing moves (counts as success)
    Step(
        "wallet-onewallet-debit-duplicate.json",
        200,
        {"status": "BET_ALREADY_EXIST", "balance": D("79.5"), "bonus": D(0)},
        sid_from=SESSION_CREATE,
    ),
    Step(
        "wallet-onewallet-debit-insufficient-funds.json",
        200,
        {"status": "INSUFFICIENT_FUNDS", "balance": D("79.5"), "bonus": D(0)},
        sid_from=SESSION_CREATE,
    ),
    # the body is cut off: no uuid can be read (it is echoed as null), no user is known
    Step(
        "wallet-onewallet-debit-malformed.json",
        200,
        {"status": "INVALID_PARAMETER", "uuid": None},
        check=_tells_nothing_about_a_wallet,
        sid_from=SESSION_CREATE,
    ),
    # 104.5: the win (credit) of 25 settles ow-round-1
    Step(
        "wallet-onewallet-credit.json",
        200,
        {"status": "OK", "balance": D("104.5"), "bonus": D(0)},
        sid_from=SESSION_CREATE,
    ),
    Step(
        "wallet-onewallet-credit-unknown-bet.json",
        200,
        {"status": "BET_DOES_NOT_EXIST", "balance": D("104.5"), "bonus": D(0)},
        sid_from=SESSION_CREATE,
    ),
    # ---- the round view (TransactionsFunction): ow-round-1 from its debit to its win
    Step(
        "transactions-round-get.json",
        200,
        {"betId": "ow-round-1", "state": "settled", "stake": D("10.5"), "payout": D("25"), "net": D("14.5")},
        check=_the_round_in_commit_order,
    ),
    # 99.5: a second bet (ow-round-3), which the cancel then refunds
    Step(
        "wallet-onewallet-debit-cancelled.json",
        200,
        {"status": "OK", "balance": D("99.5"), "bonus": D(0)},
        sid_from=SESSION_CREATE,
    ),
    # 104.5: the cancel reuses the debit's own id and refId (a different action, not a duplicate)
    Step(
        "wallet-onewallet-cancel.json",
        200,
        {"status": "OK", "balance": D("104.5"), "bonus": D(0)},
        sid_from=SESSION_CREATE,
    ),
    # 106.845678: promo money goes to cash (the operator's default policy), exact to 6 decimals
    Step(
        "wallet-onewallet-promo-payout.json",
        200,
        {"status": "OK", "balance": D("106.845678"), "bonus": D(0)},
        sid_from=SESSION_CREATE,
    ),
    # ---- the operator ends the session; the provider can no longer use it
    Step("auth-session-delete.json", 204, check=_no_body, sid_from=SESSION_CREATE),
    Step("auth-session-delete-unknown.json", 404, _problem("session_not_found"), PROBLEM),
    Step(
        "wallet-onewallet-balance.json",
        200,
        {"status": "INVALID_SID", "balance": D("106.845678"), "bonus": D(0)},
        sid_from=SESSION_CREATE,
        label="wallet-onewallet-balance.json#ended-session",
    ),
    # ---- the provider asks One Wallet for a new session of the player, and plays on with it
    Step(ONEWALLET_SID, 200, {"status": "OK"}, check=_a_new_session_id),
    Step(
        "auth-onewallet-check.json",
        200,
        {"status": "OK"},
        check=_echoes_the_new_sid,
        sid_from=ONEWALLET_SID,
        label="auth-onewallet-check.json#new-sid",
    ),
    Step(
        "wallet-onewallet-balance.json",
        200,
        {"status": "OK", "balance": D("106.845678"), "bonus": D(0)},
        sid_from=ONEWALLET_SID,
        label="wallet-onewallet-balance.json#new-sid",
    ),
    # the native API sees the same wallet
    Step(
        "wallet-get.json",
        200,
        {"playerId": PLAYER, "balance": D("106.845678"), "bonus": D(0), "status": "active"},
        check=_five_movements_after_the_native_story,
        label="wallet-get.json#after-onewallet",
    ),
    # ---- reconciliation: the native routes (ReconciliationApiFunction), then the event triggers
    # (ReconciliationFunction)
    Step(
        "reconciliation-wallet-audit.json",
        200,
        {"playerId": PLAYER, "consistent": True, "findings": []},
        check=_every_entry_checked,
    ),
    Step(AUDIT_START, 202, {"status": "pending"}, check=_a_new_run_id),
    # the run waits for the table's stream to start it
    Step(
        "reconciliation-run-get.json",
        200,
        {"type": "audit", "status": "pending", "findings": [], "nextCursor": None},
        check=_the_started_run,
        run_from=AUDIT_START,
        label="reconciliation-run-get.json#pending",
    ),
    # the stream delivers the pending run's INSERT: the function executes the run
    Step(
        "reconciliation-stream-run-pending.json",
        None,
        {"batchItemFailures": []},
        run_from=AUDIT_START,
    ),
    Step(
        "reconciliation-run-get.json",
        200,
        {"type": "audit", "status": "completed", "counts": {}, "findings": [], "error": None},
        check=_the_started_run,
        run_from=AUDIT_START,
        label="reconciliation-run-get.json#completed",
    ),
    # a committed entry (the first deposit), verified and published as TransactionCommitted
    Step("reconciliation-stream-entry.json", None, {"batchItemFailures": []}),
    # the same entry with its amount altered: a finding and a LedgerDiscrepancy, not a failed record
    Step("reconciliation-stream-tampered-entry.json", None, {"batchItemFailures": []}),
    # the stream verifier's findings: the tampered entry's
    Step("reconciliation-findings-list.json", 200, check=_the_tampered_entrys_finding),
    # the hourly schedule's input: one audit run per operator
    Step("reconciliation-schedule.json", None, check=_one_completed_clean_run_per_operator),
    # the console's runs page: the hourly run first, then the audit asked for above
    Step("reconciliation-runs-list.json", 200, check=_the_runs_newest_first),
    # the provider's daily report lands in S3
    Step(
        "reconciliation-provider-report.json",
        None,
        check=_every_round_matched,
        prepare=_upload_the_providers_report,
    ),
    # ---- anomaly rules (the same stream consumer), one committed record tripping each; each step first
    # writes the ledger around its record that the rule reads (a wallet of its own, so nothing above
    # changes): the bet's stake, the movement 120 versions back, the deposit before the withdrawal, the
    # wallet's 19 other refusals of that minute
    Step("reconciliation-stream-anomaly-large-win.json", None, {"batchItemFailures": []}, prepare=_a_bet_of_one),
    Step(
        "reconciliation-stream-anomaly-velocity.json",
        None,
        {"batchItemFailures": []},
        prepare=_a_movement_120_versions_and_30_seconds_back,
    ),
    Step(
        "reconciliation-stream-anomaly-deposit-withdraw-no-play.json",
        None,
        {"batchItemFailures": []},
        prepare=_a_deposit_and_no_play,
    ),
    Step(
        "reconciliation-stream-anomaly-rejection-burst.json",
        None,
        {"batchItemFailures": []},
        prepare=_twenty_refusals_in_a_minute,
    ),
    Step(
        "reconciliation-stream-anomaly-negative-balance.json",
        None,
        {"batchItemFailures": []},
        prepare=_the_last_entry_at_one,
    ),
    Step("reconciliation-anomalies-list.json", 200, check=_one_anomaly_per_rule),
]


# --------------------------------------------------------------------------- helpers


def prefix_of(name: str) -> str:
    return name.split("-", 1)[0]


def is_onewallet(name: str) -> bool:
    return name.split("-")[1:2] == ["onewallet"]


def with_value(event: dict[str, Any], placeholder: str, value: str) -> dict[str, Any]:
    """The event with every ``placeholder`` replaced by ``value`` (body, path parameter, rawPath,
    requestContext.http.path, a stream record's images; never the routeKey, which names the route's
    parameter), and the body's ``content-length`` recomputed."""
    assert re.fullmatch(r"[A-Za-z0-9_-]+", value), value  # nothing that needs escaping in JSON or a path
    assert placeholder not in event.get("routeKey", "")
    replaced: dict[str, Any] = json.loads(json.dumps(event).replace(placeholder, value))
    if "body" in replaced:
        replaced["headers"]["content-length"] = str(len(replaced["body"].encode()))
    return replaced


def onewallet_request(event: dict[str, Any]) -> Any:
    """The body a One Wallet event carries, as the adapter reads it; None when it is not JSON."""
    try:
        return json.loads(event.get("body") or "", parse_float=Decimal)
    except ValueError:
        return None


def onewallet_method(event: dict[str, Any]) -> str:
    return str(event["routeKey"]).rsplit("/", 1)[-1]


def dig(body: Any, dotted: str) -> Any:
    value = body
    for part in dotted.split("."):
        assert isinstance(value, dict) and part in value, f"no {dotted!r} in {body!r}"
        value = value[part]
    return value


def event_files() -> list[str]:
    return sorted(path.name for path in EVENTS_DIR.iterdir() if path.is_file() and path.suffix == ".json")


def function_for(runner: FunctionRunner, name: str) -> str:
    """The function the file is named after (``<code directory>-<what>.json``), which answers it when it is
    handed the event directly (``kassa invoke``, ``sam local invoke``)."""
    return runner.resolve_id(prefix_of(name))


def routed_function_for(runner: FunctionRunner, name: str, event: dict[str, Any]) -> str:
    """The function a deployed stack hands the event to: for a route's event the one the template routes it
    to (the reconciliation routes' files are named for ReconciliationFunction, which still answers them, but
    the gateway sends them to ReconciliationApiFunction); for the authorizer's and the triggers' events the
    file's own."""
    named = function_for(runner, name)
    route_key = event.get("routeKey")
    authorizer, routed = _gateway_routing()
    if not route_key or named == authorizer:
        return named
    if route_key not in routed:
        raise KeyError(f"{name}: no route {route_key!r} in template.yaml")
    return routed[route_key]


@functools.cache
def _gateway_routing() -> tuple[str, dict[str, str]]:
    """The authorizer's function and each route's function, read from template.yaml once."""
    template = load_template()
    return authorizer_function_id(template), {route.route_key: route.function_id for route in http_routes(template)}


# --------------------------------------------------------------------------- running the story


def run_story(stack: LocalStack, runner: FunctionRunner) -> dict[str, Any]:
    """Seed the sample operator, then run the whole scenario once, in order, through ``runner`` (the
    handlers in this process, or a subclass that invokes them elsewhere).

    Each step's result (an ``HttpResponse``, the authorizer's dict, or the exception the invocation
    raised) is kept under the step's key, so that each file is reported by its own test (``check_answer``).
    """
    # Raises OperatorExists if the operator is already there: the story needs a fresh tenant.
    seed_sample_operator()
    results: dict[str, Any] = {}
    for step in SCENARIO:
        try:
            event = load_event(step.file)
            if step.sid_from is not None:
                event = with_value(event, SID_PLACEHOLDER, _answered_sid(results, step.sid_from))
            if step.run_from is not None:
                event = with_value(event, RUN_PLACEHOLDER, _answered_run(results, step.run_from))
            if step.prepare is not None:
                step.prepare(stack)
            result = runner.invoke(routed_function_for(runner, step.file, event), event)
            results[step.key] = result if step.status is None else lambda_result_to_http(result)
        except Exception as error:  # reported by the step's own test
            results[step.key] = error
    return results


def check_answer(step: Step, outcomes: dict[str, Any]) -> None:
    """The step's outcome is the answer the story documents (raises the invocation's exception if it failed)."""
    outcome = outcomes[step.key]
    if isinstance(outcome, Exception):
        raise outcome
    body: Any
    if step.status is None:  # the authorizer's simple response, or what an event trigger returns
        assert isinstance(outcome, dict | list), outcome
        body = outcome
    else:
        assert isinstance(outcome, HttpResponse)
        assert outcome.status == step.status, outcome.body
        if step.onewallet:
            assert outcome.headers.get("content-type") == "application/json", outcome.headers
        for name, value in step.headers.items():
            assert outcome.headers.get(name) == value, (name, outcome.headers)
        if step.onewallet:  # balances are JSON numbers: read them exactly
            body = json.loads(outcome.body, parse_float=Decimal)
            _check_onewallet_reply(step, body)
        else:
            json_body = "json" in outcome.headers.get("content-type", "")
            body = outcome.json() if outcome.body and json_body else outcome.body.decode() or None
    for path, expected in step.fields.items():
        actual = dig(body, path)
        if isinstance(expected, Decimal) and step.onewallet:
            assert type(actual) in (int, Decimal), f"{path}: One Wallet amounts are JSON numbers, got {actual!r}"
            assert Decimal(actual) == expected, f"{path}: {actual!r} != {expected}"
        elif isinstance(expected, Decimal):
            assert isinstance(actual, str), f"{path}: amounts are decimal strings, got {actual!r}"
            assert Decimal(actual) == expected, f"{path}: {actual!r} != {expected}"
        else:
            assert actual == expected, f"{path}: {actual!r} != {expected!r}"
    if step.check is not None:
        step.check(body, outcomes)


ONEWALLET_OK_KEYS = {
    "check": {"status", "sid", "uuid"},
    "sid": {"status", "sid", "uuid"},
    **{method: {"status", "balance", "bonus", "uuid"} for method in ("balance", "debit", "credit", "cancel")},
    "promo_payout": {"status", "balance", "bonus", "uuid"},
}


def _check_onewallet_reply(step: Step, body: Any) -> None:
    """What every One Wallet answer shares (ONEWALLET.md, Transport and Statuses)."""
    event = load_event(step.file)
    method = onewallet_method(event)
    assert isinstance(body, dict) and isinstance(body.get("status"), str), body
    request = onewallet_request(event)
    sent_uuid = request.get("uuid") if isinstance(request, dict) else None
    assert "uuid" in body and body["uuid"] == sent_uuid, f"the request's uuid {sent_uuid!r} is echoed: {body}"
    if body["status"] == "OK":
        assert set(body) == ONEWALLET_OK_KEYS[method], body
    else:
        # a refusal: the status, the uuid, and the balances where the user is known
        assert set(body) in ({"status", "uuid"}, {"status", "uuid", "balance", "bonus"}), body
    for name in ("balance", "bonus"):
        if name in body:
            assert type(body[name]) in (int, Decimal), f"{name} is a JSON number: {body}"
