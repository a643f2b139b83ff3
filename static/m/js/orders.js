// My orders, newest first, a page at a time; each opens its detail.
import { api, apiPath } from "./api.js";
import { formatDateTime, t } from "./i18n.js";
import { el, loadInto, requireSignIn } from "./ui.js";

const section = document.getElementById("orders");
const list = document.getElementById("order-list");
const more = document.getElementById("more");
let next = "me/orders";

function summary(order) {
  return el(
    "li",
    { "data-order": order.order_no },
    el(
      "a",
      { class: "order-link", href: `/m/orders/${encodeURIComponent(order.order_no)}` },
      el("span", { class: "entry" }, el("strong", { text: order.store }), el("strong", { text: `¥${order.payable}` })),
      el("span", { class: "muted small", text: `${t(`order_${order.status}`)} · ${formatDateTime(order.created_at)}` }),
    ),
  );
}

async function load() {
  const page = await api(next);
  list.append(...page.results.map(summary));
  next = page.next ? apiPath(page.next) : null;
  more.hidden = !next;
  return list.children.length === 0 ? "empty" : "ready";
}

more.addEventListener("click", () => loadInto(section, load));
if (requireSignIn()) loadInto(section, load);
