"""Storage of anomalies, the episodes of the windowed rules, the operators' thresholds, and the ledger
facts the rules read (``kassa.anomaly``); key design in ``kassa.store.keys``."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta
from typing import Any

from kassa import deadline
from kassa.anomaly.rules import WINDOW, Anomaly, Thresholds
from kassa.audit_log import AuditRecord
from kassa.clock import iso, parse_instant
from kassa.deadline import Budget
from kassa.domain.model import Action, SinceWithdrawal
from kassa.settings import settings
from kassa.store import codec, daylog, keys
from kassa.store.audit_store import write_audited
from kassa.store.client import TableStore
from kassa.store.codec import n, s
from kassa.store.outcomes import failed_condition_at, write_patiently

# An episode is remembered this long after its last movement: longer than the stream keeps a record (24
# hours), so a record delivered again at the latest still finds the episode it joined.
EPISODE_MEMORY = timedelta(hours=25)
# Versions whose commit instants one read fetches (what a stream batch of one wallet asks for next).
COMMITTED_PAGE = 100
# Entries in the first page of the walk back to the previous withdrawal (the pages then double).
WITHDRAWAL_LOOKBACK_PAGE = 16
# A windowed anomaly lists at most this many of the transactions of its episode.
MAX_TRANSACTION_IDS = 200


class AnomalyStore(TableStore):
    def __init__(self, client: Any = None, table: str | None = None) -> None:
        super().__init__(client, table)
        # Each operator's thresholds item, read once per store: the stream consumer uses one store per
        # batch, and the item holds both the thresholds before a change and after it (``since``).
        self._rules: dict[str, codec.Item | None] = {}
        # When applied entries were committed, by (operator, player, version): read a page of versions at a
        # time, since a batch carries a wallet's consecutive versions (entries never change once written).
        self._committed: dict[tuple[str, str, int], str] = {}

    def budget(self) -> Budget:
        # Stream work: a batch has the invocation's time, not a request's.
        return deadline.current(settings().batch_retry_budget_seconds)

    # -- thresholds ----------------------------------------------------------------------------------

    def thresholds(self, operator_id: str) -> Thresholds:
        """What the operator has set now (the defaults when it never set any)."""
        item = self.read(keys.anomaly_rules(operator_id))
        return Thresholds.from_dict(json.loads(codec.text(item, "current"))) if item else Thresholds()

    def thresholds_at(self, operator_id: str, at: str) -> Thresholds:
        """The thresholds in force when an entry was committed at ``at``: a change applies to entries
        committed after it, never to earlier ones the stream is still delivering."""
        if operator_id not in self._rules:
            self._rules[operator_id] = self.read(keys.anomaly_rules(operator_id))
        item = self._rules[operator_id]
        if item is None:
            return Thresholds()
        if at >= codec.text(item, "since"):
            return Thresholds.from_dict(json.loads(codec.text(item, "current")))
        return Thresholds.from_dict(json.loads(codec.text(item, "previous")))

    def put_thresholds(self, operator_id: str, new: Thresholds, record: AuditRecord) -> None:
        """The new thresholds in force from the record's instant (the ones before kept for entries committed
        earlier), with the audit record of the change, in one transaction."""
        update = {
            "Update": {
                "TableName": self.table,
                "Key": keys.anomaly_rules(operator_id),
                "UpdateExpression": "SET previous = if_not_exists(#current, :defaults), #current = :new, "
                "since = :since, #type = :type",
                "ExpressionAttributeNames": {"#current": "current", "#type": "type"},
                "ExpressionAttributeValues": {
                    ":defaults": s(json.dumps(Thresholds().as_dict())),
                    ":new": s(json.dumps(new.as_dict())),
                    ":since": s(record.at),
                    ":type": s("anomaly_rules"),
                },
            }
        }
        write_audited(self, [update], record, "put anomaly thresholds")

    # -- anomalies -----------------------------------------------------------------------------------

    def record(self, anomaly: Anomaly) -> keys.Key:
        """Store an anomaly of a single fact once; returns its key."""
        with contextlib.suppress(_Seen):  # an earlier delivery stored it
            write_patiently(
                lambda: self.client.put_item(
                    TableName=self.table, Item=_anomaly_item(anomaly), ConditionExpression="attribute_not_exists(pk)"
                ),
                self.budget(),
                "record anomaly",
                took_effect=lambda: True,
                condition_failed=_Seen,
            )
        return keys.anomaly(anomaly.operator_id, anomaly.at, anomaly.anomaly_id)

    def join_episode(self, anomaly: Anomaly, now: str) -> keys.Key:
        """A windowed rule fired at ``anomaly.at``: join the wallet's episode of that rule that lies within a
        window of it (widening it, adding the transaction to its anomaly), or start a new episode with this
        anomaly. Returns the key of the episode's anomaly."""
        state_key = keys.anomaly_episodes(anomaly.operator_id, anomaly.player_id, anomaly.rule.value)
        at = parse_instant(anomaly.at, "at")
        while True:
            item = self.read(state_key, self.budget())
            revision = int(item["revision"]["N"]) if item else 0
            episodes: list[dict[str, str]] = json.loads(codec.text(item, "episodes")) if item else []
            joined = next(
                (
                    episode
                    for episode in episodes
                    if parse_instant(episode["first"], "first") - WINDOW
                    <= at
                    <= parse_instant(episode["last"], "last") + WINDOW
                ),
                None,
            )
            if joined is not None:
                widened = {**joined, "first": min(joined["first"], anomaly.at), "last": max(joined["last"], anomaly.at)}
                if widened == joined or self._save_episodes(
                    state_key, revision, [widened if e is joined else e for e in episodes], []
                ):
                    return self._add_transactions(joined, anomaly)
                continue
            kept = [
                e for e in episodes if parse_instant(e["last"], "last") > parse_instant(now, "now") - EPISODE_MEMORY
            ]
            started = {"anomalyId": anomaly.anomaly_id, "at": anomaly.at, "first": anomaly.at, "last": anomaly.at}
            new_anomaly = {
                "Put": {
                    "TableName": self.table,
                    "Item": _anomaly_item(anomaly),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            if self._save_episodes(state_key, revision, [*kept, started], [new_anomaly]):
                return keys.anomaly(anomaly.operator_id, anomaly.at, anomaly.anomaly_id)

    def _save_episodes(
        self, key: keys.Key, revision: int, episodes: list[dict[str, str]], also: list[dict[str, Any]]
    ) -> bool:
        """Write the episodes if nobody did since ``revision`` was read (else False: read again), with
        ``also`` in the same transaction."""
        state = {
            "Put": {
                "TableName": self.table,
                "Item": {
                    **key,
                    "type": s("anomaly_episodes"),
                    "episodes": s(json.dumps(episodes, sort_keys=True)),
                    "revision": n(revision + 1),
                },
                "ConditionExpression": "attribute_not_exists(pk) OR revision = :read",
                "ExpressionAttributeValues": {":read": n(revision)},
            }
        }
        if revision == 0:
            state["Put"]["ConditionExpression"] = "attribute_not_exists(pk)"
            del state["Put"]["ExpressionAttributeValues"]
        try:
            write_patiently(
                lambda: self.client.transact_write_items(TransactItems=[state, *also]),
                self.budget(),
                "save anomaly episodes",
                took_effect=lambda: _holds(self.read(key), revision + 1),
            )
        except Exception as error:
            if failed_condition_at(error, 0) or failed_condition_at(error, 1):
                return False  # another delivery moved the episodes on (or stored this very anomaly)
            raise
        return True

    def _add_transactions(self, episode: dict[str, str], anomaly: Anomaly) -> keys.Key:
        """The joining transaction goes on the episode's anomaly (a set: a redelivery adds nothing)."""
        key = keys.anomaly(anomaly.operator_id, episode["at"], episode["anomalyId"])
        with contextlib.suppress(_Seen):  # the anomaly lists enough of them already
            write_patiently(
                lambda: self.client.update_item(
                    TableName=self.table,
                    Key=key,
                    UpdateExpression="ADD transactionIds :ids",
                    ConditionExpression="attribute_exists(pk) AND size(transactionIds) < :most",
                    ExpressionAttributeValues={
                        ":ids": {"SS": list(anomaly.transaction_ids)},
                        ":most": n(MAX_TRANSACTION_IDS),
                    },
                ),
                self.budget(),
                "add to anomaly",
                condition_failed=_Seen,
            )
        return key

    def unpublished(self, key: keys.Key) -> dict[str, Any] | None:
        """The anomaly at ``key`` if its AnomalyDetected event was not sent yet (a delivery that stored it
        died before, or EventBridge refused it): the next sighting sends it."""
        item = self.read(key)
        return anomaly_from_item(item) if item is not None and "publishedAt" not in item else None

    def mark_published(self, key: keys.Key, now: str) -> None:
        write_patiently(
            lambda: self.client.update_item(
                TableName=self.table,
                Key=key,
                UpdateExpression="SET publishedAt = :now",
                ExpressionAttributeValues={":now": s(now)},
            ),
            self.budget(),
            "mark anomaly published",
        )

    def get(self, operator_id: str, anomaly_id: str, at: str) -> dict[str, Any] | None:
        item = self.read(keys.anomaly(operator_id, at, anomaly_id))
        return anomaly_from_item(item) if item else None

    def page(
        self, operator_id: str, window: tuple[str, str], filters: dict[str, str], limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        items, next_cursor = daylog.newest_first(
            self, lambda day: keys.anomaly_day_pk(operator_id, day), window, filters, limit, cursor
        )
        return [anomaly_from_item(item) for item in items], next_cursor

    # -- the ledger facts the rules read -------------------------------------------------------------

    def committed_at(self, operator_id: str, player_id: str, version: int) -> str | None:
        """When the applied entry of ``version`` was committed (None: no such version)."""
        if version < 1:
            return None
        wanted = (operator_id, player_id, version)
        if wanted not in self._committed:
            answer = self.query(
                IndexName=keys.ENTRIES_BY_VERSION,
                KeyConditionExpression="pk = :pk AND entryVersion BETWEEN :v AND :last",
                ExpressionAttributeValues={
                    ":pk": s(keys.wallet_pk(operator_id, player_id)),
                    ":v": n(version),
                    ":last": n(version + COMMITTED_PAGE - 1),
                },
                ProjectionExpression="entryVersion, createdAt",
            )
            for item in answer["Items"]:
                at = (operator_id, player_id, codec.number(item, "entryVersion"))
                self._committed[at] = codec.text(item, "createdAt")
        return self._committed.get(wanted)

    def stake(self, operator_id: str, player_id: str, bet_id: str) -> int | None:
        item = self.read(keys.bet(operator_id, player_id, bet_id))
        return codec.number(item, "amount") if item else None

    def since_last_withdrawal(self, operator_id: str, player_id: str, version: int) -> SinceWithdrawal:
        """The tally of the applied entries before ``version`` back to the previous withdrawal: for a
        withdrawal that carries none (its wallet was stored before the tally was kept).

        Read newest first in growing pages: the walk stops at the previous withdrawal, usually a few entries
        back, and a page without a limit would read (and be charged for) up to 1 MB of older history."""
        since = SinceWithdrawal()
        entries = self.pages(
            first_page=WITHDRAWAL_LOOKBACK_PAGE,
            IndexName=keys.ENTRIES_BY_VERSION,
            KeyConditionExpression="pk = :pk AND entryVersion < :v",
            ExpressionAttributeValues={":pk": s(keys.wallet_pk(operator_id, player_id)), ":v": n(version)},
            ExpressionAttributeNames={"#action": "action"},
            ProjectionExpression="#action, amount",
            ScanIndexForward=False,
        )
        for item in entries:
            action = Action(codec.text(item, "action"))
            if action is Action.WITHDRAWAL:
                break
            since = since.after(action, codec.number(item, "amount"))
        return since

    def rejections_within(self, operator_id: str, player_id: str, at: str) -> int:
        """Recorded rejections on the wallet committed in the minute up to ``at``."""
        since = iso(parse_instant(at, "at") - WINDOW)
        return self.count(
            IndexName=keys.REJECTIONS_BY_WALLET,
            KeyConditionExpression="rejectedIn = :wallet AND createdAt BETWEEN :since AND :at",
            ExpressionAttributeValues={
                ":wallet": s(keys.wallet_pk(operator_id, player_id)),
                ":since": s(since),
                ":at": s(at),
            },
        )


class _Seen(Exception):
    """The item is there already."""


def _holds(item: codec.Item | None, revision: int) -> bool:
    return item is not None and int(item["revision"]["N"]) >= revision


def _anomaly_item(anomaly: Anomaly) -> codec.Item:
    return {
        **keys.anomaly(anomaly.operator_id, anomaly.at, anomaly.anomaly_id),
        "type": s("anomaly"),
        "anomalyId": s(anomaly.anomaly_id),
        "playerId": s(anomaly.player_id),
        "rule": s(anomaly.rule.value),
        "severity": s(anomaly.severity.value),
        "at": s(anomaly.at),
        "record": s(json.dumps(anomaly.as_dict(), sort_keys=True)),
        # A set, which an episode's later movements are added to (DynamoDB keeps no empty set).
        **({"transactionIds": {"SS": list(anomaly.transaction_ids)}} if anomaly.transaction_ids else {}),
    }


def anomaly_from_item(item: codec.Item) -> dict[str, Any]:
    """The anomaly as stored, with every transaction its episode gathered since (in the order seen first)."""
    found: dict[str, Any] = json.loads(codec.text(item, "record"))
    first = found["transactionIds"]
    found["transactionIds"] = first + sorted(set(item.get("transactionIds", {}).get("SS", [])) - set(first))
    return found
