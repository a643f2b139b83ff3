// The words the scripts show, in the page's language. The server picks the language from
// the browser's (Accept-Language: Simplified Chinese first, English when the browser
// prefers it), writes it on <html lang>, and puts the translated words in #m-messages.
const words = JSON.parse(document.getElementById("m-messages")?.textContent || "{}");

export const language = document.documentElement.lang || "zh-hans";

export function t(key, params = {}) {
  const text = words[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

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
