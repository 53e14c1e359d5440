"""The bank test (in the spirit of Jepsen's bank workload): many clients, a handful of wallets, and a
checker that takes nothing on trust.

    python -m kassa_dev.bank --clients 16 --operations 20000 --wallets 8 --seed 1
    python -m kassa_dev.bank --base-url http://127.0.0.1:3000 --api-key ... --token ...

Without ``--base-url`` it starts its own local stack as ``kassa serve`` does (embedded DynamoDB, the demo
operator, worker processes, the HTTP API on a free port), in a child process, and splits the run into
batches of ``--batch-size`` operations, each on a fresh stack and fresh wallets, checked on its own: the
embedded DynamoDB's queries cost time in proportion to the whole table (see DEFAULT_BATCH). It prints
progress, then a table of the operations done per kind, the answers met, ops/s and every violation, and
exits 1 if there is any.

The workload (``run_bank``): each client is a thread with its own keep-alive ``requests.Session``. The
wallets are opened with a deposit each and one player session (for One Wallet debits). The clients then
draw a seeded random mix of operations: deposits, withdrawals (some far above the balance), native bets,
wins and refunds, One Wallet debits, credits and cancels; every bet has its own bet id, and settlements
target an open bet, a settled one, or an unknown one at random (a refund of an unknown bet leaves a
tombstone, and some later bets are placed on tombstones: they must be refused). Some operations are sent
by two threads at the same instant (a barrier releases both), some earlier requests are resent later.
A 503 / ``TEMPORARY_ERROR`` or a transport error is retried with the same request, as a real client would.
Every request and its answer is recorded (``Call``).

The checker (``check``) is a pure function of the recorded calls and the final ledger (``WalletState``:
the wallet as GET /v1/wallets/{p} answers it and its applied entries). It reports, in words:

- a balance that is not the sum of its entries (cash and bonus separately), a negative balance, an entry
  chain that does not add up (balanceBefore/After, versions 1..n, previousHash = the previous hash);
- a (type, transactionId) present more than once in a wallet's ledger; a bet placed twice, settled twice,
  settled without having been placed, refunded with another amount than it was placed with;
- a request answered unlike its other sends: two "applied" answers (a second movement), a native replay
  whose body differs from the original, a success and a rejection for one transaction, two different
  rejections, a rejection of something the ledger applied, an acknowledged success missing from the
  ledger, an answer no client should ever get (5xx other than 503, an unknown One Wallet status);
- a ledger entry that no answer acknowledged (unless one of its requests got no answer at all);
- a 503 / ``TEMPORARY_ERROR`` whose transaction nevertheless committed with no retry acknowledged, or
  that was answered after the transaction had been acknowledged (a retry must find the committed outcome);
- money not conserved: per wallet and in total, deposits - withdrawals - bets + wins + refunds over the
  acknowledged successes (each transaction once) must equal the final balance;
- a bet charged although a refund had tombstoned its id before it was sent, or a settlement answered
  "bet not found" although the bet had been acknowledged before it was sent;
- an order the ledger cannot have: a movement acknowledged before another was sent must come first.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import queue
import random
import sys
import threading
import time
import uuid as uuidlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

NATIVE = "native"
ONEWALLET = "onewallet"
CURRENCY = "EUR"
OW_METHOD = {"bet": "debit", "win": "credit", "refund": "cancel"}
# The One Wallet status a duplicate of an applied action gets (it "counts as success" for the provider).
OW_DUPLICATE = {"bet": "BET_ALREADY_EXIST", "win": "BET_ALREADY_SETTLED", "refund": "BET_ALREADY_SETTLED"}
OW_REJECTIONS = {
    "INSUFFICIENT_FUNDS",
    "BET_ALREADY_EXIST",
    "BET_DOES_NOT_EXIST",
    "BET_ALREADY_SETTLED",
    "FINAL_ERROR_ACTION_FAILED",
}
OW_TEMPORARY = "TEMPORARY_ERROR"
# The native rejections this workload can legitimately meet: (HTTP status, problem code).
NATIVE_REJECTIONS = {(409, "insufficient_funds"), (409, "bet_already_settled"), (404, "bet_not_found")}
MINUS = frozenset({"withdrawal", "bet"})
SETTLEMENTS = frozenset({"win", "refund"})

INITIAL_DEPOSIT = Decimal("1000")
SESSION_TTL_SECONDS = 24 * 3600
MAX_SENDS = 8  # per request: the first send and retries after a 503 / TEMPORARY_ERROR / transport error
TIMEOUT = (5.0, 120.0)
# Operations per batch when the CLI runs its own stack; each batch gets a fresh stack. moto used to walk
# the whole table for every Query (the history, and the authorizer's lookup on the ByCredential index on
# every request), which made one ever-growing table quadratic: 4 ms per lookup at 0 items, 100 ms at
# 10,000. The embedded DynamoDB now answers table queries from one partition and the authorizer reads
# a known key by key, but index queries still walk the table, and a fresh stack per batch keeps every
# batch's cost the same (start-up ~8 s). 20,000 operations: ~12.5 min on 2 cores (docs/PERFORMANCE.md).
DEFAULT_BATCH = 1_000
# Worker processes of the CLI's stack unless KASSA_WORKERS says otherwise: on 2 cores 4 beat 8 (each
# worker imports every function it serves on first use; 16 clients still keep all 4 busy at once).
DEFAULT_WORKERS = 4
P_CONCURRENT = 0.1  # share of operations sent by two threads at once
KINDS: tuple[tuple[str, int], ...] = (
    ("deposit", 10),
    ("withdrawal", 10),
    ("bet", 13),
    ("win", 8),
    ("refund", 5),
    ("ow_debit", 13),
    ("ow_credit", 8),
    ("ow_cancel", 5),
    ("late_bet", 3),
    ("resend_later", 10),
)

Key = tuple[str, str, str]  # (wallet, type, transaction id): the idempotency key within one operator


# -- what was sent, what came back ----------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One money request, as the workload means it; all sends of one request carry the same fields."""

    protocol: str  # NATIVE or ONEWALLET
    wallet: str
    action: str  # deposit | withdrawal | bet | win | refund (One Wallet: debit=bet, credit=win, cancel=refund)
    transaction_id: str
    amount: Decimal | None
    bet_id: str | None = None

    @property
    def key(self) -> Key:
        return (self.wallet, self.action, self.transaction_id)


@dataclass
class Call:
    """One send of a request and its answer. ``status`` None: no answer (transport error)."""

    request: Request
    role: str = "first"  # setup | first | twin (the concurrent copy) | later (resent later) | retry
    op: int = 0
    started: float = 0.0
    ended: float = 0.0
    status: int | None = None
    body: Any = None
    replayed: bool = False  # native: header Idempotent-Replayed: true
    uuid: str | None = None  # One Wallet: the uuid sent
    error: str | None = None

    @property
    def outcome(self) -> tuple[str, str]:
        """(kind, detail); kind: new | replay | duplicate | rejected | unavailable | lost | unexpected."""
        return classify(self)

    def describe(self) -> str:
        return f"{self.role} send (op {self.op}) answered {answer_text(self)}"


@dataclass
class WalletState:
    """A wallet as read at the end: GET /v1/wallets/{p} and every item of GET .../transactions."""

    balance: Decimal
    bonus: Decimal
    version: int
    entries: list[dict[str, Any]]


@dataclass
class BankReport:
    operations_done: int
    by_kind: dict[str, int]
    violations: list[str]
    seconds: float
    requests: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list, repr=False)
    ledger: dict[str, WalletState] = field(default_factory=dict, repr=False)

    @property
    def ops_per_second(self) -> float:
        return self.operations_done / self.seconds if self.seconds else 0.0


def classify(call: Call) -> tuple[str, str]:
    request = call.request
    if call.status is None:
        return "lost", call.error or "no answer"
    body = call.body if isinstance(call.body, dict) else {}
    if request.protocol == NATIVE:
        code = str(body.get("code", ""))
        if call.status == 201:
            return "new", "201"
        if call.status == 200:
            return ("replay", "200 replayed") if call.replayed else ("unexpected", "200 without Idempotent-Replayed")
        if call.status == 503:
            return "unavailable", f"503 {code}".strip()
        if (call.status, code) in NATIVE_REJECTIONS:
            return "rejected", f"{call.status} {code}"
        return "unexpected", f"{call.status} {code or str(call.body)[:200]}"
    status = body.get("status")
    if call.status != 200 or not isinstance(status, str):
        return "unexpected", f"HTTP {call.status} {str(call.body)[:200]}"
    if body.get("uuid") != call.uuid:
        return "unexpected", f"{status} with uuid {body.get('uuid')!r} instead of the request's {call.uuid!r}"
    if status == "OK":
        return "new", "OK"
    if status == OW_TEMPORARY:
        return "unavailable", status
    if status == OW_DUPLICATE[request.action]:
        return "duplicate", status
    if status in OW_REJECTIONS:
        return "rejected", status
    return "unexpected", status


def answer_text(call: Call) -> str:
    kind, detail = classify(call)
    return detail if kind != "lost" else f"nothing ({detail})"


def signed_entry(entry: Mapping[str, Any]) -> Decimal:
    amount = Decimal(str(entry["amount"]))
    if entry["type"] in MINUS:
        return -amount
    return amount  # deposit, win, refund, promo; an adjustment's amount is already signed


def signed(action: str, amount: Decimal) -> Decimal:
    return -amount if action in MINUS else amount


# -- the checker ------------------------------------------------------------------------------------


def check(calls: Sequence[Call], ledger: Mapping[str, WalletState]) -> list[str]:
    """Every violation the recorded answers and the final ledger show, in words (empty: none)."""
    violations: list[str] = []
    entries: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for wallet, state in ledger.items():
        violations += _check_wallet(wallet, state)
        for entry in state.entries:
            entries[(wallet, str(entry["type"]), str(entry["transactionId"]))].append(entry)
    bets_in_ledger = {
        (wallet, str(entry["betId"]))
        for (wallet, action, _), found in entries.items()
        if action == "bet"
        for entry in found
    }
    by_key: dict[Key, list[Call]] = defaultdict(list)
    for call in calls:
        by_key[call.request.key].append(call)
    for key, group in by_key.items():
        violations += _check_answers(key, group, entries.get(key, []), bets_in_ledger)
    acknowledged = {key: group for key, group in by_key.items() if any(_acknowledges(c) for c in group)}
    indeterminate, unacknowledged = _unacknowledged(entries, by_key, acknowledged)
    violations += unacknowledged
    violations += _conservation(ledger, acknowledged, indeterminate, entries)
    violations += _bets_against_answers(by_key, acknowledged, entries)
    violations += _real_time_order(entries, by_key)
    return violations


def _acknowledges(call: Call) -> bool:
    """An answer that says, beyond doubt, that this very transaction moved money."""
    return call.outcome[0] in ("new", "replay")


def _label(key: Key) -> str:
    wallet, action, transaction_id = key
    return f"wallet {wallet}: {action} {transaction_id}"


def _check_wallet(wallet: str, state: WalletState) -> list[str]:
    found: list[str] = []
    entries = sorted(state.entries, key=lambda entry: int(entry["version"]))
    versions = [int(entry["version"]) for entry in entries]
    if versions != list(range(1, len(entries) + 1)):
        repeated = sorted(v for v, n in Counter(versions).items() if n > 1)
        missing = sorted(set(range(1, max(versions, default=0) + 1)) - set(versions))
        found.append(
            f"wallet {wallet}: entry versions are not 1..{len(entries)} "
            f"(repeated {repeated[:10]}, missing {missing[:10]})"
        )
    if state.version != len(entries):
        found.append(f"wallet {wallet}: wallet version is {state.version} but the ledger holds {len(entries)} entries")
    for name, balance in (("cash", state.balance), ("bonus", state.bonus)):
        moved = [entry for entry in entries if (entry.get("balance") or "cash") == name]
        total = sum((signed_entry(entry) for entry in moved), Decimal(0))
        if total != balance:
            found.append(
                f"wallet {wallet}: {name} balance is {balance} but its {len(moved)} entries sum to {total} "
                f"(difference {balance - total})"
            )
        if balance < 0:
            found.append(f"wallet {wallet}: {name} balance is negative ({balance})")
        found += _chain(wallet, name, moved)
    for previous, entry in itertools.pairwise(entries):
        if entry.get("previousHash") != previous.get("hash"):
            found.append(
                f"wallet {wallet}: v{entry['version']} {entry['type']} {entry['transactionId']} does not chain to "
                f"v{previous['version']} (previousHash {entry.get('previousHash')!r}, hash {previous.get('hash')!r})"
            )
            break
    found += _duplicates_and_bets(wallet, entries)
    return found


def _chain(wallet: str, name: str, entries: list[dict[str, Any]]) -> list[str]:
    """Each entry starts where the previous one ended, adds its amount, and ends at zero or above."""
    found: list[str] = []
    running = Decimal(0)
    for entry in entries:
        before, after = Decimal(str(entry["balanceBefore"])), Decimal(str(entry["balanceAfter"]))
        what = f"wallet {wallet}: v{entry['version']} {entry['type']} {entry['transactionId']}"
        if before != running:
            found.append(f"{what} starts its {name} balance at {before}, the previous entries end at {running}")
        if after != before + signed_entry(entry):
            found.append(f"{what} moves {name} from {before} to {after}, which is not its amount {entry['amount']}")
        if after < 0:
            found.append(f"{what} leaves the {name} balance negative ({after})")
        running = after
    return found[:20] + (
        [f"wallet {wallet}: ... and {len(found) - 20} more {name} chain breaks"] if len(found) > 20 else []
    )


def _duplicates_and_bets(wallet: str, entries: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    keys = Counter((str(entry["type"]), str(entry["transactionId"])) for entry in entries)
    for (action, transaction_id), count in sorted(keys.items()):
        if count > 1:
            versions = [e["version"] for e in entries if (e["type"], e["transactionId"]) == (action, transaction_id)]
            found.append(f"wallet {wallet}: {action} {transaction_id} was applied {count} times (versions {versions})")
    bets: dict[str, list[dict[str, Any]]] = defaultdict(list)
    settled: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        if entry["type"] == "bet":
            bets[str(entry["betId"])].append(entry)
        elif entry["type"] in SETTLEMENTS:
            settled[str(entry["betId"])].append(entry)
    for bet_id, placed in sorted(bets.items()):
        if len(placed) > 1:
            found.append(
                f"wallet {wallet}: bet {bet_id} was placed {len(placed)} times: "
                + ", ".join(f"{e['transactionId']} (v{e['version']})" for e in placed)
            )
    for bet_id, settlements in sorted(settled.items()):
        what = ", ".join(f"{e['type']} {e['transactionId']} (v{e['version']})" for e in settlements)
        if len(settlements) > 1:
            found.append(f"wallet {wallet}: bet {bet_id} was settled {len(settlements)} times: {what}")
        if bet_id not in bets:
            found.append(f"wallet {wallet}: bet {bet_id} was settled ({what}) but never placed")
            continue
        bet = bets[bet_id][0]
        for settlement in settlements:
            if int(settlement["version"]) < int(bet["version"]):
                found.append(
                    f"wallet {wallet}: bet {bet_id} was settled (v{settlement['version']}) "
                    f"before it was placed (v{bet['version']})"
                )
            if settlement["type"] == "refund" and Decimal(str(settlement["amount"])) != Decimal(str(bet["amount"])):
                found.append(
                    f"wallet {wallet}: refund {settlement['transactionId']} of bet {bet_id} "
                    f"returned {settlement['amount']}, the bet was {bet['amount']}"
                )
    return found


def _check_answers(
    key: Key, group: list[Call], entries: list[dict[str, Any]], bets_in_ledger: set[tuple[str, str]]
) -> list[str]:
    """All the sends of one transaction must tell one story, and the ledger's."""
    found: list[str] = []
    label = _label(key)
    outcomes = [(call, *call.outcome) for call in group]
    for call, kind, detail in outcomes:
        if kind == "unexpected":
            found.append(f"{label}: unexpected answer {detail} to its {call.role} send (op {call.op})")
    news = [call for call, kind, _ in outcomes if kind == "new"]
    if len(news) > 1:
        found.append(
            f"{label}: {len(news)} sends were each answered as a new movement ("
            + "; ".join(call.describe() for call in news)
            + ") — a replay must never move money again"
        )
    successes = [call for call, kind, _ in outcomes if kind in ("new", "replay") and call.request.protocol == NATIVE]
    for call in successes[1:]:
        if call.body != successes[0].body:
            found.append(
                f"{label}: the {call.role} send (op {call.op}) was answered {answer_text(call)} with a body unlike "
                f"the {successes[0].role} send's: {_difference(successes[0].body, call.body)}"
            )
    rejections: dict[str, set[str]] = defaultdict(set)
    for call, kind, detail in outcomes:
        if kind == "rejected":
            rejections[call.request.protocol].add(detail)
    for protocol, details in rejections.items():
        if len(details) > 1:
            found.append(f"{label}: its {protocol} sends were rejected in different ways: {', '.join(sorted(details))}")
    accepted = [call for call, kind, _ in outcomes if kind in ("new", "replay", "duplicate")]
    refused = [call for call, kind, _ in outcomes if kind == "rejected"]
    if entries:
        entry = entries[0]
        for call in refused:
            found.append(
                f"{label}: the {call.role} send (op {call.op}) was answered {answer_text(call)}, "
                f"yet the ledger applied it (v{entry['version']})"
            )
        for call in successes:
            found += _same_as_ledger(label, call, entry)
    else:
        for call in accepted:
            kind = call.outcome[0]
            if kind in ("new", "replay"):
                found.append(
                    f"{label}: the {call.role} send (op {call.op}) was acknowledged ({answer_text(call)}) "
                    "but the transaction is not in the ledger"
                )
            elif key[1] == "bet" and (key[0], str(call.request.bet_id)) not in bets_in_ledger:
                found.append(
                    f"{label}: the {call.role} send (op {call.op}) was answered {answer_text(call)} "
                    f"but the ledger holds no bet {call.request.bet_id}"
                )
        if news and refused:
            found.append(f"{label}: answered both as applied and as rejected ({answer_text(refused[0])})")
    return found


def _same_as_ledger(label: str, call: Call, entry: Mapping[str, Any]) -> list[str]:
    answered = call.body.get("transaction", {}) if isinstance(call.body, dict) else {}
    fields = ("type", "transactionId", "amount", "betId", "version", "balanceBefore", "balanceAfter")
    different = [
        f"{name} {answered.get(name)!r} vs {entry.get(name)!r}"
        for name in fields
        if answered.get(name) != entry.get(name)
    ]
    if different:
        return [f"{label}: the {call.role} send's answer differs from the ledger entry: {'; '.join(different)}"]
    return []


def _difference(first: Any, second: Any, path: str = "") -> str:
    if isinstance(first, dict) and isinstance(second, dict):
        for name in sorted(set(first) | set(second)):
            if first.get(name) != second.get(name):
                return _difference(first.get(name), second.get(name), f"{path}.{name}" if path else name)
    return f"{path or 'body'} {first!r} then {second!r}"


def _unacknowledged(
    entries: Mapping[Key, list[dict[str, Any]]],
    by_key: Mapping[Key, list[Call]],
    acknowledged: Mapping[Key, list[Call]],
) -> tuple[dict[Key, dict[str, Any]], list[str]]:
    """Ledger entries no answer acknowledged: allowed only when a send got no answer at all."""
    indeterminate: dict[Key, dict[str, Any]] = {}
    found: list[str] = []
    for key, applied in entries.items():
        group = by_key.get(key, [])
        if key in acknowledged:
            ended = min(call.ended for call in acknowledged[key] if _acknowledges(call))
            for call in group:
                if call.outcome[0] == "unavailable" and call.started > ended:
                    found.append(
                        f"{_label(key)}: the {call.role} send (op {call.op}) was answered {answer_text(call)} "
                        "although the transaction had been committed and acknowledged before it was sent "
                        "(a retry must find the outcome)"
                    )
            continue
        if not group:
            found.append(f"{_label(key)}: in the ledger (v{applied[0]['version']}) but no client ever sent it")
        elif any(call.outcome[0] == "lost" for call in group):
            indeterminate[key] = applied[0]
        elif any(call.outcome[0] == "unavailable" for call in group):
            found.append(
                f"{_label(key)}: answered {', '.join(sorted({answer_text(c) for c in group}))} but committed "
                f"(v{applied[0]['version']}); a 503 / TEMPORARY_ERROR must commit nothing, "
                "and no retry was acknowledged"
            )
        else:
            found.append(
                f"{_label(key)}: in the ledger (v{applied[0]['version']}, amount {applied[0]['amount']}) but no answer "
                f"acknowledged it (answers: {', '.join(sorted({answer_text(c) for c in group}))})"
            )
    return indeterminate, found


def _conservation(
    ledger: Mapping[str, WalletState],
    acknowledged: Mapping[Key, list[Call]],
    indeterminate: Mapping[Key, dict[str, Any]],
    entries: Mapping[Key, list[dict[str, Any]]],
) -> list[str]:
    """Deposits - withdrawals - bets + wins + refunds, from the acknowledged answers, = the balances."""
    bet_amount: dict[tuple[str, str], Decimal] = {}
    for (wallet, action, _), applied in entries.items():
        if action == "bet":
            for entry in applied:
                bet_amount[(wallet, str(entry["betId"]))] = Decimal(str(entry["amount"]))
    for (wallet, action, _), group in acknowledged.items():
        if action == "bet" and group[0].request.amount is not None and group[0].request.bet_id:
            bet_amount[(wallet, group[0].request.bet_id)] = group[0].request.amount
    expected: dict[str, Decimal] = defaultdict(Decimal)
    counted: Counter[str] = Counter()
    for (wallet, action, _), group in acknowledged.items():
        request = group[0].request
        if action == "refund":
            amount = bet_amount.get((wallet, str(request.bet_id)), Decimal(0))
        else:
            amount = request.amount if request.amount is not None else Decimal(0)
        expected[wallet] += signed(action, amount)
        counted[wallet] += 1
    for (wallet, _, _), entry in indeterminate.items():
        expected[wallet] += signed_entry(entry)
    found: list[str] = []
    for wallet, state in sorted(ledger.items()):
        if expected[wallet] != state.balance:
            found.append(
                f"money not conserved in wallet {wallet}: its {counted[wallet]} acknowledged movements "
                f"(deposits - withdrawals - bets + wins + refunds) total {expected[wallet]}, its final balance is "
                f"{state.balance} (difference {state.balance - expected[wallet]})"
            )
    total_expected = sum((expected[wallet] for wallet in ledger), Decimal(0))
    total_balance = sum((state.balance for state in ledger.values()), Decimal(0))
    if total_expected != total_balance:
        found.append(
            f"money not conserved overall: acknowledged movements total {total_expected}, the {len(ledger)} final "
            f"balances total {total_balance} (difference {total_balance - total_expected})"
        )
    return found


def _bets_against_answers(
    by_key: Mapping[Key, list[Call]],
    acknowledged: Mapping[Key, list[Call]],
    entries: Mapping[Key, list[dict[str, Any]]],
) -> list[str]:
    """Tombstones refuse late bets; an acknowledged bet is found by every later settlement."""
    found: list[str] = []
    tombstoned: dict[tuple[str, str], float] = {}
    placed: dict[tuple[str, str], float] = {}
    for (wallet, action, _), group in by_key.items():
        for call in group:
            bet = (wallet, str(call.request.bet_id))
            if action == "refund" and call.outcome[1] in ("404 bet_not_found", "BET_DOES_NOT_EXIST"):
                tombstoned[bet] = min(tombstoned.get(bet, call.ended), call.ended)
    for (wallet, action, _), group in acknowledged.items():
        if action == "bet":
            ended = min(call.ended for call in group if _acknowledges(call))
            bet = (wallet, str(group[0].request.bet_id))
            placed[bet] = min(placed.get(bet, ended), ended)
    for key, applied in entries.items():
        wallet, action, _ = key
        bet = (wallet, str(applied[0].get("betId")))
        if action == "bet" and bet in tombstoned:
            sent = min((call.started for call in by_key.get(key, [])), default=None)
            if sent is not None and sent > tombstoned[bet]:
                found.append(
                    f"{_label(key)}: bet {bet[1]} was charged although a refund had been answered 'bet not found' "
                    "for it before the bet was sent (the tombstone must refuse the late bet)"
                )
    for key, group in by_key.items():
        wallet, action, _ = key
        if action not in SETTLEMENTS:
            continue
        for call in group:
            bet = (wallet, str(call.request.bet_id))
            if (
                call.outcome[1] in ("404 bet_not_found", "BET_DOES_NOT_EXIST")
                and bet in placed
                and call.started > placed[bet]
            ):
                found.append(
                    f"{_label(key)}: the {call.role} send (op {call.op}) was answered {answer_text(call)} although bet "
                    f"{bet[1]} had been acknowledged before it was sent"
                )
    return found


def _real_time_order(entries: Mapping[Key, list[dict[str, Any]]], by_key: Mapping[Key, list[Call]]) -> list[str]:
    """A movement acknowledged before another was sent must precede it in its wallet's ledger."""
    found: list[str] = []
    per_wallet: dict[str, list[tuple[int, float, float, Key]]] = defaultdict(list)
    for key, applied in entries.items():
        news = [call for call in by_key.get(key, []) if call.outcome[0] == "new"]
        if len(news) == 1:
            per_wallet[key[0]].append((int(applied[0]["version"]), news[0].started, news[0].ended, key))
    for wallet, movements in sorted(per_wallet.items()):
        earliest_end: tuple[float, int, Key] | None = None  # among higher versions
        reported = 0
        for version, started, ended, key in sorted(movements, reverse=True):
            if earliest_end is not None and started > earliest_end[0] and reported < 5:
                reported += 1
                found.append(
                    f"wallet {wallet}: {earliest_end[2][1]} {earliest_end[2][2]} was acknowledged before "
                    f"{key[1]} {key[2]} was sent, yet the ledger orders it after (v{earliest_end[1]} > v{version})"
                )
            if earliest_end is None or ended < earliest_end[0]:
                earliest_end = (ended, version, key)
    return found


# -- the clients -----------------------------------------------------------------------------------


def _dumps_exact(value: Any) -> str:
    """JSON whose Decimals are written as JSON numbers with exactly their digits."""
    numbers: list[str] = []

    def mark(item: Any) -> Any:
        if isinstance(item, Decimal):
            numbers.append(f"{item:f}")
            return f"\x00{len(numbers) - 1}\x00"
        if isinstance(item, dict):
            return {name: mark(inner) for name, inner in item.items()}
        return item

    text = json.dumps(mark(value), separators=(",", ":"))
    for index, number in enumerate(numbers):
        text = text.replace(f'"\\u0000{index}\\u0000"', number)
    return text


class Sender:
    """Turns a ``Request`` into HTTP and its answer into a ``Call``."""

    def __init__(self, base_url: str, api_key: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self.token = token
        self.sids: dict[str, str] = {}

    def send(self, session: requests.Session, request: Request, role: str, op: int) -> Call:
        call = Call(request, role, op)
        if request.protocol == NATIVE:
            url = f"{self.base_url}/v1/wallets/{request.wallet}/transactions"
            payload: dict[str, Any] = {"transactionId": request.transaction_id, "type": request.action}
            if request.amount is not None:
                payload["amount"] = f"{request.amount:f}"
            if request.bet_id is not None:
                payload["betId"] = request.bet_id
            data = json.dumps(payload)
            params = None
        else:
            call.uuid = str(uuidlib.uuid4())  # new on every send, as providers do: never an idempotency key
            url = f"{self.base_url}/onewallet/{OW_METHOD[request.action]}"
            params = {"authToken": self.token}
            data = _dumps_exact(
                {
                    "sid": self.sids.get(request.wallet, ""),
                    "userId": request.wallet,
                    "uuid": call.uuid,
                    "currency": CURRENCY,
                    "game": None,
                    "transaction": {"id": request.transaction_id, "refId": request.bet_id, "amount": request.amount},
                }
            )
        call.started = time.monotonic()
        try:
            response = session.post(url, data=data, params=params, headers=self.headers, timeout=TIMEOUT)
        except requests.RequestException as error:
            call.ended = time.monotonic()
            call.error = f"{type(error).__name__}: {error}"[:300]
            return call
        call.ended = time.monotonic()
        call.status = response.status_code
        call.replayed = response.headers.get("Idempotent-Replayed") == "true"
        try:
            call.body = json.loads(response.text, parse_float=Decimal)
        except ValueError:
            call.body = response.text[:500]
        return call

    def send_retrying(self, session: requests.Session, request: Request, role: str, op: int) -> list[Call]:
        """Send; on 503 / TEMPORARY_ERROR / no answer, send the very same request again (bounded)."""
        calls: list[Call] = []
        for attempt in range(MAX_SENDS):
            call = self.send(session, request, role if attempt == 0 else "retry", op)
            calls.append(call)
            if call.outcome[0] not in ("unavailable", "lost"):
                break
            time.sleep(random.uniform(0, min(0.5, 0.02 * 2**attempt)))
        return calls

    def get_json(self, session: requests.Session, path: str, **params: Any) -> Any:
        response = session.get(f"{self.base_url}{path}", params=params, headers=self.headers, timeout=TIMEOUT)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
        return json.loads(response.text, parse_float=Decimal)

    def post_json(self, session: requests.Session, path: str, body: dict[str, Any], expect: int = 201) -> Any:
        response = session.post(f"{self.base_url}{path}", data=json.dumps(body), headers=self.headers, timeout=TIMEOUT)
        if response.status_code != expect:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
        return json.loads(response.text, parse_float=Decimal)


@dataclass
class _Bet:
    wallet: str
    bet_id: str
    amount: Decimal
    transaction_id: str


@dataclass(frozen=True)
class _Op:
    number: int
    kind: str
    request: Request
    concurrent: bool


class _BetPool:
    """Bets by state, with O(1) random picks and moves."""

    def __init__(self) -> None:
        self.items: list[_Bet] = []
        self.index: dict[str, int] = {}

    def add(self, bet: _Bet) -> None:
        if bet.bet_id not in self.index:
            self.index[bet.bet_id] = len(self.items)
            self.items.append(bet)

    def remove(self, bet_id: str) -> _Bet | None:
        position = self.index.pop(bet_id, None)
        if position is None:
            return None
        bet = self.items[position]
        last = self.items.pop()
        if last is not bet:
            self.items[position] = last
            self.index[last.bet_id] = position
        return bet

    def pick(self, rng: random.Random) -> _Bet | None:
        return rng.choice(self.items) if self.items else None


class Workload:
    """The seeded generator, shared by the clients under one lock. Which bets a settlement can target
    depends on the answers seen so far, so the mix is seeded but the exact interleaving is not."""

    def __init__(self, wallets: list[str], operations: int, seed: int, tag: str) -> None:
        self.rng = random.Random(seed)
        self.wallets = wallets
        self.operations = operations
        self.tag = tag
        self.lock = threading.Lock()
        self.issued = 0
        self.done = 0
        self.by_kind: Counter[str] = Counter()
        self.modes: Counter[str] = Counter()
        self.known: dict[str, _Bet] = {}  # every bet sent, by bet id
        self.open = _BetPool()
        self.closed = _BetPool()  # settled, cancelled, or tombstoned
        self.tombstones = _BetPool()
        self.past: list[Request] = []
        self.kinds = [name for name, _ in KINDS]
        self.weights = [weight for _, weight in KINDS]

    def next_op(self) -> _Op | None:
        with self.lock:
            if self.issued >= self.operations:
                return None
            self.issued += 1
            number = self.issued
            kind = self.rng.choices(self.kinds, self.weights)[0]
            if kind == "resend_later" and not self.past:
                kind = "deposit"
            if kind == "late_bet" and not self.tombstones.items:
                kind = "bet"
            request = self._request(kind, number)
            concurrent = kind != "resend_later" and self.rng.random() < P_CONCURRENT
            self.by_kind[kind] += 1
            if concurrent:
                self.modes["sent_twice_concurrently"] += 1
            return _Op(number, kind, request, concurrent)

    def _amount(self, low: int, high: int) -> Decimal:
        """Cents between low and high; now and then an amount with 6 decimals."""
        if self.rng.random() < 0.1:
            return Decimal(self.rng.randint(low * 10_000, high * 10_000)).scaleb(-6)
        return Decimal(self.rng.randint(low, high)).scaleb(-2)

    def _request(self, kind: str, number: int) -> Request:
        rng, tag = self.rng, self.tag
        wallet = rng.choice(self.wallets)
        if kind == "resend_later":
            return rng.choice(self.past)
        if kind == "deposit":
            return Request(NATIVE, wallet, "deposit", f"{tag}-n{number}", self._amount(1_000, 30_000))
        if kind == "withdrawal":
            asked = Decimal(100_000) if rng.random() < 0.15 else self._amount(100, 15_000)
            return Request(NATIVE, wallet, "withdrawal", f"{tag}-n{number}", asked)
        if kind in ("bet", "ow_debit", "late_bet"):
            protocol = NATIVE if kind == "bet" or (kind == "late_bet" and rng.random() < 0.5) else ONEWALLET
            transaction_id = f"{tag}-{'n' if protocol == NATIVE else 'o'}{number}"
            stake = Decimal(50_000) if rng.random() < 0.1 else self._amount(1, 5_000)
            if kind == "late_bet":
                tombstone = self.tombstones.pick(rng)
                assert tombstone is not None
                wallet, bet_id = tombstone.wallet, tombstone.bet_id
            else:
                bet_id = f"{tag}-b{number}"
                self.known[bet_id] = _Bet(wallet, bet_id, stake, transaction_id)
            return Request(protocol, wallet, "bet", transaction_id, stake, bet_id)
        # A settlement: of an open bet, of a settled one, or of one nobody placed.
        protocol = NATIVE if kind in ("win", "refund") else ONEWALLET
        action = "win" if kind in ("win", "ow_credit") else "refund"
        transaction_id = f"{tag}-{'n' if protocol == NATIVE else 'o'}{number}"
        draw = rng.random()
        bet = self.open.pick(rng) if draw < 0.6 else self.closed.pick(rng) if draw < 0.8 else None
        if bet is None:
            bet = _Bet(wallet, f"{tag}-u{number}", self._amount(1, 5_000), transaction_id)
        if action == "win":
            amount: Decimal | None = Decimal(0) if rng.random() < 0.1 else self._amount(0, int(bet.amount * 200))
        elif protocol == ONEWALLET:
            amount = bet.amount  # a cancel names the bet's amount (the stored one is refunded)
            if bet.bet_id in self.known and rng.random() < 0.5:
                transaction_id = bet.transaction_id  # "usually the debit's own id": another action, no duplicate
        else:
            amount = None if rng.random() < 0.5 else bet.amount
        return Request(protocol, bet.wallet, action, transaction_id, amount, bet.bet_id)

    def observe(self, op: _Op, calls: list[Call]) -> None:
        """Learn the bets' states from the answers (only what a client would learn)."""
        request = op.request
        outcomes = {call.outcome for call in calls}
        kinds = {kind for kind, _ in outcomes}
        details = {detail for _, detail in outcomes}
        with self.lock:
            self.done += 1
            if op.kind == "resend_later":
                self.modes["resent_later"] += 1
            else:
                self.past.append(request)
            bet_id = request.bet_id
            if bet_id is None:
                return
            if request.action == "bet":
                if kinds & {"new", "replay"} and bet_id in self.known and bet_id not in self.closed.index:
                    self.open.add(self.known[bet_id])
                return
            if kinds & {"new", "replay"} or details & {"409 bet_already_settled", "BET_ALREADY_SETTLED"}:
                moved = self.open.remove(bet_id)
                if moved is not None:
                    self.closed.add(moved)
            elif (
                request.action == "refund"
                and details & {"404 bet_not_found", "BET_DOES_NOT_EXIST"}
                and bet_id not in self.known
            ):
                tombstone = _Bet(request.wallet, bet_id, Decimal(0), request.transaction_id)
                self.tombstones.add(tombstone)
                self.closed.add(tombstone)


class _Twin(threading.Thread):
    """A client's second thread with its own connection: sends the same request at the same instant."""

    def __init__(self, sender: Sender) -> None:
        super().__init__(daemon=True)
        self.sender = sender
        self.jobs: queue.Queue[tuple[_Op, threading.Barrier, list[Call], threading.Event] | None] = queue.Queue()

    def run(self) -> None:
        with requests.Session() as session:
            while (job := self.jobs.get()) is not None:
                op, barrier, out, done = job
                try:
                    barrier.wait(timeout=60)
                    out.extend(self.sender.send_retrying(session, op.request, "twin", op.number))
                finally:
                    done.set()


def _client(sender: Sender, workload: Workload, record: Callable[[list[Call]], None]) -> None:
    twin = _Twin(sender)
    twin.start()
    try:
        with requests.Session() as session:
            while (op := workload.next_op()) is not None:
                role = "later" if op.kind == "resend_later" else "first"
                if op.concurrent:
                    barrier, done = threading.Barrier(2), threading.Event()
                    out: list[Call] = []
                    twin.jobs.put((op, barrier, out, done))
                    barrier.wait(timeout=60)
                    calls = sender.send_retrying(session, op.request, role, op.number)
                    done.wait(timeout=600)
                    calls += out
                else:
                    calls = sender.send_retrying(session, op.request, role, op.number)
                record(calls)
                workload.observe(op, calls)
    finally:
        twin.jobs.put(None)


def read_ledger(sender: Sender, session: requests.Session, wallets: Sequence[str]) -> dict[str, WalletState]:
    ledger: dict[str, WalletState] = {}
    for wallet in wallets:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100}
            if cursor:
                params["cursor"] = cursor
            page = sender.get_json(session, f"/v1/wallets/{wallet}/transactions", **params)
            items += page["items"]
            cursor = page.get("nextCursor")
            if not cursor:
                break
        # Read the wallet after its history: nothing moves any more, so both describe the same state.
        state = sender.get_json(session, f"/v1/wallets/{wallet}")
        ledger[wallet] = WalletState(Decimal(state["balance"]), Decimal(state["bonus"]), int(state["version"]), items)
    return ledger


def run_bank(
    base_url: str,
    api_key: str,
    onewallet_token: str,
    *,
    clients: int = 8,
    operations: int = 300,
    wallets: int = 4,
    seed: int = 1,
    progress: Callable[[int, int, float], None] | None = None,
    progress_every: float = 5.0,
    mix: str = "adversarial",
) -> BankReport:
    """Run the workload against a running stack, read the final ledger, and check it."""
    tag = f"bank{seed}-{uuidlib.uuid4().hex[:6]}"
    sender = Sender(base_url, api_key, onewallet_token)
    players = [f"{tag}-w{index}" for index in range(wallets)]
    calls: list[Call] = []
    record_lock = threading.Lock()

    def record(new: list[Call]) -> None:
        with record_lock:
            calls.extend(new)

    with requests.Session() as session:
        for player in players:
            sender.post_json(session, "/v1/wallets", {"playerId": player, "currency": CURRENCY})
            setup = Request(NATIVE, player, "deposit", f"{tag}-setup-{player}", INITIAL_DEPOSIT)
            answer = sender.send(session, setup, "setup", 0)
            record([answer])
            if answer.status != 201:
                raise RuntimeError(f"the initial deposit of {player} failed: {answer_text(answer)}")
            opened = sender.post_json(session, "/v1/sessions", {"playerId": player, "ttlSeconds": SESSION_TTL_SECONDS})
            sender.sids[player] = opened["sid"]

        workload = _workloads()[mix](players, operations, seed, tag)
        failures: list[BaseException] = []

        def client() -> None:
            try:
                _client(sender, workload, record)
            except BaseException as error:  # a harness failure, not a finding: surfaced below
                failures.append(error)

        started = time.monotonic()
        threads = [threading.Thread(target=client, name=f"bank-client-{n}", daemon=True) for n in range(clients)]
        for thread in threads:
            thread.start()
        next_report = started + progress_every
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=max(0.01, next_report - time.monotonic()))
                if time.monotonic() >= next_report:
                    next_report += progress_every
                    if progress is not None:
                        progress(workload.done, operations, time.monotonic() - started)
        seconds = time.monotonic() - started
        if failures:
            raise RuntimeError(f"{len(failures)} bank client(s) failed") from failures[0]
        ledger = read_ledger(sender, session, players)

    violations = check(calls, ledger)
    outcomes: Counter[str] = Counter(workload.modes)
    for call in calls:
        outcomes[_outcome_name(call)] += 1
    return BankReport(
        operations_done=workload.done,
        by_kind=dict(workload.by_kind),
        violations=violations,
        seconds=seconds,
        requests=len(calls),
        outcomes=dict(outcomes),
        calls=calls,
        ledger=ledger,
    )


def _outcome_name(call: Call) -> str:
    kind, detail = call.outcome
    if kind in ("new", "replay", "duplicate", "lost", "unexpected", "unavailable"):
        return {"new": "applied", "replay": "replayed", "duplicate": "ow_duplicate", "lost": "transport_error"}.get(
            kind, "temporarily_unavailable" if kind == "unavailable" else kind
        )
    return {
        "INSUFFICIENT_FUNDS": "insufficient_funds",
        "BET_DOES_NOT_EXIST": "bet_not_found",
        "BET_ALREADY_SETTLED": "bet_already_settled",
        "BET_ALREADY_EXIST": "bet_already_exists",
        "FINAL_ERROR_ACTION_FAILED": "final_error_action_failed",
    }.get(detail, detail.split(" ", 1)[-1])


# -- the command line ------------------------------------------------------------------------------


@contextlib.contextmanager
def local_stack(
    workers: int | None = None, *, table: str = "kassa-bank", quiet: bool = True
) -> Iterator[tuple[str, str, str]]:
    """The local stack in this process, as ``kassa serve`` starts it (without its background pumps),
    on free ports: yields (base URL, demo API key, demo One Wallet token).

    ``quiet``: the functions log warnings only and their stdout (log lines, EMF metrics) goes to
    /dev/null; the worker processes inherit both at start.
    """

    from kassa_dev.gateway import LocalGateway
    from kassa_dev.http_server import make_server, serve_in_thread
    from kassa_dev.stack import LocalStack
    from kassa_dev.workers import WorkerPool

    if quiet:
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    stack = LocalStack(table=table).start()
    try:
        demo = stack.seed_demo_operator()
        pool = WorkerPool(workers)
        with _stdout_to_devnull(quiet):
            pool.start()
        try:
            server = make_server(LocalGateway(pool), port=0)
            serve_in_thread(server)
            try:
                yield f"http://127.0.0.1:{server.server_address[1]}", demo.api_key, demo.onewallet_token
            finally:
                server.shutdown()
                server.server_close()
        finally:
            pool.stop()
    finally:
        stack.stop()


@contextlib.contextmanager
def _stdout_to_devnull(active: bool) -> Iterator[None]:
    """File descriptor 1 points at /dev/null meanwhile: processes started now inherit it."""

    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def merge_reports(reports: Sequence[BankReport]) -> BankReport:
    """Batches as one report; each violation names its batch."""
    if len(reports) == 1:
        return reports[0]
    by_kind: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    violations: list[str] = []
    for number, report in enumerate(reports, 1):
        by_kind.update(report.by_kind)
        outcomes.update(report.outcomes)
        violations += [f"batch {number}: {violation}" for violation in report.violations]
    return BankReport(
        operations_done=sum(report.operations_done for report in reports),
        by_kind=dict(by_kind),
        violations=violations,
        seconds=sum(report.seconds for report in reports),
        requests=sum(report.requests for report in reports),
        outcomes=dict(outcomes),
        calls=[call for report in reports for call in report.calls],
        ledger={wallet: state for report in reports for wallet, state in report.ledger.items()},
    )


def print_summary(report: BankReport, out: Any = sys.stdout) -> None:
    rows = [(kind, count) for kind, count in sorted(report.by_kind.items())]
    width = max([len(kind) for kind, _ in rows] + [24])
    print(f"\n{'operation':<{width}}  {'done':>8}", file=out)
    print(f"{'-' * width}  {'-' * 8}", file=out)
    for kind, count in rows:
        print(f"{kind:<{width}}  {count:>8}", file=out)
    print(f"{'-' * width}  {'-' * 8}", file=out)
    print(f"{'total operations':<{width}}  {report.operations_done:>8}", file=out)
    print(f"{'requests sent':<{width}}  {report.requests:>8}", file=out)
    print(f"\n{'answer / mode':<{width}}  {'count':>8}", file=out)
    print(f"{'-' * width}  {'-' * 8}", file=out)
    for name, count in sorted(report.outcomes.items()):
        print(f"{name:<{width}}  {count:>8}", file=out)
    print(
        f"\n{report.operations_done} operations in {report.seconds:.1f} s: {report.ops_per_second:.1f} ops/s "
        f"({report.requests / report.seconds if report.seconds else 0:.1f} requests/s)",
        file=out,
    )
    print(f"violations: {len(report.violations)}", file=out)
    for violation in report.violations[:50]:
        print(f"  - {violation}", file=out)
    if len(report.violations) > 50:
        print(f"  ... and {len(report.violations) - 50} more", file=out)


def write_history(report: BankReport, path: str) -> None:
    """Every request and answer, one JSON object a line (then the final ledger), for a post-mortem."""
    with open(path, "w") as out:
        for call in report.calls:
            row = {
                "op": call.op,
                "role": call.role,
                "request": {
                    **call.request.__dict__,
                    "amount": None if call.request.amount is None else str(call.request.amount),
                },
                "started": call.started,
                "ended": call.ended,
                "status": call.status,
                "replayed": call.replayed,
                "uuid": call.uuid,
                "error": call.error,
                "body": call.body,
            }
            out.write(json.dumps(row, default=str) + "\n")
        for wallet, state in report.ledger.items():
            out.write(json.dumps({"wallet": wallet, **state.__dict__}, default=str) + "\n")


def _progress_printer(done_before: int, total: int, started: float) -> Callable[[int, int, float], None]:
    def progress(done: int, _: int, __: float) -> None:
        overall = done_before + done
        spent = time.monotonic() - started  # CLOCK_MONOTONIC: one clock for the parent and its children
        rate = overall / spent if spent else 0.0
        left = (total - overall) / rate if rate else float("nan")
        print(f"  {overall:>7}/{total} operations  {spent:7.1f} s  {rate:6.1f} ops/s  ~{left:.0f} s left", flush=True)

    return progress


@contextlib.contextmanager
def local_stack_process(
    workers: int | None = None, *, table: str = "kassa-bank", quiet: bool = True
) -> Iterator[tuple[str, str, str]]:
    """``local_stack`` in a child process: a fresh embedded DynamoDB every time (moto's state is per
    process), and the clients' work no longer competes with the stack for one interpreter lock."""
    from kassa_dev.child_process import in_child_process

    with in_child_process(local_stack, workers, table=table, quiet=quiet, name="bank-stack") as where:
        yield where


def _workloads() -> dict[str, type[Workload]]:
    """The mixes by name: the default robot, and what players do on an ordinary day (kassa_dev.bank_ordinary)."""
    from kassa_dev.bank_ordinary import OrdinaryWorkload

    return {"adversarial": Workload, "ordinary": OrdinaryWorkload}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kassa_dev.bank", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--operations", type=int, default=20_000)
    parser.add_argument("--wallets", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--mix",
        choices=["adversarial", "ordinary"],
        default="adversarial",
        help="adversarial (default): a robot built to break the ledger; ordinary: what players do on an ordinary day",
    )
    parser.add_argument("--base-url", help="a running stack (default: start one in this process)")
    parser.add_argument("--api-key", help="the operator's API key (with --base-url)")
    parser.add_argument("--token", help="the operator's One Wallet authToken (with --base-url)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help=f"operations per batch; each batch runs on fresh wallets (and, without --base-url, on a fresh stack "
        f"in a process of its own) and is checked on its own (default: {DEFAULT_BATCH} without --base-url, "
        "one batch with it)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("KASSA_WORKERS") or DEFAULT_WORKERS),
        help=f"worker processes of the local stack (default: KASSA_WORKERS or {DEFAULT_WORKERS})",
    )
    parser.add_argument("--history", help="write every request and answer to this file (JSON lines)")
    parser.add_argument("--verbose", action="store_true", help="let the local stack print its logs and metrics")
    args = parser.parse_args(argv)
    if args.base_url and not (args.api_key and args.token):
        parser.error("--base-url needs --api-key and --token")
    batch = max(1, args.batch_size or (args.operations if args.base_url else DEFAULT_BATCH))
    sizes = [min(batch, args.operations - done) for done in range(0, args.operations, batch)] or [0]
    print(
        f"bank: {args.clients} clients, {args.operations} operations on {args.wallets} wallets, seed {args.seed}"
        + (f", in {len(sizes)} batches of up to {batch}" if len(sizes) > 1 else "")
        + (f", against {args.base_url}" if args.base_url else ", local stack"),
        flush=True,
    )
    started = time.monotonic()
    reports: list[BankReport] = []
    for number, size in enumerate(sizes):
        seed = args.seed if len(sizes) == 1 else args.seed * 1_000 + number
        done_before = sum(report.operations_done for report in reports)
        if len(sizes) > 1:
            print(f"batch {number + 1}/{len(sizes)}: {size} operations, seed {seed}", flush=True)
        stack: contextlib.AbstractContextManager[tuple[str, str, str]]
        if args.base_url:
            stack = contextlib.nullcontext((args.base_url, args.api_key, args.token))
        else:
            stack = local_stack_process(args.workers, table=f"kassa-bank-{number + 1}", quiet=not args.verbose)
        with stack as (base_url, api_key, token):
            report = run_bank(
                base_url,
                api_key,
                token,
                clients=args.clients,
                operations=size,
                wallets=args.wallets,
                seed=seed,
                progress=_progress_printer(done_before, args.operations, started),
                mix=args.mix,
            )
        reports.append(report)
        if len(sizes) > 1:
            print(
                f"batch {number + 1}/{len(sizes)}: {report.operations_done} operations in {report.seconds:.1f} s "
                f"({report.ops_per_second:.1f} ops/s), {len(report.violations)} violations",
                flush=True,
            )
    report = merge_reports(reports)
    if args.history:
        write_history(report, args.history)
    print_summary(report)
    print(f"wall time (stack start-ups and ledger checks included): {time.monotonic() - started:.1f} s")
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
