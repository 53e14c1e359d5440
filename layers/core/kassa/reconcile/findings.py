"""What reconciliation can find: one small vocabulary shared by the stream verifier, the audit and the
provider-report matcher, each finding naming exactly the wallet and the entry (or the report's line) it is
about, and writing amounts in the wallet's currency as the API does."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kassa.domain.model import Wallet
from kassa.money import format_units


class Kind(StrEnum):
    # ledger integrity (stream verifier, audit)
    BALANCE_MISMATCH = "balance_mismatch"  # wallet balance (or bonus) is not the sum of its entries
    VERSION_MISMATCH = "version_mismatch"  # wallet version or last hash is not its last entry's
    ENTRY_ARITHMETIC = "entry_arithmetic"  # balance after != balance before + amount
    ENTRY_HASH = "entry_hash"  # the entry's hash is not H(previous hash, entry)
    CHAIN_BROKEN = "chain_broken"  # the entry's previous hash is not its predecessor's
    ENTRY_MISSING = "entry_missing"  # a version with no entry
    ENTRY_DELETED = "entry_deleted"  # the stream saw an entry removed
    WALLET_DELETED = "wallet_deleted"  # the stream saw a wallet item removed
    STALE_BET = "stale_bet"  # a bet open past the operator's limit
    # provider report matching
    MATCHED = "matched"
    MISSING_IN_KASSA = "missing_in_kassa"
    MISSING_IN_REPORT = "missing_in_report"
    AMOUNT_MISMATCH = "amount_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    STATUS_MISMATCH = "status_mismatch"
    INVALID_RECORD = "invalid_record"  # a row of the report that cannot be read (e.g. an unknown action)


# What says the ledger itself is wrong (not a stale bet, nor a difference with a provider's report): each
# one found, by the stream verifier or an audit, counts as a LedgerDiscrepancy and wakes someone up.
DISCREPANCIES = frozenset(
    {
        Kind.BALANCE_MISMATCH,
        Kind.VERSION_MISMATCH,
        Kind.ENTRY_ARITHMETIC,
        Kind.ENTRY_HASH,
        Kind.CHAIN_BROKEN,
        Kind.ENTRY_MISSING,
        Kind.ENTRY_DELETED,
        Kind.WALLET_DELETED,
    }
)


@dataclass(frozen=True)
class Finding:
    kind: Kind
    player_id: str
    version: int | None = None
    transaction_id: str | None = None
    action: str | None = None
    detail: str = ""
    line: int | None = None  # the provider report's line, for a row that cannot be read

    @property
    def key(self) -> str:
        """Stable identity: the same problem found twice (a redelivered stream batch) is one finding."""
        if self.line is not None:
            # An unreadable row is keyed by its line, the one identity it surely has: its ids may be missing,
            # repeated on another bad row, or thousands of characters long. The key stays short too.
            return f"{self.kind.value}#line:{self.line}"
        # A transaction's finding is keyed by the transaction (two rejections share a wallet version).
        where = f"{self.transaction_id}:{self.action}" if self.transaction_id else self.version
        return f"{self.kind.value}#{self.player_id}#{where}"

    def as_dict(self) -> dict[str, object]:
        about_a_line = {} if self.line is None else {"line": self.line}  # ledger findings keep their shape
        return {
            "kind": self.kind.value,
            "playerId": self.player_id,
            "version": self.version,
            "transactionId": self.transaction_id,
            "action": self.action,
            "detail": self.detail,
            **about_a_line,
        }


@dataclass(frozen=True)
class Currency:
    """How a finding's detail writes a wallet's stored integer units: in its currency, as the API writes
    amounts (``format_units``), so a detail reads "0.00 EUR + 1000.00 EUR", never "0 + 100000"."""

    code: str
    scale: int

    @classmethod
    def of(cls, wallet: Wallet) -> Currency:
        return cls(wallet.currency, wallet.scale)

    def amount(self, units: int) -> str:
        return f"{format_units(units, self.scale)} {self.code}"

    def balances(self, cash: int, bonus: int) -> str:
        return f"{self.amount(cash)} cash, {self.amount(bonus)} bonus"
