// SMS sign-in: a code texted to the phone, then auth/login with the store, guide and
// referrer the member came from (a new member joins that store; an existing one keeps theirs).
import { api, deviceId, promoterKeep, remember, token } from "./api.js";
import { t } from "./i18n.js";
import { announce, safeNext } from "./ui.js";

const link = new URLSearchParams(location.search);
const form = document.getElementById("login");
const phone = document.getElementById("phone");
const code = document.getElementById("code");
const agree = document.getElementById("agree");
const sendButton = document.getElementById("send-code");
const signInButton = document.getElementById("sign-in");
const JUST_JOINED = "huiji.member.joined";

function countDown(seconds) {
  sendButton.disabled = true;
  sendButton.textContent = t("resend_in", { seconds });
  if (seconds <= 0) {
    sendButton.disabled = false;
    sendButton.textContent = t("send_code");
    return;
  }
  setTimeout(() => countDown(seconds - 1), 1000);
}

sendButton.addEventListener("click", async () => {
  if (!phone.reportValidity()) return;
  sendButton.disabled = true;
  try {
    const answer = await api("auth/sms-code", { method: "POST", body: { phone: phone.value.trim() } });
    announce(t("code_sent"));
    code.focus();
    countDown(answer.retry_after || 60);
  } catch (error) {
    announce(error.message, { alert: true });
    sendButton.disabled = false;
  }
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!form.reportValidity()) return;
  signInButton.disabled = true;
  const store = link.get("store") || "";
  try {
    const signed = await api("auth/login", {
      method: "POST",
      body: {
        phone: phone.value.trim(),
        code: code.value.trim(),
        store_code: store,
        guide_code: link.get("guide") || "",
        referral_code: link.get("ref") || "",
        promoter_code: link.get("promoter") || "",
        device_id: deviceId(),
      },
    });
    remember(signed.token);
    if (store) sessionStorage.setItem(JUST_JOINED, store);
    location.replace(safeNext(link.get("next")));
  } catch (error) {
    announce(error.message, { alert: true });
    signInButton.disabled = false;
  }
});

// Already signed in (a token this browser keeps): straight on, a promoter's code kept for
// the next order; a page that finds the token dead forgets it and sends the member back here.
if (token()) {
  if (link.get("promoter")) promoterKeep(link.get("promoter"));
  location.replace(safeNext(link.get("next")));
}
