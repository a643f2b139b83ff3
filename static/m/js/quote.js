// The checkout's quote as the cart and the checkout show it: the sums, each discount
// applied, each coupon refused and why, the points it earns (templates/memberweb/_quote.html).
import { t, yuan } from "./i18n.js";
import { el } from "./ui.js";

export function showQuote(root, quote) {
  for (const sum of root.querySelectorAll("[data-sum]")) {
    const value = quote[sum.dataset.sum];
    sum.textContent = "minus" in sum.dataset ? `−${yuan(value)}` : yuan(value);
  }
  root.querySelector(".applied").replaceChildren(
    ...quote.applied.map((item) => el("li", { class: "entry" }, el("span", { text: item.label }), el("span", { text: `−${yuan(item.amount)}` }))),
  );
  root.querySelector(".rejected").replaceChildren(
    ...quote.rejected.map((item) => el("li", { role: "note", text: item.message })),
  );
  root.querySelector(".earn").textContent = t("points_to_earn", { points: quote.points_to_earn });
}
