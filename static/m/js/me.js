// My profile (name, gender, birthday once, marketing consent), my data, signing out and
// closing the account.
import { api, forget } from "./api.js";
import { t } from "./i18n.js";
import { announce, loadInto, requireSignIn } from "./ui.js";

const form = document.getElementById("profile-form");
const field = (id) => document.getElementById(id);

function show(member) {
  field("phone").textContent = member.phone_masked;
  field("name").value = member.name;
  field("gender").value = member.gender;
  field("birthday").value = member.birthday || "";
  field("birthday").disabled = Boolean(member.birthday);
  field("consent").checked = member.marketing_consent;
}

async function load() {
  show(await api("me"));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {
    name: field("name").value.trim(),
    gender: field("gender").value,
    marketing_consent: field("consent").checked,
  };
  if (!field("birthday").disabled && field("birthday").value) body.birthday = field("birthday").value;
  try {
    show(await api("me", { method: "PATCH", body }));
    announce(t("saved"));
  } catch (error) {
    announce(error.message, { alert: true });
  }
});

field("export").addEventListener("click", async () => {
  try {
    const data = await api("me/export", { blob: true });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(data);
    link.download = "my-huiji-data.json";
    link.click();
  } catch (error) {
    announce(error.message, { alert: true });
  }
});

async function leave(request) {
  try {
    await request();
  } catch (error) {
    if (error.status !== 401) {
      announce(error.message, { alert: true });
      return;
    }
  }
  forget();
  location.replace("/m/login");
}

field("sign-out").addEventListener("click", () => leave(() => api("auth/logout", { method: "POST" })));
field("delete-confirm").addEventListener("change", (event) => {
  field("delete").disabled = !event.target.checked;
});
field("delete").addEventListener("click", () => leave(() => api("me", { method: "DELETE" })));

if (requireSignIn()) loadInto(document.getElementById("profile"), load);
