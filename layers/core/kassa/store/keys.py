"""The key design of the single table: the one place it is written down.

Every key starts with the operator id, so no request built for one operator can reach another's items.

item                pk                                    sk                            notes
operator            OP#{operator}                         OPERATOR                      policy
operator API key    OP#{operator}                         APIKEY#{key id}               credentialHash (GSI), ancestors
audit record        OP#{operator}#AUDIT#{yyyy-mm-dd}      {at}#{event id}               immutable; a partition a day
One Wallet token    OP#{operator}                         ONEWALLET_TOKEN               credentialHash (GSI)
wallet              OP#{operator}#PLAYER#{player}         WALLET                        balance, version, lastHash,
                                                                                        sinceWithdrawal
ledger entry        OP#{operator}#PLAYER#{player}         TX#{transaction id}#{action}  entryVersion if applied
bet                 OP#{operator}#PLAYER#{player}         BET#{bet id}                  open/settled/cancelled/tombstone
audit checkpoint    OP#{operator}#PLAYER#{player}         AUDIT                         verified up to a version
player session      OP#{operator}#SESSION#{sha256(sid)}   SESSION                       ttl; wallet names the live one

The sparse index ``ByKind`` (kind, pk) lists what a full audit walks: operators (kind "operator") and an
operator's wallets (kind "wallets#{operator}").

Reconciliation keeps its records apart from the ledger, under the operator too:

item                pk                                    sk
run                 OP#{operator}#RECON                   RUN#{run id}
run finding         OP#{operator}#RUN#{run id}            FINDING#{finding key, or sha256: of it past 256 bytes}
audit walk cursor   OP#{operator}#RECON                   AUDIT_CURSOR            where an unfinished walk stopped
stream finding      OP#{operator}#RECON                   FINDING#{finding key}
published event     {entry pk} (the wallet's)             OUTBOX#{entry sk}       (ttl)

A wallet, its entries and its bets share one partition: one strongly consistent ``BatchGetItem``
loads what a decision needs (the wallet, and the bet or the entry where the commit's conditions cannot
stand in for them), and the local index ``EntriesByVersion`` (pk, entryVersion) lists the
history newest-first, strongly consistent. Only applied entries carry ``entryVersion`` (a sparse index):
recorded rejections are idempotency records, not history. An LSI caps a partition at 10 GB, and the
index projects ALL, so every applied entry is stored twice: at measured item sizes about 3.5 million
bet-and-win rounds for one player, fewer with long ids (docs/PERFORMANCE.md, *Scale*; docs/decisions.md
23). Every commit reports the collection's size (metric ``WalletCollectionSizeGB``, alarm past 5 GB).

Recorded rejections also enter the sparse global index ``RejectionsByWallet`` (rejectedIn = the wallet's
pk, createdAt; betId projected): the anomaly rules count a wallet's refusals in a minute from it, and the
round view finds the refusals of a bet in it. Only refusals carry ``rejectedIn``, so an applied movement
writes nothing more for either. A round (one bet, from its opening to its settlement) is read from the
bet item, which names its at most two applied entries (the bet, and the win or refund that settled it),
and from that index (the wallet's refusals since the bet was opened, those of the bet).

Anomalies (``kassa.anomaly``) are kept apart too:

item                pk                                    sk
anomaly             OP#{operator}#ANOMALY#{yyyy-mm-dd}    {at}#{anomaly id}             a partition a day
episode of a rule   OP#{operator}#PLAYER#{player}         ANOMALY_EPISODES#{rule}       windowed rules only
thresholds          OP#{operator}                         ANOMALY_RULES                 current, previous, since
"""

from __future__ import annotations

import hashlib

Key = dict[str, dict[str, str]]

ENTRIES_BY_VERSION = "EntriesByVersion"
BY_CREDENTIAL = "ByCredential"
BY_KIND = "ByKind"
REJECTIONS_BY_WALLET = "RejectionsByWallet"
OPERATORS_KIND = "operator"


def _key(pk: str, sk: str) -> Key:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def operator_pk(operator_id: str) -> str:
    return f"OP#{operator_id}"


def wallet_pk(operator_id: str, player_id: str) -> str:
    return f"OP#{operator_id}#PLAYER#{player_id}"


def operator(operator_id: str) -> Key:
    return _key(operator_pk(operator_id), "OPERATOR")


def api_key(operator_id: str, key_id: str) -> Key:
    return _key(operator_pk(operator_id), f"APIKEY#{key_id}")


def audit_day_pk(operator_id: str, day: str) -> str:
    """Audit records of one operator and one UTC day (``yyyy-mm-dd``): no key collects them for ever."""
    return f"OP#{operator_id}#AUDIT#{day}"


def audit_record(operator_id: str, at: str, event_id: str) -> Key:
    return _key(audit_day_pk(operator_id, at[:10]), f"{at}#{event_id}")


def onewallet_token(operator_id: str) -> Key:
    return _key(operator_pk(operator_id), "ONEWALLET_TOKEN")


WALLET_SK = "WALLET"


def wallet(operator_id: str, player_id: str) -> Key:
    return _key(wallet_pk(operator_id, player_id), WALLET_SK)


def entry_prefix(transaction_id: str) -> str:
    return f"TX#{transaction_id}#"


def entry(operator_id: str, player_id: str, transaction_id: str, action: str) -> Key:
    return _key(wallet_pk(operator_id, player_id), f"{entry_prefix(transaction_id)}{action}")


def bet(operator_id: str, player_id: str, bet_id: str) -> Key:
    return _key(wallet_pk(operator_id, player_id), f"BET#{bet_id}")


def anomaly_day_pk(operator_id: str, day: str) -> str:
    return f"OP#{operator_id}#ANOMALY#{day}"


def anomaly(operator_id: str, at: str, anomaly_id: str) -> Key:
    return _key(anomaly_day_pk(operator_id, at[:10]), f"{at}#{anomaly_id}")


def anomaly_episodes(operator_id: str, player_id: str, rule: str) -> Key:
    return _key(wallet_pk(operator_id, player_id), f"ANOMALY_EPISODES#{rule}")


def anomaly_rules(operator_id: str) -> Key:
    return _key(operator_pk(operator_id), "ANOMALY_RULES")


def audit_checkpoint(operator_id: str, player_id: str) -> Key:
    return _key(wallet_pk(operator_id, player_id), "AUDIT")


def audit_cursor(operator_id: str) -> Key:
    return _key(recon_pk(operator_id), "AUDIT_CURSOR")


def session(operator_id: str, sid_hash: str) -> Key:
    return _key(f"OP#{operator_id}#SESSION#{sid_hash}", "SESSION")


def credential_lookup(kind: str, secret_hash: str) -> str:
    """The GSI value that finds a credential's item from the secret's hash alone."""
    return f"{kind}:{secret_hash}"


def wallets_kind(operator_id: str) -> str:
    return f"wallets#{operator_id}"


def recon_pk(operator_id: str) -> str:
    return f"OP#{operator_id}#RECON"


RUN_PREFIX = "RUN#"


def run(operator_id: str, run_id: str) -> Key:
    return _key(recon_pk(operator_id), f"{RUN_PREFIX}{run_id}")


def run_findings_pk(operator_id: str, run_id: str) -> str:
    return f"OP#{operator_id}#RUN#{run_id}"


# DynamoDB refuses a sort key over 1,024 bytes. A finding's key embeds ids a provider's report chose; past
# this length it is replaced by its hash (the finding item keeps the ids as they came).
FINDING_KEY_LIMIT = 256


def finding(pk: str, finding_key: str) -> Key:
    if len(finding_key.encode()) > FINDING_KEY_LIMIT:
        finding_key = "sha256:" + hashlib.sha256(finding_key.encode()).hexdigest()
    return _key(pk, f"FINDING#{finding_key}")


def outbox(entry_pk: str, entry_sk: str) -> Key:
    """Beside the entry, in its wallet's partition: a marker per movement under one operator-wide key would
    cap the operator at one partition's write rate (~1,000/s; the table's local index keeps an item
    collection from splitting). Markers expire (ttl), so they do not fill the wallet's 10 GB."""
    return _key(entry_pk, f"OUTBOX#{entry_sk}")
