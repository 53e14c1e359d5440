"""The ledger's storage: one read and one conditional transaction per movement.

``load`` reads the wallet, the entry with the request's (transaction id, action) and the bet in one
``BatchGetItem`` with strongly consistent reads; on a first attempt (``lean``) only what the commit's
conditions cannot stand in for, and as cheaply: the wallet and the entry eventually consistent (the
entry, once there, never changes; a wallet a moment old fails the commit's version condition), or, when a
protocol's session is read with them (it must be seen as it is now), consistently and without the entry
(assumed absent; read, after the wallet, only when the wallet names the id among its recent ones); not the
bet where
``kassa.domain.movements.assumable_bet`` says so (docs/decisions.md 22, 33, 42).
``commit`` writes a decision in one ``TransactWriteItems`` whose conditions make it all-or-nothing against
concurrent writers:

1. the wallet update (or, for a recorded rejection, a condition check) requires the version and the
   status that were read, so two writers can never both spend the same balance, and a lock is never
   overtaken by a bet decided before it;
2. the entry put requires that no entry with that (transaction id, action) exists: the permanent
   idempotency record;
3. the bet put or update requires the bet's expected state (new, or open), so a bet settles once. A
   rejection that writes no bet was decided on a bet fact that never changes back (the bet exists; it is
   settled, cancelled or a tombstone, states a bet never leaves), so it needs no check of its own.

Why the read is not a ``TransactGetItems``: that fails (``TransactionConflict``) whenever an item it reads
is part of a write in flight, which on a busy wallet is most of the time, and costs twice the capacity.
A ``BatchGetItem`` never fails on a write in flight (it reads committed state), but its items are read one
by one, not as one snapshot, and an eventually consistent one may read them as they were a moment ago.
That is sound because every fact the decision takes from the read is a condition of the commit (1-3
above): a read torn by a concurrent commit, or one a lagging replica answered, makes the commit's
conditions fail, and the movement is read and decided again. It never commits on stale facts; what
commits nothing (an error, a rejection decided on an eventual read) is decided again on a consistent read.

A failed condition means someone else wrote first; a conflict or throttle means "not now"; a lost answer
means "maybe": all three are ``WriteConflict``, and the caller reads again (a committed entry then
answers as a replay). A permanent refusal is ``StoreRefused`` (``kassa.store.outcomes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from kassa import errors
from kassa.audit_log import AuditRecord
from kassa.clock import iso, parse_instant
from kassa.deadline import Budget
from kassa.domain.model import Action, Bet, BetState, Entry, Wallet, WalletStatus
from kassa.domain.movements import (
    BetWrite,
    Movement,
    MovementRequest,
    MovementState,
    Rejection,
    assumable_bet,
    recent_key,
)
from kassa.store import codec, cursors, keys
from kassa.store.audit_store import record_put, write_audited
from kassa.store.client import TableStore
from kassa.store.codec import n, s
from kassa.store.outcomes import (
    STORE_ERRORS,
    Outcome,
    classify,
    refused,
    throttled,
    write_patiently,
)

# Keys one BatchGetItem may ask for.
BATCH_GET_LIMIT = 100
# Where the commit puts the wallet's action and the entry's among its TransactItems (their refusals' places).
WALLET_ACTION, ENTRY_ACTION = 0, 1
# How far apart two containers' clocks may be: a refusal of a bet decided elsewhere may bear an instant
# this much earlier than the bet it refused.
CLOCK_MARGIN = timedelta(minutes=5)


class WriteConflict(Exception):
    """The transaction did not commit, or its answer was lost: state changed, DynamoDB refused it for
    now, or nobody knows. Reading again decides."""

    def __init__(
        self,
        outcome: Outcome,
        throttled: bool = False,
        wallet: Wallet | None = None,
        entry: Entry | None = None,
        wallet_seen: Wallet | None = None,
    ) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome
        self.throttled = throttled
        # When the wallet's condition alone failed: the wallet as it is now (every other condition held).
        self.wallet = wallet
        # When the entry's condition failed: the entry that holds the id (it was decided before), and the
        # wallet as it is now if its condition failed too (else the wallet read is still the latest).
        self.entry = entry
        self.wallet_seen = wallet_seen


class LedgerStore(TableStore):
    # -- wallets -------------------------------------------------------------------------------------

    def create_wallet(self, wallet: Wallet) -> None:
        item = codec.wallet_item(wallet)

        def ours() -> bool:  # an earlier attempt whose answer was lost created it
            found = self.read(keys.wallet(wallet.operator_id, wallet.player_id))
            return found is not None and found.get("createdAt") == item.get("createdAt")

        write_patiently(
            lambda: self.client.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            ),
            self.budget(),
            "open wallet",
            took_effect=ours,
            condition_failed=lambda: errors.WalletExists(),
        )

    def get_wallet(self, operator_id: str, player_id: str) -> Wallet:
        item = self.read(keys.wallet(operator_id, player_id))
        if item is None:
            raise errors.WalletNotFound()
        return codec.wallet_from_item(item)

    def wallets(self, operator_id: str, prefix: str, limit: int, cursor: str | None) -> tuple[list[Wallet], str | None]:
        """The operator's wallets whose player id starts with ``prefix``, in player id order, ``limit`` (at
        most 100) at a time. The sparse index ByKind names them (keys only, and eventually consistent: a
        wallet opened a moment ago may be missing from a listing); each is then read with a strongly
        consistent BatchGetItem, so a listed balance is never older than the listing."""
        kind, pk_prefix = keys.wallets_kind(operator_id), keys.wallet_pk(operator_id, prefix)
        query: dict[str, Any] = {
            "IndexName": keys.BY_KIND,
            "KeyConditionExpression": "kind = :kind AND begins_with(pk, :prefix)",
            "ExpressionAttributeValues": {":kind": s(kind), ":prefix": s(pk_prefix)},
            "Limit": min(limit, BATCH_GET_LIMIT),
        }
        start = cursors.decode_listing(cursor, kind, pk_prefix, keys.WALLET_SK)
        if start:
            query["ExclusiveStartKey"] = start
        response = self.query(**query)
        named = [{"pk": item["pk"], "sk": item["sk"]} for item in response["Items"]]
        found = [codec.wallet_from_item(item) for item in self.get_many(named) if item is not None] if named else []
        return found, cursors.encode(response.get("LastEvaluatedKey"))

    def set_wallet_status(self, operator_id: str, player_id: str, status: WalletStatus, record: AuditRecord) -> Wallet:
        """Lock or unlock, with its audit record in the same transaction; sent again as it is through
        conflicts (a movement in flight) and lost answers. Returns the wallet as it is then."""
        update = {
            "Update": {
                "TableName": self.table,
                "Key": keys.wallet(operator_id, player_id),
                "UpdateExpression": "SET #status = :status, updatedAt = :at",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":status": s(status.value), ":at": s(record.at)},
            }
        }
        write_audited(self, [update], record, "set wallet status", condition_failed=lambda: errors.WalletNotFound())
        return self.get_wallet(operator_id, player_id)

    # -- movements -----------------------------------------------------------------------------------

    def load(
        self,
        operator_id: str,
        player_id: str,
        request: MovementRequest,
        also: Sequence[keys.Key] = (),
        budget: Budget | None = None,
        *,
        lean: bool = False,
    ) -> tuple[MovementState, list[codec.Item | None]]:
        """The movement's state, plus ``also`` (a protocol's token or session), in one read.

        ``lean`` (a first attempt) reads only what the commit's conditions cannot stand in for. Without
        ``also`` it reads the wallet and the entry eventually consistent, both for one read unit (half a unit
        each, where one consistent read of the wallet costs one): an entry found is the decided one (it never
        changes), and then the wallet is read again consistently to answer the replay with it as it is now;
        otherwise every fact read is a condition of the commit (``MovementState.read_eventually``).
        With ``also`` (a session a replica might show still live after it was replaced) the read stays
        consistent and the entry is assumed absent, as the commit's condition asserts, unless the wallet
        names the id among its recent ones (then it is read after the wallet: most likely a retry). The bet
        is assumed where ``assumable_bet`` says so."""
        budget = budget or self.budget()
        assumed, assumed_bet = assumable_bet(request) if lean else (False, None)
        read_bet = bool(request.bet_id) and not assumed
        eventual = lean and not also
        read_entry = eventual or not lean
        wallet_key = keys.wallet(operator_id, player_id)
        entry_key = keys.entry(operator_id, player_id, request.transaction_id, request.action.value)
        wanted = [
            wallet_key,
            entry_key if read_entry else None,
            keys.bet(operator_id, player_id, request.bet_id) if read_bet and request.bet_id else None,
            *also,
        ]
        found = iter(self.get_many([key for key in wanted if key is not None], budget, consistent=not eventual))
        wallet_item = next(found)
        entry_item = next(found) if read_entry else None
        bet_item = next(found) if read_bet else None
        if eventual and entry_item is not None:
            wallet_item = self.read(wallet_key, budget)  # a replay answers with the wallet as it is now
        wallet = codec.wallet_from_item(wallet_item) if wallet_item else None
        entry_assumed = False
        if lean and not eventual:
            if wallet is not None and recent_key(request.transaction_id, request.action) in wallet.recent:
                entry_item = self.read(entry_key, budget)
            else:
                entry_assumed = True
        state = MovementState(
            wallet=wallet,
            existing=codec.entry_from_item(entry_item) if entry_item else None,
            bet=assumed_bet if assumed else codec.bet_from_item(bet_item) if bet_item else None,
            bet_assumed=assumed,
            entry_assumed=entry_assumed,
            read_eventually=eventual,
        )
        return state, list(found)

    def commit(
        self, decision: Movement | Rejection, read_version: int, record: AuditRecord | None = None
    ) -> float | None:
        """Commit one decision (with its audit record, for a privileged act); returns DynamoDB's upper
        estimate of the wallet's item collection in GB (its entries, bets and their local index entries:
        10 GB is the limit), when it gives one."""
        wallet = decision.wallet
        if isinstance(decision, Movement):
            wallet_action = {"Update": self._wallet_update(wallet, read_version)}
        else:
            wallet_action = {"ConditionCheck": self._wallet_unchanged(wallet, read_version)}
        actions = [
            wallet_action,
            {
                "Put": {
                    "TableName": self.table,
                    "Item": codec.entry_item(wallet, decision.entry),
                    "ConditionExpression": "attribute_not_exists(pk)",
                    # The id was decided before: the refusal carries that entry, to answer as a replay.
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ]
        if decision.bet is not None:
            actions.append(self._bet_write(wallet, decision.bet))
        if record is not None:
            actions.append(record_put(self.table, record))
        try:
            answer = self.client.transact_write_items(TransactItems=actions, ReturnItemCollectionMetrics="SIZE")
        except STORE_ERRORS as error:
            outcome = classify(error, write=True)
            if outcome is Outcome.PERMANENT:
                raise refused(error, "commit") from error
            # A failed condition, a conflict or throttle, or a lost answer (the write may have committed):
            # reading again decides (a committed entry is then answered as a replay).
            wallet_now, entry, alone = _refusal(error)
            raise WriteConflict(outcome, throttled(error), wallet_now if alone else None, entry, wallet_now) from error
        return collection_size_gb(answer)

    def rehearse_movement(self) -> None:
        """A movement's read and commit, made up to the wire and answered there (``kassa.store.rehearsal``):
        a function's init calls this so that its first movement does not build them in botocore. The items
        are made up; they have the shapes and attribute types of a movement's."""
        from kassa.store.rehearsal import rehearsing  # here: only a function that rehearses loads it

        key = {"pk": s("rehearsal"), "sk": s("rehearsal")}
        item = {**key, "text": s("rehearsal"), "number": n(0), "tally": {"L": [n(0), n(0)]}}
        answers: dict[str, dict[str, Any]] = {
            "BatchGetItem": {"Responses": {self.table: []}, "UnprocessedKeys": {}},
            "TransactWriteItems": {},
        }
        with rehearsing(self.client, answers):
            self.get_many([key, {**key, "sk": s("entry")}], consistent=False)
            update = {
                "TableName": self.table,
                "Key": key,
                "UpdateExpression": "SET #text = :text, tally = :tally ADD #number :number",
                "ConditionExpression": "#number = :number",
                "ExpressionAttributeNames": {"#text": "text", "#number": "number"},
                "ExpressionAttributeValues": {":text": s("r"), ":number": n(0), ":tally": item["tally"]},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
            put = {
                "TableName": self.table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
            check = {"TableName": self.table, "Key": key, "ConditionExpression": "attribute_exists(pk)"}
            self.client.transact_write_items(
                TransactItems=[{"Update": update}, {"Put": put}, {"ConditionCheck": check}],
                ReturnItemCollectionMetrics="SIZE",
            )

    def _wallet_update(self, wallet: Wallet, read_version: int) -> dict[str, Any]:
        # A wallet stored before the tally was kept has none until its next withdrawal starts one.
        tally = {} if wallet.since_withdrawal is None else {":since": codec.tally_value(wallet.since_withdrawal)}
        return {
            "TableName": self.table,
            "Key": keys.wallet(wallet.operator_id, wallet.player_id),
            "UpdateExpression": "SET balance = :balance, bonus = :bonus, version = :version, "
            "lastHash = :hash, updatedAt = :at, #recent = :recent"
            + (f", {codec.SINCE_WITHDRAWAL} = :since" if tally else ""),
            # The status read is part of the condition: a lock that lands between our read and our
            # write makes this fail and the movement is decided again against the locked wallet.
            "ConditionExpression": "version = :read AND #status = :status",
            # Lost to another writer: the answer carries the wallet as it is now, to decide again on.
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            # Both names through placeholders: DynamoDB reserves STATUS, and a name is safer than a guess.
            "ExpressionAttributeNames": {"#status": "status", "#recent": "recent"},
            "ExpressionAttributeValues": {
                ":status": s(wallet.status.value),
                ":balance": n(wallet.balance),
                ":bonus": n(wallet.bonus),
                ":version": n(wallet.version),
                ":hash": s(wallet.last_hash),
                ":at": s(wallet.updated_at),
                ":recent": s(codec.recent_text(wallet)),
                ":read": n(read_version),
                **tally,
            },
        }

    def _wallet_unchanged(self, wallet: Wallet, read_version: int) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Key": keys.wallet(wallet.operator_id, wallet.player_id),
            "ConditionExpression": "version = :read AND #status = :status",
            # Lost to another writer: the answer carries the wallet as it is now, to decide again on.
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":read": n(read_version), ":status": s(wallet.status.value)},
        }

    def _bet_write(self, wallet: Wallet, write: BetWrite) -> dict[str, Any]:
        if write.expected is None:
            return {
                "Put": {
                    "TableName": self.table,
                    "Item": codec.bet_item(wallet.operator_id, wallet.player_id, write.bet),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        return {
            "Update": {
                "TableName": self.table,
                "Key": keys.bet(wallet.operator_id, wallet.player_id, write.bet.bet_id),
                "UpdateExpression": "SET #state = :state, settledBy = :by",
                "ConditionExpression": "#state = :expected",
                "ExpressionAttributeNames": {"#state": "state"},
                "ExpressionAttributeValues": {
                    ":state": s(write.bet.state.value),
                    ":by": s(write.bet.settled_by or ""),
                    ":expected": s(write.expected.value),
                },
            }
        }

    # -- reading the ledger --------------------------------------------------------------------------

    def entries_with_id(self, operator_id: str, player_id: str, transaction_id: str) -> list[Entry]:
        """Every decided action under one transaction id (a bet and its refund may share one)."""
        response = self.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            FilterExpression="transactionId = :id",
            ExpressionAttributeValues={
                ":pk": s(keys.wallet_pk(operator_id, player_id)),
                ":prefix": s(keys.entry_prefix(transaction_id)),
                ":id": s(transaction_id),
            },
            ConsistentRead=True,
        )
        return [codec.entry_from_item(item) for item in response["Items"]]

    def round(self, operator_id: str, player_id: str, bet_id: str) -> tuple[Bet | None, list[Entry]]:
        """A bet as it stands (strongly consistent) and every decided action on it, in no order: the
        applied ones the bet item names (its opening bet, the win or refund that settled it) and the
        refused ones of the index RejectionsByWallet (eventually consistent: a refusal of the last second
        may not be listed yet)."""
        bet_item = self.read(keys.bet(operator_id, player_id, bet_id))
        if bet_item is None:
            return None, []
        bet = codec.bet_from_item(bet_item)
        wanted = []
        if bet.state is not BetState.TOMBSTONE:  # a tombstone's transaction is a refused refund
            wanted.append(keys.entry(operator_id, player_id, bet.transaction_id, Action.BET.value))
        if bet.settled_by and bet.state is not BetState.TOMBSTONE:
            settlement = Action.WIN if bet.state is BetState.SETTLED else Action.REFUND
            wanted.append(keys.entry(operator_id, player_id, bet.settled_by, settlement.value))
        # The wallet's refusals since the bet was opened (less a margin for the clocks of other
        # containers, which decided them), those of this bet.
        since = iso(parse_instant(bet.created_at, "createdAt") - CLOCK_MARGIN)
        refused = self.pages(
            IndexName=keys.REJECTIONS_BY_WALLET,
            KeyConditionExpression="rejectedIn = :wallet AND createdAt >= :since",
            FilterExpression="betId = :bet",
            ExpressionAttributeValues={
                ":wallet": s(keys.wallet_pk(operator_id, player_id)),
                ":since": s(since),
                ":bet": s(bet_id),
            },
        )
        wanted += [{"pk": item["pk"], "sk": item["sk"]} for item in refused]
        found: list[Entry] = []
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            items = self.get_many(wanted[start : start + BATCH_GET_LIMIT])
            found += [codec.entry_from_item(item) for item in items if item is not None]
        return bet, found

    def history(
        self, operator_id: str, player_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Entry], str | None]:
        """Applied entries newest first, ``limit`` at a time; the cursor is opaque to callers."""
        query: dict[str, Any] = {
            "IndexName": keys.ENTRIES_BY_VERSION,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": s(keys.wallet_pk(operator_id, player_id))},
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit,
        }
        start = cursors.decode(cursor, keys.wallet_pk(operator_id, player_id), "TX#", ("entryVersion",))
        if start:
            query["ExclusiveStartKey"] = start
        response = self.query(**query)
        entries = [codec.entry_from_item(item) for item in response["Items"]]
        return entries, cursors.encode(response.get("LastEvaluatedKey"))


def collection_size_gb(answer: dict[str, Any]) -> float | None:
    """The largest upper estimate among the item collections a write reports (``SizeEstimateRangeGB``)."""
    estimates = [
        float(metrics["SizeEstimateRangeGB"][-1])
        for collections in (answer.get("ItemCollectionMetrics") or {}).values()
        for metrics in collections
        if metrics.get("SizeEstimateRangeGB")
    ]
    return max(estimates) if estimates else None


def _refusal(error: Exception) -> tuple[Wallet | None, Entry | None, bool]:
    """What a cancelled commit's refusal returned (ALL_OLD): the wallet when its condition failed; the entry
    when its condition failed (the id was decided before); and whether the wallet's condition was the only
    one to fail (then the entry is still absent and the bet as read: decide again on that wallet)."""
    reasons = (error.response.get("CancellationReasons") or []) if isinstance(error, ClientError) else []
    codes = [str(reason.get("Code") or "None") for reason in reasons]

    def returned(position: int) -> codec.Item | None:
        if position >= len(codes) or codes[position] != "ConditionalCheckFailed":
            return None
        item: codec.Item | None = reasons[position].get("Item")
        return item

    wallet_item, entry_item = returned(WALLET_ACTION), returned(ENTRY_ACTION)
    alone = wallet_item is not None and all(code == "None" for code in codes[ENTRY_ACTION:])
    return (
        codec.wallet_from_item(wallet_item) if wallet_item else None,
        codec.entry_from_item(entry_item) if entry_item else None,
        alone,
    )
