// The native API, same origin, JSON, with the signed-in key as a bearer token. The key lives in this
// tab's sessionStorage only: never in a URL, a cookie, localStorage or a log line.

const STORAGE_KEY = "kassa.console.apiKey";
// Where the API is: whatever precedes /console/ in this module's own address ("" on `make run`, "/prod"
// behind a named API Gateway stage), so every call goes to the origin and stage the console came from.
export const BASE = new URL(import.meta.url).pathname.replace(/\/console\/[^/]*$/, "");
export const PAGE_SIZE = 25;

export function storedKey() {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function keepKey(key) {
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function forgetKey() {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** A refused call: the HTTP status, Kassa's stable code and a sentence for a person. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }

  /** The gateway refused the key itself (missing, unknown, revoked, expired): not a missing scope. */
  get keyRefused() {
    return this.code === "key_refused";
  }
}

function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params ?? {})) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

const segment = encodeURIComponent;

async function call(method, path, { params, body, key } = {}) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${key ?? storedKey() ?? ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(BASE + path + query(params), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      redirect: "error",
    });
  } catch {
    throw new ApiError(0, "unreachable", "Kassa could not be reached. Check the connection and try again.");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (response.ok) return data;
  // Kassa's own refusals are problem+json with a code; the gateway refuses a key it does not accept
  // with 401 {"message": "Unauthorized"} (no key) or 403 {"message": "Forbidden"} (a refused key).
  const code = data && typeof data.code === "string" ? data.code : null;
  if (response.status === 401 || (response.status === 403 && !code)) {
    throw new ApiError(response.status, "key_refused", "This API key was not accepted.");
  }
  const message = (data && (data.detail || data.title || data.message)) || `The request failed (HTTP ${response.status}).`;
  throw new ApiError(response.status, code ?? `http_${response.status}`, String(message));
}

const page = (cursor, limit = PAGE_SIZE) => ({ limit, cursor });

export const api = {
  /** Whether a key is accepted, with the cheapest read there is. A valid key lacking wallets:read is
   * still a key: only the gateway's refusal means it is not. */
  async verify(key) {
    try {
      await call("GET", "/v1/wallets", { params: { limit: 1 }, key });
    } catch (error) {
      if (error instanceof ApiError && error.code === "forbidden") return;
      throw error;
    }
  },
  wallets: (prefix, cursor) => call("GET", "/v1/wallets", { params: { prefix, ...page(cursor) } }),
  wallet: (player) => call("GET", `/v1/wallets/${segment(player)}`),
  ledger: (player, cursor) => call("GET", `/v1/wallets/${segment(player)}/transactions`, { params: page(cursor) }),
  transaction: (player, tx) => call("GET", `/v1/wallets/${segment(player)}/transactions/${segment(tx)}`),
  round: (player, bet) => call("GET", `/v1/wallets/${segment(player)}/bets/${segment(bet)}`),
  lock: (player, reason) => call("POST", `/v1/wallets/${segment(player)}/lock`, { body: { reason } }),
  unlock: (player, reason) => call("POST", `/v1/wallets/${segment(player)}/unlock`, { body: { reason } }),
  runs: (cursor) => call("GET", "/v1/reconciliations", { params: page(cursor) }),
  run: (runId, cursor) => call("GET", `/v1/reconciliations/${segment(runId)}`, { params: page(cursor) }),
  startAudit: () => call("POST", "/v1/reconciliations", { body: { type: "audit" } }),
  findings: (cursor) => call("GET", "/v1/findings", { params: page(cursor) }),
  anomalies: (cursor) => call("GET", "/v1/anomalies", { params: page(cursor) }),
  anomaly: (anomalyId) => call("GET", `/v1/anomalies/${segment(anomalyId)}`),
  auditLog: (action, cursor) => call("GET", "/v1/audit-log", { params: { action, ...page(cursor) } }),
  keys: (cursor) => call("GET", "/v1/keys", { params: page(cursor) }),
};
