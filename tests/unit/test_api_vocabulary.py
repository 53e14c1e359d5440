"""The API's enumerations (what the OpenAPI document lists and pydantic checks) are the domain's names:
a scope or role added to kassa.auth and not to the key routes would be refused at the door."""

from __future__ import annotations

from typing import get_args

from kassa import auth
from kassa.api import keys


def test_the_key_routes_accept_exactly_the_domains_scopes_and_roles() -> None:
    assert set(get_args(keys.Scope)) == set(auth.SCOPES)
    assert set(get_args(keys.Role)) == set(auth.ROLES)
