"""The machine a run happened on, and the run as Markdown (printed, and written to docs/PERFORMANCE.md)."""

from __future__ import annotations

import datetime
import math
import os
import platform
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

from kassa_dev.bench import audit_scale, bill, scale
from kassa_dev.bench.coldstart import (
    BARE,
    PYDANTIC_FLOOR,
    REFERENCES,
    STREAM_CONSUMER,
    UNCOMPILED,
    UNCOMPILED_FUNCTION,
    ColdStart,
)
from kassa_dev.bench.counting import OperationCost
from kassa_dev.bench.workload import MOVEMENTS, OPERATIONS, CellResult, RaceResult

COLD_START_LIMIT = 1.5  # each HTTP function within 1.5x the bare handler (import + init)
FIRST_REQUEST_LIMIT = 2.0  # its first request within 2x the bare handler's first GetItem
REQUESTS_LIMIT = Decimal("0.5")  # Kassa's DynamoDB requests per movement at most half a baseline's
CAPACITY_LIMIT = Decimal(8)  # capacity units per movement (mean of bet and win)
REPLAY_LIMIT = Decimal(3)  # capacity units per replay
COST_SYSTEMS = ("kassa", "baseline", "careful")
PACKAGES = ("boto3", "botocore", "aws-lambda-powertools", "pydantic", "moto", "requests")


# -- the machine ------------------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory() -> str:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _os_name() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return f"{line.split('=', 1)[1].strip().strip(chr(34))} (kernel {platform.release()})"
    return platform.platform()


def _git() -> str:
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        head = subprocess.run(  # noqa: S603 - the repository's own git, reading its state
            [git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(  # noqa: S603
            [git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' with uncommitted changes' if dirty else ''}"


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine() -> dict[str, str]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return {
        "Date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "CPU": _cpu_model(),
        "Cores": f"{os.cpu_count()} logical, {usable} usable by this process",
        "Memory": _memory(),
        "OS": _os_name(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "Packages": ", ".join(versions),
        "Kassa": _git(),
        "Load average (1/5/15 min) at start": _load(),
    }


# -- the run ----------------------------------------------------------------------------------------


@dataclass
class Run:
    command: str
    operations: int
    clients: Sequence[int]
    workers: int
    seconds: float = 0.0
    machine: dict[str, str] = field(default_factory=dict)
    load_at_end: str = ""
    cells: list[CellResult] = field(default_factory=list)
    costs: list[OperationCost] = field(default_factory=list)
    cold: list[ColdStart] = field(default_factory=list)
    races: list[RaceResult] = field(default_factory=list)
    cost_samples: int = 0
    stream: bill.StreamCost | None = None
    sizes: scale.ItemSizes | None = None
    audits: list[audit_scale.AuditFigure] = field(default_factory=list)


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def _ratio(a: float | Decimal, b: float | Decimal) -> str:
    if not b or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return "-"
    return f"{float(a) / float(b):.2f}"


def _num(value: Decimal) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str = "") -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    marks = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _cell(run: Run, system: str, operation: str, clients: int) -> CellResult | None:
    for cell in run.cells:
        if (cell.system, cell.operation, cell.clients) == (system, operation, clients):
            return cell
    return None


def _cost(run: Run, system: str, operation: str) -> OperationCost | None:
    for cost in run.costs:
        if (cost.system, cost.operation) == (system, operation):
            return cost
    return None


def per_movement(run: Run, system: str, figure: Any) -> Decimal:
    """The mean of ``figure(cost)`` over the movements (bet, win) of one system."""
    costs = [c for c in (_cost(run, system, op) for op in MOVEMENTS) if c is not None]
    return sum((figure(c) for c in costs), Decimal(0)) / len(costs) if costs else Decimal(0)


def requests_per_movement(run: Run, system: str) -> Decimal:
    return per_movement(run, system, lambda c: c.requests)


def capacity_per_movement(run: Run, system: str) -> Decimal:
    return per_movement(run, system, lambda c: c.rcu + c.wcu)


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def summary(run: Run) -> list[str]:
    lines = ["## Summary", ""]
    kassa, base, careful = (requests_per_movement(run, s) for s in COST_SYSTEMS)
    if base and careful:
        lines.append(
            f"- DynamoDB requests per movement (bet, win; the route's function, authorizer apart): Kassa "
            f"{_num(kassa)}, careful baseline {_num(careful)}, naive baseline {_num(base)}: Kassa / careful = "
            f"{kassa / careful:.2f} (target <= {REQUESTS_LIMIT}: {_verdict(kassa / careful <= REQUESTS_LIMIT)})."
        )
    units = {s: capacity_per_movement(run, s) for s in COST_SYSTEMS}
    replay, retry = _cost(run, "kassa", "replay"), _cost(run, "kassa", "retry")
    if units["kassa"] and units["careful"] and replay and retry:
        replay_units, retry_units = replay.rcu + replay.wcu, retry.rcu + retry.wcu
        lines.append(
            f"- Capacity units per movement (RCU + WCU, indexes apart): Kassa {_num(units['kassa'])} (target <= "
            f"{CAPACITY_LIMIT}: {_verdict(units['kassa'] <= CAPACITY_LIMIT)}), careful baseline "
            f"{_num(units['careful'])} (target Kassa <= careful: {_verdict(units['kassa'] <= units['careful'])}), "
            f"naive baseline {_num(units['baseline'])}; a retry (the request sent again right after its answer) "
            f"{_num(retry_units)} (target for a replay <= {REPLAY_LIMIT}: {_verdict(retry_units <= REPLAY_LIMIT)}), "
            f"a replay of an old movement (a bet sent again after the whole bet and win phases) "
            f"{_num(replay_units)} ({_verdict(replay_units <= REPLAY_LIMIT)})."
        )
    lines += cold_summary(run)
    lines += stream_summary(run)
    lines += scale_summary(run)
    for clients in run.clients:
        ratios = []
        for operation in OPERATIONS:
            k, b = _cell(run, "kassa", operation, clients), _cell(run, "baseline", operation, clients)
            if k and b and b.throughput:
                ratios.append(f"{operation} {k.throughput / b.throughput:.2f}")
        if ratios:
            lines.append(f"- Throughput Kassa / baseline, {clients} client(s): {', '.join(ratios)}.")
    failed = [c for c in run.cells if c.ok != c.operations]
    lines.append(
        f"- Requests answered other than expected: {sum(c.operations - c.ok for c in failed)}"
        + (f" (in {', '.join(f'{c.system} {c.operation}/{c.clients}' for c in failed)})." if failed else ".")
    )
    return lines


def throughput_section(run: Run) -> list[str]:
    header = [
        "operation",
        "clients",
        "Kassa ops/s",
        "Kassa p50 ms",
        "Kassa p99 ms",
        "baseline ops/s",
        "baseline p50 ms",
        "baseline p99 ms",
        "ops/s K/B",
        "p50 K/B",
        "p99 K/B",
    ]
    rows = []
    for clients in run.clients:
        for operation in OPERATIONS:
            k, b = _cell(run, "kassa", operation, clients), _cell(run, "baseline", operation, clients)
            if k is None or b is None:
                continue
            rows.append(
                [
                    operation,
                    clients,
                    f"{k.throughput:.1f}",
                    _ms(k.percentile(0.5)),
                    _ms(k.percentile(0.99)),
                    f"{b.throughput:.1f}",
                    _ms(b.percentile(0.5)),
                    _ms(b.percentile(0.99)),
                    _ratio(k.throughput, b.throughput),
                    _ratio(k.percentile(0.5), b.percentile(0.5)),
                    _ratio(k.percentile(0.99), b.percentile(0.99)),
                ]
            )
    lines = [
        "## Throughput and latency over HTTP",
        "",
        f"{run.operations} requests per cell (operation x clients x system), against the local stack: the HTTP "
        f"server, the local API gateway with Kassa's Lambda authorizer, {run.workers} warm worker processes "
        "running the handlers, and the embedded DynamoDB (moto, one request at a time). K/B: Kassa / baseline "
        "(above 1 for ops/s, below 1 for latency means Kassa is faster).",
        "",
        *_table(header, rows, "lr" + "r" * 9),
    ]
    problems = [c for c in run.cells if c.errors or c.ok != c.operations]
    if problems:
        lines += ["", "Unexpected answers (not counted in the figures):", ""]
        for cell in problems:
            statuses = ", ".join(f"{status}: {n}" for status, n in sorted(cell.statuses.items()))
            lines.append(f"- {cell.system} {cell.operation}, {cell.clients} client(s): {statuses}")
            lines += [f"  - `{error}`" for error in cell.errors[:3]]
    return lines


def _failures(cost: OperationCost) -> str:
    if not cost.errors:
        return ""
    failed = ", ".join(f"{_num(Decimal(n) / cost.samples)}x {what}" for what, n in sorted(cost.errors.items()))
    return f" (failed: {failed})"


def costs_section(run: Run) -> list[str]:
    header = [
        "system",
        "operation",
        "requests",
        "DynamoDB calls",
        "RCU",
        "WCU",
        "index WCU (est.)",
        "authorizer requests",
        "authorizer RCU",
    ]
    rows = []
    authorizer = run.costs[0].describe_calls(authorizer=True) if run.costs else "-"
    for cost in run.costs:
        rows.append(
            [
                cost.system,
                cost.operation,
                _num(cost.requests) + (" (varied)" if cost.varied else ""),
                cost.describe_calls() + _failures(cost),
                _num(cost.rcu),
                _num(cost.wcu),
                _num(cost.index_wcu),
                _num(cost.authorizer_requests),
                _num(cost.authorizer_rcu),
            ]
        )
    lines = [
        "## DynamoDB requests and consumed capacity per operation",
        "",
        f"Mean per request over {run.cost_samples} requests of each operation, run in-process through the same "
        "gateway and handlers, with botocore hooks on the handlers' DynamoDB clients. The route's function and "
        f"the authorizer (the same for both systems: {authorizer} per request, as API Gateway calls it when "
        "its authorizer cache is off, the local gateway's behaviour) are counted apart. Capacity units are "
        "computed from the item sizes with DynamoDB's formulas (see *Method*), not reported by DynamoDB.",
        "",
        *_table(header, rows, "llrlrrrrr"),
        "",
    ]
    figures = (
        lambda c: c.requests,
        lambda c: c.requests + c.authorizer_requests,
        lambda c: c.rcu + c.wcu,
        lambda c: c.rcu + c.wcu + c.index_wcu,
    )
    measured = {s: [per_movement(run, s, f) for f in figures] for s in COST_SYSTEMS if _cost(run, s, "bet")}
    per_movement_rows = [[system, *(_num(v) for v in values)] for system, values in measured.items()]
    if "kassa" in measured:
        for system in ("careful", "baseline"):
            if system in measured:
                pairs = zip(measured["kassa"], measured[system], strict=True)
                per_movement_rows.append([f"Kassa / {system}", *(_ratio(k, b) for k, b in pairs)])
    lines += [
        "Per movement (mean of bet and win):",
        "",
        *_table(
            ["", "requests", "requests incl. authorizer", "capacity units (RCU + WCU)", "incl. index WCU (est.)"],
            per_movement_rows,
        ),
    ]
    return lines


STREAM_LIMIT = Decimal(4)  # capacity units per movement on the stream path


def stream_summary(run: Run) -> list[str]:
    if run.stream is None:
        return []
    units = run.stream.units
    return [
        f"- Stream path per movement: {_num(units)} capacity units (target <= {STREAM_LIMIT}: "
        f"{_verdict(units <= STREAM_LIMIT)}), {_num(run.stream.events)} event(s) published; one million "
        f"movements on demand: {_bills_line(run)}."
    ]


def _bills_line(run: Run) -> str:
    names = {"kassa": "Kassa", "careful": "careful baseline", "baseline": "naive baseline"}
    bills = bill.million(run.costs, run.stream)
    return ", ".join(f"{names.get(b.system, b.system)} ${b.total:.2f}" for b in bills)


def scale_section(run: Run) -> list[str]:
    kassa = [c for c in run.costs if c.system == "kassa" and c.operation in MOVEMENTS]
    if run.sizes is None or run.stream is None or not kassa:
        return []
    writes = sum((c.wcu for c in kassa), Decimal(0)) / len(kassa)
    index = sum((c.index_wcu for c in kassa), Decimal(0)) / len(kassa)
    stream = run.stream.wcu + run.stream.index_wcu
    rows = [[c.what, c.before, c.after, c.how] for c in scale.ceilings(run.sizes, writes, index, stream)]
    return [
        "## Scale",
        "",
        "Ceilings computed from DynamoDB's published limits (an item collection of a table with a local "
        "secondary index: 10 GB, never split, one partition's 1,000 write and 3,000 read units/s; the table's "
        "on-demand quota) and the item sizes of this run's stream wallet (`devtools/kassa_dev/bench/scale.py`). "
        "*Before*: as the design stood when issue 11 was filed.",
        "",
        *_table(["ceiling", "before", "now", "how"], rows, "llll"),
        "",
        *audit_lines(run),
    ]


def audit_lines(run: Run) -> list[str]:
    if not run.audits:
        return []
    rows = [
        [
            f"{a.entries:,}",
            f"{a.wallets:,}",
            a.phase,
            f"{a.seconds:.1f}",
            f"{a.requests:,}",
            _num(a.rcu),
            _num(a.wcu),
            _num(a.rcu * 1000 / a.entries),
        ]
        for a in run.audits
    ]
    return [
        "### The audit as the ledger grows",
        "",
        f"`devtools/kassa_dev/bench/audit_scale.py`: an operator per size, wallets of "
        f"{audit_scale.ENTRIES_PER_WALLET} entries each, audited three ways (see the module). Seconds are "
        "moto's on this machine, in-process; capacity is computed with DynamoDB's formulas. Before issue 11 the "
        "hourly audit was the full audit, in one invocation of at most 300 s (the function's timeout).",
        "",
        *_table(["entries", "wallets", "audit", "seconds", "requests", "RCU", "WCU", "RCU per 1k entries"], rows),
        "",
        "How it grows: the full audit reads every entry, strongly consistent, so its time and capacity grow "
        "with the ledger (the same RCU per thousand entries at every size). The incremental audit reads each "
        "wallet's new entries at half the price; with nothing new it costs one read per wallet (the wallet and "
        "its checkpoint), whatever the wallet's history, and its walk stops in time and resumes the next hour. "
        "The full audit walks the same way, and out of time goes on at once in another invocation "
        "(docs/decisions.md 35): no ledger is too large for it, only slower to audit.",
    ]


def _usd(price: Decimal) -> str:
    return f"{price.normalize():f}"


def scale_summary(run: Run) -> list[str]:
    lines = []
    if run.sizes is not None:
        rounds = scale.COLLECTION_LIMIT / run.sizes.round_bytes / scale.MILLION
        lines.append(
            f"- Per wallet: {rounds:.1f} million bet-and-win rounds before DynamoDB's 10 GB item collection, "
            "computed from measured item sizes (was claimed ten million entries); every commit reports the "
            "collection's size and an alarm fires past 5 GB (target: the claim corrected and watched: met)."
        )
    by_phase = {(a.phase, a.entries): a for a in run.audits}
    largest = max((a.entries for a in run.audits), default=0)
    full, quiet = by_phase.get(("full audit", largest)), by_phase.get(("incremental, nothing new", largest))
    if full and quiet:
        lines.append(
            f"- Audit at {largest:,} entries: full {full.seconds:.0f} s and {_num(full.rcu)} RCU; hourly "
            f"incremental with nothing new {quiet.seconds:.1f} s and {_num(quiet.rcu)} RCU (it grows with wallets, "
            "not entries; its walk stops in time and resumes; dead runs are reclaimed) (target: the audit "
            "scales: met)."
        )
    return lines


def bill_section(run: Run) -> list[str]:
    stream = run.stream
    if stream is None:
        return []
    prices = bill.PRICES
    rows = [
        [
            b.system,
            f"{b.dynamodb:.2f}",
            f"{b.lambda_requests:.2f}",
            f"{b.lambda_duration:.2f}",
            f"{b.http_api:.2f}",
            f"{b.events:.2f}",
            f"**{b.total:.2f}**",
        ]
        for b in bill.million(run.costs, stream)
    ]
    return [
        "## The whole bill",
        "",
        f"After each movement's request, its records reach the stream consumer (`ReconciliationFunction`): "
        f"measured over {stream.movements} movements (bets and wins on one wallet), the stream drained in "
        "batches as the template configures them, with the meter on the consumer's DynamoDB and EventBridge "
        "clients. Per movement:",
        "",
        *_table(
            [
                "stream records",
                "invocations",
                "requests",
                "DynamoDB calls",
                "RCU",
                "WCU",
                "index WCU (est.)",
                "events",
                "handler ms",
            ],
            [
                [
                    _num(stream.records),
                    _num(stream.invocations),
                    _num(stream.requests),
                    stream.describe_calls(),
                    _num(stream.rcu),
                    _num(stream.wcu),
                    _num(stream.index_wcu),
                    _num(stream.events),
                    f"{stream.seconds * 1000:.2f}",
                ]
            ],
            "rrrlrrrrr",
        ),
        "",
        f"One million movements (mean of bet and win), on demand, in USD, at {prices.region} prices recorded "
        f"{prices.recorded} (constants in `devtools/kassa_dev/bench/bill.py`: DynamoDB "
        f"${_usd(prices.read_request_unit * bill.MILLION)} per million read and "
        f"${_usd(prices.write_request_unit * bill.MILLION)} per million write request units, Lambda "
        f"${_usd(prices.lambda_request * bill.MILLION)} per million requests and "
        f"${_usd(prices.lambda_gb_second_arm64)} per GB-second on arm64, HTTP API "
        f"${_usd(prices.http_api_request * bill.MILLION)} and EventBridge "
        f"${_usd(prices.eventbridge_event * bill.MILLION)} per million). DynamoDB includes the authorizer's read "
        "and the index writes (estimated); Lambda duration is the handler time measured in this process on "
        "this machine (moto included) at the template's memory (the route's function and the authorizer; "
        "the stream consumer for Kassa): an estimate, not Lambda's billed duration. The baselines have no "
        "stream path: nothing verifies their ledger or publishes their movements. Logs, metrics, traces and "
        "storage are not included.",
        "",
        *_table(["system", "DynamoDB", "Lambda requests", "Lambda duration", "HTTP API", "EventBridge", "total"], rows),
    ]


def _cold(run: Run, name: str) -> ColdStart | None:
    return next((c for c in run.cold if c.name == name), None)


def _request_functions(run: Run) -> list[ColdStart]:
    """The functions held to the cold-start targets: those that answer requests (not the references, not
    the stream consumer, whose first invocation is a stream batch)."""
    return [c for c in run.cold if c.name not in REFERENCES and c.name != STREAM_CONSUMER]


def cold_summary(run: Run) -> list[str]:
    bare, floor = _cold(run, BARE), _cold(run, PYDANTIC_FLOOR)
    functions = _request_functions(run)
    consumer = _cold(run, STREAM_CONSUMER)
    if not (bare and functions):
        return []
    worst = max(functions, key=lambda c: c.median)
    worst_cpu = max(functions, key=lambda c: c.cpu_median)
    within_init = [c.name for c in functions if c.median <= COLD_START_LIMIT * bare.median]
    floor_note = f"; pydantic v2 alone (imported, one model built) {floor.median / bare.median:.2f}x" if floor else ""
    slowest_first = max(functions, key=lambda c: c.first_median)
    slowest_whole = max(functions, key=lambda c: c.invocation_median)
    within_first = [c.name for c in functions if c.first_median <= FIRST_REQUEST_LIMIT * bare.first_median]
    consumer_note = (
        f" The stream consumer ({consumer.name}), held to neither: it starts in {_ms(consumer.median)} ms = "
        f"{consumer.median / bare.median:.2f}x, and its first stream batch takes {_ms(consumer.first_median)} ms."
        if consumer
        else ""
    )
    return [
        f"- Cold start (import + init, median wall time): slowest function {worst.name} "
        f"{_ms(worst.median)} ms = {worst.median / bare.median:.2f}x the bare boto3 handler ({_ms(bare.median)} ms) "
        f"(acceptance <= {COLD_START_LIMIT}x: {_verdict(worst.median <= COLD_START_LIMIT * bare.median)}); by CPU "
        f"time, slowest {worst_cpu.name} {worst_cpu.cpu_median / bare.cpu_median:.2f}x "
        f"({_verdict(worst_cpu.cpu_median <= COLD_START_LIMIT * bare.cpu_median)}); functions within it: "
        f"{', '.join(within_init) or 'none'}{floor_note}.",
        f"- First request after a cold start (median): slowest {slowest_first.name} "
        f"{_ms(slowest_first.first_median)} ms = {slowest_first.first_median / bare.first_median:.1f}x the bare "
        f"handler's first GetItem ({_ms(bare.first_median)} ms) (target <= {FIRST_REQUEST_LIMIT:g}x: "
        f"{_verdict(slowest_first.first_median <= FIRST_REQUEST_LIMIT * bare.first_median)}); functions within it: "
        f"{', '.join(within_first) or 'none'}. The cold invocation whole (init and first request, what its caller "
        f"waits for): slowest {slowest_whole.name} {_ms(slowest_whole.invocation_median)} ms = "
        f"{slowest_whole.invocation_median / bare.invocation_median:.2f}x the bare handler's "
        f"({_ms(bare.invocation_median)} ms).{consumer_note}",
        *_bytecode_summary(run, bare),
    ]


def _bytecode_summary(run: Run, bare: ColdStart) -> list[str]:
    uncompiled, compiled = _cold(run, UNCOMPILED), _cold(run, UNCOMPILED_FUNCTION)
    if not (uncompiled and compiled):
        return []
    return [
        f"- The layer's bytecode (layers/core/Makefile, docs/decisions.md 36): {UNCOMPILED_FUNCTION} starts in "
        f"{_ms(compiled.median)} ms = {compiled.median / bare.median:.2f}x; on the layer as sam's Python builder "
        f"shipped it, without bytecode, {_ms(uncompiled.median)} ms = {uncompiled.median / bare.median:.2f}x "
        f"(it compiled {uncompiled.compiled} source files, at every cold start: Lambda keeps nothing written).",
    ]


def cold_section(run: Run) -> list[str]:
    bare = _cold(run, BARE)
    rows = []
    for cold in run.cold:
        rows.append(
            [
                cold.name if cold.name in REFERENCES else f"functions/{cold.name}/app.py",
                _ms(cold.median),
                _ratio(cold.median, bare.median) if bare else "-",
                _ms(cold.cpu_median),
                _ratio(cold.cpu_median, bare.cpu_median) if bare else "-",
                f"{_ms(min(cold.runs))}-{_ms(max(cold.runs))}" if cold.runs else "-",
                ", ".join(f"{package} {ms:.0f}" for package, ms in cold.top_imports) or "-",
                _ms(cold.first_median),
                _ratio(cold.first_median, bare.first_median) if bare else "-",
                _ms(cold.warm_median),
                ", ".join(f"{package} {ms:.0f}" for package, ms in cold.first_imports) or "-",
                str(cold.compiled),
            ]
        )
    runs = len(run.cold[0].runs) if run.cold else 0
    python = run.cold[0].python if run.cold else "?"
    return [
        "## Cold start",
        "",
        f"Import of the handler module + building what its first invocation needs "
        f"(`kassa.store.client.dynamodb()`), in a fresh interpreter each time, median of {runs} runs, on "
        f"Python {python} (Lambda's runtime) from the pieces as they ship: the layer built by its Makefile (as "
        "`sam build` builds it, with its bytecode and its compiled dataclass methods, docs/decisions.md 41; wheels "
        "for this host), boto3 as the runtime provides it, the function's code directory, started with "
        "`-I -S -B` (nothing else on sys.path, no bytecode written, as "
        "on Lambda's read-only filesystem). The bare handler only does `import boto3; "
        'boto3.client("dynamodb")` with the runtime\'s boto3; the row below it also imports pydantic v2 and '
        "builds one model (the floor of any function validating with it at init); the last row is the first "
        "function on the layer without its bytecode, as sam's Python builder shipped it. Ratio: / bare handler. "
        "Top imports: self time (ms) by top-level package under `python -X importtime` (one extra run; "
        "importtime inflates them). First request: in the same process, right after, one invocation with a "
        "sample event (`events/`: a session, a wallet read, a new bet, an authorisation, a list of runs, a stream "
        "batch of one committed entry, the console's page) against the embedded DynamoDB, with the environment as "
        "deployed (tracing on); the bare "
        "handler's is a consistent `GetItem` of the same wallet. Warm: the same request once more (a new bet), "
        "right after. First-request imports: what those invocations imported. Compiled: source files compiled "
        "during init (no bytecode Python could use; on Lambda, again at every cold start).",
        "",
        *_table(
            [
                "handler",
                "wall ms",
                "ratio",
                "CPU ms",
                "CPU ratio",
                "wall range ms",
                "top imports (ms)",
                "first request ms",
                "first ratio",
                "warm ms",
                "first-request imports (ms)",
                "compiled",
            ],
            rows,
            "lrrrrrlrrrlr",
        ),
    ]


def race_section(run: Run) -> list[str]:
    if not run.races:
        return []
    rows = [
        [
            race.system,
            race.rounds,
            race.clients,
            race.accepted,
            race.rounds,
            race.overdrawn_rounds,
            race.lost_update_rounds,
            ", ".join(sorted(set(race.final_balances))),
        ]
        for race in run.races
    ]
    return [
        "## Why the baseline is not an alternative",
        "",
        "The baseline reads the wallet, checks the funds and writes the new balance with no condition, so "
        "nothing stops two requests on one wallet from interleaving: both read the same balance, both pass the "
        "check, the second write overwrites the first (a lost update) or both debits are accepted against money "
        "that was there once (an overdraw). It also writes the balance and the ledger row separately (a crash "
        "between them leaves a balance change with no ledger row), and it settles wins without checking the bet. "
        "Kassa decides against a strongly consistent read and commits in one conditional transaction "
        "(wallet version, entry absent, bet state), so a conflicting writer makes it re-read and decide again.",
        "",
        "Observed in this run: each round opens a wallet holding exactly one bet's worth and sends that many "
        "concurrent bets (distinct transactions) at it over HTTP. Correct: exactly one accepted per round, final "
        "balance 0.",
        "",
        *_table(
            [
                "system",
                "rounds",
                "concurrent bets",
                "bets accepted",
                "correct would be",
                "rounds overdrawn",
                "rounds with lost updates",
                "final balances",
            ],
            rows,
            "lrrrrrrl",
        ),
    ]


def method_section(run: Run) -> list[str]:
    return [
        "## Method",
        "",
        "- **Workload.** Each client works on its own wallet (funded once, not timed), so clients never contend "
        "for a wallet. `balance`: `GET /v1/wallets/{p}`; `bet`: a new transaction and bet id each time, "
        '`"1.00"`; `win`: `"2.00"` settling the i-th bet; `replay`: the i-th bet sent again byte for byte, after '
        "all the bets and wins (Kassa answers 200 from the ledger entry, the baseline from Powertools' "
        "idempotency record); `retry` (counted in-process only): a new bet sent again right after its answer, "
        "as a provider retries. Every "
        "answer is checked against the expected status; others are reported and left out of the figures.",
        "- **Clients.** A separate process (so the clients do not share a GIL with the server side), one thread "
        "and one keep-alive `requests.Session` per client, connections opened before a start barrier. "
        "Throughput: answered requests / wall time from the barrier to the last answer. Latency: per request, "
        "until the whole answer is read; p50/p99 by nearest rank.",
        f"- **Server side.** One process: the HTTP server (a thread per connection), one `LocalGateway` per "
        f"system, the embedded DynamoDB; {run.workers} worker processes run the handlers, one request at a time "
        "each, as Lambda containers do, already warm (modules imported, clients built) before anything is "
        "timed. The systems' cells alternate (Kassa first, then baseline first for the next operation) so a "
        "change in background load does not always fall on the same one.",
        "- **Baseline** (`devtools/kassa_dev/bench/baseline.py`): what a user might write with Powertools: an "
        "`APIGatewayHttpResolver` handler that reads the wallet (`GetItem`), checks the funds, writes the new "
        "balance (`UpdateItem`) and a ledger row (`PutItem`), inside `idempotent_function` with a "
        "`DynamoDBPersistenceLayer` on its own idempotency table, keyed by operator, player, type and "
        "transaction id. It runs in the same worker processes, behind the same HTTP server, gateway and "
        "authorizer as Kassa, so the comparison isolates the function. It is leaner than Kassa elsewhere (no "
        "pydantic validation, no structured log line or EMF metrics per request, no hash chain, no bet "
        "tracking), so its latency is a floor for what a user would ship.",
        "- **DynamoDB requests and capacity.** Counted in-process with botocore hooks (`before-parameter-build`, "
        "`after-call`) on the handlers' clients. Capacity is computed from item sizes (attribute names + values) "
        "with DynamoDB's formulas: reads 1 RCU per 4 KB strongly consistent (half for eventually consistent and "
        "for global-index queries), writes 1 WCU per 1 KB of the larger of the item before and after, "
        "transactional reads and writes 2x per item (a `ConditionCheck` billed as a write), rounding up per "
        "item, failed conditions charged too. The item before and after each write is read with a separate, "
        "unhooked client. Index WCU estimate the writes to secondary indexes (Kassa's table has an ALL-projected "
        "LSI on entries and two GSIs) at the standard rate. The embedded DynamoDB is moto, so request counts are "
        "exact, capacity is computed, and absolute latencies are moto's, not DynamoDB's (moto serves one "
        "request at a time, in the benchmark's own process).",
        "- **Cold start.** A fresh Python 3.12 per run (`-I -S -B`, the built pieces alone on sys.path) with "
        "Lambda's environment (its defined runtime variables: "
        "function name, `LAMBDA_TASK_ROOT`, the trace header of a sampled invocation, the X-Ray daemon's "
        "address; the template's variables; credentials in the environment, no AWS config files); timed "
        "inside the interpreter from just before the handler module's import to just after `dynamodb()` is "
        "built, so interpreter start-up (common to all) is not included; one discarded round first (warm file "
        "cache; no bytecode is written), then rounds over all handlers in turn. Wall time is what a cold start costs "
        "on an idle core; CPU time is given because on a shared machine wall time also includes waiting for a core.",
        f"- **Machine load.** The load average was {run.machine.get('Load average (1/5/15 min) at start', '?')} "
        f"at the start and {run.load_at_end} at the end of the run, on "
        f"a machine with {run.machine.get('Cores', '?')}: figures from a busy machine are slower and noisier than "
        "from an idle one (a load average above the number of cores means processes were waiting for one).",
    ]


def unmet_section(run: Run) -> list[str]:
    """Why the targets the summary marks NOT met are not, and what meeting them would take."""
    unmet = [*_replay_unmet(run), *_cold_start_unmet(run)]
    return ["## Where the targets are not met, and what they cost", "", *unmet] if unmet else []


def _replay_unmet(run: Run) -> list[str]:
    costs = [cost for cost in (_cost(run, "kassa", "replay"), _cost(run, "kassa", "retry")) if cost]
    if all(cost.rcu + cost.wcu <= REPLAY_LIMIT for cost in costs):
        return []
    return [
        "- **A replay.** A movement's first read asks a replica for the wallet and the entry (docs/decisions.md "
        "42): a replay whose entry it did not find (a replica that had not caught up) is refused by the commit, "
        "whose refusal carries the entry, and a refused transactional write is charged as if it had been "
        "written: about as much as a new movement."
    ]


def _cold_start_unmet(run: Run) -> list[str]:
    bare, floor, bet = _cold(run, BARE), _cold(run, PYDANTIC_FLOOR), _cold(run, "transactions")
    functions = _request_functions(run)
    if not (bare and floor and bet and functions):
        return []
    worst = max(functions, key=lambda c: c.median)
    unmet = []
    if worst.median > COLD_START_LIMIT * bare.median:
        unmet.append(
            "- **Cold start of the HTTP functions.** The required stack's validation library takes a large part of "
            f"the {COLD_START_LIMIT}x allowance by itself: the bare handler that also imports pydantic v2 and builds "
            f"one model takes {_ms(floor.median)} ms = {floor.median / bare.median:.2f}x the bare handler, which "
            f"leaves {COLD_START_LIMIT - floor.median / bare.median:.2f}x for Powertools' OpenAPI resolver (its "
            "package imports an event class for every AWS trigger it knows, and asyncio for its AppSync resolver), "
            "the X-Ray SDK (built at init: docs/decisions.md 34) and Kassa's own modules; the slowest function "
            f"({worst.name}) spends {(worst.median - floor.median) / bare.median:.2f}x on them. Within the target "
            "would take validating without pydantic or the resolver, or building them on the first request, which "
            "moves the same time onto that request (and past its own target). The authorizer and the console, "
            "which validate nothing with pydantic, are within it."
        )
    if bet.first_median > FIRST_REQUEST_LIMIT * bare.first_median:
        unmet.append(
            "- **First request of a bet.** A bet is two DynamoDB requests (the wallet's read and the commit) where "
            f"the bare handler's first request is one `GetItem`: the same bet warm takes {_ms(bet.warm_median)} ms, "
            f"{bet.warm_median / bare.first_median:.1f}x the bare first `GetItem` already; the first pays "
            f"{_ms(max(bet.first_median - bet.warm_median, 0.0))} ms beyond it (the bare handler's first `GetItem` "
            f"pays {_ms(max(bare.first_median - bare.warm_median, 0.0))} ms beyond its warm one), although the "
            "function's init rehearsed a movement (docs/decisions.md 43: Powertools' route and validators, the "
            "answer's models, botocore's two operations up to the wire): what is left is the two round trips and "
            "the first connection. The cold invocation whole (init and first request) is "
            f"{bet.invocation_median / bare.invocation_median:.2f}x the bare handler's."
        )
    return unmet


def render(run: Run) -> str:
    lines = [
        "# Kassa performance",
        "",
        "Recorded by `make bench` (`python -m kassa_dev.bench`, devtools/kassa_dev/bench/): throughput and latency "
        "over HTTP against the local stack, DynamoDB requests and capacity per operation, cold start per "
        "function, each next to a baseline a user might write instead. Timing figures belong to this machine "
        "and this run; request counts do not depend on either.",
        "",
        f"Command: `{run.command}` ({run.seconds:.0f} s in all)",
        "",
        "## Machine",
        "",
        *_table(["", ""], [*run.machine.items(), ("Load average (1/5/15 min) at end", run.load_at_end)], "ll"),
        "",
        *summary(run),
        "",
        *unmet_section(run),
        "",
        *throughput_section(run),
        "",
        *costs_section(run),
        "",
        *bill_section(run),
        "",
        *scale_section(run),
        "",
        *cold_section(run),
        "",
        *race_section(run),
        "",
        *method_section(run),
        "",
    ]
    return "\n".join(lines)
