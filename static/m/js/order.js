// One order: its lines and sums, its status; an order awaiting payment can be cancelled.
import { api } from "./api.js";
import { formatDateTime, t } from "./i18n.js";
import { announce, el, loadInto, requireSignIn } from "./ui.js";

const section = document.getElementById("order");
const orderNo = section.dataset.orderNo;
const cancel = document.getElementById("cancel");
const text = (id, value) => {
  document.getElementById(id).textContent = value;
};

function show(order) {
  text("order-status", t(`order_${order.status}`));
  text("order-store", order.store);
  text("order-time", formatDateTime(order.created_at));
  document.getElementById("lines").replaceChildren(
    ...order.lines.map((line) =>
      el(
        "li",
        { class: "entry" },
        el("span", { text: `${line.name} ${t("quantity", { quantity: line.quantity })}` }),
        el("strong", { text: `¥${line.paid}` }),
      ),
    ),
  );
  text("subtotal", `¥${order.subtotal}`);
  text("member-discount", `-¥${order.member_discount}`);
  text("coupon-discount", `-¥${order.coupon_discount}`);
  text("points-deduction", `-¥${order.points_deduction}`);
  text("payable", `¥${order.payable}`);
  text("refunded", `¥${order.refunded_amount}`);
  text("earned", order.points_earned ? t("points_earned", { points: order.points_earned }) : "");
  cancel.hidden = order.status !== "created";
}

cancel.addEventListener("click", async () => {
  cancel.disabled = true;
  try {
    show(await api(`orders/${encodeURIComponent(orderNo)}/cancel`, { method: "POST" }));
    announce(t("cancelled"));
  } catch (error) {
    announce(error.message, { alert: true });
  } finally {
    cancel.disabled = false;
  }
});

if (requireSignIn()) loadInto(section, async () => show(await api(`orders/${encodeURIComponent(orderNo)}`)));
