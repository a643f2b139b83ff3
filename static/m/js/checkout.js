// Checkout of the member's cart: pickup at the cart's store or delivery to an address of
// their address book (or a new one), a coupon (each with what it takes off this order, or
// the API's reason it cannot be used), points, the itemised quote with the shipping fee;
// then the order is placed (its stock reserved, one Idempotency-Key per tap, kept for a
// retry of that tap) and paid, and the order's page shown.
import { ApiError, api, newKey, promoterCode, promoterForget } from "./api.js";
import { t, yuan } from "./i18n.js";
import { settle } from "./pay.js";
import { showQuote } from "./quote.js";
import { announce, el, loadInto, requireSignIn } from "./ui.js";

const CHANNEL = "wechat_browser"; // this page is WeChat's in-app browser, never the mini-program
const section = document.getElementById("checkout");
const form = document.getElementById("checkout-form");
const place = document.getElementById("place");
const usePoints = document.getElementById("use-points");
const quoteBox = document.getElementById("quote");
let cart = null;
let points = 0;
let asked = 0;
let placing = null; // {text, key}: a retried tap sends the same key
let placed = null; // the order placed and not paid yet: a new tap pays it

const value = (id) => document.getElementById(id).value.trim();
const checked = (name) => form.querySelector(`input[name="${name}"]:checked`)?.value || "";

async function load() {
  const [answer, member, addresses, wallet] = await Promise.all([
    api("me/cart"),
    api("me"),
    api("me/addresses"),
    api("me/coupons?status=available"),
  ]);
  cart = answer;
  if (!cart.quote) return "empty";
  document.getElementById("checkout-store").textContent = t("cart_of", { store: cart.store.name });
  document.getElementById("pickup-label").textContent = t("pickup_at", { store: cart.store.name });
  document.getElementById("checkout-lines").replaceChildren(
    ...buyable().map((line) =>
      el(
        "li",
        { class: "entry" },
        el("span", { text: `${line.name} ${t("quantity", { quantity: line.quantity })}` }),
        el("span", { text: yuan(line.my_price) }),
      ),
    ),
  );
  points = member.points.available;
  document.getElementById("points-label").textContent = t("use_points", { points });
  usePoints.disabled = points <= 0;
  showAddresses(addresses);
  document.getElementById("coupon-list").replaceChildren(...wallet.results.map(couponChoice));
  await requote({ coupons: true });
  return "ready";
}

function buyable() {
  return cart.lines.filter((line) => line.on_sale && line.stock_state !== "out_of_stock");
}

function showAddresses(addresses, chosen) {
  const pick = chosen ?? (addresses.find((address) => address.is_default) || addresses[0])?.id;
  document.getElementById("no-address").hidden = addresses.length > 0;
  document.getElementById("address-list").replaceChildren(
    ...addresses.map((address) =>
      el(
        "label",
        { class: "check", for: `address-${address.id}` },
        el("input", { id: `address-${address.id}`, type: "radio", name: "address", value: address.id, checked: address.id === pick }),
        el("span", { text: `${address.name} ${address.phone} · ${address.region} ${address.detail}` }),
      ),
    ),
  );
}

function couponChoice(coupon) {
  return el(
    "label",
    { class: "check", for: `coupon-${coupon.code}`, "data-coupon": coupon.code },
    el("input", { id: `coupon-${coupon.code}`, type: "radio", name: "coupon", value: coupon.code }),
    el("span", {}, el("span", { text: coupon.name }), " ", el("span", { class: "muted small why" })),
  );
}

// The order body of API.md's online order: the cart's lines that can be bought now.
function body({ coupon = checked("coupon"), withPoints = usePoints.checked } = {}) {
  const fulfilment = { type: checked("fulfilment") };
  if (fulfilment.type === "delivery" && checked("address")) fulfilment.address_id = Number(checked("address"));
  return {
    store_code: cart.store.code,
    lines: buyable().map((line) => ({ sku: line.sku, quantity: line.quantity })),
    coupon_codes: coupon ? [coupon] : [],
    points: withPoints ? points : 0,
    fulfilment,
  };
}

function ready() {
  return checked("fulfilment") === "pickup" || Boolean(checked("address"));
}

// The quote of the order as chosen; with `coupons`, each coupon of the wallet is quoted on
// its own too: what it would take off, or the API's reason it cannot be used here.
async function requote({ coupons = false } = {}) {
  const ask = ++asked;
  place.disabled = true;
  document.getElementById("addresses").hidden = checked("fulfilment") !== "delivery";
  if (!ready()) {
    quoteBox.hidden = true;
    return;
  }
  if (coupons) await judgeCoupons(ask);
  const quote = await api("orders/quote", { method: "POST", body: body() });
  if (ask !== asked) return;
  showQuote(quoteBox, quote);
  quoteBox.hidden = false;
  place.textContent = t("pay_amount", { amount: quote.payable });
  place.disabled = false;
}

async function judgeCoupons(ask) {
  const choices = [...document.querySelectorAll("#coupon-list [data-coupon]")];
  const quotes = await Promise.all(
    choices.map((choice) => api("orders/quote", { method: "POST", body: body({ coupon: choice.dataset.coupon, withPoints: false }) })),
  );
  if (ask !== asked) return;
  choices.forEach((choice, index) => {
    const quote = quotes[index];
    const refused = quote.rejected.find((item) => item.coupon_code === choice.dataset.coupon);
    const input = choice.querySelector("input");
    input.disabled = Boolean(refused);
    if (refused && input.checked) document.getElementById("no-coupon").checked = true;
    choice.querySelector(".why").textContent = refused ? refused.message : `−${yuan(quote.coupon_discount)}`;
  });
}

async function quoteAgain(options) {
  try {
    await requote(options);
  } catch (error) {
    announce(error.message, { alert: true });
  }
}

async function saveAddress() {
  const save = document.getElementById("a-save");
  save.disabled = true;
  try {
    const address = await api("me/addresses", {
      method: "POST",
      body: { name: value("a-name"), phone: value("a-phone"), region: value("a-region"), detail: value("a-detail") },
    });
    showAddresses(await api("me/addresses"), address.id);
    document.getElementById("new-address").open = false;
    announce(t("saved"));
    await quoteAgain({ coupons: true });
  } catch (error) {
    announce(error.message, { alert: true });
  } finally {
    save.disabled = false;
  }
}

async function placeAndPay(event) {
  event.preventDefault();
  if (!ready()) return;
  place.disabled = true;
  place.textContent = t("paying");
  try {
    if (!placed) {
      const request = { ...body(), channel: CHANNEL };
      if (promoterCode()) request.promoter_code = promoterCode();
      const text = JSON.stringify(request);
      if (!placing || placing.text !== text) placing = { text, key: newKey() };
      try {
        placed = await api("orders", { method: "POST", body: request, idempotencyKey: placing.key });
      } catch (error) {
        // a link's code no promoter has: said once, and the next tap orders without it
        if (request.promoter_code && error instanceof ApiError && error.status === 400) promoterForget();
        throw error;
      }
      promoterForget();
      for (const choice of form.querySelectorAll("fieldset, #use-points")) choice.disabled = true;
      await emptyCart();
    }
    const payment = await api(`orders/${encodeURIComponent(placed.order_no)}/pay`, {
      method: "POST",
      body: { channel: CHANNEL },
    });
    await settle(placed.order_no, payment);
    location.assign(`/m/orders/${encodeURIComponent(placed.order_no)}`);
  } catch (error) {
    announce(error.message, { alert: true });
    if (error instanceof ApiError && error.code === "out_of_stock") placing = null;
    if (placed) {
      place.textContent = t("pay_amount", { amount: placed.payable });
      place.disabled = false;
    } else {
      await quoteAgain();
    }
  }
}

// What was ordered leaves the cart; the lines that could not be bought stay.
async function emptyCart() {
  const ordered = new Set(buyable().map((line) => line.sku));
  const lines = cart.lines
    .filter((line) => line.on_sale && !ordered.has(line.sku))
    .map((line) => ({ sku: line.sku, quantity: line.quantity }));
  cart = await api("me/cart", { method: "PUT", body: { store_code: cart.store.code, lines } });
}

form.addEventListener("change", (event) => {
  if (event.target.closest("#new-address")) return;
  quoteAgain({ coupons: event.target.name === "fulfilment" || event.target.name === "address" });
});
document.getElementById("a-save").addEventListener("click", saveAddress);
form.addEventListener("submit", placeAndPay);

if (requireSignIn()) loadInto(section, load);
