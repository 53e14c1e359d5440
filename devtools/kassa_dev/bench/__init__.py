"""The benchmark (``make bench``): Kassa against the local stack, next to a baseline a user might write.

    python -m kassa_dev.bench [--operations 300] [--out docs/PERFORMANCE.md]

It prints a table and writes ``docs/PERFORMANCE.md`` with the machine it ran on:

1. throughput (ops/s) and latency (p50, p99) of balance, bet, win and replay over HTTP, with 1 and
   with 8 concurrent clients (``workload``, ``harness``);
2. DynamoDB requests and consumed capacity per operation, the authorizer's apart (``counting``);
3. cold start: import + init of each function's handler module in a fresh interpreter, next to a bare
   ``boto3`` handler (``coldstart``);
4. the same workload through a baseline (read, check, write the balance and a ledger row, under the
   Powertools idempotency utility: ``baseline``), as ratios Kassa / baseline; and a short concurrency
   probe showing what the baseline gets wrong.

It only measures and records; nothing here asserts a timing.
"""
