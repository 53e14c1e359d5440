"""The ledger's state: wallets, bets and entries, as immutable values.

Invariants (checked by tests that try to break them, and by the reconciliation audit):
- a wallet's balance equals the sum of its applied entries' amounts (cash), and likewise its bonus;
- neither balance is ever below zero;
- a wallet's version is the number of entries applied to it, and entry versions are 1, 2, 3, ... with
  no gap;
- each entry's hash is H(previous entry's hash, entry), so an altered or deleted entry breaks the chain;
- a (transaction id, action) pair, once decided, always means the same request and the same answer;
- a bet is settled at most once: by one win or by one refund; a refund of an unknown bet leaves a
  tombstone that refuses the bet forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

GENESIS_HASH = "0" * 64
# Protocols a movement can come through (``Origin.protocol``).
NATIVE, ONEWALLET, SYSTEM = "native", "onewallet", "system"


class Action(StrEnum):
    """What a transaction does; the idempotency key is (wallet, action, transaction id)."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    BET = "bet"
    WIN = "win"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"
    PROMO = "promo"


class WalletStatus(StrEnum):
    ACTIVE = "active"
    LOCKED = "locked"


class BetState(StrEnum):
    OPEN = "open"
    SETTLED = "settled"
    CANCELLED = "cancelled"
    # A refund arrived for a bet we never saw: remembered forever so the late bet is refused.
    TOMBSTONE = "tombstone"


class Outcome(StrEnum):
    APPLIED = "applied"
    REJECTED = "rejected"


class Balance(StrEnum):
    """Which of the wallet's two balances a movement changes."""

    CASH = "cash"
    BONUS = "bonus"


@dataclass(frozen=True)
class SinceWithdrawal:
    """What a wallet took in deposits and staked in bets since its last withdrawal, in storage units: the
    ``deposit_withdraw_no_play`` rule's facts, kept by every movement so that a withdrawal carries them and
    nothing has to read the history back to the previous one."""

    deposited: int = 0
    wagered: int = 0

    def after(self, action: Action, delta: int) -> SinceWithdrawal:
        """The tally after an applied movement that moved ``delta`` units: a withdrawal starts a new one,
        deposits and stakes add to it, nothing else counts."""
        if action is Action.WITHDRAWAL:
            return SinceWithdrawal()
        if action is Action.DEPOSIT:
            return replace(self, deposited=self.deposited + delta)
        if action is Action.BET:
            return replace(self, wagered=self.wagered - delta)  # a stake's delta is negative
        return self


@dataclass(frozen=True)
class Wallet:
    operator_id: str
    player_id: str
    currency: str
    scale: int
    balance: int
    bonus: int
    status: WalletStatus
    version: int
    last_hash: str
    created_at: str
    updated_at: str
    # Hash of the player's live session id: a new session replaces it, which ends the previous one.
    current_session: str | None = None
    # Short digests of the (transaction id, action) of the movements this wallet applied last, newest last
    # (``kassa.domain.movements.recent_key``): a retry soon after is seen on the wallet read alone.
    recent: tuple[str, ...] = ()
    # None on a wallet stored before the tally was kept, until its next withdrawal starts one.
    since_withdrawal: SinceWithdrawal | None = None

    @property
    def locked(self) -> bool:
        return self.status is WalletStatus.LOCKED


@dataclass(frozen=True)
class Origin:
    """Where a movement came from, so a provider's complaint about one call leads to its entry, its log
    line and its trace: API Gateway's request id, the X-Ray trace id when Lambda has one, and the
    protocol (``native`` or ``onewallet``; ``system`` for Kassa's own, e.g. the audit's refunds)."""

    request_id: str = ""
    trace_id: str = ""
    protocol: str = ""


@dataclass(frozen=True)
class Bet:
    bet_id: str
    state: BetState
    amount: int
    transaction_id: str
    created_at: str
    settled_by: str | None = None


@dataclass(frozen=True)
class Entry:
    """One decided transaction. Applied entries move money; rejected ones only remember the answer."""

    transaction_id: str
    action: Action
    outcome: Outcome
    fingerprint: str
    created_at: str
    correlation_id: str
    amount: int = 0
    balance: Balance = Balance.CASH
    bet_id: str | None = None
    reason: str | None = None
    error_code: str | None = None
    # The moved balance (cash or bonus, see ``balance``) before and after.
    balance_before: int = 0
    balance_after: int = 0
    # The wallet as this entry left it, so a replay answers byte for byte like the original.
    wallet_balance: int = 0
    wallet_bonus: int = 0
    version: int = 0
    wallet_status: WalletStatus = WalletStatus.ACTIVE
    previous_hash: str | None = None
    hash: str | None = None
    # Outside the hash (entries written before it existed have none): where the request came from.
    origin: Origin = field(default_factory=Origin)
    # A withdrawal's: the wallet's tally up to it (None: not kept yet, or not a withdrawal). Outside the hash.
    since_withdrawal: SinceWithdrawal | None = None

    @property
    def applied(self) -> bool:
        return self.outcome is Outcome.APPLIED
