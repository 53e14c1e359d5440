"""Player sessions: opened for a player's wallet, ended by the next one or by closing."""

from __future__ import annotations

from dataclasses import dataclass

from kassa import auth, errors
from kassa.clock import now_epoch
from kassa.domain.sessions import Session
from kassa.settings import settings
from kassa.store.session_store import SessionStore

MIN_TTL_SECONDS = 60
MAX_TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class OpenedSession:
    sid: str
    session: Session


def open_session(
    store: SessionStore, operator_id: str, player_id: str, ttl_seconds: int | None = None
) -> OpenedSession:
    ttl = settings().default_session_ttl_seconds if ttl_seconds is None else ttl_seconds
    if not MIN_TTL_SECONDS <= ttl <= MAX_TTL_SECONDS:
        raise errors.InvalidRequest(f"ttlSeconds must be between {MIN_TTL_SECONDS} and {MAX_TTL_SECONDS}")
    sid = auth.new_secret(auth.SESSION_PREFIX)
    session = Session(auth.secret_hash(sid), operator_id, player_id, now_epoch() + ttl)
    store.open(session)
    return OpenedSession(sid, session)


def close_session(store: SessionStore, operator_id: str, sid: str) -> None:
    store.close(operator_id, auth.secret_hash(sid))
