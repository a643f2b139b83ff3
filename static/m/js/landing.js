// A store's page, where its QR poster leads: the store, and "join with my phone"; a
// signed-in member joins it at once (a visit; the home store only if they had none) and is
// told which store is their home store.
import { ApiError, api, forget, newKey, token } from "./api.js";
import { t } from "./i18n.js";
import { loadInto } from "./ui.js";

const section = document.getElementById("store");
const code = section.dataset.storeCode;
const link = new URLSearchParams(location.search);
const guide = link.get("guide") || "";
const JUST_JOINED = "huiji.member.joined";

async function load() {
  const store = await api(`stores/${encodeURIComponent(code)}`);
  document.getElementById("store-name").textContent = store.name;
  document.getElementById("store-address").textContent = store.address;
  document.title = store.name;
  if (token()) {
    try {
      await showHomeStore(store);
      return "ready";
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) throw error;
      forget();
    }
  }
  const login = new URLSearchParams({ next: location.pathname + location.search, store: store.code });
  if (guide) login.set("guide", guide);
  if (link.get("ref")) login.set("ref", link.get("ref"));
  document.getElementById("join-link").href = `/m/login?${login}`;
  return "ready";
}

async function showHomeStore(store) {
  // Signing in from this page joined the store already (auth/login with its store_code).
  const joinedAtSignIn = sessionStorage.getItem(JUST_JOINED) === store.code;
  sessionStorage.removeItem(JUST_JOINED);
  const member = joinedAtSignIn
    ? await api("me")
    : await api(`stores/${encodeURIComponent(store.code)}/join`, {
        method: "POST",
        body: { guide_code: guide },
        idempotencyKey: newKey(),
      });
  const home = member.home_store;
  document.getElementById("home-store").textContent =
    home && home.code !== store.code
      ? t("home_store_kept", { store: home.name })
      : t("home_store", { store: store.name });
  document.getElementById("join").hidden = true;
  document.getElementById("joined").hidden = false;
}

loadInto(section, load);
