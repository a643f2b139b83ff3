// 分销: applying to promote, my link and poster, what I earned (frozen, available, owed),
// my withdrawals and a form to ask for one, the orders that credit me and my customers.
import { ApiError, api, newKey } from "./api.js";
import { formatDate, formatDateTime, label, t, yuan } from "./i18n.js";
import { announce, el, loadInto, pagedList, requireSignIn } from "./ui.js";

const section = document.getElementById("promoter");
const lists = document.getElementById("promoter-lists");
const field = (id) => document.getElementById(id);
let posterShown = false;
let listsStarted = false;
let reloadWithdrawals = null;

// WeChat pays a withdrawal once the member confirms receipt in our mini-program
// (wx.requestMerchantTransfer), which a web page cannot call. Opened in the mini-program's
// web-view with WeChat's JS SDK at hand, the page leads to the mini-program's page for it;
// elsewhere it says how.
function miniProgram() {
  const sdk = window.wx?.miniProgram;
  const inWebView =
    window.__wxjs_environment === "miniprogram" || /miniProgram/i.test(navigator.userAgent);
  return inWebView && section.dataset.confirmPage && typeof sdk?.navigateTo === "function"
    ? sdk
    : null;
}

function confirmHow() {
  const sdk = miniProgram();
  return [
    el("p", { class: "small", text: t("withdrawal_confirm_how") }),
    sdk
      ? el("button", {
        type: "button",
        class: "button",
        text: t("withdrawal_confirm_open"),
        onclick: () => sdk.navigateTo({ url: section.dataset.confirmPage }),
      })
      : null,
  ];
}

function withdrawalItem(item) {
  return el(
    "li",
    { class: "entry" },
    el(
      "div",
      {},
      el("p", { text: label("withdrawal", item.status) }),
      el("p", { class: "muted small", text: formatDateTime(item.requested_at) }),
      item.reason ? el("p", { class: "muted small", text: item.reason }) : null,
      item.status === "confirming" ? confirmHow() : null,
    ),
    el("p", { class: "amount", text: yuan(item.amount) }),
  );
}

function commissionItem(item) {
  return el(
    "li",
    { class: "entry" },
    el(
      "div",
      {},
      el("p", { text: t("order_number", { order_no: item.order_no }) }),
      el("p", {
        class: "muted small",
        text: `${t("commission_level", { level: item.level })} · ${label("commission", item.status)}` +
          (item.status === "frozen" ? ` · ${t("available_on", { date: formatDate(item.available_on) })}` : ""),
      }),
    ),
    el("p", { class: "amount plus", text: yuan(item.amount) }),
  );
}

function customerItem(item) {
  return el(
    "li",
    { class: "entry" },
    el("p", { text: item.phone_masked }),
    el("p", { class: "muted small", text: `${label("source", item.source)} · ${formatDate(item.bound_at)}` }),
  );
}

async function showPoster() {
  if (posterShown) return;
  const poster = await api("me/promoter/poster.png", { blob: true });
  const image = field("poster");
  image.src = URL.createObjectURL(poster);
  image.hidden = false;
  posterShown = true;
}

function show(promoter) {
  field("promoter-status").textContent = label("promoter", promoter.status);
  field("reapply").hidden = promoter.status !== "refused";
  // only an approved promoter's link binds the members who come through it
  field("share").hidden = promoter.status !== "approved";
  field("link").value = promoter.link;
  field("frozen").textContent = yuan(promoter.balance.frozen);
  field("available").textContent = yuan(promoter.balance.available);
  field("debt").textContent = yuan(promoter.balance.debt);
  field("customers-count").textContent = String(promoter.customers);
  field("orders-count").textContent = String(promoter.orders);
  lists.hidden = false;
  if (!listsStarted) {
    listsStarted = true;
    reloadWithdrawals = pagedList(field("withdrawals"), "me/withdrawals", withdrawalItem);
    pagedList(field("commissions"), "me/commissions", commissionItem);
    pagedList(field("customers"), "me/promoter/customers", customerItem);
  }
}

async function load() {
  try {
    show(await api("me/promoter"));
  } catch (error) {
    if (error instanceof ApiError && error.code === "not_promoter") return "empty";
    throw error;
  }
  if (!field("share").hidden) showPoster().catch(() => {});
  return "ready";
}

async function apply(event) {
  event.target.disabled = true;
  try {
    const promoter = await api("me/promoter/apply", { method: "POST" });
    announce(label("applied", promoter.status));
    await loadInto(section, load);
  } catch (error) {
    announce(error.message, { alert: true });
  } finally {
    event.target.disabled = false;
  }
}
field("apply").addEventListener("click", apply);
field("reapply").addEventListener("click", apply); // a refused member may ask again

field("copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(field("link").value);
    announce(t("link_copied"));
  } catch {
    field("link").select();
  }
});

field("save-poster").addEventListener("click", async () => {
  try {
    const poster = await api("me/promoter/poster.png", { blob: true });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(poster);
    link.download = "poster.png";
    link.click();
  } catch (error) {
    announce(error.message, { alert: true });
  }
});

// One key per amount asked: a retry of the same tap (the network dropped) asks once.
let pending = { amount: null, key: null };
field("withdraw-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const amount = field("amount").value.trim();
  if (!form.reportValidity()) {
    announce(t("amount_invalid"), { alert: true });
    return;
  }
  if (pending.amount !== amount) pending = { amount, key: newKey() };
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const asked = await api("me/withdrawals", {
      method: "POST",
      body: { amount },
      idempotencyKey: pending.key,
    });
    pending = { amount: null, key: null };
    field("amount").value = "";
    announce(t("withdrawal_asked", { amount: yuan(asked.amount) }));
    await loadInto(section, load);
    reloadWithdrawals?.("me/withdrawals");
  } catch (error) {
    if (error.status && error.status < 500) pending = { amount: null, key: null };
    announce(error.message, { alert: true });
  } finally {
    button.disabled = false;
  }
});

if (requireSignIn()) loadInto(section, load);
