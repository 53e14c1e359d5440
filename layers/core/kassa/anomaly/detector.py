"""The rules at work on the table's stream: each committed entry (applied or a recorded rejection) and
each wallet image is checked against its operator's thresholds, with what the ledger says around it.

Windows are read from the ledger (the wallet's entries in the minute), never from this process's memory,
so they hold across instances, cold starts and redelivered batches; anomaly ids are deterministic and
stored once, and a windowed rule's movements past the threshold join one episode, so a redelivered,
duplicated or reordered batch records nothing twice. A new anomaly is logged, counted
(``AnomaliesDetected``, dimensions rule and severity) and published as ``AnomalyDetected``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from kassa.anomaly import rules
from kassa.anomaly.rules import Anomaly, Rule
from kassa.clock import now_iso
from kassa.domain.model import Action, Entry, Outcome, Wallet
from kassa.observability import SERVICE, logger, metrics
from kassa.reconcile import events
from kassa.store import codec
from kassa.store.anomaly_store import AnomalyStore

ANOMALY_DETECTED = "AnomalyDetected"


def check_entry(image: dict[str, Any], store: AnomalyStore | None = None) -> list[Anomaly]:
    """A committed entry (its stream image); returns the anomalies it newly raised."""
    store = store or AnomalyStore()
    entry = codec.entry_from_item(image)
    operator, player = codec.text(image, "operatorId"), codec.text(image, "playerId")
    scale = codec.number(image, "scale")
    limits = store.thresholds_at(operator, entry.created_at)
    raised = []
    for rule, values in _fired(store, operator, player, entry, scale, limits):
        raised.append(
            Anomaly(rule, operator, player, entry.created_at, (entry.transaction_id,), values, _anchor(entry))
        )
    return [anomaly for anomaly in raised if _keep(store, anomaly)]


def check_wallet(image: dict[str, Any], store: AnomalyStore | None = None) -> list[Anomaly]:
    """A committed wallet image: a balance below zero must never be (it is also a ledger discrepancy)."""
    store = store or AnomalyStore()
    wallet: Wallet = codec.wallet_from_item(image)
    values = rules.negative_balance(wallet.balance, wallet.bonus, wallet.scale)
    if values is None:
        return []
    anomaly = Anomaly(
        Rule.NEGATIVE_BALANCE,
        wallet.operator_id,
        wallet.player_id,
        wallet.updated_at,
        (),
        {**values, "version": wallet.version},
        f"version {wallet.version}",
    )
    return [anomaly] if _keep(store, anomaly) else []


def _fired(
    store: AnomalyStore, operator: str, player: str, entry: Entry, scale: int, limits: rules.Thresholds
) -> list[tuple[Rule, dict[str, Any]]]:
    if entry.outcome is Outcome.REJECTED:
        burst = rules.rejection_burst(store.rejections_within(operator, player, entry.created_at), limits)
        return [(Rule.REJECTION_BURST, burst)] if burst else []
    fired: list[tuple[Rule, dict[str, Any] | None]] = []
    earlier = store.committed_at(operator, player, entry.version - limits.max_movements_per_minute)
    fired.append((Rule.VELOCITY, rules.velocity(entry.created_at, earlier, limits)))
    if entry.action is Action.WIN and entry.bet_id:
        stake = store.stake(operator, player, entry.bet_id)
        fired.append((Rule.LARGE_WIN, rules.large_win(entry.amount, stake, scale, limits)))
    if entry.action is Action.WITHDRAWAL:
        # The withdrawal carries its wallet's tally; one on a wallet stored before the tally was kept
        # does not, and the history back to the previous withdrawal is read instead.
        since = entry.since_withdrawal or store.since_last_withdrawal(operator, player, entry.version)
        values = rules.deposit_withdraw_no_play(since.deposited, since.wagered, scale, limits)
        fired.append((Rule.DEPOSIT_WITHDRAW_NO_PLAY, values))
    return [(rule, values) for rule, values in fired if values is not None]


def _anchor(entry: Entry) -> str:
    # What a single-fact anomaly is about: this decided transaction (an episode's id is its first one's).
    return f"{entry.transaction_id}\x1f{entry.action.value}"


def _keep(store: AnomalyStore, anomaly: Anomaly) -> bool:
    """Store it (once; a windowed rule's within its episode); announce what is not announced yet: the
    anomaly this sighting created, or one whose announcing delivery failed before it was done."""
    now = now_iso()
    key = store.join_episode(anomaly, now) if anomaly.rule in rules.EPISODIC else store.record(anomaly)
    found = store.unpublished(key)
    if found is None:
        return False
    logger.warning("anomaly detected", extra={"operatorId": anomaly.operator_id, **found})
    with single_metric(name="AnomaliesDetected", unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
        metric.add_dimension(name="service", value=SERVICE)
        metric.add_dimension(name="rule", value=found["rule"])
        metric.add_dimension(name="severity", value=found["severity"])
    events.publish(ANOMALY_DETECTED, {"operatorId": anomaly.operator_id, **found})
    store.mark_published(key, now)
    return found["anomalyId"] == anomaly.anomaly_id
