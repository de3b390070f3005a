// The page shell: a hash router (#/jobs, #/jobs/ID, #/nodes, #/libraries, #/stats, #/models), the live-updates
// indicator, and the token form shown when the controller asks for a token.

import { token } from "./api.js";
import { h, replace } from "./dom.js";
import * as jobPage from "./job.js";
import * as jobsPage from "./jobs.js";
import * as modelsPage from "./models.js";
import * as librariesPage from "./libraries.js";
import * as nodesPage from "./nodes.js";
import * as statsPage from "./stats.js";

const root = document.getElementById("page");
const live = document.getElementById("live");
let unmount = () => {};

function route() {
  const [path, search] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(search || "");
  if (parts[0] === "jobs" && parts[1]) return { name: "jobs", page: jobPage, params: { id: parts[1] }, query };
  if (parts[0] === "nodes") return { name: "nodes", page: nodesPage, params: {}, query };
  if (parts[0] === "libraries") return { name: "libraries", page: librariesPage, params: {}, query };
  if (parts[0] === "stats") return { name: "stats", page: statsPage, params: {}, query };
  if (parts[0] === "models") return { name: "models", page: modelsPage, params: {}, query };
  return { name: "jobs", page: jobsPage, params: {}, query };
}

function setLive(status) {
  live.dataset.status = status;
  live.title = { live: "Live: updates arrive as they happen", reconnecting: "Reconnecting…", off: "" }[status] || "";
  live.textContent = status === "live" ? "live" : status === "reconnecting" ? "reconnecting…" : "";
}

function tokenForm(error) {
  const input = h("input", {
    type: "password",
    id: "token-input",
    autocomplete: "off",
    placeholder: "vmafx_…",
    "aria-label": "API token",
  });
  const save = (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    token.set(input.value);
    show();
  };
  const forget = () => {
    token.clear();
    show();
  };
  return h("section", { class: "panel token-panel" },
    h("h1", { text: error ? "This controller asks for a token" : "API token" }),
    error ? h("p", { class: "error-text", text: error.message }) : null,
    h("p", {}, "Paste an API token (role reader, or writer to cancel and submit). ",
      "An admin creates one with ", h("code", { text: "vmafx tokens create --role reader --tenant T" }),
      ". It is kept in this browser tab only."),
    h("form", { class: "row", onsubmit: save },
      input,
      h("button", { type: "submit", class: "primary", text: "Use token" }),
      token.get() ? h("button", { type: "button", onclick: forget, text: "Forget token" }) : null));
}

function needToken(error) {
  unmount();
  unmount = () => {};
  setLive("off");
  replace(root, tokenForm(error));
  document.getElementById("token-input").focus();
}

function show() {
  unmount();
  const current = route();
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", link.dataset.nav === current.name);
  }
  root.replaceChildren();
  setLive("off");
  const context = { params: current.params, query: current.query, setLive, needToken };
  unmount = current.page.mount(root, context) || (() => {});
  window.scrollTo(0, 0);
}

document.getElementById("token-button").addEventListener("click", () => needToken(null));
window.addEventListener("hashchange", show);
// Leaving the page (or entering the back-forward cache) closes its streams; coming back
// from that cache opens them again.
window.addEventListener("pagehide", () => {
  unmount();
  unmount = () => {};
});
window.addEventListener("pageshow", (event) => {
  if (event.persisted) show();
});
show();
