// The Models page: the quality-model checkpoints from /v1/models, or, while the controller
// answers 501, a note that the model registry is not wired in yet.

import { api } from "./api.js";
import { h, replace } from "./dom.js";

function versionsTable(items) {
  const keys = [...new Set(items.flatMap((item) => Object.keys(item)))].filter((key) => typeof items[0][key] !== "object");
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, keys.map((key) => h("th", { scope: "col", text: key })))),
    h("tbody", {}, items.map((item) => h("tr", {}, keys.map((key) => h("td", { "data-label": key, text: item[key] ?? "" })))))));
}

export function mount(root, ctx) {
  const body = h("section", { class: "panel" }, h("p", { class: "muted", text: "Loading…" }));
  root.append(h("div", { class: "page-head" }, h("h1", { text: "Models" })), body);
  api("/v1/models")
    .then((data) => {
      const items = Array.isArray(data) ? data : data.versions || data.models || [];
      replace(body, items.length ? versionsTable(items) : h("p", { class: "empty", text: "No checkpoint published yet." }));
    })
    .catch((error) => {
      if (error.needsToken) return ctx.needToken(error);
      const placeholder = error.status === 501;
      replace(body,
        h("h2", { text: placeholder ? "Not wired yet" : "Could not read the models" }),
        h("p", { class: placeholder ? "placeholder" : "problem", text: error.message }),
        error.hint ? h("p", { class: "muted", text: error.hint }) : null,
        placeholder ? h("p", {}, "Meanwhile, list checkpoints on the trainer's machine with ", h("code", { text: "vmafx models list" }), ".") : null);
      return undefined;
    });
  return () => {};
}
