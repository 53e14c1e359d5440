"""An operator's API keys form a hierarchy: a key creates keys with no more than its own scopes, and
revoking a key revokes every key created under it.

Each key stores its resolved scopes, its name, the key that created it (``parentKeyId``) and the whole
line up to the operator's first key (``ancestors``). A key is accepted only while it and every one of its
ancestors exist and have not expired, all read strongly consistent in one request: a revoked key fails its
next request, and so does every key under it, even one whose id a warm authorizer remembered. The
credential index (``ByCredential``) only says which item a secret names; like every global secondary
index it is eventually consistent, so its answer is confirmed from the item itself before it is trusted.

Every creation and revocation is recorded in the audit trail in the same transaction (``kassa.audit_log``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kassa import audit_log, auth, errors
from kassa.audit_log import Actor, AuditRecord
from kassa.clock import iso, now_iso, parse_instant
from kassa.credentials import CredentialCache
from kassa.domain.apikey import ApiKey
from kassa.store.access_store import API_KEY, AccessStore, api_key_from_item
from kassa.store.codec import text

MAX_LIFETIME = timedelta(days=730)  # expiresAt at most two years out
NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")


@dataclass(frozen=True)
class NewApiKey:
    key: ApiKey
    api_key: str  # the secret, shown this once


def first_key(operator_id: str, scopes: tuple[str, ...], key_id: str | None = None) -> tuple[ApiKey, str]:
    """The operator's first key (the root of its hierarchy, named "owner") and its secret."""
    key = ApiKey(operator_id, key_id or secrets.token_hex(8), "owner", scopes, now_iso())
    return key, auth.new_secret(auth.API_KEY_PREFIX)


def create_api_key(
    store: AccessStore,
    operator_id: str,
    name: str,
    *,
    scopes: list[str] | tuple[str, ...] | str | None = None,
    role: str | None = None,
    expires_at: str | None = None,
    creator: auth.Principal | None = None,
    actor: Actor,
    request_id: str | None = None,
) -> NewApiKey:
    """A key under ``creator``'s key (or, from the CLI, under none), with no scope its creator lacks."""
    if not NAME.match(name or ""):
        raise errors.InvalidRequest("name must be 1 to 64 printable characters")
    wanted = auth.resolve_scopes(scopes, role)
    parent: ApiKey | None = None
    if creator is not None:
        lacking = creator.lacks(wanted)
        if lacking:
            raise errors.ScopeEscalation(f"this API key cannot grant scopes it lacks: {', '.join(lacking)}")
        parent = get_api_key(store, operator_id, creator.key_id)
    key = ApiKey(
        operator_id,
        secrets.token_hex(8),
        name,
        wanted,
        now_iso(),
        parent.key_id if parent else None,
        (*parent.ancestors, parent.key_id) if parent else (),
        _expiry(expires_at, parent),
    )
    secret = auth.new_secret(auth.API_KEY_PREFIX)
    details = {"name": name, "scopes": list(wanted), "role": key.role, "expiresAt": key.expires_at}
    record = AuditRecord(operator_id, audit_log.KEY_CREATED, actor, {"keyId": key.key_id}, details, request_id)
    store.add_api_key(key, auth.secret_hash(secret), record)
    return NewApiKey(key, secret)


def _expiry(expires_at: str | None, parent: ApiKey | None) -> str | None:
    """ISO 8601 in the future, at most two years out, and not past the parent's own expiry."""
    limit = parent.expires_at if parent else None
    if expires_at is None:
        return limit  # a key never outlives the key that made it
    when = parse_instant(expires_at, "expiresAt")
    now = datetime.now(UTC)
    if when <= now:
        raise errors.InvalidRequest("expiresAt must be in the future")
    if when > now + MAX_LIFETIME:
        raise errors.InvalidRequest("expiresAt must be at most two years from now")
    formatted = iso(when)  # as every time in the table is written: comparable as text
    if limit is not None and formatted > limit:
        raise errors.InvalidRequest(f"expiresAt must not be after this API key's own expiry ({limit})")
    return formatted


def get_api_key(store: AccessStore, operator_id: str, key_id: str) -> ApiKey:
    item = store.get_api_key(operator_id, key_id)
    if item is None:
        raise errors.KeyNotFound(f"no API key {key_id}")
    return api_key_from_item(item)


def list_api_keys(
    store: AccessStore, operator_id: str, limit: int, cursor: str | None
) -> tuple[list[ApiKey], str | None]:
    items, next_cursor = store.page_api_keys(operator_id, limit, cursor)
    return [api_key_from_item(item) for item in items], next_cursor


def revoke_api_key(
    store: AccessStore,
    operator_id: str,
    key_id: str,
    *,
    by: auth.Principal | None,
    actor: Actor,
    request_id: str | None = None,
) -> list[str]:
    """Revoke a key and every key under it (deepest first, the key itself last, so that a failure half way
    leaves the key in place to be revoked again); returns the ids revoked. A key may revoke itself and its
    own subtree; an ``admin`` key (the owner's) any key of its operator; the CLI (``by`` None) any key."""
    everything = {key.key_id: key for key in (api_key_from_item(item) for item in store.all_api_keys(operator_id))}
    target = everything.get(key_id)
    if target is None:
        raise errors.KeyNotFound(f"no API key {key_id}")
    if by is not None and auth.ADMIN not in by.scopes and by.key_id not in (key_id, *target.ancestors):
        raise errors.Forbidden("an API key may revoke only itself and the keys created under it")
    under = sorted((k for k in everything.values() if key_id in k.ancestors), key=lambda k: -len(k.ancestors))
    doomed = [*under, target]
    records = [
        AuditRecord(
            operator_id,
            audit_log.KEY_REVOKED,
            actor,
            {"keyId": key.key_id},
            {"name": key.name, **({"revokedWith": key_id} if key.key_id != key_id else {})},
            request_id,
        )
        for key in doomed
    ]
    store.delete_api_keys(operator_id, [key.key_id for key in doomed], records)
    return [key.key_id for key in doomed]


# secret hash -> (operator id, key id, ancestors) of the key item the index found for it
_api_keys: CredentialCache[tuple[str, str, tuple[str, ...]]] = CredentialCache()


def authenticate(store: AccessStore, api_key: str | None) -> auth.Principal | None:
    """The principal an API key stands for, or None: unknown, revoked or expired keys (or an ancestor
    revoked or expired) and malformed headers alike.

    Cold: the credential index says which key item the secret names (eventually consistent, so only a
    pointer), then one strongly consistent read of that item and its ancestors decides (a ``BatchGetItem``;
    a ``GetItem`` for a key with none above it).
    Warm: the pointer is remembered, so only that read.
    """
    if not api_key or len(api_key) > 512:
        return None
    secret_hash = auth.secret_hash(api_key)
    known = _api_keys.recall(secret_hash)
    if known is None:
        found = store.find_credential(API_KEY, secret_hash)
        if found is None:
            return None
        pointer = api_key_from_item(found)
        known = (pointer.operator_id, pointer.key_id, pointer.ancestors)
    operator_id, key_id, ancestors = known
    items = store.get_api_keys(operator_id, [key_id, *ancestors])
    now = now_iso()
    item = items[0]
    if item is None or not auth.same_hash(text(item, "secretHash"), api_key):
        _api_keys.forget(secret_hash)
        return None
    line = [api_key_from_item(each) if each else None for each in items]
    if any(each is None or each.expired(now) for each in line):
        return None  # the key, or a key above it, was revoked or has expired
    _api_keys.remember(secret_hash, known)
    key = line[0]
    assert key is not None  # checked just above
    return auth.Principal(operator_id, frozenset(key.scopes), key.key_id, key.name)
