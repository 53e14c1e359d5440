"""The full audit of one wallet, as a pure function of what was read: its item and all its applied
entries in version order. Each check points at the one entry (or the wallet) that is wrong, so one
corruption yields findings about that wallet and that entry only:

- an entry whose amount, balances or hash were altered fails its own arithmetic or hash check, while the
  next entry still links to it (its previous hash matches the stored or the recomputed hash);
- a deleted entry is a missing version, and the link across the gap is not judged;
- a tampered wallet balance, version or last hash disagrees with the sum and the last entry.

The audit can start from a ``Checkpoint`` (what an earlier audit verified up to a version: that entry's
hash, the totals, the bets left open) and then needs only the entries after it: the scheduled audit reads
each wallet's new entries, not its whole history (``kassa.reconcile.runs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kassa.domain.hashchain import recompute
from kassa.domain.model import GENESIS_HASH, Action, Balance, Entry, Wallet
from kassa.reconcile.findings import Currency, Finding, Kind


@dataclass(frozen=True)
class Checkpoint:
    """A wallet verified up to ``version``: its last entry's hash, the totals, and the bets open then."""

    version: int = 0
    hash: str = GENESIS_HASH
    cash: int = 0
    bonus: int = 0
    open_bets: dict[str, str] = field(default_factory=dict)  # bet id -> when it was placed


GENESIS = Checkpoint()


def entry_findings(wallet_operator: str, player_id: str, entry: Entry, currency: Currency) -> list[Finding]:
    """Checks an entry passes on its own (the stream verifier runs these on every committed entry)."""
    found = []
    if entry.balance_after != entry.balance_before + entry.amount:
        shown = currency.amount
        detail = f"{shown(entry.balance_before)} + {shown(entry.amount)} != {shown(entry.balance_after)}"
        found.append(
            Finding(Kind.ENTRY_ARITHMETIC, player_id, entry.version, entry.transaction_id, entry.action.value, detail)
        )
    if entry.hash != recompute(wallet_operator, player_id, entry):
        found.append(
            Finding(
                Kind.ENTRY_HASH,
                player_id,
                entry.version,
                entry.transaction_id,
                entry.action.value,
                "the stored hash is not H(previous hash, entry)",
            )
        )
    return found


def links_to(
    entry: Entry, previous: Entry | None, operator_id: str, player_id: str, start_hash: str = GENESIS_HASH
) -> bool:
    """Does ``entry`` name ``previous`` (or, with none, the start: the genesis or a checkpoint) as its
    predecessor?"""
    if previous is None:
        return entry.previous_hash == start_hash
    return entry.previous_hash in (previous.hash, recompute(operator_id, player_id, previous))


def audit_wallet(wallet: Wallet, entries: list[Entry], start: Checkpoint = GENESIS) -> list[Finding]:
    return audit_from(wallet, entries, start)[0]


def audit_from(wallet: Wallet, entries: list[Entry], start: Checkpoint = GENESIS) -> tuple[list[Finding], Checkpoint]:
    """The findings about ``wallet`` given its entries after ``start``, and the checkpoint they reach."""
    player, operator, currency = wallet.player_id, wallet.operator_id, Currency.of(wallet)
    found: list[Finding] = []
    totals = {Balance.CASH: start.cash, Balance.BONUS: start.bonus}
    open_bets = dict(start.open_bets)
    previous: Entry | None = None
    expected_version = start.version + 1
    for entry in sorted(entries, key=lambda e: e.version):
        found += entry_findings(operator, player, entry, currency)
        gap = entry.version != expected_version
        for missing in range(expected_version, entry.version):
            found.append(Finding(Kind.ENTRY_MISSING, player, missing, detail="no entry with this version"))
        if not gap and not links_to(entry, previous, operator, player, start.hash):
            found.append(
                Finding(
                    Kind.CHAIN_BROKEN,
                    player,
                    entry.version,
                    entry.transaction_id,
                    entry.action.value,
                    "the previous hash is not the predecessor's",
                )
            )
        totals[entry.balance] += entry.amount
        if entry.action is Action.BET and entry.bet_id:
            open_bets[entry.bet_id] = entry.created_at
        elif entry.action in (Action.WIN, Action.REFUND) and entry.bet_id:
            open_bets.pop(entry.bet_id, None)
        previous, expected_version = entry, entry.version + 1
    for missing in range(expected_version, wallet.version + 1):
        found.append(Finding(Kind.ENTRY_MISSING, player, missing, detail="no entry with this version"))
    if (wallet.balance, wallet.bonus) != (totals[Balance.CASH], totals[Balance.BONUS]):
        wallet_holds = currency.balances(wallet.balance, wallet.bonus)
        entries_sum = currency.balances(totals[Balance.CASH], totals[Balance.BONUS])
        detail = f"the wallet holds {wallet_holds}; its entries sum to {entries_sum}"
        found.append(Finding(Kind.BALANCE_MISMATCH, player, wallet.version, detail=detail))
    last_hash = previous.hash if previous is not None else start.hash
    last_version = previous.version if previous is not None else start.version
    if last_version == wallet.version and wallet.last_hash != last_hash:
        found.append(Finding(Kind.VERSION_MISMATCH, player, wallet.version, detail="last hash is not the last entry's"))
    if previous is not None and previous.version > wallet.version:
        found.append(
            Finding(Kind.VERSION_MISMATCH, player, wallet.version, detail=f"entries reach version {previous.version}")
        )
    reached = Checkpoint(last_version, last_hash, totals[Balance.CASH], totals[Balance.BONUS], open_bets)
    return found, reached
