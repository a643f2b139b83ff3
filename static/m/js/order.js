// One order: its lines and sums, its status; an order awaiting payment can be cancelled. An
// online order also shows how it reaches the member: the pickup code and its QR code while
// the goods wait at the store, the address and tracking number of a delivery and "received"
// once shipped; and its refund requests, with the form to ask for lines or an amount back.
import { api, newKey } from "./api.js";
import { formatDateTime, label, t, yuan } from "./i18n.js";
import { announce, el, loadInto, requireSignIn } from "./ui.js";

const REFUNDABLE = ["paid", "completed", "partially_refunded"];
const OPEN_REQUESTS = ["requested", "approved"];
const section = document.getElementById("order");
const orderNo = section.dataset.orderNo;
const path = `orders/${encodeURIComponent(orderNo)}`;
const cancel = document.getElementById("cancel");
const receive = document.getElementById("receive");
const refundForm = document.getElementById("refund-form");
const text = (id, value) => {
  document.getElementById(id).textContent = value;
};
let order = null;
let qrAddress = null;
let refundKey = null; // {text, key}: a retried request sends the same key

async function show(answer) {
  order = answer;
  text("order-status", label("order", order.status));
  text("order-store", order.store);
  text("order-time", formatDateTime(order.created_at));
  document.getElementById("lines").replaceChildren(
    ...order.lines.map((line) =>
      el(
        "li",
        { class: "entry" },
        el("span", { text: `${line.name} ${t("quantity", { quantity: line.quantity })}` }),
        el("strong", { text: yuan(line.paid) }),
      ),
    ),
  );
  text("subtotal", yuan(order.subtotal));
  text("member-discount", `-${yuan(order.member_discount)}`);
  text("coupon-discount", `-${yuan(order.coupon_discount)}`);
  text("points-deduction", `-${yuan(order.points_deduction)}`);
  text("payable", yuan(order.payable));
  text("refunded", yuan(order.refunded_amount));
  text("earned", order.points_earned ? t("points_earned", { points: order.points_earned }) : "");
  cancel.hidden = order.status !== "created";
  await showFulfilment(order.fulfilment);
  showRefunds();
}

async function showFulfilment(fulfilment) {
  const part = document.getElementById("fulfilment");
  part.hidden = !fulfilment;
  if (!fulfilment) return;
  text("fulfilment-title", label("fulfilment_kind", fulfilment.type));
  text("fulfilment-status", label("fulfilment", fulfilment.status));
  const waiting = fulfilment.type === "pickup" && fulfilment.status === "to_hand_over";
  document.getElementById("pickup").hidden = !waiting;
  if (waiting) {
    const image = await api(`me/orders/${encodeURIComponent(orderNo)}/pickup.png`, { blob: true });
    if (qrAddress) URL.revokeObjectURL(qrAddress);
    qrAddress = URL.createObjectURL(image);
    const qr = document.getElementById("pickup-qr");
    qr.src = qrAddress;
    qr.alt = t("pickup_qr", { code: fulfilment.pickup_code });
    text("pickup-code", fulfilment.pickup_code);
  }
  const address = document.getElementById("address");
  address.hidden = !fulfilment.address;
  if (fulfilment.address) {
    const { name, phone, region, detail } = fulfilment.address;
    address.textContent = `${name} ${phone} · ${region} ${detail}`;
  }
  const tracking = document.getElementById("tracking");
  tracking.hidden = !fulfilment.tracking_no;
  tracking.textContent = t("tracking", { carrier: fulfilment.carrier, tracking_no: fulfilment.tracking_no });
  receive.hidden = !(fulfilment.type === "delivery" && fulfilment.status === "shipped");
}

function showRefunds() {
  const asked = order.refund_requests;
  const open = asked.some((request) => OPEN_REQUESTS.includes(request.status));
  const askable = REFUNDABLE.includes(order.status) && !open;
  document.getElementById("refunds").hidden = asked.length === 0 && !askable;
  document.getElementById("refund-list").replaceChildren(...asked.map(refundItem));
  refundForm.hidden = !askable;
  document.getElementById("refund-lines").replaceChildren(...order.lines.map(refundLine));
}

function refundItem(request) {
  const names = Object.fromEntries(order.lines.map((line) => [line.sku, line.name]));
  const what = request.lines.length
    ? request.lines.map((line) => `${names[line.sku] || line.sku} ${t("quantity", { quantity: line.quantity })}`).join(", ")
    : "";
  return el(
    "li",
    { "data-request": request.id },
    el("p", { class: "entry" }, el("strong", { class: "refund-status", text: label("refund_status", request.status) }), el("strong", { text: yuan(request.amount) })),
    what ? el("p", { class: "small", text: what }) : null,
    el("p", { class: "small", text: [label("refund_reason", request.reason), request.reason_text].filter(Boolean).join(": ") }),
    request.note ? el("p", { class: "small note", text: t("store_note", { note: request.note }) }) : null,
    el("p", { class: "muted small", text: formatDateTime(request.created_at) }),
    request.status === "requested"
      ? el("button", { type: "button", class: "button secondary", text: t("withdraw"), onclick: (event) => withdraw(event.target, request) })
      : null,
  );
}

function refundLine(line, index) {
  const id = `refund-line-${index}`;
  return el(
    "div",
    { class: "refund-line" },
    el("label", { for: id, text: t("refund_how_many", { name: line.name }) }),
    el(
      "select",
      { id, "data-sku": line.sku },
      ...Array.from({ length: line.quantity + 1 }, (_, count) => el("option", { value: count, text: String(count) })),
    ),
  );
}

function refundBody() {
  const byAmount = refundForm.querySelector("input[name=refund-by]:checked").value === "amount";
  const request = { reason: document.getElementById("reason").value, reason_text: document.getElementById("reason-text").value.trim() };
  if (byAmount) return { ...request, amount: document.getElementById("amount").value.trim() };
  const lines = [...refundForm.querySelectorAll("select[data-sku]")]
    .map((select) => ({ sku: select.dataset.sku, quantity: Number(select.value) }))
    .filter((line) => line.quantity > 0);
  return { ...request, lines };
}

async function act(button, work, done) {
  button.disabled = true;
  try {
    await work();
    await show(await api(path));
    if (done) announce(done);
  } catch (error) {
    announce(error.message, { alert: true });
  } finally {
    button.disabled = false;
  }
}

function withdraw(button, request) {
  act(button, () => api(`${path}/refund-requests/${request.id}/cancel`, { method: "POST" }), t("withdrawn"));
}

refundForm.addEventListener("change", () => {
  const byAmount = refundForm.querySelector("input[name=refund-by]:checked").value === "amount";
  document.getElementById("refund-lines").hidden = byAmount;
  document.getElementById("refund-amount").hidden = !byAmount;
});

refundForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const body = refundBody();
  const bodyText = JSON.stringify(body);
  if (!refundKey || refundKey.text !== bodyText) refundKey = { text: bodyText, key: newKey() };
  const button = document.getElementById("refund-send");
  act(
    button,
    () => api(`${path}/refund-requests`, { method: "POST", body, idempotencyKey: refundKey.key }),
    t("refund_asked"),
  );
});

receive.addEventListener("click", () => act(receive, () => api(`${path}/receive`, { method: "POST" }), t("received")));

cancel.addEventListener("click", () =>
  act(cancel, async () => {
    await api(`${path}/cancel`, { method: "POST" });
  }, t("cancelled")),
);

if (requireSignIn()) loadInto(section, async () => show(await api(path)));
