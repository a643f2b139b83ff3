// The words the scripts show, in the page's language. The server picks the language from
// the browser's (Accept-Language: Simplified Chinese first, English when the browser
// prefers it), writes it on <html lang>, and puts the translated words in #m-messages.
const words = JSON.parse(document.getElementById("m-messages")?.textContent || "{}");

export const language = document.documentElement.lang || "zh-hans";

export function t(key, params = {}) {
  const text = words[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** The translated label of a value the API sends (`order_paid`), or the value itself for
 * one this page does not know yet: a newer server may send new statuses. */
export function label(prefix, value) {
  return words[`${prefix}_${value}`] ?? value;
}

/** Money as the API sends it (a decimal string in yuan): "¥128.00". */
export const yuan = (value) => `¥${value}`;

export function formatDate(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleDateString(language === "en" ? "en-GB" : "zh-CN", {
    timeZone: "Asia/Shanghai",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  });
}

export function formatDateTime(iso) {
  return new Date(iso).toLocaleString(language === "en" ? "en-GB" : "zh-CN", {
    timeZone: "Asia/Shanghai",
    dateStyle: "medium",
    timeStyle: "short",
  });
}
