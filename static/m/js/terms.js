// What a coupon, or a template to claim, gives and where and until when it can be used, in
// the words of the page's language. Both carry the same fields (API.md, coupon and
// coupons/claimable).
import { formatDate, language, t } from "./i18n.js";

const listed = (items) => items.join(language === "en" ? ", " : "、");

export function couponTerms(coupon) {
  const numbers = {
    amount: coupon.amount && Number(coupon.amount),
    threshold: coupon.threshold && Number(coupon.threshold),
    percent: coupon.percent_off && Number(coupon.percent_off),
  };
  const terms = t(`kind_${coupon.kind}`, numbers);
  return coupon.max_discount ? `${terms} (${t("at_most_off", { amount: Number(coupon.max_discount) })})` : terms;
}

export function usableWhere({ channels, stores }) {
  const where = [t("usable_channels", { channels: listed(channels.map((channel) => t(`channel_${channel}`))) })];
  if (channels.includes("store")) {
    where.push(stores ? t("usable_stores", { stores: listed(stores.map((store) => store.name)) }) : t("every_store"));
  }
  return where.join(" · ");
}

// A template to claim: a fixed end, or a number of days from the claim (never past its end).
export function templateValidity(template) {
  const date = template.valid_until && formatDate(template.valid_until);
  if (template.valid_days) {
    return date ? t("valid_days_until", { days: template.valid_days, date }) : t("valid_days", { days: template.valid_days });
  }
  return t("valid_until", { date });
}
