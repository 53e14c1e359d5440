"""Storage of operators and their credentials (see ``kassa.store.keys`` for the key design)."""

from __future__ import annotations

from kassa import errors
from kassa.clock import now_iso
from kassa.store import codec, keys
from kassa.store.client import TableStore
from kassa.store.codec import s
from kassa.store.outcomes import failed_condition_at, write_patiently

API_KEY = "apikey"
ONEWALLET = "onewallet"


class OperatorExists(errors.KassaError):
    """An operator with this id already exists."""

    code = "operator_exists"


class AccessStore(TableStore):
    def create_operator(
        self,
        operator_id: str,
        key_id: str,
        key_hash: str,
        scopes: tuple[str, ...],
        token_hash: str,
        promo_balance: str,
        policy: codec.Item,
    ) -> None:
        """The operator (with its ``policy`` attributes), its first API key and its One Wallet token,
        all or nothing."""
        now = now_iso()
        items = [
            {
                **keys.operator(operator_id),
                "type": s("operator"),
                "kind": s(keys.OPERATORS_KIND),
                "operatorId": s(operator_id),
                "createdAt": s(now),
                **policy,
            },
            self._api_key_item(operator_id, key_id, key_hash, scopes, now),
            {**self._token_item(operator_id, token_hash, now), "promoBalance": s(promo_balance)},
        ]
        puts = [
            {"Put": {"TableName": self.table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
            for item in items
        ]
        write_patiently(
            lambda: self.client.transact_write_items(TransactItems=puts),
            self.budget(),
            "create operator",
            took_effect=lambda: self._holds_key(operator_id, key_id, key_hash),
            condition_failed=lambda: OperatorExists(),
        )

    def add_api_key(self, operator_id: str, key_id: str, key_hash: str, scopes: tuple[str, ...]) -> None:
        """Another key of an existing operator: one transaction that checks the operator and puts the key."""
        operator_exists = {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": keys.operator(operator_id),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        new_key = {
            "Put": {
                "TableName": self.table,
                "Item": self._api_key_item(operator_id, key_id, key_hash, scopes, now_iso()),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        try:
            write_patiently(
                lambda: self.client.transact_write_items(TransactItems=[operator_exists, new_key]),
                self.budget(),
                "add API key",
                took_effect=lambda: self._holds_key(operator_id, key_id, key_hash),
            )
        except Exception as error:
            if failed_condition_at(error, 0):
                raise errors.InvalidRequest(f"no operator {operator_id}") from error
            raise

    def delete_api_key(self, operator_id: str, key_id: str) -> None:
        """The key stops working at once: a warm authorizer re-reads the key item on every request."""
        write_patiently(
            lambda: self.client.delete_item(
                TableName=self.table,
                Key=keys.api_key(operator_id, key_id),
                ConditionExpression="attribute_exists(pk)",
            ),
            self.budget(),
            "revoke API key",
            took_effect=lambda: self.get_api_key(operator_id, key_id) is None,
            condition_failed=lambda: errors.KeyNotFound(f"no API key {key_id} for operator {operator_id}"),
        )

    def replace_onewallet_token(self, operator_id: str, token_hash: str) -> None:
        """Swap the token's hash in place (the integration's settings on the item stay)."""
        write_patiently(
            lambda: self.client.update_item(
                TableName=self.table,
                Key=keys.onewallet_token(operator_id),
                UpdateExpression="SET secretHash = :hash, credentialHash = :lookup, rotatedAt = :at",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={
                    ":hash": s(token_hash),
                    ":lookup": s(keys.credential_lookup(ONEWALLET, token_hash)),
                    ":at": s(now_iso()),
                },
            ),
            self.budget(),
            "rotate One Wallet token",
            condition_failed=lambda: errors.InvalidRequest(f"no operator {operator_id}"),
        )

    def _holds_key(self, operator_id: str, key_id: str, key_hash: str) -> bool:
        """Whether the key item is there with this hash: an earlier attempt whose answer was lost wrote it."""
        item = self.get_api_key(operator_id, key_id)
        return item is not None and codec.text(item, "secretHash") == key_hash

    def get_api_key(self, operator_id: str, key_id: str) -> codec.Item | None:
        return self.read(keys.api_key(operator_id, key_id))

    def get_onewallet_token(self, operator_id: str) -> codec.Item | None:
        return self.read(keys.onewallet_token(operator_id))

    def find_credential(self, kind: str, secret_hash: str) -> codec.Item | None:
        """The credential item whose secret hashes to ``secret_hash``, via the ByCredential index."""
        response = self.query(
            IndexName=keys.BY_CREDENTIAL,
            KeyConditionExpression="credentialHash = :lookup",
            ExpressionAttributeValues={":lookup": s(keys.credential_lookup(kind, secret_hash))},
            Limit=1,
        )
        items = response.get("Items") or []
        return items[0] if items else None

    @staticmethod
    def _api_key_item(operator_id: str, key_id: str, key_hash: str, scopes: tuple[str, ...], now: str) -> codec.Item:
        return {
            **keys.api_key(operator_id, key_id),
            "type": s("apikey"),
            "operatorId": s(operator_id),
            "keyId": s(key_id),
            "secretHash": s(key_hash),
            "credentialHash": s(keys.credential_lookup(API_KEY, key_hash)),
            "scopes": s(" ".join(scopes)),
            "createdAt": s(now),
        }

    @staticmethod
    def _token_item(operator_id: str, token_hash: str, now: str) -> codec.Item:
        return {
            **keys.onewallet_token(operator_id),
            "type": s("onewallet_token"),
            "operatorId": s(operator_id),
            "secretHash": s(token_hash),
            "credentialHash": s(keys.credential_lookup(ONEWALLET, token_hash)),
            "createdAt": s(now),
        }

    def get_operator(self, operator_id: str) -> codec.Item | None:
        return self.read(keys.operator(operator_id))
