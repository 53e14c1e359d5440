"""Which operator (and which credential item) a secret names, remembered for a few minutes per process.

Finding a credential from its secret takes an index query (``ByCredential``), eventually consistent and,
in the embedded DynamoDB, as slow as the table is large. What it finds is kept here by the secret's
hash, so a warm call reads the credential item itself by key instead (strongly consistent) and checks
the secret against it: a revoked or rotated credential stops working at once.
"""

from __future__ import annotations

import time
from typing import Generic, TypeVar

from kassa.settings import settings

Found = TypeVar("Found")


class CredentialCache(Generic[Found]):
    """secret hash -> what an index query found for it, for ``credential_cache_seconds``."""

    def __init__(self) -> None:
        self._found: dict[str, tuple[Found, float]] = {}

    def recall(self, secret_hash: str) -> Found | None:
        entry = self._found.get(secret_hash)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def remember(self, secret_hash: str, found: Found) -> None:
        self._found[secret_hash] = (found, time.monotonic() + settings().credential_cache_seconds)

    def forget(self, secret_hash: str) -> None:
        self._found.pop(secret_hash, None)
