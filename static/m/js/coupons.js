// The coupon wallet by status; an available coupon shows its QR code for the till.
import { api } from "./api.js";
import { formatDate, t } from "./i18n.js";
import { couponTerms, usableWhere } from "./terms.js";
import { el, pagedList, requireSignIn } from "./ui.js";

const STATUSES = ["available", "used", "expired"];
const wanted = new URLSearchParams(location.search).get("status");
const status = STATUSES.includes(wanted) ? wanted : "available";

async function qrImage(coupon) {
  const image = el("img", { alt: t("show_qr", { name: coupon.name }), width: 200, height: 200 });
  const blob = await api(`me/coupons/${encodeURIComponent(coupon.code)}.png`, { blob: true });
  image.src = URL.createObjectURL(blob);
  return image;
}

async function couponItem(coupon) {
  const available = coupon.status === "available";
  return el(
    "li",
    { class: "coupon", "data-code": coupon.code },
    el("h2", { text: coupon.name }),
    el("p", { text: couponTerms(coupon) }),
    el("p", { class: "small where", text: usableWhere(coupon.usable_in) }),
    coupon.description ? el("p", { class: "muted small terms", text: coupon.description }) : null,
    el("p", { class: "muted small ends", text: t("valid_until", { date: formatDate(coupon.valid_until) }) }),
    available ? await qrImage(coupon) : null,
    available ? el("p", { class: "digits", text: coupon.code }) : null,
  );
}

for (const link of document.querySelectorAll(".segments a")) {
  if (link.dataset.status === status) link.setAttribute("aria-current", "page");
}
if (requireSignIn()) pagedList(document.getElementById("wallet"), `me/coupons?status=${status}`, couponItem);
