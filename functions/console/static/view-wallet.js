// One wallet: its balances and status, lock / unlock with a reason, and its ledger (newest first).

import { api } from "./api.js";
import { amount, badge, h, link, loading, mono, none, notice, page, route, table, time } from "./dom.js";
import { paginated, problem } from "./parts.js";

// Movements that take money out of the wallet; the API's amounts are unsigned except an adjustment's.
const DEBITS = new Set(["bet", "withdrawal"]);

export function signed(entry) {
  return DEBITS.has(entry.type) && !String(entry.amount).startsWith("-") ? `-${entry.amount}` : entry.amount;
}

function ledgerColumns(playerId) {
  return [
    { label: "Time (UTC)", cell: (e) => time(e.createdAt) },
    { label: "Version", className: "num", cell: (e) => String(e.version) },
    { label: "Transaction", cell: (e) => link(route("wallets", playerId, "tx", e.transactionId), mono(e.transactionId), { testid: "tx-link" }) },
    { label: "Type", cell: (e) => h("span", { className: "type" }, e.type) },
    {
      label: "Bet",
      cell: (e) => (e.betId ? link(route("wallets", playerId, "bets", e.betId), mono(e.betId), { testid: "bet-link" }) : none()),
    },
    { label: "Amount", className: "num", cell: (e) => amount(signed(e), e.currency) },
    { label: "Balance after", className: "num", cell: (e) => h("span", {}, amount(e.balanceAfter, e.currency), e.balance === "bonus" ? h("span", { className: "tag" }, "bonus") : null) },
  ];
}

function summary(wallet) {
  return h(
    "div",
    { className: "cards", testid: "wallet-summary" },
    card("Balance", amount(wallet.balance, wallet.currency), "wallet-balance"),
    card("Bonus", amount(wallet.bonus, wallet.currency), "wallet-bonus"),
    card("Status", badge(wallet.status), "wallet-status"),
    card("Version", String(wallet.version), "wallet-version"),
    card("Updated (UTC)", time(wallet.updatedAt), "wallet-updated"),
  );
}

function card(label, value, testid) {
  return h("div", { className: "card" }, h("div", { className: "card-label" }, label), h("div", { className: "card-value", testid }, value));
}

/** Lock or unlock, with the reason the audit log keeps; ``changed(wallet)`` gets the wallet after. */
function statusControl(wallet, changed) {
  const locking = wallet.status !== "locked";
  const reason = h("input", {
    id: "status-reason",
    type: "text",
    maxLength: 256,
    autocomplete: "off",
    placeholder: locking ? "Why lock this wallet (kept in the audit log)" : "Why unlock it (kept in the audit log)",
    "aria-label": "Reason",
  });
  const button = h(
    "button",
    { id: "status-toggle", type: "submit", className: locking ? "button danger" : "button primary", testid: locking ? "lock" : "unlock" },
    locking ? "Lock wallet" : "Unlock wallet",
  );
  const message = h("div", { className: "status-message", testid: "status-message" });
  const form = h(
    "form",
    { className: "toolbar status-control", testid: "status-form" },
    h("span", { className: "toolbar-label" }, locking ? "Lock: bets and withdrawals are refused." : "Unlock: bets and withdrawals are allowed again."),
    reason,
    button,
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const why = reason.value.trim();
    if (!why) {
      message.replaceChildren(notice("Give a reason: the audit log keeps it.", "bad"));
      reason.focus();
      return;
    }
    button.disabled = true;
    message.replaceChildren();
    try {
      const after = locking ? await api.lock(wallet.playerId, why) : await api.unlock(wallet.playerId, why);
      changed(after, locking ? "Wallet locked." : "Wallet unlocked.");
    } catch (error) {
      message.replaceChildren(problem(error, locking ? "locking wallets" : "unlocking wallets"));
      button.disabled = false;
    }
  });
  return form;
}

export function walletView(playerId) {
  const head = h("div", { className: "wallet-head" }, loading());
  const control = h("div", {});
  const done = h("div", {});

  function show(wallet, said) {
    head.replaceChildren(summary(wallet));
    control.replaceChildren(statusControl(wallet, (after, text) => show(after, text)));
    done.replaceChildren(...(said ? [notice(said, "good", { testid: "status-done" })] : []));
  }

  api.wallet(playerId).then(
    (wallet) => show(wallet),
    (error) => head.replaceChildren(problem(error, "reading wallets")),
  );

  const ledger = paginated({
    testid: "ledger",
    what: "reading wallets",
    fetchPage: (cursor) => api.ledger(playerId, cursor),
    render: (items) => table(ledgerColumns(playerId), items, { testid: "ledger-table", empty: "No ledger entries yet." }),
  });

  return page(
    mono(playerId, { testid: "wallet-player" }),
    { crumbs: [["Wallets", "#/wallets"]], testid: "wallet-page" },
    head,
    done,
    control,
    h("h2", {}, "Ledger ", h("span", { className: "muted small" }, "newest first")),
    ledger.element,
  );
}

