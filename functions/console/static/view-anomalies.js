// Anomalies: money that is correct and suspicious (a large win, a burst of movements, ...), newest first.

import { api } from "./api.js";
import { badge, fields, h, link, loading, mono, none, page, pairs, route, table, time } from "./dom.js";
import { paginated, problem } from "./parts.js";

function transactions(anomaly) {
  const ids = anomaly.transactionIds ?? [];
  if (!ids.length) return none();
  const shown = ids.slice(0, 3).map((id) => [link(route("wallets", anomaly.playerId, "tx", id), mono(id)), " "]);
  return h("span", {}, shown, ids.length > 3 ? h("span", { className: "muted" }, `+${ids.length - 3} more`) : null);
}

const COLUMNS = [
  { label: "Time (UTC)", cell: (a) => time(a.at) },
  { label: "Rule", cell: (a) => link(route("anomalies", a.anomalyId), a.rule, { testid: "anomaly-link" }) },
  { label: "Severity", cell: (a) => badge(a.severity) },
  { label: "Player", cell: (a) => link(route("wallets", a.playerId), mono(a.playerId)) },
  { label: "Transactions", cell: transactions },
];

export function anomaliesView() {
  const list = paginated({
    testid: "anomalies",
    what: "reading anomalies (scope audit:read)",
    fetchPage: (cursor) => api.anomalies(cursor),
    render: (items) => table(COLUMNS, items, { testid: "anomalies-table", empty: "No anomaly detected." }),
  });
  return page(
    "Anomalies",
    { testid: "anomalies-page" },
    h("p", { className: "lede" }, "Movements that are correct but suspicious, checked against the operator's thresholds as each entry is committed."),
    list.element,
  );
}

export function anomalyView(anomalyId) {
  const body = h("div", {}, loading());
  api.anomaly(anomalyId).then(
    (a) =>
      body.replaceChildren(
        fields(
          [
            ["Rule", mono(a.rule), "anomaly-rule"],
            ["Severity", badge(a.severity)],
            ["Player", link(route("wallets", a.playerId), mono(a.playerId))],
            ["Detected (UTC)", time(a.at)],
            ["Transactions", transactions(a)],
            ["Values", pairs(a.values)],
          ],
          { testid: "anomaly-detail" },
        ),
      ),
    (error) => body.replaceChildren(problem(error, "reading anomalies (scope audit:read)")),
  );
  return page(h("span", {}, "Anomaly ", mono(anomalyId)), { crumbs: [["Anomalies", "#/anomalies"]], testid: "anomaly-page" }, body);
}
