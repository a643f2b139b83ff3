// A store's page, where its QR poster leads: the store, "join with my phone" (a signed-in
// member joins it at once: a visit; the home store only if they had none) and the store's
// own mall (一店一商城): featured products, categories, search, every product at the
// caller's own price; and its pay page where the store takes payments by QR.
import { ApiError, api, forget, newKey, token } from "./api.js";
import { t } from "./i18n.js";
import { productCard } from "./products.js";
import { el, loadInto, pagedList } from "./ui.js";

const section = document.getElementById("store");
const code = section.dataset.storeCode;
const link = new URLSearchParams(location.search);
const guide = link.get("guide") || "";
const JUST_JOINED = "huiji.member.joined";
const search = document.getElementById("search");
const categories = document.getElementById("categories");
let category = "";
let listFrom = null;

// A token the server no longer knows is forgotten (api.js): the store is shown to a visitor.
async function asVisitorIfSignedOut(read) {
  try {
    return await read();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) throw error;
    forget();
    return read();
  }
}

async function load() {
  const mall = await asVisitorIfSignedOut(() => api(`stores/${encodeURIComponent(code)}/mall`));
  const store = mall.store;
  document.getElementById("store-name").textContent = store.name;
  document.getElementById("store-address").textContent = store.address;
  document.title = store.name;
  showMall(mall);
  listProducts();
  const pay = document.getElementById("pay-link");
  pay.hidden = !store.pay_enabled;
  if (guide) pay.href = `${pay.pathname}?${new URLSearchParams({ guide })}`;
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

function showMall(mall) {
  document.getElementById("featured-list").replaceChildren(
    ...mall.featured.map((product) => productCard(product, code)),
  );
  document.getElementById("featured").hidden = mall.featured.length === 0;
  const choices = [{ id: "", name: t("all_categories") }];
  for (const top of mall.categories) choices.push(top, ...top.children);
  categories.replaceChildren(
    ...choices.map((choice) =>
      el(
        "li",
        {},
        el("button", {
          type: "button",
          class: "chip",
          "aria-pressed": String(String(choice.id) === category),
          "data-category": choice.id,
          text: choice.name,
          onclick: () => pick(String(choice.id)),
        }),
      ),
    ),
  );
}

function pick(chosen) {
  category = chosen;
  for (const button of categories.querySelectorAll("button")) {
    button.setAttribute("aria-pressed", String(button.dataset.category === category));
  }
  listProducts();
}

function productsPath() {
  const query = new URLSearchParams({ store: code });
  if (category) query.set("category", category);
  const words = document.getElementById("q").value.trim();
  if (words) query.set("q", words);
  return `products?${query}`;
}

function listProducts() {
  if (listFrom) listFrom(productsPath());
  else listFrom = pagedList(document.getElementById("products"), productsPath(), (product) => productCard(product, code));
}

search.addEventListener("submit", (event) => {
  event.preventDefault();
  listProducts();
});

loadInto(section, load);
