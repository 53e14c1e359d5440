"""The event sources Lambda would run locally: the table's stream (an event source mapping with
partial batch responses), S3 uploads of provider reports, and the schedule.

moto keeps the stream and the buckets but invokes nothing without Docker, so these pumps read them and
invoke the function the template names, with events of Lambda's shapes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from kassa.observability import logger

Invoke = Callable[[str, dict[str, Any]], Any]


class StreamPump:
    """Reads every shard of the table's stream from the start and hands batches to ``function_id``;
    records the function reports as failed are delivered again (at most ``max_deliveries`` times, then
    kept in ``dead_letters``, as the on-failure destination would)."""

    def __init__(
        self,
        streams: Any,
        stream_arn: str,
        invoke: Invoke,
        function_id: str,
        batch_size: int = 100,
        max_deliveries: int = 6,
        watch: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.streams, self.stream_arn, self.invoke = streams, stream_arn, invoke
        self.watch = watch  # shown every record once, as it is read (``kassa serve`` prints anomalies)
        self.function_id, self.batch_size, self.max_deliveries = function_id, batch_size, max_deliveries
        self._iterators: dict[str, str | None] = {}
        self._retry: list[dict[str, Any]] = []
        self._deliveries: dict[str, int] = {}
        self.dead_letters: list[dict[str, Any]] = []
        self.delivered = 0

    def pump_once(self) -> int:
        """Deliver what is waiting; returns the number of records handed to the function."""
        batch = self._retry + self._read()
        self._retry = []
        for start in range(0, len(batch), self.batch_size):
            self._deliver(batch[start : start + self.batch_size])
        return len(batch)

    def skip(self) -> None:
        """Pass over what is waiting without delivering it (for a measurement that starts now): every shard
        is read from its end on. Not by reading through: a session's stream holds tens of thousands of
        records, which moto takes seconds to serialize."""
        for shard in self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id in self._iterators and self._iterators[shard_id] is None:
                continue  # a closed shard, read to its end
            self._iterators[shard_id] = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="LATEST"
            )["ShardIterator"]

    def drain(self, rounds: int = 50) -> None:
        """Pump until nothing is waiting (a redelivery or a run can write more records)."""
        for _ in range(rounds):
            if not self.pump_once():
                return

    def _read(self) -> list[dict[str, Any]]:
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        records: list[dict[str, Any]] = []
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            iterator = self._iterators[shard_id]
            if iterator is None:
                continue
            response = self.streams.get_records(ShardIterator=iterator, Limit=1000)
            self._iterators[shard_id] = response.get("NextShardIterator")
            records += [{**record, "eventSourceARN": self.stream_arn} for record in response["Records"]]
        if self.watch is not None:
            for record in records:
                self.watch(record)
        return records

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        try:
            result = self.invoke(self.function_id, {"Records": batch})
            failed_ids = {failure["itemIdentifier"] for failure in (result or {}).get("batchItemFailures", [])}
        except Exception:
            logger.exception("stream batch failed")
            failed_ids = {record["dynamodb"]["SequenceNumber"] for record in batch}
        self.delivered += len(batch)
        if not failed_ids:
            return
        # As Lambda does with partial batch responses: retry from the first failed record on.
        first = min(i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in failed_ids)
        for record in batch[first:]:
            sequence = record["dynamodb"]["SequenceNumber"]
            self._deliveries[sequence] = self._deliveries.get(sequence, 0) + 1
            target = self.dead_letters if self._deliveries[sequence] >= self.max_deliveries else self._retry
            target.append(record)


def print_anomaly(record: dict[str, Any]) -> None:
    """One line for an anomaly the rules stored (``kassa serve`` shows them as they are detected)."""
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    if record.get("eventName") != "INSERT" or image.get("type", {}).get("S") != "anomaly":
        return
    found = json.loads(image["record"]["S"])
    print(
        f"ANOMALY {found['rule']} ({found['severity']}): operator {image['pk']['S'].split('#')[1]}, "
        f"player {found['playerId']}, transactions {' '.join(found['transactionIds']) or '-'}; "
        f"GET /v1/anomalies/{found['anomalyId']}",
        flush=True,
    )


class BucketPump:
    """Turns new objects in a bucket into S3 ObjectCreated events for ``function_id``."""

    def __init__(self, s3: Any, bucket: str, invoke: Invoke, function_id: str) -> None:
        self.s3, self.bucket, self.invoke, self.function_id = s3, bucket, invoke, function_id
        self._seen: set[str] = set()

    def pump_once(self) -> list[Any]:
        results = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                if item["Key"] in self._seen:
                    continue
                self._seen.add(item["Key"])
                event = {
                    "Records": [
                        {
                            "eventVersion": "2.1",
                            "eventSource": "aws:s3",
                            "awsRegion": "us-east-1",
                            "eventName": "ObjectCreated:Put",
                            "s3": {
                                "bucket": {"name": self.bucket, "arn": f"arn:aws:s3:::{self.bucket}"},
                                "object": {"key": item["Key"], "size": item["Size"]},
                            },
                        }
                    ]
                }
                results.append(self.invoke(self.function_id, event))
        return results


def run_forever(pumps: list[Callable[[], Any]], stop: threading.Event, interval: float = 0.5) -> threading.Thread:
    """Call each pump every ``interval`` seconds until ``stop`` is set (the local stack's trigger loop)."""

    def loop() -> None:
        while not stop.is_set():
            for pump in pumps:
                try:
                    pump()
                except Exception:
                    logger.exception("local trigger failed")
            stop.wait(interval)

    thread = threading.Thread(target=loop, name="kassa-triggers", daemon=True)
    thread.start()
    return thread


def every(seconds: float, action: Callable[[], Any]) -> Callable[[], None]:
    """A pump that runs ``action`` at most once per ``seconds`` (the schedule)."""
    last = [time.monotonic()]

    def pump() -> None:
        if time.monotonic() - last[0] >= seconds:
            last[0] = time.monotonic()
            action()

    return pump


def schedule_pumps(invoke: Invoke, schedules: list[Any]) -> list[Callable[[], None]]:
    """The template's ``rate(...)`` schedules as pumps (moto stores schedules but never fires them)."""
    units = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
    pumps = []
    for schedule in schedules:
        amount, _, unit = schedule.expression.removeprefix("rate(").removesuffix(")").partition(" ")
        if schedule.expression.startswith("rate(") and unit in units:
            pumps.append(every(int(amount) * units[unit], partial(invoke, schedule.function_id, schedule.event or {})))
    return pumps
