// What every page shares: its states (loading, empty, error, ready), small DOM helpers and
// the way to the sign-in page.
import { ApiError, api, apiPath, token } from "./api.js";
import { t } from "./i18n.js";

/** An element with attributes (and properties for on* handlers) and children. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

/**
 * Show one state of a section: the children of `root` marked data-state="loading",
 * "empty", "error" or "ready"; the error state shows `message` and a retry button that
 * runs `retry`.
 */
export function showState(root, state, { message, retry } = {}) {
  for (const part of root.querySelectorAll(":scope > [data-state]")) {
    part.hidden = part.dataset.state !== state;
  }
  root.setAttribute("aria-busy", state === "loading" ? "true" : "false");
  if (state === "error") {
    const part = root.querySelector(":scope > [data-state=error]");
    part.replaceChildren(
      el("p", { role: "alert", text: message || t("error") }),
      retry ? el("button", { type: "button", class: "button secondary", text: t("retry"), onclick: retry }) : null,
    );
  }
}

/** Load with `load` into `root`, showing loading, then ready or the error with a retry. */
export async function loadInto(root, load) {
  showState(root, "loading");
  try {
    const state = await load();
    showState(root, state || "ready");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      toSignIn();
      return;
    }
    showState(root, "error", { message: error.message, retry: () => loadInto(root, load) });
  }
}

/** The sign-in page, coming back here after. */
export function toSignIn() {
  const next = location.pathname + location.search;
  location.replace(`/m/login?next=${encodeURIComponent(next)}`);
}

/** A page for signed-in members: without a token, go and sign in first. */
export function requireSignIn() {
  if (token()) return true;
  toSignIn();
  return false;
}

/** Where to go after signing in: a page of the member centre, never another site. */
export function safeNext(value) {
  return value && /^\/m\/(?!\/)/.test(value) && !value.includes("\\") ? value : "/m/";
}

/** A short message in the page's status area. */
export function announce(text, { alert = false } = {}) {
  const region = document.getElementById("m-status");
  region.hidden = false;
  region.className = alert ? "status alert" : "status";
  region.textContent = text;
}

/**
 * A list read a page at a time from `first` (a path under /api/v1/), each result drawn by
 * `item` (which may be async), with the section's "show more" button while pages remain.
 * Answers a function that starts the list again from another path (a new search).
 */
export function pagedList(section, first, item) {
  const list = section.querySelector("ul");
  const more = section.querySelector("button.more");
  let next = first;
  let reading = 0;
  async function load() {
    const read = reading;
    const page = await api(next);
    if (read !== reading) return list.children.length === 0 ? "empty" : "ready";
    list.append(...(await Promise.all(page.results.map(item))));
    next = page.next ? apiPath(page.next) : null;
    more.hidden = !next;
    return list.children.length === 0 ? "empty" : "ready";
  }
  more.addEventListener("click", () => loadInto(section, load));
  function from(path) {
    reading += 1;
    next = path;
    list.replaceChildren();
    return loadInto(section, load);
  }
  from(first);
  return from;
}
