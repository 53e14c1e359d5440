"""API keys as a hierarchy (issue 12, §1): roles, delegation without escalation, revocation of a whole
subtree from its next request on, expiry, and nothing secret in any answer or log line."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kassa import auth
from kassa_dev.gateway import LocalGateway
from kassa_dev.stack import DemoCredentials
from tests.conftest import Api, new_id
from tests.integration.test_observability import log_lines
from tests.integration.test_observability import logs as logs  # the fixture

SECRET_FIELDS = {"apiKey", "secretHash", "credentialHash"}


@pytest.fixture
def owner(gateway: LocalGateway) -> Api:
    """A fresh operator's first key (role owner)."""
    from kassa import operators
    from kassa.store.access_store import AccessStore

    created = operators.create_operator(AccessStore(), new_id("keys"))
    return Api(gateway, created.api_key)


def make_key(creator: Api, expect: int = 201, **body: Any) -> dict[str, Any]:
    response = creator.post("/v1/keys", {"name": new_id("k"), **body})
    assert response.status == expect, response.body
    return dict(response.json())


def as_key(creator: Api, made: dict[str, Any]) -> Api:
    return Api(creator.gateway, made["apiKey"])


def works(api: Api) -> bool:
    """Whether the key gets through the gateway's authorizer (a listing of its own operator's keys or,
    lacking keys:manage, a 403 problem from the function rather than the gateway's own 403)."""
    response = api.get("/v1/keys")
    return response.status == 200 or response.json().get("code") == "forbidden"


def test_a_role_resolves_to_its_scopes_and_shows_on_the_key(owner: Api) -> None:
    support = make_key(owner, role="support")
    assert support["scopes"] == list(auth.ROLES["support"]) and support["role"] == "support"
    assert support["parentKeyId"] and support["apiKey"].startswith(auth.API_KEY_PREFIX)
    custom = make_key(owner, scopes=["wallets:read", "wallets:lock"])
    assert custom["role"] is None
    both = owner.post("/v1/keys", {"name": "x", "role": "support", "scopes": ["wallets:read"]})
    assert both.status == 422 and both.json()["code"] == "invalid_request"
    neither = owner.post("/v1/keys", {"name": "x"})
    assert neither.status == 422


def test_a_key_delegates_only_what_it_holds(owner: Api) -> None:
    manager = as_key(owner, make_key(owner, scopes=["keys:manage", "wallets:read", "wallets:lock"]))
    child = make_key(manager, scopes=["wallets:read"])
    assert child["parentKeyId"] == manager_id(owner, manager)
    refused = manager.post("/v1/keys", {"name": "more", "scopes": ["wallets:read", "wallets:write"]})
    assert refused.status == 403 and refused.json()["code"] == "scope_escalation"
    assert "wallets:write" in refused.json()["detail"] and "wallets:read" not in refused.json()["detail"]
    integration = manager.post("/v1/keys", {"name": "more", "role": "integration"}).json()
    assert integration["code"] == "scope_escalation" and "sessions:write" in integration["detail"]
    lacking = as_key(owner, make_key(owner, role="readonly"))
    assert lacking.post("/v1/keys", {"name": "x", "role": "readonly"}).json()["code"] == "forbidden"


def manager_id(owner: Api, manager: Api) -> str:
    """The id of the key ``manager`` authenticates with (found by listing as the owner)."""
    listed = {key["keyId"]: key for key in owner.get("/v1/keys").json()["items"]}
    mine = [
        key_id for key_id, key in listed.items() if key["scopes"] == ["keys:manage", "wallets:read", "wallets:lock"]
    ]
    (found,) = mine
    return found


def test_revoking_a_key_revokes_its_subtree_at_once_even_warm(owner: Api) -> None:
    a = make_key(owner, scopes=["keys:manage", "wallets:read"])
    b = make_key(as_key(owner, a), scopes=["keys:manage", "wallets:read"])
    c = make_key(as_key(owner, b), scopes=["wallets:read"])
    sibling = make_key(owner, scopes=["wallets:read"])
    keys = {name: as_key(owner, made) for name, made in (("a", a), ("b", b), ("c", c), ("sibling", sibling))}
    assert all(works(api) for api in keys.values())  # every key known (and remembered) by the authorizer
    assert owner.request("DELETE", f"/v1/keys/{a['keyId']}").status == 204
    assert [name for name, api in keys.items() if works(api)] == ["sibling"]
    for made in (a, b, c):
        gone = owner.get(f"/v1/keys/{made['keyId']}")
        assert gone.status == 404 and gone.json()["code"] == "key_not_found"


def test_a_key_revokes_itself_and_its_subtree_and_nothing_else(owner: Api) -> None:
    a = make_key(owner, scopes=["keys:manage", "wallets:read"])
    b = make_key(as_key(owner, a), scopes=["keys:manage", "wallets:read"])
    sibling = make_key(owner, scopes=["keys:manage", "wallets:read"])
    key_b, key_sibling = as_key(owner, b), as_key(owner, sibling)
    for target in (a, sibling):
        refused = key_b.request("DELETE", f"/v1/keys/{target['keyId']}")
        assert refused.status == 403 and refused.json()["code"] == "forbidden"
    assert key_sibling.request("DELETE", f"/v1/keys/{b['keyId']}").json()["code"] == "forbidden"
    assert key_b.request("DELETE", f"/v1/keys/{b['keyId']}").status == 204  # itself
    assert not works(key_b) and works(as_key(owner, a))


def test_an_expired_key_is_refused_and_expiry_is_validated(owner: Api) -> None:
    now = datetime.now(UTC)
    soon = make_key(owner, role="readonly", expiresAt=(now + timedelta(seconds=2)).isoformat())
    short = as_key(owner, soon)
    assert works(short)
    time.sleep(2.2)
    assert not works(short)
    for bad in ((now - timedelta(minutes=1)).isoformat(), (now + timedelta(days=800)).isoformat(), "tomorrow"):
        refused = owner.post("/v1/keys", {"name": "x", "role": "readonly", "expiresAt": bad})
        assert refused.status == 422 and refused.json()["code"] == "invalid_request", bad
    # A key made by a key that expires expires with it, at the latest.
    parent = make_key(owner, scopes=["keys:manage", "wallets:read"], expiresAt=(now + timedelta(days=1)).isoformat())
    child = make_key(as_key(owner, parent), scopes=["wallets:read"])
    assert child["expiresAt"] == parent["expiresAt"]
    later = (now + timedelta(days=2)).isoformat()
    assert (
        as_key(owner, parent).post("/v1/keys", {"name": "x", "scopes": ["wallets:read"], "expiresAt": later}).status
        == 422
    )


def test_listing_and_reading_keys_never_shows_a_secret_and_stays_in_the_operator(
    owner: Api, api: Api, demo: DemoCredentials
) -> None:
    made = make_key(owner, role="finance")
    listed = owner.get("/v1/keys", query="limit=1")
    assert listed.status == 200 and len(listed.json()["items"]) == 1 and listed.json()["nextCursor"]
    everything = owner.get("/v1/keys").json()["items"]
    assert made["keyId"] in [key["keyId"] for key in everything]
    for key in [*everything, owner.get(f"/v1/keys/{made['keyId']}").json()]:
        assert not SECRET_FIELDS & set(key), key
    # Another operator's key id is simply not found, for reading and for revoking.
    assert api.get(f"/v1/keys/{made['keyId']}").json()["code"] == "key_not_found"
    assert api.request("DELETE", f"/v1/keys/{made['keyId']}").json()["code"] == "key_not_found"
    assert works(as_key(owner, made))


def test_the_narrower_scopes_guard_their_routes(owner: Api) -> None:
    player = owner.open_wallet()
    owner.move(player, "deposit", "10")
    support, finance = as_key(owner, make_key(owner, role="support")), as_key(owner, make_key(owner, role="finance"))
    assert support.post(f"/v1/wallets/{player}/lock").status == 200
    assert support.post(f"/v1/wallets/{player}/unlock").status == 200
    assert support.move(player, "adjustment", "1", reason="goodwill").json()["code"] == "forbidden"
    assert finance.move(player, "adjustment", "1", reason="goodwill").status == 201
    assert finance.post(f"/v1/wallets/{player}/lock").json()["code"] == "forbidden"
    assert finance.post("/v1/reconciliations", {"type": "audit"}).status == 202
    assert support.post("/v1/reconciliations", {"type": "audit"}).json()["code"] == "forbidden"


def test_no_answer_or_log_line_holds_a_key_or_its_hash(
    owner: Api,
    logs: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    made = make_key(owner, role="support")
    secret, secret_hash = made["apiKey"], auth.secret_hash(made["apiKey"])
    works(as_key(owner, made))
    assert owner.request("DELETE", f"/v1/keys/{made['keyId']}").status == 204
    assert not works(as_key(owner, made))
    written = logs.getvalue() + capsys.readouterr().out
    assert "API key refused" in written, written[-2000:]
    assert secret not in written and secret_hash not in written
    assert all(secret not in str(line) for line in log_lines(written))
