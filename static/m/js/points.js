// The points history, newest first, a page at a time.
import { formatDateTime } from "./i18n.js";
import { el, pagedList, requireSignIn } from "./ui.js";

function entry(item) {
  const sign = item.amount > 0 ? "plus" : "minus";
  return el(
    "li",
    { class: "entry" },
    el("div", {}, el("p", { text: item.description }), el("p", { class: "muted small", text: formatDateTime(item.created_at) })),
    el("p", { class: `amount ${sign}`, text: item.amount > 0 ? `+${item.amount}` : String(item.amount) }),
  );
}

if (requireSignIn()) pagedList(document.getElementById("history"), "me/points", entry);
