// One round (a bet and what settled it): stake, payout, net, and every action decided on the bet,
// applied or refused, in commit order.

import { api } from "./api.js";
import { amount, badge, fields, h, link, loading, mono, none, page, route, table, time } from "./dom.js";
import { problem } from "./parts.js";

function entryColumns(playerId, currency) {
  return [
    { label: "Time (UTC)", cell: (e) => time(e.at) },
    { label: "Transaction", cell: (e) => link(route("wallets", playerId, "tx", e.transactionId), mono(e.transactionId), { testid: "round-tx-link" }) },
    { label: "Type", cell: (e) => h("span", { className: "type" }, e.type) },
    { label: "Amount", className: "num", cell: (e) => amount(e.amount, currency) },
    { label: "Status", cell: (e) => badge(e.status) },
    { label: "Code", cell: (e) => (e.code ? mono(e.code) : none()) },
    { label: "Protocol", cell: (e) => e.protocol ?? none() },
    { label: "Request id", cell: (e) => (e.requestId ? mono(e.requestId, { className: "mono small" }) : none()) },
  ];
}

function show(playerId, round) {
  return h(
    "div",
    {},
    fields(
      [
        ["State", badge(round.state), "round-state"],
        ["Stake", amount(round.stake, round.currency), "round-stake"],
        ["Payout", amount(round.payout, round.currency), "round-payout"],
        ["Net", amount(round.net, round.currency), "round-net"],
        ["Opened (UTC)", time(round.openedAt)],
        ["Closed (UTC)", time(round.closedAt)],
      ],
      { testid: "round-detail" },
    ),
    h("h2", {}, "Actions on this bet"),
    table(entryColumns(playerId, round.currency), round.entries ?? [], { testid: "round-entries", empty: "No action recorded." }),
  );
}

export function roundView(playerId, betId) {
  const body = h("div", {}, loading());
  api.round(playerId, betId).then(
    (round) => body.replaceChildren(show(playerId, round)),
    (error) => body.replaceChildren(problem(error, "reading wallets")),
  );
  return page(
    h("span", {}, "Round ", mono(betId)),
    {
      crumbs: [
        ["Wallets", "#/wallets"],
        [playerId, route("wallets", playerId)],
      ],
      testid: "round-page",
    },
    body,
  );
}
