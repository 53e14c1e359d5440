// Kassa's back-office console: sign-in, the shell (top bar, navigation) and the hash router.
// No framework and no build step: ES modules served as they are, under a CSP that allows this origin only.

import { ApiError, api, forgetKey, keepKey, storedKey } from "./api.js";
import { h, notice } from "./dom.js";
import { onKeyRefused } from "./parts.js";
import { anomaliesView, anomalyView } from "./view-anomalies.js";
import { auditLogView } from "./view-audit.js";
import { findingsView } from "./view-findings.js";
import { keysView } from "./view-keys.js";
import { runView, runsView } from "./view-recon.js";
import { roundView } from "./view-round.js";
import { transactionView } from "./view-transaction.js";
import { walletView } from "./view-wallet.js";
import { walletsView } from "./view-wallets.js";

const root = document.getElementById("root");

const NAVIGATION = [
  ["wallets", "Wallets", "#/wallets"],
  ["reconciliation", "Reconciliation", "#/reconciliation"],
  ["findings", "Findings", "#/findings"],
  ["anomalies", "Anomalies", "#/anomalies"],
  ["audit-log", "Audit log", "#/audit-log"],
  ["keys", "Keys", "#/keys"],
];

// [pattern of the hash path, view, navigation section]; captured segments are URI-decoded.
const ROUTES = [
  [/^\/wallets$/, walletsView, "wallets"],
  [/^\/wallets\/([^/]+)$/, walletView, "wallets"],
  [/^\/wallets\/([^/]+)\/tx\/([^/]+)$/, transactionView, "wallets"],
  [/^\/wallets\/([^/]+)\/bets\/([^/]+)$/, roundView, "wallets"],
  [/^\/reconciliation$/, runsView, "reconciliation"],
  [/^\/reconciliation\/([^/]+)$/, runView, "reconciliation"],
  [/^\/findings$/, findingsView, "findings"],
  [/^\/anomalies$/, anomaliesView, "anomalies"],
  [/^\/anomalies\/([^/]+)$/, anomalyView, "anomalies"],
  [/^\/audit-log$/, auditLogView, "audit-log"],
  [/^\/keys$/, keysView, "keys"],
];

function logo() {
  return h("img", { src: new URL("logo.svg", import.meta.url).pathname, alt: "", className: "logo", width: 28, height: 28 });
}

// -- sign-in ---------------------------------------------------------------------------------------

function signIn(message) {
  const key = h("input", {
    id: "signin-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "Paste the key",
    required: true,
    "aria-describedby": "signin-help",
  });
  const error = h("div", { id: "signin-error", className: "signin-error", role: "alert" });
  if (message) error.append(notice(message, "info"));
  const submit = h("button", { id: "signin-submit", type: "submit", className: "button primary" }, "Sign in");
  // No name on the input and no action on the form: the key can never be serialised into a URL.
  const form = h(
    "form",
    { className: "signin-form", testid: "signin-form", novalidate: true },
    h("label", { for: "signin-key" }, "Operator API key"),
    key,
    h("p", { id: "signin-help", className: "hint" }, "Kept in this browser tab only, until you sign out or close it."),
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = key.value.trim();
    if (!value) {
      error.replaceChildren(notice("Enter an API key.", "bad"));
      return;
    }
    submit.disabled = true;
    error.replaceChildren();
    try {
      await api.verify(value);
      keepKey(value);
      key.value = "";
      render();
    } catch (failure) {
      const text = failure instanceof ApiError ? failure.message : "The key could not be checked.";
      error.replaceChildren(notice(text, "bad", { testid: "signin-refused" }));
      submit.disabled = false;
      key.select();
    }
  });
  root.replaceChildren(
    h(
      "main",
      { className: "signin", testid: "signin" },
      h("div", { className: "signin-card" }, h("div", { className: "brand" }, logo(), h("span", {}, "Kassa console")), form),
    ),
  );
  key.focus();
}

function signOut(message) {
  forgetKey();
  signIn(message);
}

// -- the shell and the router ----------------------------------------------------------------------

let shell = null;

function buildShell() {
  const links = NAVIGATION.map(([section, label, href]) =>
    h("a", { href, className: "nav-link", testid: `nav-${section}`, "data-section": section }, label),
  );
  const view = h("main", { id: "view", className: "view", tabIndex: -1 });
  const signOutButton = h("button", { id: "signout", type: "button", className: "button subtle" }, "Sign out");
  signOutButton.addEventListener("click", () => signOut("Signed out."));
  const element = h(
    "div",
    { className: "shell" },
    h("header", { className: "topbar" }, h("a", { href: "#/wallets", className: "brand" }, logo(), h("span", {}, "Kassa console")), signOutButton),
    h("nav", { className: "sidebar", "aria-label": "Sections" }, links),
    view,
  );
  return { element, view, links };
}

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/wallets";
  const [path, search = ""] = raw.split("?");
  return { path, params: new URLSearchParams(search) };
}

function render() {
  if (!storedKey()) {
    shell = null;
    signIn();
    return;
  }
  if (!shell || !shell.element.isConnected) {
    shell = buildShell();
    root.replaceChildren(shell.element);
  }
  const { path, params } = parseHash();
  let content = null;
  let section = null;
  for (const [pattern, view, owner] of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    try {
      const args = match.slice(1).map(decodeURIComponent);
      content = view(...args, params);
      section = owner;
    } catch (error) {
      if (!(error instanceof URIError)) throw error;
    }
    break;
  }
  if (!content) content = notFound(path);
  for (const item of shell.links) item.classList.toggle("active", item.dataset.section === section);
  shell.view.replaceChildren(content);
  shell.view.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function notFound(path) {
  return h(
    "section",
    { className: "page", testid: "not-found" },
    h("h1", {}, "No such page"),
    h("p", {}, "The console has no page at ", h("span", { className: "mono" }, path), ". ", h("a", { href: "#/wallets" }, "Go to the wallets"), "."),
  );
}

onKeyRefused(() => {
  // Shown on the sign-in form: the key stopped working (revoked, expired) while this tab had it.
  signOut("This API key is no longer accepted. Sign in again.");
});

window.addEventListener("hashchange", render);
render();
