"""``python -m kassa_dev.bench.contention``: writers on ONE wallet, with the embedded DynamoDB's realistic mode
(transaction conflicts) off and on: latency, commits and reads per movement, and what was given up.

Each cell: a fresh wallet funded for every movement (or for half of them), ``writers`` client threads each
sending ``moves`` bets of 1 (native) or debits of 1 (One Wallet) through the local stack's worker processes
(one per core, as ``make run``), timed at the client. Attempts per movement are counted at the embedded
DynamoDB: ``TransactWriteItems`` requests per movement (1.0 is no contention), ``BatchGetItem`` likewise.
The figures are this machine's, 2 cores shared by the clients, the workers and the embedded DynamoDB.
With ``--out`` the Markdown table replaces the "Contention" section of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from kassa_dev import realistic, template
from kassa_dev.gateway import LocalGateway
from kassa_dev.stack import LocalStack
from kassa_dev.workers import WorkerPool

SECTION = "## Contention: writers on one wallet"
DEFAULT_OUT = template.REPO_ROOT / "docs" / "PERFORMANCE.md"


@dataclass(frozen=True)
class Cell:
    protocol: str  # native | onewallet
    writers: int
    realistic: bool
    affordable: str  # all | half
    movements: int
    applied: int
    refused: int  # business rejections (insufficient funds)
    given_up: int  # 503 / TEMPORARY_ERROR
    p50_ms: float
    p99_ms: float
    commits_per_movement: float
    reads_per_movement: float
    conflicts: int
    exact: bool


class Client:
    def __init__(self, gateway: LocalGateway, api_key: str, token: str) -> None:
        self.gateway, self.api_key, self.token = gateway, api_key, token

    def native(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"content-type": "application/json", "authorization": f"Bearer {self.api_key}"}
        answer = self.gateway.handle(method, path, "", headers, b"" if body is None else json.dumps(body).encode())
        return answer.status, json.loads(answer.body or b"null")

    def onewallet(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.gateway.handle(
            "POST", f"/onewallet/{method}", f"authToken={self.token}", {}, json.dumps(body).encode()
        )
        reply: dict[str, Any] = json.loads(answer.body)
        return reply


def _wallet(client: Client, amount: int) -> str:
    player = f"bench-{uuid.uuid4().hex[:10]}"
    assert client.native("POST", "/v1/wallets", {"playerId": player, "currency": "EUR"})[0] == 201
    deposit = {"transactionId": "fund", "type": "deposit", "amount": str(amount)}
    assert client.native("POST", f"/v1/wallets/{player}/transactions", deposit)[0] == 201
    return player


def _one(client: Client, protocol: str, player: str, sid: str, writer: int, n: int) -> str:
    tx = f"w{writer}-{n}"
    if protocol == "native":
        body = {"transactionId": tx, "type": "bet", "amount": "1", "betId": tx}
        status, _ = client.native("POST", f"/v1/wallets/{player}/transactions", body)
        return {201: "applied", 409: "refused", 503: "given_up"}.get(status, f"http {status}")
    call = {
        "sid": sid,
        "userId": player,
        "currency": "EUR",
        "game": None,
        "uuid": uuid.uuid4().hex,
        "transaction": {"id": tx, "refId": tx, "amount": 1},
    }
    status = client.onewallet("debit", call)["status"]
    return {"OK": "applied", "INSUFFICIENT_FUNDS": "refused", "TEMPORARY_ERROR": "given_up"}.get(status, status)


def run_cell(client: Client, protocol: str, writers: int, moves: int, on: bool, affordable: str) -> Cell:
    total = writers * moves
    funds = total if affordable == "all" else total // 2
    player = _wallet(client, funds)
    sid = client.native("POST", "/v1/sessions", {"playerId": player})[1]["sid"]
    realistic.configure(enabled=on)
    latencies: list[float] = []
    outcomes: list[str] = []

    def writer(index: int) -> None:
        for n in range(moves):
            started = time.perf_counter()
            outcome = _one(client, protocol, player, sid, index, n)
            latencies.append(time.perf_counter() - started)
            outcomes.append(outcome)

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(writer, range(writers)))
    requests, conflicts = realistic.requests(), realistic.counts().get("conflict", 0)
    realistic.configure()
    applied = outcomes.count("applied")
    status, wallet = client.native("GET", f"/v1/wallets/{player}")
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return Cell(
        protocol,
        writers,
        on,
        affordable,
        total,
        applied,
        outcomes.count("refused"),
        outcomes.count("given_up"),
        round(cuts[49] * 1000, 1),
        round(cuts[98] * 1000, 1),
        round(requests.get("TransactWriteItems", 0) / total, 2),
        round(requests.get("BatchGetItem", 0) / total, 2),
        conflicts,
        status == 200 and Decimal(wallet["balance"]) == funds - applied,
    )


def markdown(cells: list[Cell], command: str, workers: int) -> str:
    lines = [
        SECTION,
        "",
        f"`{command}` on this machine ({workers} worker processes, one per core). Every movement is 1 unit; "
        "a wallet funded for all of them, or for half. *Commits* and *reads per movement*: DynamoDB "
        "`TransactWriteItems` and `BatchGetItem` requests per movement sent (1.0 = no contention). "
        "*Given up*: native 503 / One Wallet `TEMPORARY_ERROR` (the target is 0). Latency at the client, "
        "queueing for a worker included.",
        "",
        "| protocol | writers | realistic | funded | movements | applied | refused | given up "
        "| p50 ms | p99 ms | commits/mvt | reads/mvt | conflicts | money exact |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        lines.append(
            f"| {c.protocol} | {c.writers} | {'on' if c.realistic else 'off'} | {c.affordable} | {c.movements} "
            f"| {c.applied} | {c.refused} | **{c.given_up}** | {c.p50_ms} | {c.p99_ms} | {c.commits_per_movement} "
            f"| {c.reads_per_movement} | {c.conflicts} | {'yes' if c.exact else 'NO'} |"
        )
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(re.escape(SECTION) + r".*?(?=\n## |\Z)", re.S)
    text = pattern.sub(section.rstrip("\n"), text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kassa_dev.bench.contention", description=__doc__)
    parser.add_argument("--writers", default="1,4,16", help="writers per wallet (default 1,4,16)")
    parser.add_argument("--moves", type=int, default=50, help="movements per writer (default 50)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="file whose Contention section is replaced ('-': none)")
    args = parser.parse_args(argv)
    writer_counts = [int(w) for w in args.writers.split(",")]
    # The workers' per-request log lines and metrics would drown the report (they go to stdout).
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    cells: list[Cell] = []
    with LocalStack(table=f"kassa-contention-{uuid.uuid4().hex[:6]}") as stack:
        demo = stack.seed_demo_operator()
        pool = WorkerPool().start()
        try:
            client = Client(LocalGateway(pool), demo.api_key, demo.onewallet_token)
            for protocol in ("native", "onewallet"):
                for writers in writer_counts:
                    for on in (False, True):
                        cells.append(run_cell(client, protocol, writers, args.moves, on, "all"))
                        print(cells[-1], file=sys.stderr, flush=True)
                # The target's second wallet: funded for half of what the most writers send.
                cells.append(run_cell(client, protocol, max(writer_counts), args.moves, True, "half"))
                print(cells[-1], file=sys.stderr, flush=True)
        finally:
            pool.stop()
    command = "python -m kassa_dev.bench.contention " + " ".join(argv if argv is not None else sys.argv[1:])
    section = markdown(cells, command.strip(), pool.size)
    print(section)
    if args.out != "-":
        write_section(Path(args.out), section)
    return 0 if all(c.given_up == 0 and c.exact for c in cells) else 1


if __name__ == "__main__":
    sys.exit(main())
