// Paying an order once the server has started its payment ({gateway, params}): in the demo
// the sandbox pays it at once; WeChat Pay takes the member's confirmation in WeChat, then
// its notice reaches the server a moment later. Used by the store's pay QR and the mall.
import { ApiError, api } from "./api.js";
import { t } from "./i18n.js";

/** The order once paid (or no longer awaiting payment). */
export async function settle(orderNo, { gateway, params }) {
  const path = `orders/${encodeURIComponent(orderNo)}`;
  if (gateway === "sandbox") {
    return api(`${path}/sandbox-pay`, { method: "POST" });
  }
  await wechatPay(params);
  for (let tries = 0; tries < 10; tries += 1) {
    const order = await api(path);
    if (order.status !== "created") return order;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new ApiError(0, "pending", t("pay_pending"));
}

function wechatPay(params) {
  return new Promise((resolve, reject) => {
    if (!window.WeixinJSBridge) {
      reject(new ApiError(0, "not_payable", t("open_in_wechat")));
      return;
    }
    window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, (answer) => {
      if (answer.err_msg === "get_brand_wcpay_request:ok") resolve();
      else reject(new ApiError(0, "cancelled", t("pay_not_done")));
    });
  });
}
