"""Domain errors: one small hierarchy with stable codes.

The code is the contract; adapters translate it (the native API into problem+json with an HTTP status,
One Wallet into its own status names). Business rejections are final for a
transaction id, and the use case that meets them records them with the id so that a retry gets the
same answer, never a movement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kassa.domain.model import Wallet


class KassaError(Exception):
    code = "error"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or (self.__doc__ or self.code).strip()
        super().__init__(self.detail)
        # The wallet as it stood when the error was decided, where one is known.
        self.wallet: Wallet | None = None


class InvalidRequest(KassaError):
    """The request is malformed or breaks a field rule."""

    code = "invalid_request"


class InvalidAmount(InvalidRequest):
    """The amount is not a valid amount for this currency."""


class CurrencyMismatch(InvalidRequest):
    """The currency is not the wallet's currency."""


class WalletNotFound(KassaError):
    """No wallet for this player."""

    code = "wallet_not_found"


class WalletExists(KassaError):
    """A wallet for this player already exists."""

    code = "wallet_exists"


class TransactionNotFound(KassaError):
    """No transaction with this id."""

    code = "transaction_not_found"


class BetNotFound(KassaError):
    """No bet with this id."""

    code = "bet_not_found"


class AnomalyNotFound(KassaError):
    """No anomaly with this id (for this operator)."""

    code = "anomaly_not_found"


class SessionNotFound(KassaError):
    """No live session with this id."""

    code = "session_not_found"


class RunNotFound(KassaError):
    """No reconciliation run with this id."""

    code = "run_not_found"


class KeyNotFound(KassaError):
    """No API key with this id for this operator."""

    code = "key_not_found"


class InsufficientFunds(KassaError):
    """The balance does not cover this amount."""

    code = "insufficient_funds"


class WalletLocked(KassaError):
    """The wallet is locked: bets and withdrawals are refused."""

    code = "wallet_locked"


class BetAlreadySettled(KassaError):
    """The bet was already settled or cancelled."""

    code = "bet_already_settled"


class BetCancelledBeforePlaced(BetAlreadySettled):
    """The bet was cancelled before it was placed; it can never be placed."""


class BetAlreadyExists(KassaError):
    """A bet with this id already exists."""

    code = "bet_already_exists"


class IdempotencyConflict(KassaError):
    """This transaction id was already used with a different payload."""

    code = "idempotency_conflict"


class Forbidden(KassaError):
    """The credential lacks the scope this route needs."""

    code = "forbidden"


class ScopeEscalation(KassaError):
    """A key may only create keys with scopes it holds itself."""

    code = "scope_escalation"


class TemporarilyUnavailable(KassaError):
    """Nothing was committed; retry later."""

    code = "temporarily_unavailable"


class StoreRefused(KassaError):
    """DynamoDB refused the request for a reason retrying cannot change (logged, counted, alarmed)."""

    code = "store_refused"


def from_name(name: str | None) -> KassaError:
    """Rebuild a recorded rejection from the class name stored with it."""
    known = {cls.__name__: cls for cls in _subclasses(KassaError)}
    return known.get(name or "", KassaError)()


def _subclasses(cls: type[KassaError]) -> list[type[KassaError]]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]
