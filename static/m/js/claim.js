// Coupons to claim. A tap makes one Idempotency-Key, and the button is off until the
// answer: a double tap, or a retry after a lost answer, gives one coupon.
import { api, newKey } from "./api.js";
import { t } from "./i18n.js";
import { couponTerms, templateValidity, usableWhere } from "./terms.js";
import { announce, el, loadInto, requireSignIn } from "./ui.js";

const section = document.getElementById("claimable");

function stock(template) {
  return template.remaining === null ? t("unlimited") : t("remaining", { count: template.remaining });
}

function claimButton(template) {
  const button = el("button", { type: "button", class: "button", text: t("claim") });
  const full = () => template.claimed >= template.per_member_limit || template.remaining === 0;
  button.disabled = full();
  button.addEventListener("click", async () => {
    if (button.dataset.busy) return;
    button.dataset.busy = "1";
    button.disabled = true;
    button.dataset.key ||= newKey();
    button.textContent = t("claiming");
    try {
      await api(`coupons/${template.id}/claim`, { method: "POST", idempotencyKey: button.dataset.key });
      delete button.dataset.key;
      announce(t("claimed"));
      await loadInto(section, load);
    } catch (error) {
      if (error.code !== "offline") delete button.dataset.key;
      announce(error.message, { alert: true });
      button.disabled = full();
      button.textContent = t("claim");
    } finally {
      delete button.dataset.busy;
    }
  });
  return button;
}

async function load() {
  const templates = await api("coupons/claimable");
  if (templates.length === 0) return "empty";
  document.getElementById("templates").replaceChildren(
    ...templates.map((template) =>
      el(
        "li",
        { class: "template", "data-template": template.id },
        el("h2", { text: template.name }),
        el("p", { class: "offer", text: couponTerms(template) }),
        el("p", { class: "small where", text: usableWhere(template.usable_in) }),
        template.description ? el("p", { class: "muted small terms", text: template.description }) : null,
        el("p", { class: "muted small ends", text: templateValidity(template) }),
        el("p", { class: "muted small", text: `${stock(template)} · ${t("per_member", { limit: template.per_member_limit, claimed: template.claimed })}` }),
        claimButton(template),
      ),
    ),
  );
  return "ready";
}

if (requireSignIn()) loadInto(section, load);
