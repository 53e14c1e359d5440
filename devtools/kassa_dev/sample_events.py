"""What the sample events under ``events/`` assume of the table (events/README.md): the operator their
authorizer context names, its first key and One Wallet token (sample values, not secrets), and the player
they move money for. The event story (tests/event_story.py) and the cold-start benchmark seed them."""

from __future__ import annotations

import json
from typing import Any

from kassa_dev import template

SAMPLE_OPERATOR = "sample-events"
SAMPLE_API_KEY = "kassa_key_demo_sample_only"
SAMPLE_KEY_ID = "5a3b1e0000000001"  # the sample operator's first key, as the events' authorizer context names it
SAMPLE_ONEWALLET_TOKEN = "kassa_ow_demo_sample_only"  # noqa: S105 - a sample value
PLAYER = "player-1"
EVENTS_DIR = template.REPO_ROOT / "events"


def load_event(name: str) -> dict[str, Any]:
    event = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    if not isinstance(event, dict):
        raise ValueError(f"{name}: an event is a JSON object")
    return event


def seed_sample_operator() -> None:
    """The sample operator with the events' credentials (raises OperatorExists when it is there)."""
    from kassa import operators
    from kassa.store.access_store import AccessStore

    operators.create_operator(
        AccessStore(),
        SAMPLE_OPERATOR,
        api_key=SAMPLE_API_KEY,
        onewallet_token=SAMPLE_ONEWALLET_TOKEN,
        key_id=SAMPLE_KEY_ID,
    )
