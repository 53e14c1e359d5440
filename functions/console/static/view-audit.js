// The audit log: every privileged act (who, what, on what, why), newest first, filtered by action.

import { api } from "./api.js";
import { h, link, mono, page, pairs, route, table, time } from "./dom.js";
import { paginated } from "./parts.js";

const ACTIONS = [
  "key_created",
  "key_revoked",
  "wallet_locked",
  "wallet_unlocked",
  "adjustment_applied",
  "reconciliation_started",
  "stale_bet_refunded",
  "onewallet_token_rotated",
  "settings_changed",
];

function actor(record) {
  const who = record.actor ?? {};
  if (who.keyId) return h("span", {}, who.name ? `${who.name} ` : "", mono(`key ${who.keyId}`, { className: "mono small" }));
  if (who.cli) return h("span", {}, "CLI user ", mono(who.cli));
  if (who.system) return h("span", {}, "Kassa ", mono(who.system, { className: "mono small" }));
  return pairs(who);
}

function target(record) {
  const what = record.target ?? {};
  if (what.playerId) return link(route("wallets", what.playerId), mono(what.playerId));
  if (what.runId) return link(route("reconciliation", what.runId), mono(what.runId));
  if (what.keyId) return mono(`key ${what.keyId}`);
  return pairs(what);
}

const COLUMNS = [
  { label: "Time (UTC)", cell: (r) => time(r.at) },
  {
    label: "Action",
    cell: (r) =>
      h("div", {}, mono(r.action), r.requestId ? h("div", { className: "mono small muted", title: "API Gateway request id" }, r.requestId) : null),
  },
  { label: "Actor", cell: actor },
  { label: "Target", cell: target },
  { label: "Details", className: "detail", cell: (r) => pairs(r.details) },
];

export function auditLogView(params) {
  const action = ACTIONS.includes(params.get("action")) ? params.get("action") : "";
  const select = h(
    "select",
    { id: "audit-action", "aria-label": "Action" },
    h("option", { value: "" }, "All actions"),
    ACTIONS.map((name) => h("option", { value: name, selected: name === action }, name)),
  );
  select.addEventListener("change", () => {
    location.hash = select.value ? `#/audit-log?action=${encodeURIComponent(select.value)}` : "#/audit-log";
  });
  const list = paginated({
    testid: "audit",
    what: "reading the audit log (scope audit:read)",
    fetchPage: (cursor) => api.auditLog(action, cursor),
    render: (items) => table(COLUMNS, items, { testid: "audit-table", empty: "No record." }),
  });
  return page("Audit log", { testid: "audit-page" }, h("div", { className: "toolbar" }, h("span", { className: "toolbar-label" }, "Show"), select), list.element);
}
