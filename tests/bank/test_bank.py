"""The bank test: a small run of the workload against the local stack over HTTP, and proof that the
checker fails when it should (it is a pure function: fabricated answers and ledgers go straight in)."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from kassa_dev import realistic
from kassa_dev.bank import NATIVE, ONEWALLET, Call, Request, WalletState, check, run_bank
from kassa_dev.stack import DemoCredentials

D = Decimal
WALLET = "w1"


# -- the small run (part of make test) -----------------------------------------------------------


def test_a_small_bank_run_finds_no_violation_and_really_exercises_the_hard_cases(
    base_url: str, demo: DemoCredentials, realistic_dynamodb: None
) -> None:
    report = run_bank(base_url, demo.api_key, demo.onewallet_token, clients=8, operations=300, wallets=4, seed=5)

    assert report.violations == []
    # As DynamoDB behaves: writers met in a commit's window, and replicas lagged behind some reads.
    assert realistic.counts().get("conflict", 0) > 0 and realistic.counts().get("stale", 0) > 0, realistic.counts()
    assert report.operations_done == 300
    outcomes = report.outcomes
    assert outcomes.get("sent_twice_concurrently", 0) > 0, outcomes
    assert outcomes.get("resent_later", 0) > 0, outcomes
    assert outcomes.get("replayed", 0) > 0, outcomes  # native 200 + Idempotent-Replayed
    assert outcomes.get("ow_duplicate", 0) > 0, outcomes  # BET_ALREADY_EXIST / BET_ALREADY_SETTLED
    assert outcomes.get("insufficient_funds", 0) > 0, outcomes
    assert outcomes.get("bet_not_found", 0) > 0, outcomes  # unknown bets, tombstones
    assert outcomes.get("applied", 0) > 100, outcomes
    assert {"deposit", "withdrawal", "bet", "win", "refund", "ow_debit", "ow_credit", "ow_cancel"} <= set(
        report.by_kind
    )
    # The same request sent by two threads at once really got two answers at overlapping times.
    by_op: dict[int, list[Call]] = {}
    for call in report.calls:
        if call.role in ("first", "twin"):
            by_op.setdefault(call.op, []).append(call)
    pairs = [calls for calls in by_op.values() if {c.role for c in calls} == {"first", "twin"}]
    assert pairs
    assert any(max(c.started for c in pair) < min(c.ended for c in pair) for pair in pairs)
    # Every wallet's final balance is what the acknowledged answers add up to (checked), and was read.
    assert len(report.ledger) == 4
    assert all(state.entries for state in report.ledger.values())


# -- the checker on fabricated histories ---------------------------------------------------------


class Book:
    """A consistent history for one wallet: every movement acknowledged and in the ledger."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.entries: list[dict] = []
        self.balance = D(0)
        self.clock = 0.0

    def tick(self) -> float:
        self.clock += 1.0
        return self.clock

    def move(
        self, protocol: str, action: str, transaction_id: str, amount: D | None, bet_id: str | None = None
    ) -> Call:
        moved = amount if amount is not None else self._bet_amount(bet_id)
        before = self.balance
        self.balance += -moved if action in ("withdrawal", "bet") else moved
        entry = {
            "transactionId": transaction_id,
            "type": action,
            "amount": f"{moved:.6f}",
            "betId": bet_id,
            "balance": "cash",
            "balanceBefore": f"{before:.6f}",
            "balanceAfter": f"{self.balance:.6f}",
            "version": len(self.entries) + 1,
        }
        self.entries.append(entry)
        request = Request(protocol, WALLET, action, transaction_id, amount, bet_id)
        return self.answer(request, entry)

    def answer(self, request: Request, entry: dict, *, role: str = "first", replay: bool = False) -> Call:
        started = self.tick()
        if request.protocol == NATIVE:
            body = {
                "transaction": dict(entry),
                "wallet": {"balance": entry["balanceAfter"], "version": entry["version"]},
            }
            call = Call(request, role, 1, started, self.tick(), 200 if replay else 201, body, replay)
        else:
            uuid = f"uuid-{started}"
            status = {"bet": "BET_ALREADY_EXIST"}.get(request.action, "BET_ALREADY_SETTLED") if replay else "OK"
            body = {"status": status, "balance": self.balance, "bonus": 0, "uuid": uuid}
            call = Call(request, role, 1, started, self.tick(), 200, body, uuid=uuid)
        self.calls.append(call)
        return call

    def _bet_amount(self, bet_id: str | None) -> D:
        return next(D(e["amount"]) for e in self.entries if e["type"] == "bet" and e["betId"] == bet_id)

    def ledger(self, balance: D | None = None) -> dict[str, WalletState]:
        final = self.balance if balance is None else balance
        return {WALLET: WalletState(final, D(0), len(self.entries), copy.deepcopy(self.entries))}


def clean_book() -> Book:
    book = Book()
    book.move(NATIVE, "deposit", "t-dep", D("100"))
    book.move(NATIVE, "bet", "t-bet", D("30"), "b1")
    book.move(NATIVE, "win", "t-win", D("50"), "b1")
    book.move(NATIVE, "withdrawal", "t-wd", D("20"))
    book.move(ONEWALLET, "bet", "o-1", D("10"), "b2")
    book.move(ONEWALLET, "refund", "o-1", D("10"), "b2")  # a cancel reusing the debit's id
    return book


def reported(violations: list[str], *words: str) -> bool:
    return any(all(word in violation for word in words) for violation in violations)


def test_a_consistent_history_has_no_violation() -> None:
    book = clean_book()
    # Replays answered as the original: a native 200 with the same body, a One Wallet duplicate status.
    deposit = book.calls[0]
    book.answer(deposit.request, book.entries[0], role="later", replay=True)
    debit = book.calls[4]
    book.answer(debit.request, book.entries[4], role="twin", replay=True)
    # A rejection, recorded and replayed alike; a 503 that committed nothing.
    big = Request(NATIVE, WALLET, "withdrawal", "t-big", D("1000"))
    for role in ("first", "later"):
        book.calls.append(Call(big, role, 2, book.tick(), book.tick(), 409, {"code": "insufficient_funds"}))
    busy = Request(NATIVE, WALLET, "deposit", "t-busy", D("5"))
    book.calls.append(Call(busy, "first", 3, book.tick(), book.tick(), 503, {"code": "temporarily_unavailable"}))

    assert check(book.calls, book.ledger()) == []
    assert book.balance == D("100")


def test_a_transaction_applied_twice_is_reported() -> None:
    book = clean_book()
    twice = copy.deepcopy(book.entries[0])
    twice.update(
        version=len(book.entries) + 1, balanceBefore=f"{book.balance:.6f}", balanceAfter=f"{book.balance + 100:.6f}"
    )
    book.entries.append(twice)
    book.balance += 100

    violations = check(book.calls, book.ledger())

    assert reported(violations, "deposit t-dep was applied 2 times")
    assert reported(violations, "money not conserved in wallet w1")


def test_a_negative_balance_is_reported() -> None:
    book = clean_book()
    book.move(NATIVE, "withdrawal", "t-overdraw", D("500"))

    violations = check(book.calls, book.ledger())

    assert reported(violations, "cash balance is negative (-400")
    assert reported(violations, "t-overdraw leaves the cash balance negative")


def test_a_bet_settled_twice_is_reported() -> None:
    book = clean_book()
    book.move(NATIVE, "refund", "t-refund", None, "b1")  # b1 was already won

    violations = check(book.calls, book.ledger())

    assert reported(violations, "bet b1 was settled 2 times", "win t-win", "refund t-refund")


def test_a_native_replay_answered_differently_is_reported() -> None:
    book = clean_book()
    other = copy.deepcopy(book.entries[0])
    other["balanceAfter"] = "200.000000"
    book.answer(book.calls[0].request, other, role="later", replay=True)

    violations = check(book.calls, book.ledger())

    assert reported(violations, "deposit t-dep", "body unlike", "transaction.balanceAfter")


def test_a_one_wallet_duplicate_answered_as_a_new_movement_is_reported() -> None:
    book = clean_book()
    debit = book.calls[4]
    again = book.answer(debit.request, book.entries[4], role="later")  # "OK" a second time
    assert again.body["status"] == "OK"

    violations = check(book.calls, book.ledger())

    assert reported(violations, "bet o-1", "2 sends were each answered as a new movement")


def test_a_replay_of_an_applied_debit_refused_for_funds_is_reported() -> None:
    book = clean_book()
    debit = book.calls[4].request
    book.calls.append(
        Call(
            debit, "later", 9, book.tick(), book.tick(), 200, {"status": "INSUFFICIENT_FUNDS", "uuid": "u9"}, uuid="u9"
        )
    )

    violations = check(book.calls, book.ledger())

    assert reported(violations, "bet o-1", "INSUFFICIENT_FUNDS, yet the ledger applied it")


def test_a_rejection_replayed_as_another_rejection_is_reported() -> None:
    book = clean_book()
    big = Request(NATIVE, WALLET, "withdrawal", "t-big", D("1000"))
    book.calls.append(Call(big, "first", 2, book.tick(), book.tick(), 409, {"code": "insufficient_funds"}))
    book.calls.append(Call(big, "later", 2, book.tick(), book.tick(), 404, {"code": "bet_not_found"}))

    violations = check(book.calls, book.ledger())

    assert reported(violations, "withdrawal t-big", "rejected in different ways")


def test_money_not_conserved_is_reported() -> None:
    # The ledger adds up on its own (balance = its entries, nothing negative, nothing twice), but the
    # client asked to withdraw 20 and was answered 201, while the ledger took 2.
    book = Book()
    book.move(NATIVE, "deposit", "t-dep", D("100"))
    book.move(NATIVE, "withdrawal", "t-wd", D("2"))
    told = book.calls[1]
    asked = Request(NATIVE, WALLET, "withdrawal", "t-wd", D("20"))
    book.calls[1] = Call(asked, "first", 1, told.started, told.ended, 201, told.body)

    violations = check(book.calls, book.ledger())

    assert reported(violations, "money not conserved in wallet w1", "total 80", "final balance is 98", "difference 18")
    assert reported(violations, "money not conserved overall")
    assert len(violations) == 2, violations


def test_an_acknowledged_movement_missing_from_the_ledger_is_reported() -> None:
    book = clean_book()
    lost = book.move(NATIVE, "deposit", "t-lost", D("7"))
    book.entries.pop()
    book.balance -= 7
    assert lost.status == 201

    violations = check(book.calls, book.ledger())

    assert reported(violations, "deposit t-lost", "acknowledged (201) but the transaction is not in the ledger")
    assert reported(violations, "money not conserved in wallet w1", "difference -7")


def test_a_movement_no_answer_acknowledged_is_reported() -> None:
    book = clean_book()
    book.move(NATIVE, "deposit", "t-sneaky", D("5"))
    book.calls.pop()
    sneaky = Request(NATIVE, WALLET, "deposit", "t-sneaky", D("5"))
    book.calls.append(Call(sneaky, "first", 4, book.tick(), book.tick(), 409, {"code": "insufficient_funds"}))

    violations = check(book.calls, book.ledger())

    assert reported(violations, "deposit t-sneaky", "no answer acknowledged it")
    assert reported(violations, "deposit t-sneaky", "yet the ledger applied it")
    assert reported(violations, "money not conserved in wallet w1")


def test_a_503_that_committed_is_reported() -> None:
    book = clean_book()
    book.move(NATIVE, "deposit", "t-503", D("5"))
    book.calls[-1] = Call(book.calls[-1].request, "first", 5, 0.0, 0.0, 503, {"code": "temporarily_unavailable"})

    violations = check(book.calls, book.ledger())

    assert reported(violations, "deposit t-503", "a 503 / TEMPORARY_ERROR must commit nothing")


def test_a_movement_whose_only_answer_was_lost_is_indeterminate_not_a_violation() -> None:
    book = clean_book()
    book.move(NATIVE, "deposit", "t-lost", D("5"))
    book.calls[-1] = Call(book.calls[-1].request, "first", 6, 0.0, 0.0, None, None, error="ConnectionError")

    assert check(book.calls, book.ledger()) == []


def test_a_temporary_error_after_the_transaction_was_acknowledged_is_reported() -> None:
    book = clean_book()
    debit = book.calls[4].request
    late = book.tick() + 10
    book.calls.append(
        Call(debit, "later", 7, late, late + 1, 200, {"status": "TEMPORARY_ERROR", "uuid": "u7"}, uuid="u7")
    )

    violations = check(book.calls, book.ledger())

    assert reported(violations, "bet o-1", "TEMPORARY_ERROR although the transaction had been committed")


def test_a_late_bet_charged_despite_its_tombstone_is_reported() -> None:
    book = clean_book()
    cancel = Request(ONEWALLET, WALLET, "refund", "o-9", D("5"), "b9")
    at = book.tick()
    book.calls.append(
        Call(cancel, "first", 8, at, at + 0.5, 200, {"status": "BET_DOES_NOT_EXIST", "uuid": "u8"}, uuid="u8")
    )
    book.move(ONEWALLET, "bet", "o-10", D("5"), "b9")  # sent after the cancel was answered, and charged

    violations = check(book.calls, book.ledger())

    assert reported(violations, "bet o-10", "bet b9 was charged although a refund had been answered 'bet not found'")


def test_a_ledger_order_contradicting_real_time_is_reported() -> None:
    book = clean_book()
    # t-dep (v1) was answered at time 1-2, but the deposit at v2... make v1's call start after v2's ended.
    first, second = book.calls[0], book.calls[1]
    first.started, first.ended = 10.0, 11.0
    second.started, second.ended = 3.0, 4.0

    violations = check(book.calls, book.ledger())

    assert reported(violations, "bet t-bet was acknowledged before deposit t-dep was sent", "v2 > v1")


@pytest.mark.parametrize("status", [500, 422])
def test_an_answer_no_client_should_get_is_reported(status: int) -> None:
    book = clean_book()
    broken = Request(NATIVE, WALLET, "deposit", "t-broken", D("5"))
    book.calls.append(Call(broken, "first", 9, book.tick(), book.tick(), status, {"code": "whatever"}))

    violations = check(book.calls, book.ledger())

    assert reported(violations, "deposit t-broken", f"unexpected answer {status}")
