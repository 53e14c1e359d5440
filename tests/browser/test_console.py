"""The back-office console (docs/console.md) in a real browser: headless Chromium, driven by selenium through
Debian's chromium-driver, against `kassa serve` (what `make run` starts) seeded over the HTTP API.

A person signs in with an operator key (a wrong one is refused in so many words), finds wallets by prefix
and pages through them, opens a wallet, pages its ledger, opens a transaction and a round, locks and unlocks
the wallet with a reason, looks at the reconciliation runs, a run's findings and the stream verifier's, and
the anomalies, audit log and keys; a key without a scope gets a sentence, not a broken page. Throughout, the
key is never in the address bar and the page raises no Content-Security-Policy violation.

Without chromium and chromium-driver the test skips, saying how to install them; in CI (CI=true) it fails.
KASSA_SCREENSHOTS=1 writes the screenshots of docs/console.md (docs/console/*.png).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from kassa.store import keys as table_keys
from tests.integration.serving import free_port, kassa_serve

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
MISSING = (
    f"the console's browser test needs Debian's chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER}): "
    "sudo apt-get install chromium chromium-driver (.ci/run installs them in CI)"
)
DEMO_KEY = "kassa_key_console_browser_test"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
WAIT_SECONDS = 15
PAGE_SIZE = 25  # the console's page size (functions/console/static/api.js)
MINUS = "\N{MINUS SIGN}"  # how the console signs a debit

NORTH = [f"north-{n:02d}" for n in range(16)]
SOUTH = [f"south-{n:02d}" for n in range(14)]
LEDGER_WALLET = "alice"  # one deposit, 14 rounds (bet, win), one refused win: 29 entries, two ledger pages
ROUNDS = 14
WINNER = "carol"  # a win of 600 times the stake: a large_win anomaly
TAMPERED = "mallory"  # its wallet item changed behind Kassa's back: a finding for the stream and an audit
WALLETS = [*NORTH, *SOUTH, LEDGER_WALLET, WINNER, TAMPERED]


# -- the browser ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_available() -> None:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        if os.environ.get("CI") == "true":
            pytest.fail(MISSING, pytrace=False)
        pytest.skip(MISSING)


@pytest.fixture(scope="module")
def driver(browser_available: None) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    # The binary and the driver are named: Selenium Manager (which would download them) never runs.
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--window-size=1440,900",
        "--no-first-run",
        "--disable-extensions",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    chrome.set_page_load_timeout(30)
    yield chrome
    chrome.quit()


# -- the server, seeded over HTTP ----------------------------------------------------------------------


class Served:
    def __init__(self, port: int, dynamodb_port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.console = f"{self.base}/console"
        self.dynamodb_port = dynamodb_port
        self.http = requests.Session()
        self.http.headers["authorization"] = f"Bearer {DEMO_KEY}"
        self.readonly_key = self.readonly_key_id = ""
        self.seeded_run = ""

    def get(self, path: str, **params: Any) -> Any:
        answer = self.http.get(f"{self.base}{path}", params=params, timeout=30)
        assert answer.status_code == 200, (path, answer.status_code, answer.text)
        return answer.json()

    def post(self, path: str, body: dict[str, Any], expect: int = 201) -> Any:
        answer = self.http.post(f"{self.base}{path}", json=body, timeout=30)
        assert answer.status_code == expect, (path, body, answer.status_code, answer.text)
        return answer.json()

    def move(self, player: str, tx: str, kind: str, amount: str, expect: int = 201, **fields: str) -> None:
        body = {"transactionId": tx, "type": kind, "amount": amount, **fields}
        self.post(f"/v1/wallets/{player}/transactions", body, expect)

    def seed(self) -> None:
        for player in WALLETS:
            self.post("/v1/wallets", {"playerId": player, "currency": "EUR"})
        self.move(LEDGER_WALLET, "dep-1", "deposit", "500.00")
        for n in range(1, ROUNDS + 1):
            self.move(LEDGER_WALLET, f"bet-{n}", "bet", "2.50", betId=f"round-{n}")
            self.move(LEDGER_WALLET, f"win-{n}", "win", "1.25" if n % 2 else "0", betId=f"round-{n}")
        # A second win on a settled round: refused, and recorded in the round.
        self.move(LEDGER_WALLET, "win-1-again", "win", "3.00", expect=409, betId="round-1")
        self.move(WINNER, "carol-dep", "deposit", "10")
        self.move(WINNER, "carol-bet", "bet", "1", betId="lucky-round")
        self.move(WINNER, "carol-win", "win", "600", betId="lucky-round")
        self.move(TAMPERED, "mallory-dep", "deposit", "20")
        self.tamper(TAMPERED)
        created = self.post("/v1/keys", {"name": "support desk (read only)", "role": "readonly"})
        self.readonly_key, self.readonly_key_id = created["apiKey"], created["keyId"]
        self.seeded_run = self.post("/v1/reconciliations", {"type": "audit"}, expect=202)["runId"]
        self.until_run_completed(self.seeded_run)

    def tamper(self, player: str) -> None:
        """One more euro on the wallet item, written straight into the embedded DynamoDB: the ledger no
        longer accounts for the balance, which the stream verifier and a full audit both report."""
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=f"http://127.0.0.1:{self.dynamodb_port}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # the embedded DynamoDB's dummy credentials
        )
        dynamodb.update_item(
            TableName="kassa-local",
            Key=table_keys.wallet("demo", player),
            UpdateExpression="SET balance = balance + :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":one": {"N": "1000000"}},
        )

    def until_run_completed(self, run_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            run: dict[str, Any] = self.get(f"/v1/reconciliations/{run_id}")
            if run["status"] not in ("pending", "running"):
                assert run["status"] == "completed", run
                return run
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} did not complete within 30 s")


@pytest.fixture(scope="module")
def served(browser_available: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    output = tmp_path_factory.mktemp("console") / "serve.txt"
    dynamodb_port = free_port()
    with kassa_serve(output, KASSA_DEMO_API_KEY=DEMO_KEY, KASSA_DYNAMODB_PORT=str(dynamodb_port)) as port:
        server = Served(port, dynamodb_port)
        server.seed()
        yield server


# -- driving the page ----------------------------------------------------------------------------------


class Console:
    """The browser on the console, with the waits a person's eyes would do."""

    def __init__(self, driver: webdriver.Chrome, served: Served) -> None:
        self.driver, self.served = driver, served
        self.logs: list[dict[str, Any]] = []

    def wait(self, condition: Callable[[webdriver.Chrome], Any], what: str) -> Any:
        # An element read while the page re-renders it (a page refreshing a run, a status just changed) goes
        # stale: the condition is asked again, as a person would look again.
        waiting = WebDriverWait(self.driver, WAIT_SECONDS, ignored_exceptions=[StaleElementReferenceException])
        return waiting.until(condition, message=f"waiting for {what}")

    def find(self, css: str) -> WebElement:
        return self.wait(lambda d: _displayed(d.find_elements(By.CSS_SELECTOR, css)), css)

    def testid(self, name: str) -> WebElement:
        return self.find(f'[data-testid="{name}"]')

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def rows(self, table: str) -> list[WebElement]:
        return self.all(f'[data-testid="{table}"] tbody tr')

    def text_of(self, css: str, expected: str) -> WebElement:
        """The element once its text contains ``expected``."""

        def shown(d: webdriver.Chrome) -> WebElement | None:
            for element in d.find_elements(By.CSS_SELECTOR, css):
                if expected in element.text:
                    return element
            return None

        return self.wait(shown, f"{expected!r} in {css}")

    def row_count(self, table: str, count: int) -> list[WebElement]:
        return self.wait(
            lambda d: (found := self.rows(table)) and len(found) == count and found, f"{count} rows in {table}"
        )

    def page_number(self, pager: str, number: int) -> None:
        self.text_of(f'[data-testid="{pager}-page"]', f"Page {number}")
        self.wait(lambda d: not self.all(f'[data-testid="{pager}"][aria-busy]'), f"{pager} settled")

    def go(self, hash_route: str) -> None:
        self.driver.get(f"{self.served.console}#{hash_route}")

    def sign_in(self, key: str) -> None:
        field = self.find("#signin-key")
        field.clear()
        field.send_keys(key)
        self.find("#signin-submit").click()

    def sign_out(self) -> None:
        self.find("#signout").click()
        self.find("#signin-key")

    def key_not_in_address(self) -> None:
        for key in (DEMO_KEY, self.served.readonly_key):
            assert key not in self.driver.current_url

    def collect_logs(self) -> list[dict[str, Any]]:
        with contextlib.suppress(WebDriverException, AttributeError):  # a driver without the log endpoint
            self.logs += self.driver.get_log("browser")
        return self.logs

    def screenshot(self, name: str) -> None:
        if os.environ.get("KASSA_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.driver.execute_script("document.activeElement && document.activeElement.blur()")
            assert self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def _displayed(elements: list[WebElement]) -> WebElement | None:
    return next((element for element in elements if element.is_displayed()), None)


@pytest.fixture(scope="module")
def console(driver: webdriver.Chrome, served: Served) -> Console:
    return Console(driver, served)


@pytest.fixture
def signed_in(console: Console) -> Console:
    """The demo operator's owner key signed in (once; later tests find it kept in the tab)."""
    console.go("/wallets")
    console.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#signin-key, #signout"), "the sign-in form or the shell")
    if not console.all("#signout"):
        console.sign_in(DEMO_KEY)
        console.find("#signout")
    return console


# -- the tests -----------------------------------------------------------------------------------------


def test_sign_in_refuses_a_wrong_key_and_keeps_the_key_out_of_the_address(console: Console) -> None:
    console.go("/wallets")
    console.find("#signin-key")
    console.screenshot("sign-in")

    console.sign_in("kassa_key_not_a_real_one")
    assert "This API key was not accepted" in console.testid("signin-refused").text
    assert not console.all("#signout")

    console.sign_in(DEMO_KEY)
    console.find("#signout")
    console.testid("wallets-table")
    console.key_not_in_address()
    # Kept for this tab only: sessionStorage, nothing in localStorage or a cookie.
    assert console.driver.execute_script("return window.localStorage.length") == 0
    assert console.driver.execute_script("return document.cookie") == ""
    stored = console.driver.execute_script("return Object.values(window.sessionStorage)")
    assert stored == [DEMO_KEY]


def test_wallet_search_by_prefix_and_the_list_page_by_page(signed_in: Console) -> None:
    console = signed_in
    console.go("/wallets")
    first = console.row_count("wallets-table", PAGE_SIZE)
    assert first[0].text.startswith("alice")  # player id order
    console.page_number("wallets", 1)
    console.screenshot("wallets")

    console.testid("wallets-next").click()
    console.page_number("wallets", 2)
    second = console.row_count("wallets-table", len(WALLETS) - PAGE_SIZE)
    assert second[-1].text.startswith("south-13")
    assert not console.testid("wallets-next").is_enabled()
    console.testid("wallets-prev").click()
    console.page_number("wallets", 1)
    console.row_count("wallets-table", PAGE_SIZE)

    search = console.find("#wallet-prefix")
    search.clear()
    search.send_keys("south-")
    console.find("#wallet-search").click()
    found = console.row_count("wallets-table", len(SOUTH))
    assert [row.find_element(By.CSS_SELECTOR, "td").text for row in found] == SOUTH
    assert "prefix=south-" in console.driver.current_url
    console.key_not_in_address()

    search = console.find("#wallet-prefix")
    search.clear()
    search.send_keys("nobody-")
    console.find("#wallet-search").click()
    assert "nobody-" in console.testid("wallets-table-empty").text


def test_a_wallet_its_ledger_a_transaction_and_a_round(signed_in: Console) -> None:
    console = signed_in
    console.go("/wallets?prefix=ali")
    console.row_count("wallets-table", 1)
    console.testid("wallet-link").click()

    console.text_of('[data-testid="wallet-player"]', LEDGER_WALLET)
    # 500 deposited, 14 bets of 2.50, 7 wins of 1.25.
    console.text_of('[data-testid="wallet-balance"]', "473.75 EUR")
    assert console.testid("wallet-status").text == "active"
    assert console.testid("wallet-version").text == str(1 + 2 * ROUNDS)
    entries = console.row_count("ledger-table", PAGE_SIZE)
    # Newest first: the last win, then its bet; amounts in currency units, a debit signed.
    assert "win-14" in entries[0].text and "0.00 EUR" in entries[0].text
    assert "bet-14" in entries[1].text and f"{MINUS}2.50 EUR" in entries[1].text
    console.screenshot("wallet")

    console.testid("ledger-next").click()
    console.page_number("ledger", 2)
    older = console.row_count("ledger-table", 1 + 2 * ROUNDS - PAGE_SIZE)
    assert "dep-1" in older[-1].text and "500.00 EUR" in older[-1].text

    older[-1].find_element(By.CSS_SELECTOR, '[data-testid="tx-link"]').click()
    console.text_of('[data-testid="tx-id"]', "dep-1")
    assert console.testid("tx-type").text == "deposit"
    assert console.testid("tx-status").text == "applied"
    assert console.testid("tx-balance-after").text == "500.00 EUR"

    console.driver.back()
    console.testid("ledger-table")
    bet = console.wait(lambda d: _displayed(console.all('[data-testid="bet-link"]')), "a bet's link")
    round_id = bet.text
    bet.click()
    console.text_of('[data-testid="page-title"]', round_id)
    assert console.testid("round-state").text == "settled"
    assert console.testid("round-stake").text == "2.50 EUR"
    assert len(console.row_count("round-entries", 2)) == 2

    console.go(f"/wallets/{LEDGER_WALLET}/bets/round-1")
    refused = console.row_count("round-entries", 3)[-1]
    assert "win-1-again" in refused.text and "bet_already_settled" in refused.text
    console.screenshot("round")
    console.key_not_in_address()


def test_lock_and_unlock_a_wallet_with_a_reason(signed_in: Console) -> None:
    console = signed_in
    console.go(f"/wallets/{LEDGER_WALLET}")
    console.text_of('[data-testid="wallet-status"]', "active")

    console.find("#status-toggle").click()  # no reason given
    console.text_of('[data-testid="status-message"]', "Give a reason")
    assert console.testid("wallet-status").text == "active"

    console.find("#status-reason").send_keys("chargeback under review")
    console.testid("lock").click()
    console.text_of('[data-testid="wallet-status"]', "locked")
    console.text_of('[data-testid="status-done"]', "Wallet locked.")

    console.go("/audit-log?action=wallet_locked")
    console.text_of('[data-testid="audit-table"] tbody tr', "chargeback under review")

    console.go(f"/wallets/{LEDGER_WALLET}")
    console.text_of('[data-testid="wallet-status"]', "locked")
    console.find("#status-reason").send_keys("review closed")
    console.testid("unlock").click()
    console.text_of('[data-testid="wallet-status"]', "active")
    assert console.served.get(f"/v1/wallets/{LEDGER_WALLET}")["status"] == "active"


def test_reconciliation_runs_a_runs_findings_and_the_stream_verifiers(signed_in: Console) -> None:
    console = signed_in
    console.go("/reconciliation")
    run_id = console.served.seeded_run
    row = console.text_of('[data-testid="runs-table"] tbody tr', run_id)
    assert "completed" in row.text

    row.find_element(By.CSS_SELECTOR, '[data-testid="run-link"]').click()
    console.text_of('[data-testid="run-status"]', "completed")
    finding = console.text_of('[data-testid="run-findings-table"] tbody tr', TAMPERED)
    assert "balance_mismatch" in finding.text
    console.screenshot("run")

    console.go("/findings")
    console.text_of('[data-testid="findings-table"] tbody tr', TAMPERED)
    console.screenshot("findings")

    console.go("/reconciliation")
    console.testid("runs-table")
    console.find("#start-audit").click()
    new_run = console.testid("audit-started").find_element(By.CSS_SELECTOR, "a").text
    assert new_run and new_run != run_id
    # The list shows the new run, and shows it again until it is finished.
    console.wait(
        lambda d: any(new_run in r.text and "completed" in r.text for r in console.rows("runs-table")),
        "the new run, completed",
    )
    console.screenshot("runs")


def test_anomalies_audit_log_and_keys(signed_in: Console) -> None:
    console = signed_in
    console.go("/anomalies")
    console.text_of('[data-testid="anomalies-table"] tbody tr', WINNER).find_element(
        By.CSS_SELECTOR, '[data-testid="anomaly-link"]'
    ).click()
    console.text_of('[data-testid="anomaly-rule"]', "large_win")
    assert "carol-win" in console.testid("anomaly-detail").text

    console.go("/audit-log")
    console.text_of('[data-testid="audit-table"] tbody tr', "reconciliation_started")

    console.go("/keys")
    console.text_of('[data-testid="keys-table"] tbody tr', "support desk (read only)")
    assert len(console.rows("keys-table")) == 2


def test_a_key_without_the_scope_gets_a_sentence_not_a_broken_page(console: Console, signed_in: Console) -> None:
    console.sign_out()
    assert console.driver.execute_script("return window.sessionStorage.length") == 0
    console.sign_in(console.served.readonly_key)
    console.testid("wallets-table")  # wallets:read is all it has

    for route, what in (
        ("/keys", "listing keys"),
        ("/reconciliation", "reconciliation"),
        ("/audit-log", "the audit log"),
    ):
        console.go(route)
        refusal = console.testid("forbidden")
        assert "This key's scopes do not allow" in refusal.text and what in refusal.text, refusal.text
        assert console.all("#signout"), "still signed in"

    console.go(f"/wallets/{LEDGER_WALLET}")
    console.find("#status-reason").send_keys("trying")
    console.testid("lock").click()
    console.text_of('[data-testid="status-message"]', "This key's scopes do not allow locking wallets")
    console.key_not_in_address()

    # Revoked while signed in: the next page goes back to the sign-in form, saying why, the key forgotten.
    answer = console.served.http.delete(f"{console.served.base}/v1/keys/{console.served.readonly_key_id}", timeout=30)
    assert answer.status_code == 204, answer.text
    console.go("/wallets")
    console.text_of('[data-testid="signin-form"]', "This API key is no longer accepted")
    assert console.driver.execute_script("return window.sessionStorage.length") == 0


def test_no_content_security_policy_violation(console: Console) -> None:
    """Every page above ran under the console's CSP (no inline script or style, this origin only):
    Chromium logs each violation, and there was none. Then one is made on purpose, to show it is seen."""
    logs = console.collect_logs()
    violations = [entry["message"] for entry in logs if "Content Security Policy" in entry.get("message", "")]
    assert violations == []
    console.go("/wallets")
    console.find("#signin-key")
    console.driver.execute_script("document.body.setAttribute('style', 'color: red')")
    seen = console.wait(
        lambda d: [e for e in console.collect_logs() if "Content Security Policy" in e.get("message", "")],
        "the deliberate violation in the browser's log",
    )
    assert "style-src" in seen[0]["message"]
