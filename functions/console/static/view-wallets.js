// Wallets: search by player id prefix, and the list in player id order, a page at a time.

import { api } from "./api.js";
import { amount, badge, h, link, mono, page, route, table, time } from "./dom.js";
import { paginated } from "./parts.js";

export const WALLET_COLUMNS = [
  { label: "Player", cell: (w) => link(route("wallets", w.playerId), mono(w.playerId), { testid: "wallet-link" }) },
  { label: "Currency", cell: (w) => w.currency },
  { label: "Balance", className: "num", cell: (w) => amount(w.balance, w.currency) },
  { label: "Bonus", className: "num", cell: (w) => amount(w.bonus, w.currency) },
  { label: "Status", cell: (w) => badge(w.status) },
  { label: "Version", className: "num", cell: (w) => String(w.version) },
  { label: "Updated (UTC)", cell: (w) => time(w.updatedAt) },
];

export function walletsView(params) {
  const prefix = params.get("prefix") ?? "";
  const input = h("input", {
    id: "wallet-prefix",
    type: "search",
    value: prefix,
    placeholder: "Player id, or its first characters",
    autocomplete: "off",
    spellcheck: "false",
    "aria-label": "Player id prefix",
  });
  const form = h(
    "form",
    { className: "toolbar", role: "search", testid: "wallet-search-form" },
    input,
    h("button", { id: "wallet-search", type: "submit", className: "button primary" }, "Search"),
    prefix ? h("a", { href: "#/wallets", className: "button subtle", testid: "wallet-search-clear" }, "Show all") : null,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const wanted = input.value.trim();
    // The search is part of the address (back and forward work); the key never is.
    const target = wanted ? `#/wallets?prefix=${encodeURIComponent(wanted)}` : "#/wallets";
    if (location.hash === target) list.restart();
    else location.hash = target;
  });
  const list = paginated({
    testid: "wallets",
    what: "reading wallets",
    fetchPage: (cursor) => api.wallets(prefix, cursor),
    render: (items) =>
      table(WALLET_COLUMNS, items, {
        testid: "wallets-table",
        empty: prefix ? `No wallet's player id starts with “${prefix}”.` : "This operator has no wallets yet.",
      }),
  });
  const title = prefix ? h("span", {}, "Wallets ", h("span", { className: "muted" }, "starting with "), mono(prefix)) : "Wallets";
  return page(title, { testid: "wallets-page" }, form, list.element);
}
