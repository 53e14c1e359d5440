"""Ceilings computed from DynamoDB's published limits and the item sizes measured on the embedded table.

A wallet's items (the wallet, its entries, its bets) and its local index entries form one item collection
that DynamoDB never splits, because the table has a local secondary index: at most 10 GB, and at most one
partition's throughput (1,000 write units/s, 3,000 read units/s). What one wallet, one operator and the
table can take follows from those limits and from what a movement writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

GB = 1024**3
COLLECTION_LIMIT = 10 * GB  # an item collection of a table with a local secondary index
PARTITION_WRITE_UNITS = 1000  # per second, per partition
PARTITION_READ_UNITS = 3000
TABLE_WRITE_UNITS = 40_000  # on-demand, per table, the default (adjustable) quota
INDEX_ENTRY_OVERHEAD = 100  # bytes DynamoDB adds per index entry
TEN_MILLION_CLAIM = 10_000_000  # what keys.py claimed: entries per player before 10 GB
PAGE_BYTES = 1024**2  # what one Query page reads at most
PAGE_READ_UNITS = PAGE_BYTES // (4 * 1024) // 2  # an eventually consistent page: 0.5 RCU per 4 KB (128)
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class ItemSizes:
    """Mean sizes in bytes of one wallet's items, measured (DynamoDB's item-size rules)."""

    entry: Decimal  # an applied entry (bet or win)
    bet: Decimal
    index_entry_all: Decimal  # its copy in EntriesByVersion (projection ALL), overhead included
    index_entry_keys_only: Decimal  # what a KEYS_ONLY projection would keep

    @property
    def round_bytes(self) -> Decimal:
        """One bet-and-win round: two entries, one bet, two index entries."""
        return 2 * self.entry + self.bet + 2 * self.index_entry_all

    @property
    def round_bytes_keys_only(self) -> Decimal:
        return 2 * self.entry + self.bet + 2 * self.index_entry_keys_only


def measure_items(client: Any, table: str, partition: str) -> ItemSizes:
    """The mean sizes of the entries and bets in one wallet's partition."""
    from kassa_dev.bench.counting import item_size

    pages = client.get_paginator("query").paginate(
        TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": partition}}
    )
    items = [item for page in pages for item in page["Items"]]
    entries = [i for i in items if "entryVersion" in i and i.get("action", {}).get("S") in ("bet", "win")]
    bets = [i for i in items if i["sk"]["S"].startswith("BET#")]
    if not entries or not bets:
        raise RuntimeError(f"no bets and wins in {partition}")

    def mean(values: list[int]) -> Decimal:
        return Decimal(sum(values)) / len(values)

    # A KEYS_ONLY EntriesByVersion would keep the table's keys and its own.
    keys_only = [item_size({k: i[k] for k in ("pk", "sk", "entryVersion")}) for i in entries]
    return ItemSizes(
        entry=mean([item_size(i) for i in entries]),
        bet=mean([item_size(i) for i in bets]),
        index_entry_all=mean([item_size(i) + INDEX_ENTRY_OVERHEAD for i in entries]),
        index_entry_keys_only=mean([size + INDEX_ENTRY_OVERHEAD for size in keys_only]),
    )


@dataclass(frozen=True)
class Ceiling:
    what: str
    before: str
    after: str
    how: str


def ceilings(sizes: ItemSizes, write_units: Decimal, index_units: Decimal, stream_units: Decimal) -> list[Ceiling]:
    """The per-wallet, per-operator and per-table ceilings, before issue 11's changes and now."""
    rounds = COLLECTION_LIMIT / sizes.round_bytes
    rounds_keys_only = COLLECTION_LIMIT / sizes.round_bytes_keys_only
    per_movement = write_units + index_units  # in the wallet's partition
    all_paths = write_units + index_units + stream_units
    table_movements = TABLE_WRITE_UNITS / all_paths
    entries_per_page = PAGE_BYTES / sizes.index_entry_all
    history_at_ceiling = 2 * rounds * sizes.index_entry_all  # a bet and a win per round
    return [
        Ceiling(
            "bet-and-win rounds per wallet before its 10 GB item collection is full",
            f"claimed {TEN_MILLION_CLAIM / 2 / 1e6:.0f} million ({TEN_MILLION_CLAIM / 1e6:.0f} million entries)",
            f"{rounds / MILLION:.1f} million (measured: entry {sizes.entry:.0f} B, bet {sizes.bet:.0f} B, "
            f"index copy {sizes.index_entry_all:.0f} B; {sizes.round_bytes:.0f} B per round)",
            f"10 GiB / bytes per round; a KEYS_ONLY index would allow {rounds_keys_only / MILLION:.1f} million",
        ),
        Ceiling(
            "movements/s on one wallet (its partition's write throughput)",
            f"{PARTITION_WRITE_UNITS / per_movement:.0f}",
            f"{PARTITION_WRITE_UNITS / per_movement:.0f}",
            f"{PARTITION_WRITE_UNITS} WCU/s per partition / {per_movement:.0f} WCU per movement in it (the wallet, "
            "entry and bet transactionally, the index entry); one writer at a time decides on the wallet's version",
        ),
        Ceiling(
            "movements/s of one operator (writes)",
            f"{PARTITION_WRITE_UNITS} (one outbox marker per movement under one operator key)",
            "no operator-wide write: bounded by the table",
            f"before: {PARTITION_WRITE_UNITS} WCU/s on the key OP#{{operator}}#OUTBOX, which could never split",
        ),
        Ceiling(
            "requests/s of one operator (reads of its credentials)",
            f"{PARTITION_READ_UNITS}",
            f"{PARTITION_READ_UNITS} (unchanged: the next ceiling)",
            f"the authorizer's API key read and One Wallet's token read, 1 RCU each, in the partition "
            f"OP#{{operator}} ({PARTITION_READ_UNITS} RCU/s); an authorizer cache or keys spread over "
            "several items would lift it",
        ),
        Ceiling(
            "movements/s of the table",
            f"{table_movements:,.0f}",
            f"{table_movements:,.0f}",
            f"{TABLE_WRITE_UNITS:,} WCU/s on-demand default quota (adjustable) / {all_paths:.0f} WCU per movement"
            ", request and stream paths (the outbox marker moved, it was not removed)",
        ),
        Ceiling(
            "what the stream consumer reads at a withdrawal (deposit_withdraw_no_play sums back to the previous one)",
            f"up to 1 MB ({entries_per_page:,.0f} index entries, {PAGE_READ_UNITS} RCU) at every withdrawal, "
            "however close the previous one",
            "nothing: the wallet tallies deposits and stakes since its last withdrawal, and a withdrawal's entry "
            "carries the tally",
            "a wallet stored before the tally was kept reads, at its next withdrawal only, the entries back to the "
            "previous one in pages of 16, 32, 64 ... (at the wallet's ceiling: "
            f"{history_at_ceiling / GB:.1f} GB in {history_at_ceiling / PAGE_BYTES:,.0f} pages of "
            f"{PAGE_BYTES // 1024**2} MB); docs/decisions.md 40",
        ),
    ]
