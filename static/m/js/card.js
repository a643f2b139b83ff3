// The member card: tier, growth to the next tier, points, and the member code as a QR code
// and a barcode for the till, replaced by a new one before it expires.
import { api } from "./api.js";
import { formatDate, t } from "./i18n.js";
import { loadInto, requireSignIn } from "./ui.js";

const REFRESH_EARLY_MS = 15_000;
let qrAddress = null;
let timer = null;

async function loadCard() {
  const member = await api("me");
  document.getElementById("tier-name").textContent = member.tier ? member.tier.name : "";
  document.getElementById("phone").textContent = member.phone_masked;
  const growth = member.growth;
  document.getElementById("growth").textContent = growth.next_tier
    ? t("to_next_tier", { growth: growth.to_next, tier: growth.next_tier.name ?? growth.next_tier })
    : t("top_tier");
  document.getElementById("keep").textContent =
    member.tier && growth.to_keep > 0 ? t("to_keep", { growth: growth.to_keep, tier: member.tier.name }) : "";
  const reached = growth.next_tier ? growth.value / (growth.value + growth.to_next) : 1;
  document.getElementById("growth-bar").style.width = `${Math.round(reached * 100)}%`;
  document.getElementById("home").textContent = member.home_store ? member.home_store.name : "";
  document.getElementById("points-available").textContent = member.points.available;
  document.getElementById("points-pending").textContent = member.points.pending;
  document.getElementById("expiring").replaceChildren(
    ...member.points.expiring.map((lot) => {
      const item = document.createElement("li");
      item.textContent = t("expiring", { amount: lot.amount, date: formatDate(lot.expires_on) });
      return item;
    }),
  );
}

async function loadCode() {
  clearTimeout(timer);
  const { code, expires_at: expiresAt } = await api("me/code");
  const image = await api(`me/code.png?code=${encodeURIComponent(code)}`, { blob: true });
  if (qrAddress) URL.revokeObjectURL(qrAddress);
  qrAddress = URL.createObjectURL(image);
  document.getElementById("qr").src = qrAddress;
  window.JsBarcode(document.getElementById("barcode"), code, {
    format: "CODE128",
    width: 2,
    height: 80,
    margin: 12,
    displayValue: false,
  });
  document.getElementById("digits").textContent = code.replace(/(\d{4})(?=\d)/g, "$1 ");
  const refreshAt = new Date(expiresAt).getTime() - REFRESH_EARLY_MS;
  tick(refreshAt);
}

function tick(refreshAt) {
  const left = Math.max(0, Math.round((refreshAt - Date.now()) / 1000));
  document.getElementById("refresh").textContent = t("refresh_in", { seconds: left });
  timer = setTimeout(() => (left <= 0 ? loadInto(codeSection, loadCode) : tick(refreshAt)), 1000);
}

const codeSection = document.getElementById("code");
if (requireSignIn()) {
  loadInto(document.getElementById("card"), loadCard);
  loadInto(codeSection, loadCode);
}
