/**
 * The member's token and the one way the pages talk to Huiji: /api/v1/ on this origin.
 *
 * The token is kept in localStorage, under this origin only. localStorage rather than
 * sessionStorage: a member who scans a store's poster next week opens a new page in
 * WeChat's browser, and sessionStorage would have signed them out each time. Rather than
 * a cookie: nothing sends it by itself, so no other site can make the browser use it
 * (no CSRF), and it goes out only in the Authorization header of the requests below, whose
 * addresses are always "/api/v1/…" on this origin. The pages' Content-Security-Policy lets
 * only this site's own scripts run and connect only to this site, so no other script can
 * read it or carry it away. Sign-out revokes it on the server (auth/logout) and forgets it.
 */
import { language, t } from "./i18n.js";

const TOKEN_KEY = "huiji.member.token";
const BASE = "/api/v1/";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function token() {
  return localStorage.getItem(TOKEN_KEY);
}

export function remember(value) {
  localStorage.setItem(TOKEN_KEY, value);
}

export function forget() {
  localStorage.removeItem(TOKEN_KEY);
}

// A promoter's link opened by a member already signed in: the code waits in this tab for
// their next online order, which carries it (`promoter_code`) and binds them by HQ's rule.
const PROMOTER_KEY = "huiji.member.promoter";

export function promoterCode() {
  return sessionStorage.getItem(PROMOTER_KEY) || "";
}

export function promoterKeep(code) {
  sessionStorage.setItem(PROMOTER_KEY, code);
}

export function promoterForget() {
  sessionStorage.removeItem(PROMOTER_KEY);
}

/** A fresh Idempotency-Key: one per intent (a tap), reused when that intent is retried. */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// This browser's device id, sent with every sign-in: a random id made once and kept here
// (signing out keeps it), by which referrals notice one device signing up many friends.
const DEVICE_KEY = "huiji.device";

export function deviceId() {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    id = newKey();
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

/** The address of an API page link (a list's `next`) as a path under /api/v1/. */
export function apiPath(url) {
  const address = new URL(url, location.origin);
  if (address.origin !== location.origin || !address.pathname.startsWith(BASE)) {
    throw new ApiError(0, "error", t("error"));
  }
  return address.pathname.slice(BASE.length) + address.search;
}

/**
 * Call `path` (relative to /api/v1/). Writes carry an Idempotency-Key (the caller's, or a
 * new one). Answers the parsed body (null for 204, a Blob with `blob: true`); throws an
 * ApiError with the API's {code, message}, in the member's language, otherwise.
 */
export async function api(path, { method = "GET", body, idempotencyKey, blob = false } = {}) {
  // Only ever below /api/v1/ on this origin: no scheme, no absolute path, no "..".
  if (/^[a-z]+:|^\/|\/\/|(^|\/)\.\.?(\/|$)/i.test(path)) {
    throw new Error(`not an API path: ${path}`);
  }
  const headers = { Accept: blob ? "*/*" : "application/json", "Accept-Language": language };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (method !== "GET") headers["Idempotency-Key"] = idempotencyKey || newKey();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      redirect: "error",
    });
  } catch {
    throw new ApiError(0, "offline", t("offline"));
  }
  if (response.status === 401 && bearer) forget();
  if (!response.ok) {
    let answer = {};
    try {
      answer = await response.json();
    } catch {
      answer = {};
    }
    // A refused input names what was wrong with each field: that is what the member needs.
    const details = Object.values(answer.fields || {}).flat();
    const message = details.length ? details.join(" ") : answer.message || t("error");
    throw new ApiError(response.status, answer.code || "error", message);
  }
  if (response.status === 204) return null;
  return blob ? response.blob() : response.json();
}
