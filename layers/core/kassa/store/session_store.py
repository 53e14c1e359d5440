"""Storage of player sessions: the session item (by the hash of its id) and the wallet's pointer to
its player's current session, written together."""

from __future__ import annotations

from kassa import errors
from kassa.domain.sessions import Session
from kassa.store import codec, keys
from kassa.store.client import TableStore
from kassa.store.codec import n, s
from kassa.store.outcomes import failed_condition_at, write_patiently


class SessionStore(TableStore):
    def open(self, session: Session) -> None:
        """Store the session and make it its player's current one; the wallet must exist."""
        item = {
            **keys.session(session.operator_id, session.sid_hash),
            "type": s("session"),
            "operatorId": s(session.operator_id),
            "playerId": s(session.player_id),
            "expiresAt": n(session.expires_at),
            # DynamoDB deletes expired items eventually (within days); liveness never relies on it.
            "ttl": n(session.expires_at),
        }
        actions = [
            {"Put": {"TableName": self.table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
            {
                "Update": {
                    "TableName": self.table,
                    "Key": keys.wallet(session.operator_id, session.player_id),
                    "UpdateExpression": "SET currentSession = :sid",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": {":sid": s(session.sid_hash)},
                }
            },
        ]

        def ours() -> bool:  # the session a lost answer hid is there: a random sid is never reused
            return self.read(keys.session(session.operator_id, session.sid_hash)) is not None

        try:
            write_patiently(
                lambda: self.client.transact_write_items(TransactItems=actions),
                self.budget(),
                "open session",
                took_effect=ours,
            )
        except Exception as error:
            # Only the wallet's condition is a business answer; a conflict or throttle was retried, and a
            # permanent error is StoreRefused, never "no such wallet".
            if failed_condition_at(error, 1):
                raise errors.WalletNotFound() from error
            raise

    def close(self, operator_id: str, sid_hash: str) -> None:
        write_patiently(
            lambda: self.client.delete_item(
                TableName=self.table,
                Key=keys.session(operator_id, sid_hash),
                ConditionExpression="attribute_exists(pk)",
            ),
            self.budget(),
            "close session",
            took_effect=lambda: self.read(keys.session(operator_id, sid_hash)) is None,
            condition_failed=lambda: errors.SessionNotFound(),
        )


def session_from_item(item: codec.Item | None, sid_hash: str) -> Session | None:
    if item is None:
        return None
    return Session(
        sid_hash, codec.text(item, "operatorId"), codec.text(item, "playerId"), codec.number(item, "expiresAt")
    )
