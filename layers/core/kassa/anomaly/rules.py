"""Money that is correct and suspicious: the rules, their thresholds and what an anomaly is. Pure.

Each rule looks at one committed entry (or wallet image) and what the ledger says around it; the stream
consumer (``kassa.anomaly.detector``) reads that and records what fires. Windowed rules (velocity, a burst
of rejections) fire once per burst: an *episode* is one anomaly, however many movements lie past the
threshold, and a movement within a minute of an episode joins it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from kassa.clock import parse_instant
from kassa.money import format_units, to_units


class Rule(StrEnum):
    LARGE_WIN = "large_win"
    VELOCITY = "velocity"
    DEPOSIT_WITHDRAW_NO_PLAY = "deposit_withdraw_no_play"
    REJECTION_BURST = "rejection_burst"
    NEGATIVE_BALANCE = "negative_balance"


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"


SEVERITY = {
    Rule.LARGE_WIN: Severity.HIGH,
    Rule.VELOCITY: Severity.MEDIUM,
    Rule.DEPOSIT_WITHDRAW_NO_PLAY: Severity.HIGH,
    Rule.REJECTION_BURST: Severity.MEDIUM,
    Rule.NEGATIVE_BALANCE: Severity.HIGH,
}
WINDOW = timedelta(seconds=60)
# Rules over a window: one anomaly per episode (movements less than a WINDOW apart), not per movement.
EPISODIC = frozenset({Rule.VELOCITY, Rule.REJECTION_BURST})
# Amount thresholds are kept to the ledger's precision (the finest any wallet has).
AMOUNT_SCALE = 6


@dataclass(frozen=True)
class Thresholds:
    """An operator's thresholds; the defaults hold until the operator sets its own."""

    large_win_amount: Decimal = Decimal("10000")  # in the wallet's currency
    large_win_multiple: int = 500  # times the stake of the bet the win settles
    max_movements_per_minute: int = 120  # applied movements on one wallet, any 60 s
    min_wager_ratio: Decimal = Decimal("0.1")  # of the deposits since the previous withdrawal
    max_rejections_per_minute: int = 20  # recorded rejections on one wallet, any 60 s

    def as_dict(self) -> dict[str, Any]:
        return {
            "largeWinAmount": f"{self.large_win_amount}",
            "largeWinMultiple": self.large_win_multiple,
            "maxMovementsPerMinute": self.max_movements_per_minute,
            "minWagerRatio": f"{self.min_wager_ratio}",
            "maxRejectionsPerMinute": self.max_rejections_per_minute,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Thresholds:
        """From what ``as_dict`` wrote (stored settings: validated when they were put)."""
        return cls(
            Decimal(str(data["largeWinAmount"])),
            int(data["largeWinMultiple"]),
            int(data["maxMovementsPerMinute"]),
            Decimal(str(data["minWagerRatio"])),
            int(data["maxRejectionsPerMinute"]),
        )

    def changed(self, **given: Any) -> Thresholds:
        """These thresholds with the given ones (snake_case names, already validated) replaced."""
        return replace(self, **{name: value for name, value in given.items() if value is not None})


@dataclass(frozen=True)
class Anomaly:
    rule: Rule
    operator_id: str
    player_id: str
    at: str  # when the entry that tripped it was committed
    transaction_ids: tuple[str, ...]
    values: dict[str, Any] = field(default_factory=dict)
    anchor: str = ""  # what makes two sightings of the same facts one anomaly

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.rule]

    @property
    def anomaly_id(self) -> str:
        """Deterministic: the same facts seen twice (a redelivered batch) give the same id. It starts with
        the instant, so ids sort by time and name the day they are stored under."""
        digits = "".join(ch for ch in self.at if ch.isdigit())[:20].ljust(20, "0")
        facts = "\x1f".join((self.operator_id, self.player_id, self.rule.value, self.anchor))
        return f"{digits[:8]}T{digits[8:]}-{hashlib.sha256(facts.encode()).hexdigest()[:16]}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "anomalyId": self.anomaly_id,
            "rule": self.rule.value,
            "severity": self.severity.value,
            "playerId": self.player_id,
            "at": self.at,
            "transactionIds": list(self.transaction_ids),
            "values": self.values,
        }


def day_of(anomaly_id: str) -> str | None:
    """The UTC day (yyyy-mm-dd) an anomaly id names, or None for text that is no anomaly id."""
    head = anomaly_id[:8]
    if len(anomaly_id) != 38 or not head.isdigit() or anomaly_id[8] != "T" or anomaly_id[21] != "-":
        return None
    return f"{head[:4]}-{head[4:6]}-{head[6:]}"


# -- the rules ----------------------------------------------------------------------------------------


def large_win(win: int, stake: int | None, scale: int, limits: Thresholds) -> dict[str, Any] | None:
    """A win at or above the amount threshold, or at or above the multiple of the stake it settles."""
    by_amount = win >= to_units(limits.large_win_amount, scale)
    by_multiple = bool(stake) and stake is not None and win >= limits.large_win_multiple * stake
    if not (by_amount or by_multiple):
        return None
    values: dict[str, Any] = {
        "amount": format_units(win, scale),
        "largeWinAmount": f"{limits.large_win_amount}",
        "largeWinMultiple": limits.large_win_multiple,
    }
    if stake:
        values["stake"] = format_units(stake, scale)
        values["multiple"] = f"{Decimal(win) / Decimal(stake):.2f}"
    return values


def velocity(at: str, earlier_at: str | None, limits: Thresholds) -> dict[str, Any] | None:
    """``earlier_at``: when the applied entry ``maxMovementsPerMinute`` versions back was committed. If
    that is within the minute before ``at``, more than the maximum were applied within 60 s."""
    if earlier_at is None:
        return None
    span = parse_instant(at, "at") - parse_instant(earlier_at, "at")
    if span >= WINDOW:
        return None
    return {
        "movements": limits.max_movements_per_minute + 1,
        "withinSeconds": f"{span.total_seconds():.3f}",
        "maxMovementsPerMinute": limits.max_movements_per_minute,
    }


def deposit_withdraw_no_play(deposits: int, wagered: int, scale: int, limits: Thresholds) -> dict[str, Any] | None:
    """At a withdrawal: less than ``minWagerRatio`` of what was deposited since the previous withdrawal
    was wagered."""
    if deposits <= 0 or Decimal(wagered) >= limits.min_wager_ratio * Decimal(deposits):
        return None
    return {
        "deposits": format_units(deposits, scale),
        "wagered": format_units(wagered, scale),
        "minWagerRatio": f"{limits.min_wager_ratio}",
    }


def rejection_burst(rejections: int, limits: Thresholds) -> dict[str, Any] | None:
    if rejections < limits.max_rejections_per_minute:
        return None
    return {"rejections": rejections, "maxRejectionsPerMinute": limits.max_rejections_per_minute}


def negative_balance(balance: int, bonus: int, scale: int) -> dict[str, Any] | None:
    if balance >= 0 and bonus >= 0:
        return None
    return {"balance": format_units(balance, scale), "bonus": format_units(bonus, scale)}
