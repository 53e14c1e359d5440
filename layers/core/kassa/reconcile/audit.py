"""The full audit of one wallet, as a pure function of what was read: its item and all its applied
entries in version order. Each check points at the one entry (or the wallet) that is wrong, so one
corruption yields findings about that wallet and that entry only:

- an entry whose amount, balances or hash were altered fails its own arithmetic or hash check, while the
  next entry still links to it (its previous hash matches the stored or the recomputed hash);
- a deleted entry is a missing version, and the link across the gap is not judged;
- a tampered wallet balance, version or last hash disagrees with the sum and the last entry.
"""

from __future__ import annotations

from kassa.domain.hashchain import recompute
from kassa.domain.model import GENESIS_HASH, Balance, Entry, Wallet
from kassa.reconcile.findings import Finding, Kind


def entry_findings(wallet_operator: str, player_id: str, entry: Entry) -> list[Finding]:
    """Checks an entry passes on its own (the stream verifier runs these on every committed entry)."""
    found = []
    if entry.balance_after != entry.balance_before + entry.amount:
        found.append(
            Finding(
                Kind.ENTRY_ARITHMETIC,
                player_id,
                entry.version,
                entry.transaction_id,
                entry.action.value,
                f"{entry.balance_before} + {entry.amount} != {entry.balance_after}",
            )
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


def links_to(entry: Entry, previous: Entry | None, operator_id: str, player_id: str) -> bool:
    """Does ``entry`` name ``previous`` (or the genesis) as its predecessor?"""
    if previous is None:
        return entry.previous_hash == GENESIS_HASH
    return entry.previous_hash in (previous.hash, recompute(operator_id, player_id, previous))


def audit_wallet(wallet: Wallet, entries: list[Entry]) -> list[Finding]:
    player, operator = wallet.player_id, wallet.operator_id
    found: list[Finding] = []
    totals = {Balance.CASH: 0, Balance.BONUS: 0}
    previous: Entry | None = None
    expected_version = 1
    for entry in sorted(entries, key=lambda e: e.version):
        found += entry_findings(operator, player, entry)
        gap = entry.version != expected_version
        for missing in range(expected_version, entry.version):
            found.append(Finding(Kind.ENTRY_MISSING, player, missing, detail="no entry with this version"))
        if not gap and not links_to(entry, previous, operator, player):
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
        previous, expected_version = entry, entry.version + 1
    for missing in range(expected_version, wallet.version + 1):
        found.append(Finding(Kind.ENTRY_MISSING, player, missing, detail="no entry with this version"))
    if (wallet.balance, wallet.bonus) != (totals[Balance.CASH], totals[Balance.BONUS]):
        found.append(
            Finding(
                Kind.BALANCE_MISMATCH,
                player,
                wallet.version,
                detail=(
                    f"wallet {wallet.balance}/{wallet.bonus}, entries {totals[Balance.CASH]}/{totals[Balance.BONUS]}"
                ),
            )
        )
    last_hash = previous.hash if previous is not None else GENESIS_HASH
    if previous is not None and previous.version == wallet.version and wallet.last_hash != last_hash:
        found.append(Finding(Kind.VERSION_MISMATCH, player, wallet.version, detail="last hash is not the last entry's"))
    if previous is not None and previous.version > wallet.version:
        found.append(
            Finding(Kind.VERSION_MISMATCH, player, wallet.version, detail=f"entries reach version {previous.version}")
        )
    return found
