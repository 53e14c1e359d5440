"""Logs carry the correlation id and never a secret; metrics are emitted as EMF."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from kassa_dev.gateway import LocalGateway
from kassa_dev.stack import DemoCredentials
from tests.conftest import Api


def log_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            lines.append(parsed)
    return lines


@pytest.fixture
def logs(api: Api) -> Iterator[io.StringIO]:
    """What the service's Powertools logger writes (its handler's stream swapped for a buffer)."""
    api.get("/health")  # the functions (and so the logger) are loaded
    buffer = io.StringIO()
    handlers = [h for h in logging.getLogger("kassa").handlers if isinstance(h, logging.StreamHandler)]
    assert handlers
    previous = [handler.setStream(buffer) for handler in handlers]
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)


def test_movement_log_carries_the_callers_correlation_id(
    api: Api, logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    player = api.open_wallet()
    api.post(
        f"/v1/wallets/{player}/transactions",
        {"transactionId": "obs-1", "type": "deposit", "amount": "5"},
        headers={"x-correlation-id": "corr-777"},
    )
    applied = [line for line in log_lines(logs.getvalue()) if line.get("message") == "movement applied"]
    assert applied and applied[0]["correlation_id"] == "corr-777"
    assert applied[0]["transactionId"] == "obs-1"
    metrics = [line for line in log_lines(capsys.readouterr().out) if "_aws" in line]
    assert any("MovementsApplied" in line for line in metrics)


def test_no_secret_reaches_the_logs(
    gateway: LocalGateway, demo: DemoCredentials, api: Api, logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "10")
    sid = api.post("/v1/sessions", {"playerId": player}).json()["sid"]
    body = {
        "sid": sid,
        "userId": player,
        "uuid": "u-1",
        "currency": "EUR",
        "transaction": {"id": "t-1", "refId": "r-1", "amount": 1},
    }
    for method in ("check", "balance", "debit", "credit", "cancel"):
        gateway.handle(
            "POST",
            f"/onewallet/{method}",
            f"authToken={demo.onewallet_token}",
            {"content-type": "application/json"},
            json.dumps(body).encode(),
        )
    gateway.handle("POST", "/onewallet/balance", "authToken=wrong-token", {}, json.dumps(body).encode())
    api.get(f"/v1/wallets/{player}")
    wrong_key = "kassa_key_" + "wrong"
    Api(gateway, wrong_key).get(f"/v1/wallets/{player}")
    output = capsys.readouterr()
    everything = logs.getvalue() + output.out + output.err
    assert "movement applied" in everything  # the logs were captured at all
    assert "API key refused" in everything
    for secret in (demo.onewallet_token, demo.api_key, sid, "wrong-token", wrong_key):
        assert secret not in everything


def test_a_wallet_partition_nearing_its_limit_is_measured_and_warned(
    api: Api, logs: io.StringIO, capsys: pytest.CaptureFixture[str], realistic_dynamodb: None
) -> None:
    """Every commit reports its wallet's item-collection size (DynamoDB's estimate) as a metric, and a
    wallet past half of the 10 GB limit is named in a warning; a small one is not."""
    from kassa.store import keys
    from kassa_dev import realistic

    big, small = api.open_wallet(), api.open_wallet()
    realistic.plant_collection_size(keys.wallet_pk("demo", big), 6.0)
    realistic.plant_collection_size(keys.wallet_pk("demo", small), 1.0)
    capsys.readouterr()
    assert api.move(big, "deposit", "5").status == 201
    assert api.move(small, "deposit", "5").status == 201
    sizes = [
        value
        for line in log_lines(capsys.readouterr().out)
        if "_aws" in line and "WalletCollectionSizeGB" in line
        for value in (
            line["WalletCollectionSizeGB"]
            if isinstance(line["WalletCollectionSizeGB"], list)
            else [line["WalletCollectionSizeGB"]]
        )
    ]
    assert sorted(sizes) == [2.0, 7.0]  # the upper ends of the estimates
    warned = [line for line in log_lines(logs.getvalue()) if "10 GB" in str(line.get("message"))]
    assert [(line["playerId"], line["sizeGB"]) for line in warned] == [(big, 7.0)]
