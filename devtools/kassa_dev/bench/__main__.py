"""``python -m kassa_dev.bench``: run the benchmark, print the report, write it to ``--out``."""

from __future__ import annotations

import argparse
import multiprocessing
import shlex
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from kassa.store import keys
from kassa_dev import template
from kassa_dev.bench import audit_scale, bill, coldstart, counting, report, scale, workload
from kassa_dev.bench.harness import bench_stack
from kassa_dev.stack import DEMO_OPERATOR

SYSTEMS = ("kassa", "baseline")  # timed side by side
RACING = ("kassa", "baseline", "careful")  # the concurrency probe; costs are counted for all three
DEFAULT_OUT = template.REPO_ROOT / "docs" / "PERFORMANCE.md"


def _positive_list(text: str) -> list[int]:
    values = sorted({int(part) for part in text.split(",") if part.strip()})
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive numbers, e.g. 1,8")
    return values


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m kassa_dev.bench", description=__doc__)
    parser.add_argument("--operations", type=int, default=300, help="requests per cell (operation x clients x system)")
    parser.add_argument(
        "--clients", type=_positive_list, default=[1, 8], help="concurrent clients per cell (default 1,8)"
    )
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: the most clients)")
    parser.add_argument("--cold-runs", type=int, default=9, help="fresh interpreters per handler (median)")
    parser.add_argument("--cost-samples", type=int, default=10, help="requests per operation counted in-process")
    parser.add_argument(
        "--audit-sizes", type=_positive_list, default=list(audit_scale.SIZES), help="ledger sizes the audit is timed at"
    )
    parser.add_argument("--stream-movements", type=int, default=100, help="movements whose stream is metered")
    parser.add_argument("--race-rounds", type=int, default=5, help="rounds of the concurrency probe (0: none)")
    parser.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        help="where the Markdown report goes ('-': nowhere; default docs/PERFORMANCE.md)",
    )
    args = parser.parse_args(argv)
    if args.operations < 1:
        parser.error("--operations must be at least 1")
    return args


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    workers = args.workers or max(args.clients)
    given = sys.argv[1:] if argv is None else argv
    run = report.Run(
        command=shlex.join(["python", "-m", "kassa_dev.bench", *given]),
        operations=args.operations,
        clients=args.clients,
        workers=workers,
        cost_samples=args.cost_samples,
        machine=report.machine(),
    )
    started = time.perf_counter()
    tag = "b" + uuid.uuid4().hex[:6]

    # Cold start first, while this benchmark runs nothing else.
    _progress(
        f"cold start: {len(coldstart.FUNCTIONS)} handlers and {len(coldstart.REFERENCES)} references, "
        f"{args.cold_runs} runs each"
    )
    run.cold = coldstart.measure(args.cold_runs)

    _progress(f"starting the local stack with {workers} workers")
    clients_process = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        with bench_stack(workers) as bench:
            urls = bench.urls

            def cell(system: str, operation: str, players: list[str], operations: int) -> workload.CellResult:
                future = clients_process.submit(
                    workload.run_cell, system, urls[system], bench.api_key, operation, players, operations
                )
                return future.result()

            # Warm-up (not recorded): every worker, connection and code path once before timing.
            for system in SYSTEMS:
                players = [f"{tag}-{system}-warm{k}" for k in range(workers)]
                workload.open_wallets(urls[system], bench.api_key, players)
                for operation in ("bet", "win", "replay", "balance"):
                    cell(system, operation, players, 2 * workers)

            for clients in args.clients:
                wallets = {s: [f"{tag}-{s}-c{clients}-{k}" for k in range(clients)] for s in SYSTEMS}
                for system in SYSTEMS:
                    workload.open_wallets(urls[system], bench.api_key, wallets[system])
                for index, operation in enumerate(workload.OPERATIONS):
                    order = SYSTEMS if index % 2 == 0 else tuple(reversed(SYSTEMS))
                    for system in order:
                        result = cell(system, operation, wallets[system], args.operations)
                        run.cells.append(result)
                        _progress(
                            f"  {system:<8} {operation:<7} {clients} client(s): {result.throughput:7.1f} ops/s, "
                            f"p50 {result.percentile(0.5) * 1000:6.1f} ms, p99 {result.percentile(0.99) * 1000:6.1f} ms"
                            + (
                                f", {result.operations - result.ok} unexpected"
                                if result.ok != result.operations
                                else ""
                            )
                        )

            if args.race_rounds:
                _progress(f"concurrency probe: {args.race_rounds} rounds of {max(args.clients)} simultaneous bets")
                for system in RACING:
                    future = clients_process.submit(
                        workload.run_race,
                        system,
                        urls[system],
                        bench.api_key,
                        f"{tag}-{system}",
                        args.race_rounds,
                        max(args.clients),
                    )
                    run.races.append(future.result())

            _progress(f"DynamoDB requests and capacity: {args.cost_samples} requests per operation, in-process")
            run.costs = counting.measure_costs(bench.stack, bench.api_key, args.cost_samples, tag)
            _progress(f"the stream path: {args.stream_movements} movements, then the stream drained, in-process")
            run.stream = bill.measure_stream(bench.stack, bench.api_key, tag, args.stream_movements)
            partition = keys.wallet_pk(DEMO_OPERATOR, run.stream.player)
            run.sizes = scale.measure_items(bench.stack.client("dynamodb"), bench.stack.table, partition)
            _progress(f"the audit at {', '.join(f'{n:,}' for n in args.audit_sizes)} entries")
            run.audits = audit_scale.measure(bench.stack, tag, tuple(args.audit_sizes), _progress)
    finally:
        clients_process.shutdown()

    run.seconds = time.perf_counter() - started
    run.load_at_end = report._load()
    text = report.render(run)
    print(text)
    if args.out != "-":
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        _progress(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
