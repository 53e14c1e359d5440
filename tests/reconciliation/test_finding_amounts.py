"""Findings show amounts in the wallet's currency, as the API does (issue "The first hour with Kassa", §2).

A finding's detail used to print stored integer units ("0 + 1000000000 != 100000000"); it now writes them
with ``kassa.money.format_units`` at the wallet's scale and names the currency: the audit's and the stream
verifier's ``entry_arithmetic`` and ``balance_mismatch``, and a report's ``amount_mismatch``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from kassa.domain.model import Action
from kassa.domain.movements import Movement, MovementState, decide
from kassa.money import to_units
from kassa.reconcile.audit import audit_wallet
from kassa.reconcile.findings import Finding, Kind
from kassa.reconcile.report import ReportRecord, match
from tests.reconciliation.conftest import Stream, Tenant
from tests.unit.ledger_fixtures import NOW, request, wallet

CENTS = 2  # a scale other than the default 6, so a detail written at a fixed scale would show


def moved(action: str, amount: str, balance: str = "0", bet_id: str | None = None) -> Movement:
    """One movement of a wallet whose currency has cents, holding ``balance``."""
    owner = replace(wallet(), scale=CENTS, balance=to_units(Decimal(balance), CENTS))
    movement = decide(MovementState(owner), request(action, amount, bet_id=bet_id), now=NOW)
    assert isinstance(movement, Movement), movement
    return movement


def detail_of(found: list[Finding], kind: Kind) -> str:
    (finding,) = [f for f in found if f.kind is kind]
    return finding.detail


def test_an_audit_finding_shows_an_altered_entry_in_currency_units() -> None:
    deposit = moved("deposit", "100")
    altered = replace(deposit.entry, amount=to_units(Decimal("1000"), CENTS))

    found = audit_wallet(deposit.wallet, [altered])

    assert detail_of(found, Kind.ENTRY_ARITHMETIC) == "0.00 EUR + 1000.00 EUR != 100.00 EUR"
    assert detail_of(found, Kind.BALANCE_MISMATCH) == (
        "the wallet holds 100.00 EUR cash, 0.00 EUR bonus; its entries sum to 1000.00 EUR cash, 0.00 EUR bonus"
    )


def test_a_report_amount_mismatch_shows_the_ledger_amount_in_currency_units() -> None:
    bet = moved("bet", "5", balance="100", bet_id="b-1")
    player, tx = bet.wallet.player_id, bet.entry.transaction_id
    record = ReportRecord(tx, Action.BET, player, Decimal("6"), "EUR", datetime(2026, 1, 1, tzinfo=UTC))

    (finding,) = match([record], {(player, tx, Action.BET): (bet.entry, bet.wallet)}, "", "")

    assert (finding.kind, finding.detail) == (Kind.AMOUNT_MISMATCH, "report 6 EUR, ledger 5.00 EUR")


# --------------------------------------------------------------------------- on the stack, the stream too


def test_the_stream_verifier_and_the_audit_show_a_tampered_wallet_in_currency_units(
    tenant: Tenant, stream: Stream
) -> None:
    """A real wallet (EUR at Kassa's default scale, 6), one entry and the wallet item altered by hand."""
    player = tenant.open_wallet("EUR")
    tenant.move(player, "deposit", "100", tx="dep-1")
    stream.drain()
    one_more_euro = {"N": str(101 * 10**6)}
    tenant.set_attribute(tenant.entry_key(player, "dep-1", "deposit"), "amount", one_more_euro)
    tenant.set_attribute(tenant.wallet_key(player), "balance", one_more_euro)
    stream.drain()

    streamed = {f["kind"]: f["detail"] for f in tenant.stream_findings()}
    audited = {f["kind"]: f["detail"] for f in tenant.audit()}

    arithmetic = "0.000000 EUR + 101.000000 EUR != 100.000000 EUR"
    assert streamed["entry_arithmetic"] == audited["entry_arithmetic"] == arithmetic
    assert streamed["balance_mismatch"] == (
        "the wallet holds 101.000000 EUR cash, 0.000000 EUR bonus; its last entry left 100.000000 EUR cash, "
        "0.000000 EUR bonus"
    )
    # The wallet agrees with its (altered) entries' sum: the audit sees no balance mismatch, only the entry.
    assert "balance_mismatch" not in audited, audited
