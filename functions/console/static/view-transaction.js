// One transaction: its ledger entry, where it came from (request, trace, protocol) and its place in the
// wallet's hash chain.

import { api } from "./api.js";
import { amount, badge, fields, h, link, loading, mono, page, route, time } from "./dom.js";
import { problem } from "./parts.js";
import { signed } from "./view-wallet.js";

function detail(playerId, tx) {
  const round = tx.betId ? link(route("wallets", playerId, "bets", tx.betId), mono(tx.betId), { testid: "tx-bet-link" }) : null;
  return fields(
    [
      ["Transaction", mono(tx.transactionId), "tx-id"],
      ["Type", h("span", { className: "type" }, tx.type), "tx-type"],
      ["Status", badge(tx.status), "tx-status"],
      tx.errorCode ? ["Refused with", mono(tx.errorCode), "tx-error"] : null,
      ["Amount", amount(signed(tx), tx.currency), "tx-amount"],
      ["Balance moved", tx.balance],
      ["Balance before", amount(tx.balanceBefore, tx.currency)],
      ["Balance after", amount(tx.balanceAfter, tx.currency), "tx-balance-after"],
      ["Round", round],
      ["Reason", tx.reason],
      ["Version", tx.version === null || tx.version === undefined ? null : String(tx.version), "tx-version"],
      ["Committed (UTC)", time(tx.createdAt)],
      ["Protocol", tx.protocol],
      ["Request id", tx.requestId ? mono(tx.requestId) : null],
      ["Trace id", tx.traceId ? mono(tx.traceId) : null],
      ["Correlation id", tx.correlationId ? mono(tx.correlationId) : null],
      ["Hash", tx.hash ? mono(tx.hash, { className: "mono hash" }) : null],
      ["Previous hash", tx.previousHash ? mono(tx.previousHash, { className: "mono hash" }) : null],
    ],
    { testid: "tx-detail" },
  );
}

export function transactionView(playerId, transactionId) {
  const body = h("div", {}, loading());
  api.transaction(playerId, transactionId).then(
    (tx) => body.replaceChildren(detail(playerId, tx)),
    (error) => body.replaceChildren(problem(error, "reading wallets")),
  );
  return page(
    h("span", {}, "Transaction ", mono(transactionId)),
    {
      crumbs: [
        ["Wallets", "#/wallets"],
        [playerId, route("wallets", playerId)],
      ],
      testid: "tx-page",
    },
    body,
  );
}
