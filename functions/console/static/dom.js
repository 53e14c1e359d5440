// DOM helpers. Every piece of data reaches the page as a text node (textContent), never as markup: what
// the API answers is operator and player data, and none of it may ever be parsed as HTML.

/** h("a", {href, className, text, testid, on: {click}}, ...children): an element. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") element.textContent = String(value);
    else if (name === "className") element.className = value;
    else if (name === "testid") element.dataset.testid = value;
    else if (name === "on") for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    else if (name in element && typeof value !== "string") element[name] = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A link inside the console: a hash route, its segments encoded. */
export function route(...segments) {
  return "#/" + segments.map((segment) => encodeURIComponent(segment)).join("/");
}

export function link(href, text, props = {}) {
  return h("a", { href, ...props }, text);
}

/** An absent value. */
export function none(text = "—") {
  return h("span", { className: "muted" }, text);
}

/** An identifier, in monospace. */
export function mono(text, props = {}) {
  return h("span", { className: "mono", ...props }, text ?? "—");
}

/** A decimal string in currency units, exactly as the API has it: trailing zeros beyond two decimals
 * trimmed, the integer part grouped by thousands. Pure string work: never a float. */
export function formatAmount(value) {
  if (value === null || value === undefined || value === "") return "—";
  const match = /^([+-]?)(\d+)(?:\.(\d+))?$/.exec(String(value));
  if (!match) return String(value);
  const [, sign, whole, fraction = ""] = match;
  let decimals = fraction.replace(/0+$/, "");
  if (decimals.length < 2) decimals = decimals.padEnd(2, "0");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign === "-" ? "−" : sign}${grouped}.${decimals}`;
}

export function amount(value, currency, props = {}) {
  const text = formatAmount(value);
  const negative = String(value ?? "").startsWith("-");
  return h(
    "span",
    { className: negative ? "amount negative" : "amount", ...props },
    text,
    currency && text !== "—" ? h("span", { className: "currency" }, ` ${currency}`) : null,
  );
}

/** An ISO 8601 instant as "YYYY-MM-DD HH:MM:SS" (UTC, as the API gives it); the full value on hover. */
export function time(iso) {
  if (!iso) return none();
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return h("time", { dateTime: iso, title: iso, className: "time" }, match ? `${match[1]} ${match[2]}` : iso);
}

const TONES = {
  active: "good", completed: "good", applied: "good", settled: "good", matched: "good",
  locked: "bad", failed: "bad", rejected: "bad", high: "bad",
  pending: "warn", running: "warn", medium: "warn", open: "info",
};

/** A status, a severity, a kind: a small coloured label. */
export function badge(value, props = {}) {
  const text = value ?? "—";
  const tone = TONES[text] ?? (/mismatch|missing|broken|hash|arithmetic|deleted/.test(text) ? "bad" : "neutral");
  return h("span", { className: `badge badge-${tone}`, ...props }, text);
}

/** table([{label, cell: (row) => node, className}], rows, {testid, empty}) */
export function table(columns, rows, { testid, empty = "Nothing to show." } = {}) {
  if (!rows.length) return h("p", { className: "empty", testid: testid && `${testid}-empty` }, empty);
  const head = h("tr", {}, columns.map((column) => h("th", { className: column.className, scope: "col" }, column.label)));
  const body = rows.map((row) =>
    h("tr", { testid: testid && `${testid}-row` }, columns.map((column) => h("td", { className: column.className }, column.cell(row)))),
  );
  return h("div", { className: "table-wrap" }, h("table", { testid }, h("thead", {}, head), h("tbody", {}, body)));
}

/** A list of label / value pairs (a record's fields). */
export function fields(pairs, props = {}) {
  return h(
    "dl",
    { className: "fields", ...props },
    pairs.filter(Boolean).map(([label, value, testid]) => [
      h("dt", {}, label),
      h("dd", { testid }, value === null || value === undefined || value === "" ? none() : value),
    ]),
  );
}

/** A page: its breadcrumb trail, title, and content. */
export function page(title, { crumbs = [], actions = null, testid } = {}, ...content) {
  const trail = crumbs.length
    ? h("nav", { className: "crumbs", "aria-label": "Breadcrumb" }, crumbs.map(([text, href]) => [link(href, text), h("span", { className: "sep" }, "›")]))
    : null;
  return h(
    "section",
    { className: "page", testid },
    trail,
    h("header", { className: "page-head" }, h("h1", { testid: "page-title" }, title), actions),
    content,
  );
}

export function notice(text, tone = "info", props = {}) {
  return h("p", { className: `notice notice-${tone}`, role: tone === "bad" ? "alert" : "status", ...props }, text);
}

export function loading() {
  return h("p", { className: "loading", testid: "loading" }, "Loading…");
}

/** Key / value pairs of an object (details, values), as text. */
export function pairs(object) {
  const entries = Object.entries(object ?? {});
  if (!entries.length) return none();
  return h(
    "ul",
    { className: "pairs" },
    entries.map(([key, value]) => h("li", {}, h("span", { className: "pair-key" }, key), " ", plain(value))),
  );
}

function plain(value) {
  if (value === null || value === undefined) return none();
  if (Array.isArray(value)) return value.map((item) => (typeof item === "object" ? JSON.stringify(item) : String(item))).join(", ");
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
