// My orders, newest first, a page at a time; each opens its detail.
import { formatDateTime, t } from "./i18n.js";
import { el, pagedList, requireSignIn } from "./ui.js";

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

if (requireSignIn()) pagedList(document.getElementById("orders"), "me/orders", summary);
