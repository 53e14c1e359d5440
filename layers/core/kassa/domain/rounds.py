"""A round: one bet from its opening to its settlement, with every call decided on it, in commit order.

Pure: the store hands over the bet and its entries in no order. The commit order follows from the wallet
version each entry records: an applied entry moved the wallet to its version, a refusal was decided
(and its commit checked the wallet unchanged) at the version it records, so it came after the applied
entry of that version and before the next. Two refusals at one version touched nothing between them;
they are ordered by when they were decided.
"""

from __future__ import annotations

from dataclasses import dataclass

from kassa.domain.model import Action, Bet, BetState, Entry

# Settlement actions, whose amount is what the round paid back.
_SETTLEMENTS = frozenset({Action.WIN, Action.REFUND})


@dataclass(frozen=True)
class Round:
    bet: Bet
    entries: list[Entry]  # commit order
    stake: int
    payout: int | None  # None while the bet is open
    opened_at: str
    closed_at: str | None

    @property
    def net(self) -> int | None:
        """What the round brought the player (payout less stake), once it is closed."""
        return None if self.payout is None else self.payout - self.stake


def round_of(bet: Bet, entries: list[Entry]) -> Round:
    ordered = sorted(entries, key=lambda entry: (entry.version, not entry.applied, entry.created_at))
    settlement = next((e for e in ordered if e.applied and e.action in _SETTLEMENTS), None)
    if bet.state is BetState.TOMBSTONE:
        # A refund came first and was refused; the bet it names never took money.
        return Round(bet, ordered, 0, 0, bet.created_at, bet.created_at)
    if settlement is None:
        return Round(bet, ordered, bet.amount, None, bet.created_at, None)
    return Round(bet, ordered, bet.amount, abs(settlement.amount), bet.created_at, settlement.created_at)
