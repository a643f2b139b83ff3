// One product of a store's mall: its picture, its SKUs chosen by their specs (颜色, 尺码…),
// the price and the member's own price and the stock of the SKU chosen, and "add to cart"
// into the member's cart on the server (one cart, of one store's mall).
import { api, token } from "./api.js";
import { t, yuan } from "./i18n.js";
import { prices, stockText } from "./products.js";
import { announce, el, loadInto, toSignIn } from "./ui.js";

const QUANTITY_MOST = 99;
const section = document.getElementById("product");
const productId = section.dataset.productId;
const storeCode = new URLSearchParams(location.search).get("store") || "";
const form = document.getElementById("buy");
const quantity = document.getElementById("quantity");
const add = document.getElementById("add");
let product = null;
let specNames = [];

async function load() {
  const query = storeCode ? `?store=${encodeURIComponent(storeCode)}` : "";
  product = await api(`products/${encodeURIComponent(productId)}${query}`);
  document.title = product.title;
  document.getElementById("product-title").textContent = product.title;
  const image = document.getElementById("product-image");
  if (product.image) {
    image.src = product.image;
    image.alt = product.title;
    image.hidden = false;
  }
  document.getElementById("product-description").textContent = product.description;
  if (storeCode) document.getElementById("to-mall").href = `/m/s/${encodeURIComponent(storeCode)}/`;
  specNames = [...new Set(product.skus.flatMap((sku) => Object.keys(sku.specs)))];
  document.getElementById("specs").replaceChildren(...specNames.map(specChoice));
  chosen();
  return "ready";
}

// One spec as radio buttons, the first value of the first SKU in stock chosen.
function specChoice(name, index) {
  const values = [...new Set(product.skus.map((sku) => sku.specs[name]).filter(Boolean))];
  const first = (product.skus.find((sku) => sku.stock_state !== "out_of_stock") || product.skus[0]).specs[name];
  return el(
    "fieldset",
    { class: "spec" },
    el("legend", { text: name }),
    ...values.map((value, position) =>
      el(
        "label",
        { class: "option" },
        el("input", {
          type: "radio",
          name: `spec-${index}`,
          value,
          checked: value === first || (first === undefined && position === 0),
          onchange: chosen,
        }),
        el("span", { text: value }),
      ),
    ),
  );
}

function chosenSku() {
  const wanted = specNames.map((name, index) => [name, form.querySelector(`input[name="spec-${index}"]:checked`)?.value]);
  return product.skus.find((sku) => wanted.every(([name, value]) => sku.specs[name] === value)) || null;
}

function chosen() {
  const sku = chosenSku();
  const shown = sku || product;
  document.getElementById("product-prices").replaceChildren(
    prices(shown),
    product.members_only ? el("span", { class: "badge", text: t("members_only") }) : "",
  );
  document.getElementById("product-stock").textContent = stockText(shown.stock_state);
  document.getElementById("sku-state").textContent = sku ? "" : t("no_such_sku");
  add.disabled = !sku || sku.stock_state === "out_of_stock";
}

function count() {
  const value = Number.parseInt(quantity.value, 10);
  return Number.isInteger(value) ? Math.min(Math.max(value, 1), QUANTITY_MOST) : 1;
}

function step(by) {
  quantity.value = String(Math.min(Math.max(count() + by, 1), QUANTITY_MOST));
}

// The member's cart with this SKU added: the lines of the same store kept (those still on
// sale), or a new cart for this store.
async function addToCart(event) {
  event.preventDefault();
  const sku = chosenSku();
  if (!sku) return;
  if (!token()) {
    toSignIn();
    return;
  }
  add.disabled = true;
  try {
    const cart = await api("me/cart");
    const store = storeCode || cart.store?.code || (await api("me")).home_store?.code;
    if (!store) throw new Error(t("no_store"));
    const sameStore = cart.store?.code === store;
    const other = document.getElementById("other-store");
    if (!sameStore && cart.lines.length && other.hidden) {
      other.textContent = t("cart_other_store", { store: cart.store.name });
      other.hidden = false;
      add.textContent = t("start_new_cart");
      return; // the next tap confirms
    }
    const lines = sameStore
      ? cart.lines.filter((line) => line.on_sale).map((line) => ({ sku: line.sku, quantity: line.quantity }))
      : [];
    const line = lines.find((item) => item.sku === sku.sku);
    if (line) line.quantity = Math.min(line.quantity + count(), QUANTITY_MOST);
    else lines.push({ sku: sku.sku, quantity: count() });
    const saved = await api("me/cart", { method: "PUT", body: { store_code: store, lines } });
    other.hidden = true;
    add.textContent = t("add_to_cart");
    document.getElementById("to-cart").hidden = false;
    announce(t("added", { count: saved.lines.length, payable: yuan(saved.quote?.payable ?? "0.00") }));
  } catch (error) {
    announce(error.message, { alert: true });
  } finally {
    chosen();
  }
}

document.getElementById("less").addEventListener("click", () => step(-1));
document.getElementById("more").addEventListener("click", () => step(1));
quantity.addEventListener("change", () => step(0));
form.addEventListener("submit", addToCart);

loadInto(section, load);
