"""Issue 13's acceptance on `kassa serve` (what `make run` starts), over HTTP: a win of 600 times its stake,
130 movements on one wallet within a minute, a deposit withdrawn with no play and 25 refused bets within a
minute each produce exactly one anomaly of the right rule, visible at GET /v1/anomalies within 5 seconds of
the call that tripped it, and the server prints one line for each."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.serving import kassa_serve

DEMO_KEY = "kassa_key_anomaly_test"
VISIBLE_WITHIN_SECONDS = 5.0


class Served:
    def __init__(self, port: int, output: Path) -> None:
        self.base, self.output = f"http://127.0.0.1:{port}", output
        self.http = requests.Session()
        self.http.headers["authorization"] = f"Bearer {DEMO_KEY}"

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.http.post(f"{self.base}{path}", json=body, timeout=30)

    def wallet(self, player: str, deposit: str) -> None:
        assert self.post("/v1/wallets", {"playerId": player, "currency": "EUR"}).status_code == 201
        self.move(player, "deposit", deposit)

    def move(self, player: str, kind: str, amount: str, **fields: str) -> requests.Response:
        body = {"transactionId": f"{kind}-{time.monotonic_ns()}", "type": kind, "amount": amount, **fields}
        return self.post(f"/v1/wallets/{player}/transactions", body)

    def anomalies_of(self, player: str) -> list[dict[str, Any]]:
        answer = self.http.get(f"{self.base}/v1/anomalies", params={"playerId": player, "limit": 100}, timeout=30)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    def first_seen(self, player: str) -> tuple[list[dict[str, Any]], float]:
        """The player's anomalies as soon as there are any, and how long after now that was."""
        started = time.monotonic()
        while time.monotonic() - started < VISIBLE_WITHIN_SECONDS:
            found = self.anomalies_of(player)
            if found:
                return found, time.monotonic() - started
            time.sleep(0.1)
        return [], time.monotonic() - started


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    output = tmp_path_factory.mktemp("serve") / "output.txt"
    with kassa_serve(output, KASSA_DEMO_API_KEY=DEMO_KEY) as port:
        yield Served(port, output)


def exactly_one(served: Served, player: str, rule: str) -> None:
    found, waited = served.first_seen(player)
    assert found, f"no anomaly for {player} within {VISIBLE_WITHIN_SECONDS} s"
    print(f"{rule}: visible {waited:.2f} s after the call")
    time.sleep(1.0)  # a second anomaly, if there were one, would be stored by now
    assert [item["rule"] for item in served.anomalies_of(player)] == [rule]


def test_each_rule_trips_once_and_shows_within_seconds(served: Served) -> None:
    served.wallet("big-winner", "10")
    assert served.move("big-winner", "bet", "1", betId="round-1").status_code == 201
    assert served.move("big-winner", "win", "600", betId="round-1").status_code == 201
    exactly_one(served, "big-winner", "large_win")

    served.wallet("bot", "1")
    for _ in range(120):  # the 121st movement within a minute is the one that trips it
        assert served.move("bot", "deposit", "1").status_code == 201
    exactly_one(served, "bot", "velocity")
    for _ in range(9):  # nine more within the minute: the same episode, no second anomaly
        assert served.move("bot", "deposit", "1").status_code == 201
    time.sleep(1.5)
    assert [item["rule"] for item in served.anomalies_of("bot")] == ["velocity"]

    served.wallet("cash-through", "100")
    assert served.move("cash-through", "withdrawal", "90").status_code == 201
    exactly_one(served, "cash-through", "deposit_withdraw_no_play")

    served.wallet("refused", "1")
    for i in range(25):
        refused = served.move("refused", "bet", "5", betId=f"round-{i}")
        assert refused.json()["code"] == "insufficient_funds", refused.text
    exactly_one(served, "refused", "rejection_burst")

    printed = [line for line in served.output.read_text().splitlines() if line.startswith("ANOMALY ")]
    assert len(printed) == 4, printed
    for rule, player in (
        ("large_win", "big-winner"),
        ("velocity", "bot"),
        ("deposit_withdraw_no_play", "cash-through"),
        ("rejection_burst", "refused"),
    ):
        assert any(line.startswith(f"ANOMALY {rule} ") and f"player {player}," in line for line in printed), printed
