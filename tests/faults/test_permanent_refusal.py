"""DynamoDB refuses a commit for good: answered at once, as a refusal, with nothing committed.

A transaction cancelled for ``ValidationError`` (an item over 400 KB, a malformed expression) or
``ItemCollectionSizeLimitExceeded`` (a partition past its local index's 10 GB) is refused the same way
however often it is sent: trying again within the budget would only delay the answer and tell the caller
"busy, retry" about a request that will never pass. Kassa answers at once: one read, one write call,
native 500 ``store_refused`` (no ``Retry-After``), One Wallet ``UNKNOWN_ERROR``, never 503 or
``TEMPORARY_ERROR``. It logs an error and counts ``StoreErrors`` (which the operators' alarm watches).
Nothing was committed, and nothing was recorded either: once the cause is gone, the same request applies.
"""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.faults.conftest import (
    READ,
    WRITE,
    Faults,
    OneWallet,
    Raw,
    assert_bet_applied_once_when_sent_again,
    assert_bet_not_committed,
    bet,
    funded,
    pending,
)

PERMANENT = ["ValidationError", "ItemCollectionSizeLimitExceeded"]


def assert_answered_at_once(faults: Faults, refused: int) -> None:
    calls, sends = faults.stop()
    assert calls[READ] == calls[WRITE] == sends[WRITE] == refused == 1, (calls, sends, refused)


def assert_refusal_reported(out: str, caplog: pytest.LogCaptureFixture, error: str) -> None:
    """Counted in ``StoreErrors`` (an EMF line on stdout) and logged as an error, with its reason."""
    assert '"StoreErrors":[1.0]' in out, out
    logged = [r for r in caplog.records if r.levelname == "ERROR" and error in getattr(r, "reasons", [])]
    assert len(logged) == 1, caplog.records


@pytest.mark.parametrize("error", PERMANENT)
def test_native_commit_refused_for_good_is_answered_at_once_with_nothing_committed(
    api: Api,
    faults: Faults,
    raw: Raw,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    error: str,
) -> None:
    player = funded(api)
    before = raw.partition(player)
    capfd.readouterr()
    refused = faults.fail_sends(error)

    response = bet(api, player)
    assert_answered_at_once(faults, refused.count)

    assert response.status == 500, response.body
    assert response.headers.get("content-type") == "application/problem+json", response.headers
    assert response.json()["code"] == "store_refused", response.body
    assert "retry-after" not in response.headers, response.headers
    assert_refusal_reported(capfd.readouterr().out, caplog, error)
    assert_bet_not_committed(api, raw, player, before)  # nor recorded as a rejection
    # Once DynamoDB accepts the write, the same request is applied, once.
    assert_bet_applied_once_when_sent_again(api, player)


@pytest.mark.parametrize("error", PERMANENT)
@pytest.mark.parametrize("method", ["debit", "credit"])
def test_onewallet_commit_refused_for_good_is_unknown_error_at_once_with_nothing_committed(
    api: Api,
    onewallet: OneWallet,
    faults: Faults,
    raw: Raw,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    method: str,
    error: str,
) -> None:
    move = pending(api, onewallet, method)
    before = raw.partition(move.player)
    capfd.readouterr()
    refused = faults.fail_sends(error)

    reply = onewallet.call(method, move.body)
    assert_answered_at_once(faults, refused.count)

    assert reply["status"] == "UNKNOWN_ERROR", reply
    assert_refusal_reported(capfd.readouterr().out, caplog, error)
    assert raw.partition(move.player) == before
    move.assert_not_applied(api)
    move.assert_applied_once_when_sent_again(api, onewallet)
