// Pieces every view shares: how a refusal is shown, and a paginated table driven by nextCursor.

import { ApiError } from "./api.js";
import { h, loading, notice } from "./dom.js";

const REFRESH_MS = 2000;
let keyRefused = () => {};

/** What to do when the gateway stops accepting the key mid-session (revoked, expired): set by app.js. */
export function onKeyRefused(handler) {
  keyRefused = handler;
}

/** A refusal as a sentence: a missing scope says what the key may not do, anything else its message.
 * ``what`` completes "this key's scopes do not allow ...", e.g. "reading the audit log". */
export function problem(error, what) {
  if (error instanceof ApiError && error.keyRefused) {
    keyRefused();
    return notice("This API key is no longer accepted. Sign in again.", "bad", { testid: "error" });
  }
  if (error instanceof ApiError && (error.code === "forbidden" || error.status === 403)) {
    return h(
      "div",
      { className: "notice notice-warn", role: "alert", testid: "forbidden" },
      h("strong", {}, `This key's scopes do not allow ${what}.`),
      h("span", { className: "notice-detail" }, ` ${error.message}`),
    );
  }
  const message = error instanceof ApiError ? error.message : `Unexpected error: ${error?.message ?? error}`;
  return notice(message, "bad", { testid: "error" });
}

/**
 * A paginated table: ``fetchPage(cursor)`` answers {items, nextCursor}; ``render(items, data)`` turns a
 * page into a node. Previous / Next walk the cursors seen so far (the API's cursors only go forward).
 * Answers that arrive after a newer request was made are dropped. ``onData(data)`` and ``onError(error)``
 * see each answer; while ``unfinished(data)`` holds (a run still going), the page is fetched again every
 * 2 s, as long as it is on the screen.
 */
export function paginated({ fetchPage, render, testid, what, onData, onError, unfinished }) {
  const body = h("div", { className: "paged-body" }, loading());
  const previous = h("button", { type: "button", className: "button", text: "Previous page", testid: `${testid}-prev`, disabled: true });
  const next = h("button", { type: "button", className: "button", text: "Next page", testid: `${testid}-next`, disabled: true });
  const where = h("span", { className: "page-number", testid: `${testid}-page` }, "");
  const element = h("div", { className: "paged", testid }, body, h("div", { className: "pager" }, previous, where, next));

  let cursors = [null];
  let index = 0;
  let latest = 0;
  let timer = null;

  async function load(at) {
    const ticket = ++latest;
    clearTimeout(timer);
    previous.disabled = next.disabled = true;
    element.setAttribute("aria-busy", "true");
    try {
      const data = await fetchPage(cursors[at]);
      if (ticket !== latest) return;
      index = at;
      cursors = cursors.slice(0, at + 1);
      if (data.nextCursor) cursors.push(data.nextCursor);
      element.classList.remove("failed");
      if (onData) onData(data);
      body.replaceChildren(render(data.items ?? [], data));
      where.textContent = `Page ${at + 1}`;
      previous.disabled = at === 0;
      next.disabled = !data.nextCursor;
      if (unfinished && unfinished(data)) {
        timer = setTimeout(() => element.isConnected && ticket === latest && load(at), REFRESH_MS);
      }
    } catch (error) {
      if (ticket !== latest) return;
      if (onError) onError(error);
      element.classList.toggle("failed", at === 0);
      body.replaceChildren(problem(error, what));
      previous.disabled = index === 0;
    } finally {
      if (ticket === latest) element.removeAttribute("aria-busy");
    }
  }

  previous.addEventListener("click", () => load(Math.max(0, index - 1)));
  next.addEventListener("click", () => load(index + 1));
  load(0);
  return {
    element,
    /** The page shown, again (after a change). */
    reload: () => load(index),
    /** Back to the first page. */
    restart: () => {
      cursors = [null];
      return load(0);
    },
  };
}
