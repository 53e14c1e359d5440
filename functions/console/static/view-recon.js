// Reconciliation: the runs (newest first), a full audit started on demand, and one run with its findings.

import { api } from "./api.js";
import { badge, fields, h, link, loading, mono, page, pairs, route, table, time } from "./dom.js";
import { paginated, problem } from "./parts.js";
import { FINDING_COLUMNS } from "./view-findings.js";

const UNFINISHED = new Set(["pending", "running"]);

function total(counts) {
  return Object.values(counts ?? {}).reduce((sum, count) => sum + Number(count || 0), 0);
}

const RUN_COLUMNS = [
  { label: "Run", cell: (r) => link(route("reconciliation", r.runId), mono(r.runId), { testid: "run-link" }) },
  { label: "Type", cell: (r) => (r.mode ? `${r.type} · ${r.mode}` : r.type) },
  { label: "Status", cell: (r) => badge(r.status) },
  { label: "Started (UTC)", cell: (r) => time(r.createdAt) },
  { label: "Completed (UTC)", cell: (r) => time(r.completedAt) },
  { label: "Findings", className: "num", cell: (r) => (UNFINISHED.has(r.status) ? "…" : String(total(r.counts))) },
];

export function runsView() {
  const said = h("div", {});
  const list = paginated({
    testid: "runs",
    what: "reconciliation",
    fetchPage: (cursor) => api.runs(cursor),
    unfinished: (data) => (data.items ?? []).some((run) => UNFINISHED.has(run.status)),
    render: (items) => table(RUN_COLUMNS, items, { testid: "runs-table", empty: "No reconciliation run yet." }),
  });
  const start = h("button", { id: "start-audit", type: "button", className: "button primary" }, "Start a full audit");
  start.addEventListener("click", async () => {
    start.disabled = true;
    said.replaceChildren();
    try {
      const started = await api.startAudit();
      said.replaceChildren(
        h("p", { className: "notice notice-good", role: "status", testid: "audit-started" }, "Full audit ", link(route("reconciliation", started.runId), mono(started.runId)), " started."),
      );
      await list.restart();
    } catch (error) {
      said.replaceChildren(problem(error, "starting a reconciliation"));
    } finally {
      start.disabled = false;
    }
  });
  return page(
    "Reconciliation",
    { testid: "runs-page", actions: start },
    h(
      "p",
      { className: "lede" },
      "A full audit recomputes every wallet's balance from its entries and verifies each hash chain; the hourly audit does the same from each wallet's last checkpoint. Provider reports are matched against the ledger.",
    ),
    said,
    list.element,
  );
}

function runSummary(run) {
  return h(
    "div",
    {},
    fields(
      [
        ["Status", badge(run.status), "run-status"],
        ["Type", run.mode ? `${run.type} · ${run.mode}` : run.type, "run-type"],
        ["Started (UTC)", time(run.createdAt)],
        ["Completed (UTC)", time(run.completedAt)],
        run.s3Key ? ["Report", mono(run.s3Key)] : null,
        run.resultsKey ? ["Results", mono(run.resultsKey)] : null,
        run.walk ? ["Walk", pairs(run.walk)] : null,
        run.error ? ["Error", h("span", { className: "error-text" }, run.error)] : null,
        ["Findings by kind", UNFINISHED.has(run.status) ? "…" : pairs(run.counts), "run-counts"],
      ],
      { testid: "run-detail" },
    ),
  );
}

export function runView(runId) {
  const head = h("div", {}, loading());
  const findings = paginated({
    testid: "run-findings",
    what: "reconciliation",
    // A run answers with a page of its findings: {..., findings, nextCursor}.
    fetchPage: async (cursor) => {
      const run = await api.run(runId, cursor);
      return { ...run, items: run.findings ?? [] };
    },
    onData: (run) => head.replaceChildren(runSummary(run)),
    // The run's own refusal (not found, a scope) shows in the findings' place.
    onError: () => head.replaceChildren(),
    unfinished: (run) => UNFINISHED.has(run.status),
    render: (items, run) =>
      table(FINDING_COLUMNS, items, {
        testid: "run-findings-table",
        empty: UNFINISHED.has(run.status) ? "The run is not finished yet." : "No findings: the ledger and the balances agree.",
      }),
  });
  return page(
    h("span", {}, "Run ", mono(runId)),
    { crumbs: [["Reconciliation", "#/reconciliation"]], testid: "run-page" },
    head,
    h("h2", {}, "Findings"),
    findings.element,
  );
}
