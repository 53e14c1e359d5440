"""Issue 14 §2: KASSA_DATA_DIR (`kassa serve --data-dir`) keeps a local stack across a restart: the wallets,
their balances and ledgers, the buckets' objects, and a demo key that still works; what was restored is not
delivered to the stream's consumer again (no anomaly is reported twice). Without it a restart is empty, as
before. The snapshot is replaced atomically: a save that dies halfway leaves the previous one whole."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from kassa_dev.data_dir import SNAPSHOT_FILE, DataDir, DataDirError, Snapshot, write_atomically
from tests.integration.cli_shell import (
    api,
    banner_demo_key,
    banner_exports,
    bare_environment,
    kassa,
    printed_banner,
    serve_with_flags,
)
from tests.integration.serving import kassa_serve

PLAYER = "alice"
LARGE_WIN = "ANOMALY large_win"


def results_bucket(exports: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=exports["AWS_ENDPOINT_URL"],
        region_name=exports["AWS_DEFAULT_REGION"],
        aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
    )


def wait_for(output: Path, printed: str) -> None:
    deadline = time.monotonic() + 20
    while printed not in output.read_text():
        assert time.monotonic() < deadline, f"kassa serve never printed {printed!r}"
        time.sleep(0.2)


def audit(exports: dict[str, str]) -> dict[str, object]:
    """`kassa reconcile audit demo` from a shell holding the banner's export line."""
    done = kassa("reconcile", "audit", "demo", env=bare_environment(**exports))
    assert done.returncode == 0, done.stderr[-2000:]
    run: dict[str, object] = json.loads(done.stdout)
    return run


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    """A first `kassa serve` with a data dir (the variable): a wallet, three movements (the win a large one,
    which the stream's consumer reports), an audit whose report lands in the results bucket; then SIGTERM.
    Yields the data dir, the demo key and the report's key."""
    here = tmp_path_factory.mktemp("first-run")
    data_dir, output = here / "kassa-data", here / "first.txt"
    with kassa_serve(output, KASSA_DATA_DIR=str(data_dir)) as port:
        banner = printed_banner(output)
        assert f"  data dir {data_dir}: nothing to restore; saved again when Kassa stops" in banner
        key = banner_demo_key(banner)
        assert api(port, key, "POST", "/v1/wallets", {"playerId": PLAYER, "currency": "EUR"}).status_code == 201
        for move in (
            {"transactionId": "dep-1", "type": "deposit", "amount": "20000.00"},
            {"transactionId": "bet-1", "type": "bet", "amount": "2.50", "betId": "round-1"},
            {"transactionId": "win-1", "type": "win", "amount": "10000.00", "betId": "round-1"},
        ):
            assert api(port, key, "POST", f"/v1/wallets/{PLAYER}/transactions", move).status_code == 201
        wait_for(output, LARGE_WIN)
        results_key = str(audit(banner_exports(banner))["resultsKey"])
    assert output.read_text().rstrip().splitlines()[-1].startswith(f"Kassa stopped. Kept in {data_dir}: ")
    yield data_dir, key, results_key


def test_a_restart_with_the_data_dir_finds_everything_as_it_was(
    first_run: tuple[Path, str, str], tmp_path: Path
) -> None:
    data_dir, key, results_key = first_run
    output = tmp_path / "second.txt"
    with serve_with_flags(output, "--port", "0", "--data-dir", str(data_dir)) as banner:
        assert any(line.startswith(f"  data dir {data_dir}: restored ") for line in banner), banner
        assert banner_demo_key(banner) == key  # the demo operator is the one restored, not a second one
        port = int(banner[0].split("http://127.0.0.1:", 1)[1].split()[0])
        wallet = api(port, key, "GET", f"/v1/wallets/{PLAYER}")
        assert wallet.status_code == 200 and wallet.json()["balance"] == "29997.500000", wallet.text
        ledger = api(port, key, "GET", f"/v1/wallets/{PLAYER}/transactions").json()["items"]
        assert [(entry["transactionId"], entry["type"]) for entry in ledger] == [
            ("win-1", "win"),
            ("bet-1", "bet"),
            ("dep-1", "deposit"),
        ]
        exports = banner_exports(banner)
        results_bucket(exports).head_object(Bucket=exports["KASSA_RESULTS_BUCKET"], Key=results_key)
        # The restored ledger is whole: its hash chain and balances verify.
        run = audit(exports)
        assert run["status"] == "completed" and not run["counts"], run
        time.sleep(2)  # the stream's reader runs every 0.5 s: long enough to deliver the restored entries
    assert LARGE_WIN not in output.read_text(), "the restored entries reached the stream's consumer again"


def test_without_a_data_dir_a_restart_is_empty(first_run: tuple[Path, str, str], tmp_path: Path) -> None:
    _, key, _ = first_run
    output = tmp_path / "again.txt"
    with kassa_serve(output, KASSA_DATA_DIR="") as port:  # (a variable of this shell's own left out)
        banner = printed_banner(output)
        assert not any("data dir" in line for line in banner) and banner_demo_key(banner) != key
        fresh = banner_demo_key(banner)
        assert api(port, fresh, "GET", f"/v1/wallets/{PLAYER}").json()["code"] == "wallet_not_found"
    assert output.read_text().rstrip().splitlines()[-1] == "Kassa stopped."


# --- The data dir itself


def test_a_save_that_dies_halfway_leaves_the_previous_snapshot_whole(tmp_path: Path) -> None:
    kept = DataDir(tmp_path)
    kept.save(Snapshot(items=[{"pk": {"S": "a"}, "sk": {"S": "1"}}]))
    before = (tmp_path / SNAPSHOT_FILE).read_text()

    def killed_halfway(out: object) -> None:
        out.write(before[: len(before) // 2])  # type: ignore[attr-defined]
        raise KeyboardInterrupt  # (a Ctrl-C during the save)

    with pytest.raises(KeyboardInterrupt):
        write_atomically(tmp_path / SNAPSHOT_FILE, killed_halfway)
    assert (tmp_path / SNAPSHOT_FILE).read_text() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == [SNAPSHOT_FILE]  # no half file left behind
    assert kept.load() == Snapshot(items=[{"pk": {"S": "a"}, "sk": {"S": "1"}}])


def test_a_snapshot_is_plain_json_and_comes_back_as_it_was(tmp_path: Path) -> None:
    snapshot = Snapshot(
        items=[{"pk": {"S": "w"}, "blob": {"B": b"\x00\xff"}, "nested": {"M": {"list": {"L": [{"BS": [b"\x01"]}]}}}}],
        objects={"ProviderReportsBucket": {"acme/daily.csv": b"transactionId,action\n"}},
        demo={"apiKey": "kassa_key_x", "onewalletToken": "kassa_ow_y"},
    )
    DataDir(tmp_path).save(snapshot)
    saved = json.loads((tmp_path / SNAPSHOT_FILE).read_text())
    assert saved["items"][0]["blob"] == {"B": "AP8="}  # binary as base64, as DynamoDB's own JSON has it
    assert DataDir(tmp_path).load() == snapshot


def test_one_data_dir_serves_one_kassa_serve_at_a_time(tmp_path: Path) -> None:
    first, second = DataDir(tmp_path), DataDir(tmp_path)
    first.hold()
    try:
        with pytest.raises(DataDirError, match="is the data dir of another kassa serve, still running"):
            second.hold()
    finally:
        first.release()
    second.hold()
    second.release()


def test_a_snapshot_it_cannot_read_is_said_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / SNAPSHOT_FILE).write_text("{not json")
    with pytest.raises(
        DataDirError, match=r"is not a snapshot kassa serve can restore .*; move it away to start empty"
    ):
        DataDir(tmp_path).load()
    assert (tmp_path / SNAPSHOT_FILE).read_text() == "{not json"
