// The member card: tier and its benefits, growth to the next tier and what keeps this one,
// points, and the member code as a QR code and a barcode for the till, replaced by a new one
// before it expires.
import { api } from "./api.js";
import { formatDate, t } from "./i18n.js";
import { announce, el, loadInto, requireSignIn } from "./ui.js";

const REFRESH_EARLY_MS = 15_000;
let qrAddress = null;
let timer = null;

// Percentages and multipliers come as decimal strings ("5.00", "1.20"): shown as 5 and 1.2.
function benefitLines(benefits) {
  if (!benefits) return [t("benefits_none")];
  const lines = [];
  if (Number(benefits.discount_percent) > 0) {
    lines.push(t("benefit_discount", { percent: Number(benefits.discount_percent) }));
  }
  for (const { channel, discount_percent: percent } of benefits.channels) {
    lines.push(t("benefit_channel_discount", { percent: Number(percent), channel: t(`channel_${channel}`) }));
  }
  if (Number(benefits.points_multiplier) !== 1) {
    lines.push(t("benefit_points", { multiplier: Number(benefits.points_multiplier) }));
  }
  if (benefits.birthday_gift) lines.push(t("benefit_birthday", { gift: benefits.birthday_gift }));
  if (benefits.free_shipping) lines.push(t("benefit_free_shipping"));
  if (benefits.members_only_access) lines.push(t("benefit_members_only"));
  return lines.length ? lines : [t("benefits_none")];
}

// The first tier is never lost (keep_by null); another is kept at its review by the growth
// still in the window that day.
function keepText(tier, growth) {
  if (!tier || !growth.keep_by) return "";
  const date = formatDate(growth.keep_by);
  return growth.to_keep > 0
    ? t("to_keep_by", { growth: growth.to_keep, tier: tier.name, date })
    : t("tier_kept", { tier: tier.name, date });
}

async function loadCard() {
  const member = await api("me");
  document.getElementById("tier-name").textContent = member.tier ? member.tier.name : "";
  document.getElementById("phone").textContent = member.phone_masked;
  const growth = member.growth;
  document.getElementById("growth").textContent = growth.next_tier
    ? t("to_next_tier", { growth: growth.to_next, tier: growth.next_tier_name })
    : t("top_tier");
  document.getElementById("keep").textContent = keepText(member.tier, growth);
  document.getElementById("benefits").replaceChildren(
    ...benefitLines(member.tier?.benefits).map((line) => el("li", { text: line })),
  );
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
  document
    .getElementById("windows")
    .replaceChildren(...windowLines(member.points_windows).map((line) => el("li", { text: line })));
}

// Each use of points HQ limits to windows (感恩回馈月): open until when, or when it opens.
function windowLines(windows) {
  const lines = [];
  for (const [use, state] of Object.entries(windows || {})) {
    if (!state.limited) continue;
    const name = t(`use_${use}`);
    if (state.open) lines.push(t("window_open_until", { use: name, name: state.name, date: formatDate(state.closes_on) }));
    else if (state.next_opens_on) lines.push(t("window_next", { use: name, name: state.name, date: formatDate(state.next_opens_on) }));
    else lines.push(t("window_none", { use: name }));
  }
  return lines;
}

async function loadUnread() {
  const { unread } = await api("me/messages/unread");
  document.getElementById("inbox-link").textContent = unread
    ? t("inbox_unread", { count: unread })
    : t("inbox_all_read");
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

// My referral link (老带新) and its poster, and the friends who joined with it, newest first.
async function loadInvite() {
  const referrals = await api("me/referrals");
  const link = document.getElementById("invite-link");
  link.value = referrals.link;
  document.getElementById("invite-copy").onclick = async () => {
    link.select();
    try {
      await navigator.clipboard.writeText(referrals.link);
      announce(t("invite_copied"));
    } catch {
      announce(t("invite_copy_by_hand"));
    }
  };
  document.getElementById("invite-count").textContent = t("invited_count", {
    count: referrals.invited_count,
  });
  document.getElementById("invited").replaceChildren(
    ...referrals.invited.map((friend) =>
      el("li", {
        text: `${friend.phone_masked} · ${formatDate(friend.joined_at)} · ${t(`reward_${friend.reward_status}`)}`,
      }),
    ),
  );
  showInvitePoster().catch(() => {});
}

// Read with the member's token as a blob (an <img src> would carry no token, and the CSP
// allows blob: images).
async function showInvitePoster() {
  const image = document.getElementById("invite-poster");
  if (!image.hidden) return;
  const poster = await api("me/referrals/poster.png", { blob: true });
  image.src = URL.createObjectURL(poster);
  image.hidden = false;
}

const codeSection = document.getElementById("code");
if (requireSignIn()) {
  loadInto(document.getElementById("card"), loadCard);
  loadInto(codeSection, loadCode);
  loadUnread().catch(() => {});
  loadInto(document.getElementById("invite"), loadInvite);
}
