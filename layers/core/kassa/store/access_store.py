"""Storage of operators and their credentials (see ``kassa.store.keys`` for the key design)."""

from __future__ import annotations

from typing import Any

from kassa import errors
from kassa.audit_log import AuditRecord
from kassa.domain.apikey import ApiKey
from kassa.store import codec, cursors, keys
from kassa.store.audit_store import record_put, write_audited
from kassa.store.client import TableStore
from kassa.store.codec import s
from kassa.store.outcomes import failed_condition_at, write_patiently

API_KEY = "apikey"
ONEWALLET = "onewallet"
# A revocation's keys and their audit records, per transaction (DynamoDB takes at most 100 actions).
REVOKED_PER_TRANSACTION = 50


class OperatorExists(errors.KassaError):
    """An operator with this id already exists."""

    code = "operator_exists"


class AccessStore(TableStore):
    def create_operator(
        self,
        key: ApiKey,
        key_hash: str,
        token_hash: str,
        promo_balance: str,
        policy: codec.Item,
        record: AuditRecord,
    ) -> None:
        """The operator (with its ``policy`` attributes), its first API key, its One Wallet token and the
        audit record of the key's creation, all or nothing."""
        now, operator_id = record.at, key.operator_id  # the act's own instant, as its record says
        items = [
            {
                **keys.operator(operator_id),
                "type": s("operator"),
                "kind": s(keys.OPERATORS_KIND),
                "operatorId": s(operator_id),
                "createdAt": s(now),
                **policy,
            },
            _api_key_item(key, key_hash),
            {**self._token_item(operator_id, token_hash, now), "promoBalance": s(promo_balance)},
        ]
        puts = [
            {"Put": {"TableName": self.table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
            for item in items
        ]
        write_patiently(
            lambda: self.client.transact_write_items(TransactItems=[*puts, record_put(self.table, record)]),
            self.budget(),
            "create operator",
            took_effect=lambda: self._holds_key(operator_id, key.key_id, key_hash),
            condition_failed=lambda: OperatorExists(),
        )

    def add_api_key(self, key: ApiKey, key_hash: str, record: AuditRecord) -> None:
        """Another key of an existing operator, with its audit record, in one transaction that checks the
        key it is created under (or, with none, the operator) is still there."""
        operator_id = key.operator_id
        under = keys.api_key(operator_id, key.parent_key_id) if key.parent_key_id else keys.operator(operator_id)
        still_there = {
            "ConditionCheck": {"TableName": self.table, "Key": under, "ConditionExpression": "attribute_exists(pk)"}
        }
        new_key = {
            "Put": {
                "TableName": self.table,
                "Item": _api_key_item(key, key_hash),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        try:
            write_patiently(
                lambda: self.client.transact_write_items(
                    TransactItems=[still_there, new_key, record_put(self.table, record)]
                ),
                self.budget(),
                "add API key",
                took_effect=lambda: self._holds_key(operator_id, key.key_id, key_hash),
            )
        except Exception as error:
            if failed_condition_at(error, 0):
                if key.parent_key_id:
                    raise errors.Forbidden("the API key creating this one was revoked") from error
                raise errors.InvalidRequest(f"no operator {operator_id}") from error
            raise

    def delete_api_keys(self, operator_id: str, key_ids: list[str], records: list[AuditRecord]) -> None:
        """Delete keys, each with its audit record in the same transaction, in order, a chunk at a time;
        every key must still be there (a key revoked meanwhile by someone else fails the chunk)."""
        pairs = list(zip(key_ids, records, strict=True))
        for start in range(0, len(pairs), REVOKED_PER_TRANSACTION):
            chunk = pairs[start : start + REVOKED_PER_TRANSACTION]
            actions: list[dict[str, Any]] = []
            for key_id, record in chunk:
                delete = {
                    "TableName": self.table,
                    "Key": keys.api_key(operator_id, key_id),
                    "ConditionExpression": "attribute_exists(pk)",
                }
                actions += [{"Delete": delete}, record_put(self.table, record)]
            write_patiently(
                lambda actions=actions: self.client.transact_write_items(TransactItems=actions),
                self.budget(),
                "revoke API keys",
                took_effect=lambda chunk=chunk: all(self.get_api_key(operator_id, k) is None for k, _ in chunk),
                condition_failed=lambda: errors.KeyNotFound("a key was revoked by someone else meanwhile; try again"),
            )

    def replace_onewallet_token(self, operator_id: str, token_hash: str, record: AuditRecord) -> None:
        """Swap the token's hash in place (the integration's settings on the item stay), with the audit
        record in the same transaction."""
        update = {
            "Update": {
                "TableName": self.table,
                "Key": keys.onewallet_token(operator_id),
                "UpdateExpression": "SET secretHash = :hash, credentialHash = :lookup, rotatedAt = :at",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {
                    ":hash": s(token_hash),
                    ":lookup": s(keys.credential_lookup(ONEWALLET, token_hash)),
                    ":at": s(record.at),
                },
            }
        }
        missing = lambda: errors.InvalidRequest(f"no operator {operator_id}")  # noqa: E731
        write_audited(self, [update], record, "rotate One Wallet token", condition_failed=missing)

    def operator_settings(self, operator_id: str) -> tuple[codec.Item | None, codec.Item | None]:
        """The operator item (the audit's policy) and its One Wallet token item (the promo balance)."""
        operator, token = self.get_many([keys.operator(operator_id), keys.onewallet_token(operator_id)])
        return operator, token

    def change_settings(
        self, operator_id: str, policy: codec.Item | None, promo_balance: str | None, record: AuditRecord
    ) -> None:
        """Set the audit's ``policy`` attributes on the operator and/or One Wallet's promo balance on the
        token item, with the audit record, in one transaction."""
        actions: list[dict[str, Any]] = []
        if policy is not None:
            actions.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": keys.operator(operator_id),
                        "UpdateExpression": "SET staleBetHours = :hours, refundStaleBets = :refund",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {
                            ":hours": policy["staleBetHours"],
                            ":refund": policy["refundStaleBets"],
                        },
                    }
                }
            )
        if promo_balance is not None:
            actions.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": keys.onewallet_token(operator_id),
                        "UpdateExpression": "SET promoBalance = :promo",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {":promo": s(promo_balance)},
                    }
                }
            )
        missing = lambda: errors.InvalidRequest(f"no operator {operator_id}")  # noqa: E731
        write_audited(self, actions, record, "change operator settings", condition_failed=missing)

    def _holds_key(self, operator_id: str, key_id: str, key_hash: str) -> bool:
        """Whether the key item is there with this hash: an earlier attempt whose answer was lost wrote it."""
        item = self.get_api_key(operator_id, key_id)
        return item is not None and codec.text(item, "secretHash") == key_hash

    def get_api_key(self, operator_id: str, key_id: str) -> codec.Item | None:
        return self.read(keys.api_key(operator_id, key_id))

    def get_api_keys(self, operator_id: str, key_ids: list[str]) -> list[codec.Item | None]:
        """Key items of one operator, strongly consistent, in one request (a GetItem for one)."""
        if len(key_ids) == 1:
            return [self.get_api_key(operator_id, key_ids[0])]
        return self.get_many([keys.api_key(operator_id, key_id) for key_id in key_ids])

    def _key_query(self, operator_id: str) -> dict[str, Any]:
        return {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :keys)",
            "ExpressionAttributeValues": {":pk": s(keys.operator_pk(operator_id)), ":keys": s("APIKEY#")},
            "ConsistentRead": True,
        }

    def all_api_keys(self, operator_id: str) -> list[codec.Item]:
        return list(self.pages(**self._key_query(operator_id)))

    def page_api_keys(self, operator_id: str, limit: int, cursor: str | None) -> tuple[list[codec.Item], str | None]:
        query = {**self._key_query(operator_id), "Limit": limit}
        start = cursors.decode(cursor, keys.operator_pk(operator_id), "APIKEY#")
        if start:
            query["ExclusiveStartKey"] = start
        page = self.query(**query)
        return page["Items"], cursors.encode(page.get("LastEvaluatedKey"))

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


def _api_key_item(key: ApiKey, key_hash: str) -> codec.Item:
    item: codec.Item = {
        **keys.api_key(key.operator_id, key.key_id),
        "type": s("apikey"),
        "operatorId": s(key.operator_id),
        "keyId": s(key.key_id),
        "name": s(key.name),
        "secretHash": s(key_hash),
        "credentialHash": s(keys.credential_lookup(API_KEY, key_hash)),
        "scopes": s(" ".join(key.scopes)),
        "ancestors": {"L": [s(ancestor) for ancestor in key.ancestors]},
        "createdAt": s(key.created_at),
    }
    if key.parent_key_id:
        item["parentKeyId"] = s(key.parent_key_id)
    if key.expires_at:
        item["expiresAt"] = s(key.expires_at)
    return item


def api_key_from_item(item: codec.Item) -> ApiKey:
    """A key item as stored (keys made before the hierarchy have no name, parent nor ancestors)."""
    key_id = codec.text(item, "keyId")
    return ApiKey(
        operator_id=codec.text(item, "operatorId"),
        key_id=key_id,
        name=codec.optional_text(item, "name") or key_id,
        scopes=tuple(codec.text(item, "scopes").split()),
        created_at=codec.optional_text(item, "createdAt") or "",
        parent_key_id=codec.optional_text(item, "parentKeyId"),
        ancestors=tuple(value["S"] for value in item.get("ancestors", {}).get("L", [])),
        expires_at=codec.optional_text(item, "expiresAt"),
    )
