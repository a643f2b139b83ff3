// 在线收款: the store's pay QR leads here. The member types the amount the shop asked; the
// quote (tier discount where the store gives it, the best coupon and points preselected)
// follows as they type; a member who has joined no store sees what joining saves and joins
// as they pay. Then the payment (the sandbox in the demo) and a receipt with the points.
import { ApiError, api, newKey } from "./api.js";
import { t, yuan } from "./i18n.js";
import { settle } from "./pay.js";
import { announce, el, loadInto, requireSignIn } from "./ui.js";

const section = document.getElementById("pay");
const code = section.dataset.storeCode;
const guide = new URLSearchParams(location.search).get("guide") || "";
const form = document.getElementById("pay-form");
const amountInput = document.getElementById("amount");
const couponSelect = document.getElementById("coupon");
const usePoints = document.getElementById("use-points");
const payButton = document.getElementById("pay-button");
const AMOUNT = /^\d{1,7}(\.\d{1,2})?$/;
const WAIT_MS = 350;

let store = null;
let benefits = null;
let chosen = false; // the member picked a coupon or points themselves: no suggestions now
let quoted = null; // {body, quote} of the amount on screen
let payment = null; // {body, key}: a retried payment sends the same key
let timer = 0;
let asked = 0;

async function load() {
  const answer = await api(`stores/${encodeURIComponent(code)}/pay`);
  store = answer.store;
  benefits = answer.member_benefits;
  document.getElementById("pay-store").textContent = store.name;
  document.getElementById("pay-address").textContent = store.address;
  document.title = store.name;
  const percent = Number(benefits.tier_discount_percent);
  if (benefits.tier && percent > 0) {
    document.getElementById("benefit-tier").textContent = t("tier_benefit", {
      tier: benefits.tier.name,
      percent,
    });
  }
  couponSelect.append(
    ...benefits.coupons.map((coupon) => el("option", { value: coupon.code, text: coupon.name })),
  );
  document.getElementById("points-label").textContent = t("use_points", {
    points: benefits.points.available,
  });
  usePoints.disabled = benefits.points.available <= 0;
  document.getElementById("choices").hidden =
    benefits.coupons.length === 0 && benefits.points.available <= 0;
  return "ready";
}

function amount() {
  const value = amountInput.value.trim();
  return AMOUNT.test(value) && Number(value) > 0 ? value : null;
}

// The quote's request; until the member picks a coupon or points themselves, none are
// sent, and the quote answers with its suggestion for this amount.
function body(choices = chosen) {
  const value = { amount: amount() };
  if (choices) {
    value.coupon_codes = couponSelect.value ? [couponSelect.value] : [];
    value.points = usePoints.checked ? benefits.points.available : 0;
  }
  return value;
}

function later() {
  clearTimeout(timer);
  payButton.disabled = true;
  timer = setTimeout(requote, WAIT_MS);
}

async function requote() {
  if (!amount()) {
    quoted = null;
    document.getElementById("quote").hidden = true;
    document.getElementById("join-offer").hidden = true;
    if (amountInput.value.trim()) announce(t("amount_invalid"), { alert: true });
    return;
  }
  const ask = ++asked;
  let request = body();
  try {
    let quote = await api(`stores/${encodeURIComponent(code)}/pay/quote`, {
      method: "POST",
      body: request,
    });
    if (ask !== asked) return; // the member typed on: a newer quote is on its way
    if (quote.suggested) {
      couponSelect.value = quote.suggested.coupon_code || "";
      usePoints.checked = quote.suggested.points > 0;
      request = body(true);
      if (quote.suggested.coupon_code || quote.suggested.points > 0) {
        quote = await api(`stores/${encodeURIComponent(code)}/pay/quote`, {
          method: "POST",
          body: request,
        });
      }
    }
    if (ask !== asked) return;
    quoted = { body: request, quote };
    show(quote);
  } catch (error) {
    if (ask === asked) announce(error.message, { alert: true });
  }
}

function show(quote) {
  document.getElementById("m-status").hidden = true;
  document.getElementById("q-subtotal").textContent = yuan(quote.subtotal);
  document.getElementById("q-member").textContent = `−${yuan(quote.member_discount)}`;
  document.getElementById("q-coupon").textContent = `−${yuan(quote.coupon_discount)}`;
  document.getElementById("q-points").textContent = `−${yuan(quote.points_deduction)}`;
  document.getElementById("q-payable").textContent = yuan(quote.payable);
  document
    .getElementById("q-rejected")
    .replaceChildren(...quote.rejected.map((item) => el("li", { role: "note", text: item.message })));
  document.getElementById("q-earn").textContent = t("points_to_earn", { points: quote.points_to_earn });
  document.getElementById("quote").hidden = false;
  const offer = document.getElementById("join-offer");
  offer.hidden = benefits.joined;
  if (!benefits.joined) {
    document.getElementById("join-saves").textContent = t("join_saves", {
      store: store.name,
      amount: quote.join_saves,
    });
  }
  payButton.textContent = t(benefits.joined ? "pay_amount" : "join_and_pay", { amount: quote.payable });
  payButton.disabled = false;
}

async function pay(event) {
  event.preventDefault();
  if (!quoted) return;
  const request = {
    ...quoted.body,
    guide_code: guide,
    join: !benefits.joined,
    channel: "wechat_browser", // this page is WeChat's in-app browser, never the mini-program
  };
  const text = JSON.stringify(request);
  if (!payment || payment.text !== text) payment = { text, key: newKey() };
  payButton.disabled = true;
  payButton.textContent = t("paying");
  try {
    const started = await api(`stores/${encodeURIComponent(code)}/pay`, {
      method: "POST",
      body: request,
      idempotencyKey: payment.key,
    });
    const order = await settle(started.order_no, started);
    receipt(order);
  } catch (error) {
    announce(error.message, { alert: true });
    if (error instanceof ApiError && error.code === "not_payable") payment = null;
    show(quoted.quote);
  }
}

function receipt(order) {
  section.hidden = true;
  document.getElementById("m-status").hidden = true;
  document.getElementById("r-payable").textContent = yuan(order.payable);
  document.getElementById("r-store").textContent = order.store;
  document.getElementById("r-order").textContent = t("order_number", { order_no: order.order_no });
  document.getElementById("r-earned").textContent = t("points_earned", { points: order.points_earned });
  document.getElementById("r-link").href = `/m/orders/${encodeURIComponent(order.order_no)}`;
  const done = document.getElementById("receipt");
  done.hidden = false;
}

amountInput.addEventListener("input", later);
for (const control of [couponSelect, usePoints]) {
  control.addEventListener("change", () => {
    chosen = true;
    later();
  });
}
form.addEventListener("submit", pay);

if (requireSignIn()) loadInto(section, load);
