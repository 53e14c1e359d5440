"""One Wallet's statuses, and the one mapping from Kassa's domain outcomes onto them."""

from __future__ import annotations

from kassa import errors
from kassa.domain.model import Action
from kassa.domain.sessions import SessionInvalid

OK = "OK"
INVALID_TOKEN_ID = "INVALID_TOKEN_ID"  # noqa: S105 - a status name, not a secret
INVALID_SID = "INVALID_SID"
INVALID_PARAMETER = "INVALID_PARAMETER"
ACCOUNT_LOCKED = "ACCOUNT_LOCKED"
INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
BET_ALREADY_EXIST = "BET_ALREADY_EXIST"
BET_DOES_NOT_EXIST = "BET_DOES_NOT_EXIST"
BET_ALREADY_SETTLED = "BET_ALREADY_SETTLED"
FINAL_ERROR_ACTION_FAILED = "FINAL_ERROR_ACTION_FAILED"
TEMPORARY_ERROR = "TEMPORARY_ERROR"
UNKNOWN_ERROR = "UNKNOWN_ERROR"

# Most specific first: the first class an error is an instance of decides.
_BY_ERROR: tuple[tuple[type[errors.KassaError], str], ...] = (
    (SessionInvalid, INVALID_SID),
    (errors.InvalidRequest, INVALID_PARAMETER),
    (errors.WalletNotFound, INVALID_PARAMETER),
    (errors.WalletLocked, ACCOUNT_LOCKED),
    (errors.InsufficientFunds, INSUFFICIENT_FUNDS),
    (errors.BetAlreadyExists, BET_ALREADY_EXIST),
    (errors.BetNotFound, BET_DOES_NOT_EXIST),
    (errors.BetCancelledBeforePlaced, FINAL_ERROR_ACTION_FAILED),
    (errors.BetAlreadySettled, BET_ALREADY_SETTLED),
    (errors.TemporarilyUnavailable, TEMPORARY_ERROR),
)

# A transaction id seen before (a replay, or the same id with another payload) is a duplicate in the
# protocol's terms: a duplicate debit "already exists", a duplicate settlement "is already settled".
DUPLICATE = {
    Action.BET: BET_ALREADY_EXIST,
    Action.WIN: BET_ALREADY_SETTLED,
    Action.REFUND: BET_ALREADY_SETTLED,
    Action.PROMO: BET_ALREADY_SETTLED,
}


def status_of(error: errors.KassaError, action: Action | None = None) -> str:
    if isinstance(error, errors.IdempotencyConflict) and action is not None:
        return DUPLICATE[action]
    for cls, status in _BY_ERROR:
        if isinstance(error, cls):
            return status
    return UNKNOWN_ERROR
