// The member's inbox, newest first, a page at a time; a message is marked read when the
// member says so or opens its link.
import { api } from "./api.js";
import { formatDateTime, t } from "./i18n.js";
import { announce, el, pagedList, requireSignIn } from "./ui.js";

// Only this site's own pages: a message's link never takes the member elsewhere.
const ownPage = (link) => link.startsWith("/") && !link.startsWith("//");

function message(item) {
  const li = el("li", { class: item.read ? "message" : "message unread", id: `message-${item.id}` });
  const actions = el("div", { class: "actions" });
  async function markRead() {
    if (li.classList.contains("unread")) {
      await api(`me/messages/${item.id}/read`, { method: "POST" });
      li.classList.remove("unread");
      li.querySelector(".badge")?.remove();
      actions.querySelector("button")?.remove();
    }
  }
  if (!item.read) {
    const button = el("button", { type: "button", class: "button secondary", text: t("mark_read") });
    button.addEventListener("click", async () => {
      await markRead();
      announce(t("marked_read"));
    });
    actions.append(button);
  }
  if (item.link && ownPage(item.link)) {
    const open = el("a", { class: "button", href: item.link, text: t("open_link") });
    open.addEventListener("click", async (event) => {
      event.preventDefault();
      await markRead();
      window.location.assign(item.link);
    });
    actions.append(open);
  }
  li.append(
    el("h2", {}, item.read ? "" : el("span", { class: "badge", text: t("unread") }), " ", item.title),
    el("p", { text: item.body }),
    el("p", { class: "muted small", text: formatDateTime(item.created_at) }),
    actions,
  );
  return li;
}

if (requireSignIn()) pagedList(document.getElementById("inbox"), "me/messages", message);
