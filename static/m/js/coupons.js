// The coupon wallet by status; an available coupon shows its QR code for the till.
import { api, apiPath } from "./api.js";
import { formatDate, t } from "./i18n.js";
import { el, loadInto, requireSignIn } from "./ui.js";

const STATUSES = ["available", "used", "expired"];
const wanted = new URLSearchParams(location.search).get("status");
const status = STATUSES.includes(wanted) ? wanted : "available";

function couponTerms(coupon) {
  const numbers = {
    amount: coupon.amount && Number(coupon.amount),
    threshold: coupon.threshold && Number(coupon.threshold),
    percent: coupon.percent_off && Number(coupon.percent_off),
  };
  return t(`kind_${coupon.kind}`, numbers);
}

async function qrImage(coupon) {
  const image = el("img", { alt: t("show_qr", { name: coupon.name }), width: 200, height: 200 });
  const blob = await api(`me/coupons/${encodeURIComponent(coupon.code)}.png`, { blob: true });
  image.src = URL.createObjectURL(blob);
  return image;
}

const list = document.getElementById("coupons");
const more = document.getElementById("more");
let next = `me/coupons?status=${status}`;

async function load() {
  const page = await api(next);
  const items = await Promise.all(
    page.results.map(async (coupon) =>
      el(
        "li",
        { class: "coupon", "data-code": coupon.code },
        el("h2", { text: coupon.name }),
        el("p", { text: couponTerms(coupon) }),
        coupon.description ? el("p", { class: "muted small", text: coupon.description }) : null,
        el("p", { class: "muted small", text: t("valid_until", { date: formatDate(coupon.valid_until) }) }),
        coupon.status === "available" ? await qrImage(coupon) : null,
        coupon.status === "available" ? el("p", { class: "digits", text: coupon.code }) : null,
      ),
    ),
  );
  list.append(...items);
  next = page.next ? apiPath(page.next) : null;
  more.hidden = !next;
  return list.children.length === 0 ? "empty" : "ready";
}

more.addEventListener("click", () => loadInto(document.getElementById("wallet"), load));

for (const link of document.querySelectorAll(".segments a")) {
  if (link.dataset.status === status) link.setAttribute("aria-current", "page");
}
if (requireSignIn()) loadInto(document.getElementById("wallet"), load);
