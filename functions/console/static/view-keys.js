// The operator's API keys (never a secret: the API has none to give). Creating and revoking stay with
// the API and the CLI.

import { api } from "./api.js";
import { h, mono, none, page, table, time } from "./dom.js";
import { paginated } from "./parts.js";

const COLUMNS = [
  { label: "Key", cell: (k) => mono(k.keyId) },
  { label: "Name", cell: (k) => k.name },
  { label: "Role", cell: (k) => k.role ?? none("custom") },
  { label: "Scopes", cell: (k) => h("span", { className: "chips" }, (k.scopes ?? []).map((scope) => h("span", { className: "chip" }, scope))) },
  { label: "Created under", cell: (k) => (k.parentKeyId ? mono(k.parentKeyId) : none()) },
  { label: "Created (UTC)", cell: (k) => time(k.createdAt) },
  { label: "Expires (UTC)", cell: (k) => (k.expiresAt ? time(k.expiresAt) : none("never")) },
];

export function keysView() {
  const list = paginated({
    testid: "keys",
    what: "listing keys (scope keys:manage)",
    fetchPage: (cursor) => api.keys(cursor),
    render: (items) => table(COLUMNS, items, { testid: "keys-table", empty: "No key." }),
  });
  return page(
    "Keys",
    { testid: "keys-page" },
    h("p", { className: "lede" }, "This operator's API keys. Keys are created and revoked with the API (POST and DELETE /v1/keys) or the kassa CLI."),
    list.element,
  );
}
