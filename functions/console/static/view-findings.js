// Findings: what the stream verifier found as entries were committed (and, shared with a run's page, how
// a finding is shown).

import { api } from "./api.js";
import { badge, h, link, mono, none, page, route, table, time } from "./dom.js";
import { paginated } from "./parts.js";

export const FINDING_COLUMNS = [
  { label: "Kind", cell: (f) => badge(f.kind) },
  { label: "Player", cell: (f) => (f.playerId ? link(route("wallets", f.playerId), mono(f.playerId), { testid: "finding-wallet-link" }) : none()) },
  { label: "Version", className: "num", cell: (f) => (f.version === null || f.version === undefined ? none() : String(f.version)) },
  {
    label: "Transaction",
    cell: (f) =>
      f.transactionId && f.playerId
        ? link(route("wallets", f.playerId, "tx", f.transactionId), mono(f.transactionId))
        : none(),
  },
  { label: "Action", cell: (f) => f.action ?? none() },
  { label: "Detail", className: "detail", cell: (f) => f.detail || none() },
  { label: "Found (UTC)", cell: (f) => time(f.foundAt) },
];

export function findingsView() {
  const list = paginated({
    testid: "findings",
    what: "reading reconciliation findings",
    fetchPage: (cursor) => api.findings(cursor),
    render: (items) =>
      table(FINDING_COLUMNS, items, { testid: "findings-table", empty: "The stream verifier has found nothing: every committed entry checked out." }),
  });
  return page(
    "Findings",
    { testid: "findings-page" },
    h(
      "p",
      { className: "lede" },
      "What the stream verifier found as each entry was committed: an entry's arithmetic, its hash, its link to the previous version, each wallet image against its last entry. A full audit's findings are on its ",
      link("#/reconciliation", "run"),
      ".",
    ),
    list.element,
  );
}
