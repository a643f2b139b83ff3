// The member's cart (kept on the server, of one store's mall): each line at their price with
// its stock, quantities changed or lines removed, the checkout's itemised quote of what can
// be bought now, and the way to check out.
import { api } from "./api.js";
import { t, yuan } from "./i18n.js";
import { stockText } from "./products.js";
import { showQuote } from "./quote.js";
import { announce, el, loadInto, requireSignIn, showState } from "./ui.js";

const QUANTITY_MOST = 99;
const section = document.getElementById("cart");
let cart = null;

function show(answer) {
  cart = answer;
  if (cart.store) {
    document.getElementById("cart-store").textContent = t("cart_of", { store: cart.store.name });
    document.getElementById("to-mall").href = `/m/s/${encodeURIComponent(cart.store.code)}/`;
  }
  document.getElementById("cart-lines").replaceChildren(...cart.lines.map(lineItem));
  const quote = document.getElementById("cart-quote");
  quote.hidden = !cart.quote;
  if (cart.quote) showQuote(quote, cart.quote);
  document.getElementById("checkout").hidden = !cart.quote;
  return cart.lines.length ? "ready" : "empty";
}

function lineItem(line) {
  const name = line.name;
  const note = line.on_sale ? stockText(line.stock_state) : t("off_sale");
  return el(
    "li",
    { class: "cart-line", "data-sku": line.sku },
    line.image ? el("img", { src: line.image, alt: "", width: 72, height: 72 }) : null,
    el(
      "div",
      { class: "cart-line-text" },
      el("h2", { text: name }),
      el("p", { class: "entry" }, el("span", { text: yuan(line.my_price) }), el("span", { class: "muted small", text: note })),
      line.on_sale
        ? el(
            "div",
            { class: "stepper" },
            el("button", { type: "button", class: "button secondary", "aria-label": t("one_less", { name }), text: "−", disabled: line.quantity <= 1, onclick: () => change(line.sku, line.quantity - 1) }),
            el("output", { "aria-label": t("quantity_of", { name }), text: String(line.quantity) }),
            el("button", { type: "button", class: "button secondary", "aria-label": t("one_more", { name }), text: "+", disabled: line.quantity >= QUANTITY_MOST, onclick: () => change(line.sku, line.quantity + 1) }),
          )
        : null,
      el("button", { type: "button", class: "button secondary", text: t("remove"), "aria-label": t("remove_line", { name }), onclick: () => change(line.sku, 0) }),
    ),
  );
}

// The cart with one line's quantity changed (0: removed); the lines no longer on sale go.
async function change(sku, quantity) {
  for (const button of section.querySelectorAll("button")) button.disabled = true;
  const lines = cart.lines
    .filter((line) => line.on_sale && (line.sku !== sku || quantity > 0))
    .map((line) => ({ sku: line.sku, quantity: line.sku === sku ? quantity : line.quantity }));
  try {
    showState(section, show(await api("me/cart", { method: "PUT", body: { store_code: cart.store.code, lines } })));
  } catch (error) {
    announce(error.message, { alert: true });
    show(cart);
  }
}

if (requireSignIn()) loadInto(section, async () => show(await api("me/cart")));
