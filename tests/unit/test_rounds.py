"""The round view's order is the commit order, which the wallet versions give, not the clocks of the
Lambda containers that decided each action (kassa.domain.rounds)."""

from __future__ import annotations

from kassa.domain.model import Action, Bet, BetState, Entry, Outcome
from kassa.domain.rounds import round_of


def entry(tx: str, action: Action, outcome: Outcome, version: int, at: str, amount: int = 0) -> Entry:
    return Entry(tx, action, outcome, "f", f"2026-12-06T10:00:{at}Z", "c", amount=amount, version=version)


def test_versions_order_the_round_even_when_clocks_disagree() -> None:
    bet = Bet("r1", BetState.SETTLED, 10, "d1", "2026-12-06T10:00:05Z", settled_by="c1")
    # The win's container clock ran behind the refusals' (decided after the win, at its version).
    found = [
        entry("c2", Action.WIN, Outcome.REJECTED, 3, "01"),
        entry("c1", Action.WIN, Outcome.APPLIED, 3, "09", amount=25),
        entry("d1", Action.BET, Outcome.APPLIED, 2, "05", amount=-10),
        entry("d2", Action.BET, Outcome.REJECTED, 2, "06"),  # a retry with a new id, refused at version 2
        entry("x9", Action.REFUND, Outcome.REJECTED, 3, "00"),
    ]
    view = round_of(bet, found)
    assert [(e.transaction_id, e.action) for e in view.entries] == [
        ("d1", Action.BET),
        ("d2", Action.BET),
        ("c1", Action.WIN),
        ("x9", Action.REFUND),
        ("c2", Action.WIN),
    ]
    assert (view.stake, view.payout, view.net, view.closed_at) == (10, 25, 15, "2026-12-06T10:00:09Z")


def test_an_open_bet_has_no_payout_and_a_tombstone_moved_nothing() -> None:
    open_bet = round_of(Bet("r1", BetState.OPEN, 10, "d1", "t0"), [])
    assert (open_bet.payout, open_bet.net, open_bet.closed_at) == (None, None, None)
    tombstone = round_of(Bet("r2", BetState.TOMBSTONE, 0, "x1", "t1"), [])
    assert (tombstone.stake, tombstone.payout, tombstone.net, tombstone.closed_at) == (0, 0, 0, "t1")
