"""The whole bill: what a movement costs after its request, on the stream, and a million of them in dollars.

The stream path: movements are made through the gateway as clients would, then the table's stream is
drained through the stream consumer (``ReconciliationFunction``, batches as the template configures them)
with the capacity meter on its DynamoDB client and its EventBridge client; everything is divided by the
number of movements. Records the stream carries for other items (the wallet, the bet, the outbox marker)
are delivered too, as Lambda would deliver them.

The bill for one million movements (mean of bet and win, a request each) adds, per system: DynamoDB
read and write request units (indexes included, at the estimated rate), Lambda requests and duration
(handler time measured in this process, on this machine, at the template's memory and architecture:
an estimate, stated as such), HTTP API requests and EventBridge events. The prices are constants below,
with their region and the date they were recorded; Kassa does not fetch prices.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Prices:
    """On-demand prices in USD, as recorded; check the current price list before relying on them."""

    region: str = "us-east-1"
    recorded: str = "2026-12-06"
    read_request_unit: Decimal = Decimal("0.125") / MILLION  # DynamoDB on-demand, standard table class
    write_request_unit: Decimal = Decimal("0.625") / MILLION
    lambda_request: Decimal = Decimal("0.20") / MILLION
    lambda_gb_second_arm64: Decimal = Decimal("0.0000133334")  # first pricing tier
    http_api_request: Decimal = Decimal("1.00") / MILLION  # first 300 million a month
    eventbridge_event: Decimal = Decimal("1.00") / MILLION  # custom events, per 64 KB chunk


PRICES = Prices()


@dataclass
class StreamCost:
    """The stream consumer's work, per movement."""

    movements: int
    player: str  # the metered wallet (its items are measured for the Scale section)
    records: Decimal = Decimal(0)
    invocations: Decimal = Decimal(0)
    requests: Decimal = Decimal(0)
    rcu: Decimal = Decimal(0)
    wcu: Decimal = Decimal(0)
    index_wcu: Decimal = Decimal(0)
    events: Decimal = Decimal(0)
    seconds: float = 0.0  # handler time per movement, this machine
    by_api: Counter[str] = field(default_factory=Counter)

    @property
    def units(self) -> Decimal:
        return self.rcu + self.wcu

    def describe_calls(self) -> str:
        per = ((name, Decimal(n) / self.movements) for name, n in sorted(self.by_api.items()))
        return ", ".join(f"{_fmt(v)}x {name}" for name, v in per) or "-"


def _fmt(value: Decimal) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def measure_stream(stack: Any, api_key: str, tag: str, movements: int) -> StreamCost:
    """``movements`` bets and wins (half each) on a wallet, then the stream they wrote; twice: once
    timed with nothing attached, once metered (the meter's own reads would count as handler time)."""
    from kassa.store.client import aws, dynamodb
    from kassa_dev.bench.counting import CapacityMeter, CountingInvoker, silenced_stdout
    from kassa_dev.bench.harness import BenchRunner

    runner = BenchRunner()
    meter = CapacityMeter(stack.client("dynamodb"))
    counting = CountingInvoker(runner, meter)
    pump = stack.stream_pump(counting.invoke)
    n = 2 * (movements // 2)
    cost = StreamCost(n, player=f"{tag}-stream-metered")
    with silenced_stdout():
        _movements(runner, pump, api_key, f"{tag}-stream-timed", n)
        pump.drain()
        cost.invocations = Decimal(len(meter.timings)) / n
        cost.seconds = sum(seconds for _, seconds in meter.timings) / n

        _movements(runner, pump, api_key, cost.player, n)
        delivered = pump.delivered
        events: list[str] = []
        count_event = lambda **_: events.append("PutEvents")  # noqa: E731 - one line, one purpose
        aws("events").meta.events.register("before-call.events.PutEvents", count_event)
        meter.attach(dynamodb())
        try:
            pump.drain()
        finally:
            meter.detach()
            aws("events").meta.events.unregister("before-call.events.PutEvents", count_event)
    cost.records = Decimal(pump.delivered - delivered) / n
    cost.events = Decimal(len(events)) / n
    for call in meter.calls:
        cost.requests += Decimal(1) / n
        cost.rcu += call.rcu / n
        cost.wcu += call.wcu / n
        cost.index_wcu += call.index_wcu / n
        cost.by_api[call.operation] += 1
    if pump.dead_letters:
        raise RuntimeError(f"{len(pump.dead_letters)} stream records failed every delivery")
    return cost


def _movements(runner: Any, pump: Any, api_key: str, player: str, n: int) -> None:
    """A funded wallet (its records skipped), then n/2 bets and n/2 wins on it through the gateway."""
    from kassa_dev.bench import workload
    from kassa_dev.gateway import LocalGateway

    gateway, headers = LocalGateway(runner), workload.headers(api_key)

    def send(call: workload.Call) -> None:
        response = gateway.handle(call.method, call.path, "", headers, call.body or b"")
        if response.status != call.expected:
            raise RuntimeError(f"{call.method} {call.path}: {response.status} {response.body[:200]!r}")

    create = json.dumps({"playerId": player, "currency": workload.CURRENCY}).encode()
    send(workload.Call("POST", "/v1/wallets", create, 201))
    fund = {"transactionId": f"{player}-funding", "type": "deposit", "amount": workload.INITIAL_DEPOSIT}
    send(workload.Call("POST", workload.wallet_path(player) + "/transactions", json.dumps(fund).encode(), 201))
    pump.skip()  # what came before (other wallets, the opening) is not this measurement's
    for i in range(n // 2):
        send(workload.call("bet", player, i))
        send(workload.call("win", player, i))


# -- a million movements, in dollars ------------------------------------------------------------------


@dataclass(frozen=True)
class Bill:
    system: str
    dynamodb: Decimal
    lambda_requests: Decimal
    lambda_duration: Decimal
    http_api: Decimal
    events: Decimal

    @property
    def total(self) -> Decimal:
        return self.dynamodb + self.lambda_requests + self.lambda_duration + self.http_api + self.events


def _memory_gb(function_id: str) -> Decimal:
    from kassa_dev import template

    spec = template.functions()[function_id]
    return Decimal(int(spec.memory_size or 128)) / 1024


def million(costs: list[Any], stream: StreamCost | None, prices: Prices = PRICES) -> list[Bill]:
    """One million movements (mean of bet and win) per system. The baselines run with the transactions
    function's memory; they have no stream path (no verification, no events)."""
    from kassa_dev.bench.workload import MOVEMENTS
    from kassa_dev.template import authorizer_function_id

    route_gb, authorizer_gb = _memory_gb("TransactionsFunction"), _memory_gb(authorizer_function_id())
    bills = []
    for system in dict.fromkeys(c.system for c in costs):
        moves = [c for c in costs if c.system == system and c.operation in MOVEMENTS]
        if not moves:
            continue

        def mean(figure: Any, of: list[Any] = moves) -> Decimal:
            return sum((Decimal(str(figure(c))) for c in of), Decimal(0)) / len(of)

        reads = mean(lambda c: c.rcu + c.authorizer_rcu)
        writes = mean(lambda c: c.wcu + c.index_wcu)
        invocations = mean(lambda c: 1 + c.authorizer_requests)  # the route's function, and the authorizer
        gb_seconds = mean(lambda c: Decimal(str(c.seconds)) * route_gb) + mean(
            lambda c: Decimal(str(c.authorizer_seconds)) * authorizer_gb * c.authorizer_requests
        )
        events = Decimal(0)
        if system == "kassa" and stream is not None:
            reads += stream.rcu
            writes += stream.wcu + stream.index_wcu
            invocations += stream.invocations
            gb_seconds += Decimal(str(stream.seconds)) * _memory_gb("ReconciliationFunction")
            events = stream.events
        bills.append(
            Bill(
                system,
                dynamodb=MILLION * (reads * prices.read_request_unit + writes * prices.write_request_unit),
                lambda_requests=MILLION * invocations * prices.lambda_request,
                lambda_duration=MILLION * gb_seconds * prices.lambda_gb_second_arm64,
                http_api=MILLION * prices.http_api_request,
                events=MILLION * events * prices.eventbridge_event,
            )
        )
    return bills
