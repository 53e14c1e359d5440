"""One Wallet (see ONEWALLET.md) as a thin translation onto Kassa's use cases.

Each method reads everything it needs in one strongly consistent ``TransactGetItems`` (the operator's
token item, the player's session where the protocol wants one, the wallet, and for money the entry and
the bet) and, for money, commits in one ``TransactWriteItems`` through ``kassa.ledger.move_money``: the
money rules are the domain's, and only the words change here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from kassa import auth, deadline, errors, jsonio, ledger, sessions
from kassa.clock import now_epoch
from kassa.domain.model import ONEWALLET, Action, Balance, Origin, Wallet
from kassa.domain.movements import MovementRequest, MovementState
from kassa.domain.sessions import require_live
from kassa.money import canonical, from_units
from kassa.observability import logger
from kassa.onewallet import statuses, tokens
from kassa.onewallet.models import PromoRequest, Request, SidRequest, TransactionRequest
from kassa.settings import settings
from kassa.store import codec, keys
from kassa.store.access_store import AccessStore
from kassa.store.ledger_store import LedgerStore
from kassa.store.session_store import SessionStore, session_from_item

Reply = dict[str, Any]
# A One Wallet call is a few hundred bytes; anything far larger is refused as a bad parameter.
MAX_BODY_CHARS = 16 * 1024

MONEY_ACTIONS = {"debit": Action.BET, "credit": Action.WIN, "cancel": Action.REFUND}
MODELS: dict[str, type[Request]] = {
    "check": Request,
    "sid": SidRequest,
    "balance": Request,
    "debit": TransactionRequest,
    "credit": TransactionRequest,
    "cancel": TransactionRequest,
    "promo_payout": PromoRequest,
}
ACTION_OF = {**MONEY_ACTIONS, "promo_payout": Action.PROMO}


def reply(status: str, uuid: str | None, wallet: Wallet | None = None, **fields: Any) -> Reply:
    body: Reply = {"status": status, **fields}
    if wallet is not None:
        body["balance"] = _amount(wallet.balance, wallet.scale)
        body["bonus"] = _amount(wallet.bonus, wallet.scale)
    body["uuid"] = uuid
    return body


def _amount(units: int, scale: int) -> Decimal:
    # The exact value without trailing zeros: 89.5, 100, 0.000001.
    return Decimal(canonical(from_units(units, scale)))


class OneWallet:
    def __init__(
        self,
        ledger_store: LedgerStore | None = None,
        access: AccessStore | None = None,
        session_store: SessionStore | None = None,
        origin: Origin | None = None,
    ) -> None:
        self.ledger = ledger_store or LedgerStore()
        self.access = access or AccessStore()
        self.sessions = session_store or SessionStore()
        # The call's request and trace ids, kept on the entries it decides.
        self.origin = origin or Origin(protocol=ONEWALLET)

    def handle(self, method: str, token: str | None, body: str | None, correlation_id: str = "") -> Reply:
        """One call in, one reply out; every outcome is a status (the HTTP status is always 200)."""
        parsed = _loose_json(body)
        uuid = parsed.get("uuid") if isinstance(parsed, dict) and isinstance(parsed.get("uuid"), str) else None
        action = ACTION_OF.get(method)
        try:
            with deadline.request(settings().onewallet_retry_budget_seconds):
                return self._answer(method, token, parsed, uuid, action, correlation_id)
        except Exception:
            logger.exception("One Wallet call failed", extra={"method": method})
            return reply(statuses.UNKNOWN_ERROR, uuid)

    def _answer(
        self, method: str, token: str | None, parsed: Any, uuid: str | None, action: Action | None, correlation_id: str
    ) -> Reply:
        try:
            operator_id = tokens.operator_for(self.access, token)
            assert token is not None
            request = self._parse(method, parsed, operator_id, token)
            return self._methods()[method](operator_id, token, request, correlation_id)
        except tokens.InvalidToken:
            return reply(statuses.INVALID_TOKEN_ID, uuid)
        except errors.KassaError as error:
            return reply(statuses.status_of(error, action), uuid, error.wallet)

    def _parse(self, method: str, parsed: Any, operator_id: str, token: str) -> Request:
        try:
            if not isinstance(parsed, dict):
                raise errors.InvalidRequest("the body must be a JSON object")
            return MODELS[method].model_validate(parsed)
        except (ValidationError, errors.InvalidRequest):
            # Refused before anything was read: check the token for real before saying why.
            tokens.verify_now(self.access, operator_id, token)
            raise errors.InvalidRequest("malformed request") from None

    def _methods(self) -> dict[str, Callable[[str, str, Any, str], Reply]]:
        return {
            "check": self.check,
            "sid": self.sid,
            "balance": self.balance,
            "debit": lambda *call: self.money(Action.BET, *call),
            "credit": lambda *call: self.money(Action.WIN, *call),
            "cancel": lambda *call: self.money(Action.REFUND, *call),
            "promo_payout": self.promo_payout,
        }

    # -- session and balance -------------------------------------------------------------------------

    def _live_wallet(self, operator_id: str, token: str, request: Request) -> Wallet:
        """Token, live session of this user, wallet, currency: one read, in the protocol's order."""
        sid_hash = auth.secret_hash(request.sid)
        token_item, session_item, wallet_item = self.ledger.get_many(
            [
                keys.onewallet_token(operator_id),
                keys.session(operator_id, sid_hash),
                keys.wallet(operator_id, request.userId),
            ],
        )
        tokens.verify(token_item, token)
        wallet = codec.wallet_from_item(wallet_item) if wallet_item else None
        try:
            require_live(
                session_from_item(session_item, sid_hash),
                wallet.current_session if wallet else None,
                request.userId,
                now_epoch(),
            )
            if wallet is None:
                raise errors.WalletNotFound()
            _same_currency(request, wallet)
        except errors.KassaError as error:
            error.wallet = wallet
            raise
        return wallet

    def check(self, operator_id: str, token: str, request: Request, _: str) -> Reply:
        self._live_wallet(operator_id, token, request)
        return reply(statuses.OK, request.uuid, sid=request.sid)

    def balance(self, operator_id: str, token: str, request: Request, _: str) -> Reply:
        return reply(statuses.OK, request.uuid, self._live_wallet(operator_id, token, request))

    def sid(self, operator_id: str, token: str, request: SidRequest, _: str) -> Reply:
        token_item, wallet_item = self.ledger.get_many(
            [keys.onewallet_token(operator_id), keys.wallet(operator_id, request.userId)]
        )
        tokens.verify(token_item, token)
        if wallet_item is None:
            raise errors.WalletNotFound()
        wallet = codec.wallet_from_item(wallet_item)
        try:
            _same_currency(request, wallet)
        except errors.KassaError as error:
            error.wallet = wallet
            raise
        opened = sessions.open_session(self.sessions, operator_id, request.userId)
        return reply(statuses.OK, request.uuid, sid=opened.sid)

    # -- money -------------------------------------------------------------------------------------

    def money(
        self, action: Action, operator_id: str, token: str, request: TransactionRequest, correlation_id: str
    ) -> Reply:
        """debit = place_bet, credit = settle_bet, cancel = cancel_bet; the refId is the bet id."""
        transaction = request.transaction
        movement = MovementRequest(
            action,
            transaction.id,
            transaction.amount,
            bet_id=transaction.refId,
            currency=request.currency,
            correlation_id=correlation_id,
            origin=self.origin,
        )
        # Only a debit needs a live session: credits and cancels settle money already in play.
        sid_hash = auth.secret_hash(request.sid) if action is Action.BET else None

        def admit(state: MovementState, also: list[codec.Item | None], decided: MovementRequest) -> MovementRequest:
            tokens.verify(also[0], token)
            # A duplicate is a duplicate before anything else (rules 3 and 13): a provider retrying a
            # debit that was taken must hear BET_ALREADY_EXIST, even if the session ended meanwhile.
            duplicate = state.existing is not None or state.bet is not None
            if sid_hash is not None and not duplicate:
                require_live(
                    session_from_item(also[1], sid_hash),
                    state.wallet.current_session if state.wallet else None,
                    request.userId,
                    now_epoch(),
                )
            return decided

        also = [keys.onewallet_token(operator_id)]
        if sid_hash is not None:
            also.append(keys.session(operator_id, sid_hash))
        return self._move(operator_id, request, movement, also, admit)

    def promo_payout(self, operator_id: str, token: str, request: PromoRequest, correlation_id: str) -> Reply:
        promo = request.promoTransaction
        movement = MovementRequest(
            Action.PROMO,
            promo.id,
            promo.amount,
            currency=request.currency,
            correlation_id=correlation_id,
            origin=self.origin,
        )

        def admit(state: MovementState, also: list[codec.Item | None], decided: MovementRequest) -> MovementRequest:
            settings_item = tokens.verify(also[0], token)
            # The operator's policy, read with the call: promo money goes to cash unless it says bonus.
            return replace(decided, balance=Balance(codec.optional_text(settings_item, "promoBalance") or "cash"))

        return self._move(operator_id, request, movement, [keys.onewallet_token(operator_id)], admit)

    def _move(
        self,
        operator_id: str,
        request: Request,
        movement: MovementRequest,
        also: list[keys.Key],
        admit: ledger.Admission,
    ) -> Reply:
        result = ledger.move_money(self.ledger, operator_id, request.userId, movement, also_read=also, admit=admit)
        status = statuses.DUPLICATE[movement.action] if result.replayed else statuses.OK
        return reply(status, request.uuid, result.wallet)


def _same_currency(request: Request, wallet: Wallet) -> None:
    if request.currency is not None and request.currency != wallet.currency:
        raise errors.CurrencyMismatch()


def _loose_json(body: str | None) -> Any:
    if not body or len(body) > MAX_BODY_CHARS:
        return None
    try:
        return jsonio.loads(body)
    except (ValueError, RecursionError):
        return None
