"""The workload: what each operation sends, and the load generator that times it over HTTP.

Operations (every client works on its own wallet, so clients never contend for one):

- ``balance``: ``GET /v1/wallets/{p}``;
- ``bet``:     ``POST /v1/wallets/{p}/transactions`` ``{type: bet, amount: "1.00", betId}``, a new
               transaction id and bet id each time (201);
- ``win``:     a win of "2.00" settling the i-th bet of the ``bet`` phase (201);
- ``replay``:  the i-th bet of the ``bet`` phase sent again, byte for byte (200, Idempotent-Replayed).

The load generator (``run_cell``) runs in its own process, so the clients do not share a GIL with the
HTTP servers, the gateway and the embedded DynamoDB (all in the benchmark's main process). Each client
is a thread with its own keep-alive ``requests.Session``; all start together at a barrier. Throughput
is the cell's operations over the wall time from the barrier to the last answer; latency is per request,
from sending to having read the whole answer.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

OPERATIONS = ("balance", "bet", "win", "replay")
MOVEMENTS = ("bet", "win")
EXPECTED = {"balance": 200, "bet": 201, "win": 201, "replay": 200}
BET_AMOUNT = "1.00"
WIN_AMOUNT = "2.00"
INITIAL_DEPOSIT = "1000000.00"
CURRENCY = "EUR"
TIMEOUT = (5.0, 60.0)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: bytes | None
    expected: int


def wallet_path(player: str) -> str:
    return f"/v1/wallets/{player}"


def _transaction(player: str, body: dict[str, Any]) -> Call:
    payload = json.dumps(body, separators=(",", ":")).encode()
    return Call("POST", f"{wallet_path(player)}/transactions", payload, 201)


def bet(player: str, i: int) -> Call:
    return _transaction(
        player, {"transactionId": f"{player}-b{i}", "type": "bet", "amount": BET_AMOUNT, "betId": f"{player}-bet{i}"}
    )


def call(operation: str, player: str, i: int) -> Call:
    """The i-th request of ``operation`` on the wallet of ``player`` (the same i always builds the same)."""
    if operation == "balance":
        return Call("GET", wallet_path(player), None, 200)
    if operation == "bet":
        return bet(player, i)
    if operation == "win":
        body = {"transactionId": f"{player}-w{i}", "type": "win", "amount": WIN_AMOUNT, "betId": f"{player}-bet{i}"}
        return _transaction(player, body)
    if operation == "replay":
        original = bet(player, i)
        return Call(original.method, original.path, original.body, 200)
    raise ValueError(operation)


def split(total: int, parts: int) -> list[int]:
    """``total`` operations over ``parts`` clients, as evenly as possible."""
    return [total // parts + (1 if k < total % parts else 0) for k in range(parts)]


@dataclass
class CellResult:
    system: str
    operation: str
    clients: int
    operations: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies, q)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1); NaN when there is nothing to rank."""
    if not values:
        return math.nan
    ranked = sorted(values)
    return ranked[max(0, math.ceil(q * len(ranked)) - 1)]


def headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}


def _send(session: requests.Session, base_url: str, request: Call) -> requests.Response:
    response = session.request(request.method, base_url + request.path, data=request.body, timeout=TIMEOUT)
    response.content  # noqa: B018 - the whole answer is read inside the timed region
    return response


def run_cell(
    system: str, base_url: str, api_key: str, operation: str, players: list[str], operations: int
) -> CellResult:
    """``operations`` requests of one kind, spread over one client per player, all at once."""
    counts = split(operations, len(players))
    result = CellResult(system, operation, len(players), operations, 0.0)
    lock = threading.Lock()
    # Connections are opened before the barrier: keep-alive sessions, as a provider's are.
    sessions = []
    for player in players:
        session = requests.Session()
        session.headers.update(headers(api_key))
        _send(session, base_url, Call("GET", wallet_path(player), None, 200))
        sessions.append(session)
    barrier = threading.Barrier(len(players) + 1)
    ends: list[float] = []

    def client(k: int) -> None:
        session, player = sessions[k], players[k]
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        errors: list[str] = []
        barrier.wait()
        for i in range(counts[k]):
            request = call(operation, player, i)
            started = time.perf_counter()
            try:
                response = _send(session, base_url, request)
            except requests.RequestException as error:
                errors.append(f"{request.method} {request.path}: {type(error).__name__}")
                continue
            elapsed = time.perf_counter() - started
            statuses[response.status_code] += 1
            if response.status_code == request.expected:
                latencies.append(elapsed)
            elif len(errors) < 5:
                errors.append(f"{request.method} {request.path}: {response.status_code} {response.text[:200]}")
        with lock:
            ends.append(time.perf_counter())
            result.latencies.extend(latencies)
            result.statuses.update(statuses)
            result.errors.extend(errors)

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(len(players))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    result.seconds = (max(ends) if ends else time.perf_counter()) - started
    for session in sessions:
        session.close()
    return result


def open_wallets(base_url: str, api_key: str, players: list[str], deposit: str = INITIAL_DEPOSIT) -> None:
    """Open each wallet and fund it (not timed)."""
    with requests.Session() as session:
        session.headers.update(headers(api_key))
        for player in players:
            body = json.dumps({"playerId": player, "currency": CURRENCY}).encode()
            response = session.post(f"{base_url}/v1/wallets", data=body, timeout=TIMEOUT)
            if response.status_code != 201:
                raise RuntimeError(f"opening wallet {player}: {response.status_code} {response.text[:300]}")
            if Decimal(deposit) > 0:
                funding = {"transactionId": f"{player}-funding", "type": "deposit", "amount": deposit}
                response = session.post(
                    f"{base_url}{wallet_path(player)}/transactions", data=json.dumps(funding).encode(), timeout=TIMEOUT
                )
                if response.status_code != 201:
                    raise RuntimeError(f"funding wallet {player}: {response.status_code} {response.text[:300]}")


@dataclass
class RaceResult:
    system: str
    rounds: int
    clients: int
    accepted: int  # bets answered 201, over all rounds
    overdrawn_rounds: int  # rounds where more bets were accepted than the balance covered
    lost_update_rounds: int  # rounds where the final balance is not deposit - accepted bets
    final_balances: list[str] = field(default_factory=list)


def run_race(system: str, base_url: str, api_key: str, tag: str, rounds: int, clients: int) -> RaceResult:
    """Each round: a wallet holding exactly one bet's worth, and ``clients`` bets sent to it at once."""
    result = RaceResult(system, rounds, clients, 0, 0, 0)
    for r in range(rounds):
        player = f"{tag}-race{r}"
        open_wallets(base_url, api_key, [player], deposit=BET_AMOUNT)
        sessions = []
        for _ in range(clients):
            session = requests.Session()
            session.headers.update(headers(api_key))
            _send(session, base_url, Call("GET", wallet_path(player), None, 200))
            sessions.append(session)
        statuses = _race_round(base_url, player, sessions)
        accepted = statuses.count(201)
        balance = Decimal(_send(sessions[0], base_url, Call("GET", wallet_path(player), None, 200)).json()["balance"])
        for session in sessions:
            session.close()
        result.accepted += accepted
        result.final_balances.append(str(balance))
        if accepted * Decimal(BET_AMOUNT) > Decimal(BET_AMOUNT):
            result.overdrawn_rounds += 1
        if balance != Decimal(BET_AMOUNT) - accepted * Decimal(BET_AMOUNT):
            result.lost_update_rounds += 1
    return result


def _race_round(base_url: str, player: str, sessions: list[requests.Session]) -> list[int]:
    """One bet per session, all released at once; their statuses (0: no answer)."""
    barrier = threading.Barrier(len(sessions))
    statuses: list[int] = []
    lock = threading.Lock()

    def client(k: int) -> None:
        request = bet(player, k)
        barrier.wait()
        try:
            status = _send(sessions[k], base_url, request).status_code
        except requests.RequestException:
            status = 0
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(len(sessions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses
