"""One Wallet requests: unknown fields are ignored, amounts are exact numbers parsed from the JSON text."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictStr

from kassa.api.models import Identifier


def _exact_number(value: Any) -> Decimal:
    # A JSON number only (parsed as Decimal or int, never float); strings and booleans are wrong types.
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("must be a JSON number")
    return Decimal(value)


Amount = Annotated[Decimal, BeforeValidator(_exact_number)]
ProviderId = Annotated[StrictStr, Field(pattern=r"^[!-~]{1,128}$")]


class Message(BaseModel):
    # defer_build: see kassa.api.models.Model
    model_config = ConfigDict(extra="ignore", defer_build=True)


class Request(Message):
    sid: StrictStr
    userId: Identifier
    uuid: StrictStr
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")] | None = None


class SidRequest(Request):
    sid: StrictStr = ""


class Transaction(Message):
    id: ProviderId
    refId: ProviderId
    amount: Amount


class TransactionRequest(Request):
    transaction: Transaction


class PromoTransaction(Message):
    id: ProviderId
    amount: Amount
    type: StrictStr | None = None


class PromoRequest(Request):
    promoTransaction: PromoTransaction
