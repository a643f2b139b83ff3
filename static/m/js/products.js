// A product as the mall lists it: thumbnail, title, the price and the member's own price,
// members-only and stock, linking to its page in this store's mall.
import { t, label, yuan } from "./i18n.js";
import { el } from "./ui.js";

/** The price and, when it is lower, the member's own price. */
export function prices(item) {
  const mine = item.my_price !== item.price;
  return el(
    "span",
    { class: "prices" },
    el("strong", { class: "price", text: yuan(mine ? item.my_price : item.price) }),
    mine ? el("s", { class: "muted small", text: yuan(item.price) }) : null,
    mine ? el("span", { class: "badge", text: t("my_price") }) : null,
  );
}

export function stockText(state) {
  return label("stock", state);
}

export function productPath(product, storeCode) {
  const query = storeCode ? `?store=${encodeURIComponent(storeCode)}` : "";
  return `/m/products/${encodeURIComponent(product.id)}${query}`;
}

export function productCard(product, storeCode) {
  const picture = product.thumbnail || product.image;
  return el(
    "li",
    { class: "product", "data-product": product.id },
    el(
      "a",
      { href: productPath(product, storeCode) },
      picture
        ? el("img", { src: picture, alt: "", width: 160, height: 160, loading: "lazy" })
        : el("span", { class: "no-image", "aria-hidden": "true" }),
      el("span", { class: "title", text: product.title }),
      prices(product),
      el(
        "span",
        { class: `small stock ${product.stock_state}` },
        product.members_only ? `${t("members_only")} · ` : "",
        stockText(product.stock_state),
      ),
    ),
  );
}
