"""The bank workload's ordinary mix (``python -m kassa_dev.bank --mix ordinary``): what players do on an
ordinary day, for the anomaly rules' false-positive count (docs/STRESS.md).

The default mix is a robot built to break the ledger: it withdraws at random right after depositing,
asks for far more than the balance, settles bets twice and bets on refunded ids; the anomaly rules rightly
flag much of it. Here players mostly play: a deposit now and then, stakes of 1-40 against a balance of a
thousand, wins of up to twice the stake, a settlement only for one of their own open bets, and a
withdrawal only once they have played through half of what they deposited since the last one. Retries and
concurrent duplicates stay (they are ordinary on a network), and so does the checker: every answer and
the ledger are checked as for the default mix.
"""

from __future__ import annotations

from decimal import Decimal

from kassa_dev.bank import INITIAL_DEPOSIT, NATIVE, ONEWALLET, Request, Workload, _Bet

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
# rule's default (minWagerRatio 0.1), so a bet still in flight when the withdrawal commits cannot make an
# ordinary player look like one who never played.
PLAYED_THROUGH = Decimal("0.2")
SETTLING = frozenset({"win", "refund", "ow_credit", "ow_cancel"})


class OrdinaryWorkload(Workload):
    def __init__(self, wallets: list[str], operations: int, seed: int, tag: str) -> None:
        super().__init__(wallets, operations, seed, tag)
        self.kinds = [name for name, _ in ORDINARY_KINDS]
        self.weights = [weight for _, weight in ORDINARY_KINDS]
        self.deposited = dict.fromkeys(wallets, INITIAL_DEPOSIT)  # since the wallet's last withdrawal
        self.staked = dict.fromkeys(wallets, Decimal(0))

    def _request(self, kind: str, number: int) -> Request:
        wallet = self.rng.choice(self.wallets)
        if kind == "resend_later":
            return self.rng.choice(self.past)
        if kind in SETTLING:
            bet = self._take_open_bet()
            if bet is not None:
                return self._settlement(kind, bet, number)
        elif kind == "deposit":
            amount = self._amount(2_000, 20_000)
            self.deposited[wallet] += amount
            return Request(NATIVE, wallet, "deposit", f"{self.tag}-n{number}", amount)
        elif kind == "withdrawal" and self.staked[wallet] >= PLAYED_THROUGH * self.deposited[wallet]:
            self.deposited[wallet] = self.staked[wallet] = Decimal(0)
            return Request(NATIVE, wallet, "withdrawal", f"{self.tag}-n{number}", self._amount(1_000, 10_000))
        return self._bet(wallet, number, NATIVE if kind == "bet" else ONEWALLET)

    def _bet(self, wallet: str, number: int, protocol: str) -> Request:
        transaction_id = f"{self.tag}-{'n' if protocol == NATIVE else 'o'}{number}"
        stake = self._amount(100, 4_000)
        bet_id = f"{self.tag}-b{number}"
        self.known[bet_id] = _Bet(wallet, bet_id, stake, transaction_id)
        self.staked[wallet] += stake
        return Request(protocol, wallet, "bet", transaction_id, stake, bet_id)

    def _take_open_bet(self) -> _Bet | None:
        """One of the open bets, no longer offered to another settlement (a player settles a bet once)."""
        bet = self.open.pick(self.rng)
        if bet is not None:
            self.open.remove(bet.bet_id)
        return bet

    def _settlement(self, kind: str, bet: _Bet, number: int) -> Request:
        protocol = NATIVE if kind in ("win", "refund") else ONEWALLET
        transaction_id = f"{self.tag}-{'n' if protocol == NATIVE else 'o'}{number}"
        if kind in ("win", "ow_credit"):
            payout = (bet.amount * Decimal(self.rng.randint(0, 200)) / 100).quantize(Decimal("0.01"))
            return Request(protocol, bet.wallet, "win", transaction_id, payout, bet.bet_id)
        return Request(protocol, bet.wallet, "refund", transaction_id, bet.amount, bet.bet_id)
