"""A busy wallet never turns a bet away, as DynamoDB really behaves: the embedded DynamoDB's realistic mode
(transaction conflicts during a commit's window) on, 16 writers in 16 worker processes on one wallet.

The targets: every answer is the movement applied or a business rejection, never "busy" (0 native 503,
0 One Wallet TEMPORARY_ERROR), and the money is exact, for a wallet that can afford every movement and one
that can afford half. Then each finding of the review, driven and answered: a retry during the commit of
its own first attempt, a balance poll and an audit during a bet, a session opened, a wallet locked and
unlocked while a movement is in flight. (Throttling and permanent errors: tests/faults.)
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from kassa_dev import realistic
from kassa_dev.gateway import LocalGateway
from kassa_dev.stack import DemoCredentials
from tests.conftest import Api, new_id
from tests.faults.conftest import OneWallet
from tests.integration.test_concurrency import all_entries, signed

WRITERS = 16
MOVES_EACH = int(os.environ.get("KASSA_CONTENTION_MOVES") or 12)  # the target is 50: make stress


@pytest.fixture
def busy_api(pooled_gateway: LocalGateway, demo: DemoCredentials, realistic_dynamodb: None) -> Api:
    """Sixteen writers through the local stack's worker processes (8, as `make run` has by default): like
    Lambda, a function runs when a worker takes the request; a request waiting for one waits outside it."""
    return Api(pooled_gateway, demo.api_key)


@pytest.fixture
def provider(pooled_gateway: LocalGateway, busy_api: Api, demo: DemoCredentials) -> OneWallet:
    return OneWallet(pooled_gateway, busy_api, demo.onewallet_token)


def funded(api: Api, amount: int) -> str:
    player = api.open_wallet()
    assert api.move(player, "deposit", str(amount)).status == 201
    return player


def assert_exact(api: Api, player: str, deposited: int, bets: int) -> None:
    balance = Decimal(api.balance(player))
    entries = all_entries(api, player)
    assert balance == deposited - bets
    assert sum(signed(entry) for entry in entries) == balance
    assert sorted(entry["version"] for entry in entries) == list(range(1, len(entries) + 1))


@pytest.mark.parametrize("affordable", ["all", "half"])
def test_16_native_writers_on_one_wallet_get_no_503(busy_api: Api, affordable: str) -> None:
    total = WRITERS * MOVES_EACH
    player = funded(busy_api, total if affordable == "all" else total // 2)

    def writer(index: int) -> list[Any]:
        return [
            busy_api.move(player, "bet", "1", transactionId=f"w{index}-{n}", betId=f"w{index}-{n}")
            for n in range(MOVES_EACH)
        ]

    with ThreadPoolExecutor(WRITERS) as pool:
        answers = [answer for batch in pool.map(writer, range(WRITERS)) for answer in batch]

    statuses = [answer.status for answer in answers]
    applied = statuses.count(201)
    assert statuses.count(503) == 0, [answer.body for answer in answers if answer.status == 503]
    assert set(statuses) <= {201, 409}  # applied, or insufficient_funds
    assert applied == (total if affordable == "all" else total // 2)
    assert_exact(busy_api, player, total if affordable == "all" else total // 2, applied)
    assert realistic.counts().get("conflict", 0) > 0, "the mode never made two writers meet"
    assert realistic.counts().get("stale", 0) > 0, "no read was answered by a lagging replica"


@pytest.mark.parametrize("affordable", ["all", "half"])
def test_16_provider_debits_on_one_wallet_get_no_temporary_error(
    busy_api: Api, provider: OneWallet, affordable: str
) -> None:
    total = WRITERS * MOVES_EACH
    player = funded(busy_api, total if affordable == "all" else total // 2)
    sid = provider.session(player)

    def writer(index: int) -> list[str]:
        return [
            provider.call("debit", provider.tx(player, sid, f"d{index}-{n}", f"r{index}-{n}", 1))["status"]
            for n in range(MOVES_EACH)
        ]

    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = [status for batch in pool.map(writer, range(WRITERS)) for status in batch]

    assert statuses.count("TEMPORARY_ERROR") == 0, statuses
    assert set(statuses) <= {"OK", "INSUFFICIENT_FUNDS"}
    applied = statuses.count("OK")
    assert applied == (total if affordable == "all" else total // 2)
    assert_exact(busy_api, player, total if affordable == "all" else total // 2, applied)


# --------------------------------------------------------------------------- the review's findings, one by one


class Held:
    """A movement whose commit stays in flight (a long window) while the test sends something else."""

    WINDOW = 0.5

    def __init__(self, send: Any) -> None:
        self.answer: Any = None
        self._thread = threading.Thread(target=lambda: setattr(self, "answer", send()))

    def __enter__(self) -> Held:
        realistic.configure(enabled=True, window_seconds=self.WINDOW)
        self._thread.start()
        time.sleep(self.WINDOW / 3)
        return self

    def __exit__(self, *_: object) -> None:
        self._thread.join()
        realistic.configure(enabled=True)


def test_a_retry_sent_while_its_first_attempt_commits_gets_the_first_answer(busy_api: Api) -> None:
    """Finding 1: the retry's read is not transactional, so the write in flight does not fail it."""
    player = funded(busy_api, 100)
    send = lambda: busy_api.move(player, "bet", "10", transactionId="t1", betId="b1")  # noqa: E731
    with Held(send) as first:
        retry = send()
    assert first.answer.status == 201
    assert retry.status in (200, 201) and retry.status != 503, retry.body
    assert retry.json()["transaction"] == first.answer.json()["transaction"]
    assert Decimal(busy_api.balance(player)) == 90


def test_a_provider_debit_retried_during_its_commit_is_a_duplicate_not_an_error(
    busy_api: Api, provider: OneWallet
) -> None:
    player = funded(busy_api, 100)
    sid = provider.session(player)
    body = provider.tx(player, sid, "d1", "r1", 10)
    with Held(lambda: provider.call("debit", body)) as first:
        retry = provider.call("debit", {**body, "uuid": new_id("uuid")})
    assert first.answer["status"] == "OK"
    assert retry["status"] in ("OK", "BET_ALREADY_EXIST"), retry
    assert Decimal(busy_api.balance(player)) == 90


def test_a_balance_poll_and_an_audit_during_a_bet_answer(busy_api: Api, provider: OneWallet) -> None:
    player = funded(busy_api, 100)
    sid = provider.session(player)
    poll = {"sid": sid, "userId": player, "currency": "EUR", "game": None, "uuid": new_id("uuid")}
    with Held(lambda: busy_api.move(player, "bet", "10", transactionId="t1", betId="b1")):
        balance = provider.call("balance", poll)
        audit = busy_api.get(f"/v1/wallets/{player}/audit")
    assert balance["status"] == "OK" and balance["balance"] in (Decimal(100), Decimal(90)), balance
    assert audit.status == 200 and audit.json()["consistent"] is True, audit.body


def test_a_session_opened_while_a_movement_commits_is_opened(busy_api: Api) -> None:
    """Finding 2: the conflict is retried, never reported as wallet_not_found."""
    player = funded(busy_api, 100)
    with Held(lambda: busy_api.move(player, "bet", "10", transactionId="t1", betId="b1")):
        opened = busy_api.post("/v1/sessions", {"playerId": player})
        conflicts = realistic.counts().get("conflict", 0)
    assert opened.status == 201, opened.body
    assert conflicts >= 1, "the session's transaction never met the bet's"


def test_lock_and_unlock_while_a_movement_commits_are_applied(busy_api: Api) -> None:
    """Finding 3: UpdateItem's TransactionConflictException is retried within the budget."""
    player = funded(busy_api, 100)
    with Held(lambda: busy_api.move(player, "bet", "10", transactionId="t1", betId="b1")):
        locked = busy_api.post(f"/v1/wallets/{player}/lock")
        conflicts = realistic.counts().get("conflict", 0)
    assert locked.status == 200 and locked.json()["status"] == "locked", locked.body
    assert conflicts >= 1, "the lock never met the bet's transaction"
    with Held(lambda: busy_api.move(player, "deposit", "5", transactionId="t2")):
        unlocked = busy_api.post(f"/v1/wallets/{player}/unlock")
    assert unlocked.status == 200 and unlocked.json()["status"] == "active", unlocked.body
