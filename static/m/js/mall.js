// The mall tab: the member's home store's own mall.
import { api } from "./api.js";
import { loadInto, requireSignIn } from "./ui.js";

async function load() {
  const member = await api("me");
  if (!member.home_store) return "empty";
  location.replace(`/m/s/${encodeURIComponent(member.home_store.code)}/`);
  return "loading";
}

if (requireSignIn()) loadInto(document.getElementById("mall-home"), load);
