"""Player sessions: which are live. A session is live while it exists, has not expired (checked on every
use: DynamoDB's TTL only cleans up, days late) and is still its player's current one (a new session ends
the player's previous ones)."""

from __future__ import annotations

from dataclasses import dataclass

from kassa import errors


@dataclass(frozen=True)
class Session:
    sid_hash: str
    operator_id: str
    player_id: str
    expires_at: int  # epoch seconds


class SessionInvalid(errors.KassaError):
    """The session is unknown, expired or replaced."""

    code = "session_invalid"


class SessionOfAnotherPlayer(errors.InvalidRequest):
    """The session belongs to another player."""


def require_live(session: Session | None, current_sid_hash: str | None, player_id: str, now: int) -> Session:
    if session is None or session.expires_at <= now:
        raise SessionInvalid()
    if session.player_id != player_id:
        raise SessionOfAnotherPlayer()
    if session.sid_hash != current_sid_hash:
        raise SessionInvalid("the session was replaced by a newer one")
    return session
