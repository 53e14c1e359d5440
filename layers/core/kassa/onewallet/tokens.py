"""The per-operator One Wallet token: which operator a token names, and whether it is still valid.

Finding the operator from a token takes an index query (``ByCredential``). Its answer, the operator id,
is kept in memory for a few minutes (``kassa.credentials``) so that a warm call costs one DynamoDB
request; the token's hash is still checked on every call against the token item read (strongly
consistent) with the call's own data, so a rotated token stops working at once.
"""

from __future__ import annotations

from kassa import auth, errors
from kassa.credentials import CredentialCache
from kassa.store import codec
from kassa.store.access_store import ONEWALLET, AccessStore


class InvalidToken(errors.KassaError):
    """The authToken is missing or not valid."""

    code = "invalid_token"


_operator_by_hash: CredentialCache[str] = CredentialCache()


def operator_for(store: AccessStore, token: str | None) -> str:
    if not token or len(token) > 512:
        raise InvalidToken()
    token_hash = auth.secret_hash(token)
    cached = _operator_by_hash.recall(token_hash)
    if cached is not None:
        return cached
    item = store.find_credential(ONEWALLET, token_hash)
    if item is None:
        raise InvalidToken()
    operator_id = codec.text(item, "operatorId")
    _operator_by_hash.remember(token_hash, operator_id)
    return operator_id


def verify(item: codec.Item | None, token: str) -> codec.Item:
    """The token item read with the call must hold this token's hash (constant-time comparison)."""
    if item is None or not auth.same_hash(codec.text(item, "secretHash"), token):
        _operator_by_hash.forget(auth.secret_hash(token))
        raise InvalidToken()
    return item


def verify_now(store: AccessStore, operator_id: str, token: str) -> codec.Item:
    """Verify without a call's read to ride on (the call was refused before reading anything)."""
    return verify(store.get_onewallet_token(operator_id), token)
