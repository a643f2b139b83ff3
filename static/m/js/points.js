// The points history, newest first, a page at a time.
import { api, apiPath } from "./api.js";
import { formatDateTime } from "./i18n.js";
import { el, loadInto, requireSignIn } from "./ui.js";

const list = document.getElementById("entries");
const more = document.getElementById("more");
let next = "me/points";

function entry(item) {
  const sign = item.amount > 0 ? "plus" : "minus";
  return el(
    "li",
    { class: "entry" },
    el("div", {}, el("p", { text: item.description }), el("p", { class: "muted small", text: formatDateTime(item.created_at) })),
    el("p", { class: `amount ${sign}`, text: item.amount > 0 ? `+${item.amount}` : String(item.amount) }),
  );
}

async function load() {
  const page = await api(next);
  list.append(...page.results.map(entry));
  next = page.next ? apiPath(page.next) : null;
  more.hidden = !next;
  return list.children.length === 0 ? "empty" : "ready";
}

more.addEventListener("click", () => loadInto(document.getElementById("history"), load));
if (requireSignIn()) loadInto(document.getElementById("history"), load);
