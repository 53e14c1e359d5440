"""The anomaly rules as pure functions (kassa.anomaly.rules): each at its threshold's edge."""

from __future__ import annotations

from decimal import Decimal

from kassa.anomaly import rules
from kassa.anomaly.rules import Anomaly, Rule, Thresholds, day_of

DEFAULTS = Thresholds()
UNIT = 1_000_000  # scale 6


def test_large_win_by_amount_or_by_multiple_of_the_stake() -> None:
    assert rules.large_win(9_999 * UNIT, None, 6, DEFAULTS) is None
    assert rules.large_win(10_000 * UNIT, None, 6, DEFAULTS) is not None
    assert rules.large_win(499 * UNIT, UNIT, 6, DEFAULTS) is None
    by_multiple = rules.large_win(500 * UNIT, UNIT, 6, DEFAULTS)
    assert by_multiple is not None and by_multiple["multiple"] == "500.00"
    assert rules.large_win(5 * UNIT, 0, 6, DEFAULTS) is None  # a free bet has no multiple


def test_velocity_is_more_than_the_maximum_within_60_seconds() -> None:
    at = "2026-12-06T10:01:00.000000Z"
    assert rules.velocity(at, None, DEFAULTS) is None  # not that many movements yet
    assert rules.velocity(at, "2026-12-06T10:00:00.000000Z", DEFAULTS) is None  # exactly 60 s apart
    fired = rules.velocity(at, "2026-12-06T10:00:00.000001Z", DEFAULTS)
    assert fired is not None and fired["movements"] == 121


def test_deposit_withdrawn_with_too_little_play() -> None:
    assert rules.deposit_withdraw_no_play(100, 9, 6, DEFAULTS) is not None
    assert rules.deposit_withdraw_no_play(100, 10, 6, DEFAULTS) is None
    assert rules.deposit_withdraw_no_play(0, 0, 6, DEFAULTS) is None  # nothing deposited since


def test_rejection_burst_and_negative_balance() -> None:
    assert rules.rejection_burst(19, DEFAULTS) is None and rules.rejection_burst(20, DEFAULTS) is not None
    assert rules.negative_balance(0, 0, 6) is None
    assert rules.negative_balance(0, -1, 6) == {"balance": "0.000000", "bonus": "-0.000001"}


def test_thresholds_change_only_what_is_given() -> None:
    changed = DEFAULTS.changed(large_win_multiple=5, min_wager_ratio=None)
    assert changed == Thresholds(large_win_multiple=5)
    assert Thresholds.from_dict(changed.as_dict()) == changed
    assert changed.as_dict()["minWagerRatio"] == "0.1" and Thresholds(min_wager_ratio=Decimal("0.25")).min_wager_ratio


def test_anomaly_ids_are_deterministic_and_name_their_day() -> None:
    one = Anomaly(Rule.LARGE_WIN, "op", "p", "2026-12-06T10:00:00.123456Z", ("w1",), {}, "w1")
    again = Anomaly(Rule.LARGE_WIN, "op", "p", "2026-12-06T10:00:00.123456Z", ("w1",), {"x": 1}, "w1")
    other = Anomaly(Rule.LARGE_WIN, "op", "p", "2026-12-06T10:00:00.123456Z", ("w2",), {}, "w2")
    assert one.anomaly_id == again.anomaly_id != other.anomaly_id
    assert one.anomaly_id.startswith("20261206T100000123456-") and day_of(one.anomaly_id) == "2026-12-06"
    assert day_of("not-an-id") is None
