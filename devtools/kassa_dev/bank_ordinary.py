"""The bank workload's ordinary mix (``python -m kassa_dev.bank --mix ordinary``): what players do on an
ordinary day, for the anomaly rules' false-positive count (docs/STRESS.md).

The default mix is a robot built to break the ledger: it withdraws at random right after depositing,
asks for far more than the balance, settles bets twice and bets on refunded ids; the anomaly rules rightly
flag much of it. Here players mostly play: a deposit now and then, stakes of 1-40 against a balance of a
thousand, wins of up to twice the stake, a settlement only for one of their own open bets, and a
withdrawal only once they have played through a share of what they deposited since the last one. A
player does one thing at a time (the next request for a wallet waits for the answer to the last), and
what a player has deposited and staked counts once the answer says it committed: so the ledger's order
for a wallet is the order the player chose, as on a real player's device. Retries and concurrent
duplicates of one request stay (they are ordinary on a network), and so does the checker: every answer
and the ledger are checked as for the default mix.
"""

from __future__ import annotations

from decimal import Decimal

from kassa_dev.bank import INITIAL_DEPOSIT, NATIVE, ONEWALLET, Call, Key, Request, Workload, _Bet, _Op

ORDINARY_KINDS: tuple[tuple[str, int], ...] = (
    ("deposit", 3),
    ("withdrawal", 4),
    ("bet", 30),
    ("win", 20),
    ("refund", 2),
    ("ow_debit", 20),
    ("ow_credit", 15),
    ("ow_cancel", 2),
    ("resend_later", 6),
)
# A withdrawal waits until this share of the deposits since the previous one has been staked: twice the
# rule's default (minWagerRatio 0.1), an ordinary player's margin above it.
PLAYED_THROUGH = Decimal("0.2")
SETTLING = frozenset({"win", "refund", "ow_credit", "ow_cancel"})
# The answers that say a request's movement is in the ledger (a One Wallet duplicate: by the twin's call).
COMMITTED = frozenset({"new", "replay", "duplicate"})


class OrdinaryWorkload(Workload):
    def __init__(self, wallets: list[str], operations: int, seed: int, tag: str) -> None:
        super().__init__(wallets, operations, seed, tag)
        self.kinds = [name for name, _ in ORDINARY_KINDS]
        self.weights = [weight for _, weight in ORDINARY_KINDS]
        # Committed since the wallet's last committed withdrawal, from the answers alone.
        self.deposited = dict.fromkeys(wallets, INITIAL_DEPOSIT)
        self.staked = dict.fromkeys(wallets, Decimal(0))
        self.counted: set[Key] = set()  # requests whose movement is already in those sums
        self.busy: set[str] = set()  # wallets with a request sent and not yet answered

    def _request(self, kind: str, number: int) -> Request:
        request = self._choose(kind, number)
        self.busy.add(request.wallet)
        return request

    def _choose(self, kind: str, number: int) -> Request:
        idle = [wallet for wallet in self.wallets if wallet not in self.busy]
        if not idle:
            raise RuntimeError("the ordinary mix needs more wallets than clients: every wallet is busy")
        wallet = self.rng.choice(idle)
        if kind == "resend_later":
            resendable = [request for request in self.past if request.wallet not in self.busy]
            if resendable:
                return self.rng.choice(resendable)
        elif kind in SETTLING:
            bet = self._take_open_bet()
            if bet is not None:
                return self._settlement(kind, bet, number)
        elif kind == "deposit":
            return Request(NATIVE, wallet, "deposit", f"{self.tag}-n{number}", self._amount(2_000, 20_000))
        elif kind == "withdrawal" and self.staked[wallet] >= PLAYED_THROUGH * self.deposited[wallet]:
            return Request(NATIVE, wallet, "withdrawal", f"{self.tag}-n{number}", self._amount(1_000, 10_000))
        return self._bet(wallet, number, NATIVE if kind == "bet" else ONEWALLET)

    def observe(self, op: _Op, calls: list[Call]) -> None:
        super().observe(op, calls)
        request = op.request
        with self.lock:
            self.busy.discard(request.wallet)
            committed = any(call.outcome[0] in COMMITTED for call in calls)
            if not committed or request.key in self.counted:
                return
            self.counted.add(request.key)
            if request.action == "deposit":
                self.deposited[request.wallet] += request.amount or 0
            elif request.action == "bet":
                self.staked[request.wallet] += request.amount or 0
            elif request.action == "withdrawal":
                self.deposited[request.wallet] = self.staked[request.wallet] = Decimal(0)

    def _bet(self, wallet: str, number: int, protocol: str) -> Request:
        transaction_id = f"{self.tag}-{'n' if protocol == NATIVE else 'o'}{number}"
        stake = self._amount(100, 4_000)
        bet_id = f"{self.tag}-b{number}"
        self.known[bet_id] = _Bet(wallet, bet_id, stake, transaction_id)
        return Request(protocol, wallet, "bet", transaction_id, stake, bet_id)

    def _take_open_bet(self) -> _Bet | None:
        """One of the open bets of an idle player, no longer offered to another settlement (a player
        settles a bet once)."""
        settleable = [bet for bet in self.open.items if bet.wallet not in self.busy]
        if not settleable:
            return None
        bet = self.rng.choice(settleable)
        self.open.remove(bet.bet_id)
        return bet

    def _settlement(self, kind: str, bet: _Bet, number: int) -> Request:
        protocol = NATIVE if kind in ("win", "refund") else ONEWALLET
        transaction_id = f"{self.tag}-{'n' if protocol == NATIVE else 'o'}{number}"
        if kind in ("win", "ow_credit"):
            payout = (bet.amount * Decimal(self.rng.randint(0, 200)) / 100).quantize(Decimal("0.01"))
            return Request(protocol, bet.wallet, "win", transaction_id, payout, bet.bet_id)
        return Request(protocol, bet.wallet, "refund", transaction_id, bet.amount, bet.bet_id)
