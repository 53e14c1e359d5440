"""Request and response models of the native API (storage shapes never leak into them)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from kassa import errors
from kassa.domain.model import Entry, Wallet
from kassa.domain.rounds import Round
from kassa.money import format_units

# Ids become part of DynamoDB keys: no '#' (the key separator), no spaces or control characters.
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:@-]{1,128}$")]
# Amounts travel as decimal strings so no JSON parser on the way can turn them into floats.
DecimalString = Annotated[str, Field(pattern=r"^-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,18})?$", examples=["10.50"])]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]


def _integral(value: Any) -> Any:
    # JSON numbers are parsed as Decimal (never float): 3600.0 is the integer 3600, as JSON Schema says.
    # Only moderate values are converted (an exponent like 1e999999999 must not become a huge int);
    # anything else is left for the strict integer check to refuse.
    moderate = isinstance(value, Decimal) and value.is_finite() and value.adjusted() < 18
    if moderate and value == value.to_integral_value():
        return int(value)
    return value


def whole_number(minimum: int, maximum: int) -> Any:
    """An integer field within bounds that also takes 600.0 or 6e2 for 600."""
    return Annotated[int, Field(ge=minimum, le=maximum), BeforeValidator(_integral)]


TransactionType = Literal["deposit", "withdrawal", "bet", "win", "refund", "adjustment"]


class Model(BaseModel):
    # Each schema is built when first used, not at import: a cold function builds only the models of
    # the route it is invoked for (building all of them took a tenth of the cold start).
    model_config = ConfigDict(defer_build=True)


class Request(Model):
    # Strict: a JSON number where a string is required is refused, and so is an unknown field (a
    # misspelt "betid" must not be silently dropped from a money movement).
    model_config = ConfigDict(strict=True, extra="forbid", defer_build=True)


class WalletCreate(Request):
    playerId: Identifier
    currency: Currency


class StatusChange(Request):
    """The optional body of lock and unlock: why, for the audit trail."""

    reason: Annotated[str, Field(min_length=1, max_length=256)] | None = None


class TransactionCreate(Request):
    transactionId: Identifier
    type: TransactionType
    amount: DecimalString | None = Field(default=None, description="Required except for refund")
    betId: Identifier | None = None
    reason: Annotated[str, Field(min_length=1, max_length=256)] | None = None


class WalletOut(Model):
    playerId: str
    currency: str
    balance: str
    bonus: str
    status: str
    version: int
    updatedAt: str


class TransactionOut(Model):
    transactionId: str
    type: str
    status: str
    amount: str
    currency: str
    balance: str = Field(description="Which balance moved: cash or bonus")
    balanceBefore: str
    balanceAfter: str
    betId: str | None
    reason: str | None
    version: int
    createdAt: str
    correlationId: str
    previousHash: str | None
    hash: str | None
    errorCode: str | None = None
    requestId: str | None = Field(default=None, description="API Gateway's id of the request it came from")
    traceId: str | None = Field(default=None, description="The X-Ray trace id, when Lambda had one")
    protocol: str | None = Field(default=None, description="native, onewallet, or system (Kassa's own)")


class RoundEntry(Model):
    transactionId: str
    type: str
    amount: str
    status: str = Field(description="applied or rejected")
    code: str | None = Field(description="why it was rejected")
    at: str
    requestId: str | None
    traceId: str | None
    protocol: str | None


class RoundOut(Model):
    betId: str
    state: str = Field(description="open | settled | cancelled | tombstone")
    stake: str
    payout: str | None = Field(description="what the settlement paid back; null while open")
    net: str | None = Field(description="payout less stake, for the player; null while open")
    currency: str
    openedAt: str
    closedAt: str | None
    entries: list[RoundEntry] = Field(description="every decided action on the bet, in commit order")


class TransactionResult(Model):
    transaction: TransactionOut
    wallet: WalletOut


class TransactionPage(Model):
    items: list[TransactionOut]
    nextCursor: str | None


class WalletPage(Model):
    items: list[WalletOut] = Field(description="in player id order")
    nextCursor: str | None


class Problem(Model):
    """An error (RFC 9457 problem details) with Kassa's stable ``code``."""

    type: str
    title: str
    status: int
    code: str
    detail: str


def answers(model: type[BaseModel], status: int = 200, description: str = "OK") -> dict[int, Any]:
    """The OpenAPI ``responses`` entry for a success. A route that lists its problems must list its
    success too: Powertools then leaves out the 200 it would derive from the return type."""
    return {status: {"description": description, "content": {"application/json": {"model": model}}}}


def problems(*statuses: int) -> dict[int, Any]:
    """OpenAPI ``responses`` entries for the error statuses a route can answer."""
    return {
        status: {"description": "Problem", "content": {"application/problem+json": {"model": Problem}}}
        for status in statuses
    }


class Health(Model):
    status: str


def wallet_out(wallet: Wallet) -> WalletOut:
    return WalletOut(
        playerId=wallet.player_id,
        currency=wallet.currency,
        balance=format_units(wallet.balance, wallet.scale),
        bonus=format_units(wallet.bonus, wallet.scale),
        status=wallet.status.value,
        version=wallet.version,
        updatedAt=wallet.updated_at,
    )


def wallet_after(entry: Entry, wallet: Wallet) -> WalletOut:
    """The wallet as ``entry`` left it: a replay answers with the very body of the original."""
    then = replace(
        wallet,
        balance=entry.wallet_balance,
        bonus=entry.wallet_bonus,
        status=entry.wallet_status,
        version=entry.version,
        updated_at=entry.created_at,
    )
    return wallet_out(then)


def _requested_amount(entry: Entry, wallet: Wallet) -> str:
    """The amount as the request meant it: positive, except for adjustments, which are signed."""
    amount = entry.amount if entry.action.value == "adjustment" else abs(entry.amount)
    return format_units(amount, wallet.scale)


def _error_code(entry: Entry) -> str | None:
    return errors.from_name(entry.error_code).code if entry.error_code else None


def transaction_out(entry: Entry, wallet: Wallet) -> TransactionOut:
    return TransactionOut(
        transactionId=entry.transaction_id,
        type=entry.action.value,
        status=entry.outcome.value,
        amount=_requested_amount(entry, wallet),
        currency=wallet.currency,
        balance=entry.balance.value,
        balanceBefore=format_units(entry.balance_before, wallet.scale),
        balanceAfter=format_units(entry.balance_after, wallet.scale),
        betId=entry.bet_id,
        reason=entry.reason,
        version=entry.version,
        createdAt=entry.created_at,
        correlationId=entry.correlation_id,
        previousHash=entry.previous_hash,
        hash=entry.hash,
        errorCode=_error_code(entry),
        requestId=entry.origin.request_id or None,
        traceId=entry.origin.trace_id or None,
        protocol=entry.origin.protocol or None,
    )


def round_out(found: Round, wallet: Wallet) -> RoundOut:
    def money(units: int | None) -> str | None:
        return None if units is None else format_units(units, wallet.scale)

    return RoundOut(
        betId=found.bet.bet_id,
        state=found.bet.state.value,
        stake=format_units(found.stake, wallet.scale),
        payout=money(found.payout),
        net=money(found.net),
        currency=wallet.currency,
        openedAt=found.opened_at,
        closedAt=found.closed_at,
        entries=[
            RoundEntry(
                transactionId=entry.transaction_id,
                type=entry.action.value,
                amount=_requested_amount(entry, wallet),
                status=entry.outcome.value,
                code=_error_code(entry),
                at=entry.created_at,
                requestId=entry.origin.request_id or None,
                traceId=entry.origin.trace_id or None,
                protocol=entry.origin.protocol or None,
            )
            for entry in found.entries
        ],
    )
