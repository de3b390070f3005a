// The Models page: the quality-model versions the trainer published (GET /v1/models), newest
// first, with their held-out figures, their status and the one nodes serve; a quarantined
// version says why. Before any trainer published, the controller's note says where it looks.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import * as f from "./format.js";

const COLUMNS = ["Version", "Status", "PLCC", "SROCC", "RMSE", "Samples", "Served"];
const NUMBERS = new Set(["PLCC", "SROCC", "RMSE", "Samples"]);

function rows(version, served) {
  const cell = (label, ...children) => h("td", { "data-label": label }, ...children);
  const num = (label, value) => h("td", { "data-label": label, class: "num", text: value });
  const figures = version.figures || {};
  const isServed = version.version === served;
  const main = h("tr", { class: "model", "data-version": version.version, "data-status": version.status },
    cell("Version", h("span", { class: "mono", title: `sha256 ${version.sha256}`, text: `v${version.version}` })),
    cell("Status", h("span", { class: `badge model-${version.status}`, text: version.status })),
    num("PLCC", f.fixed(figures.plcc, 4)),
    num("SROCC", f.fixed(figures.srocc, 4)),
    num("RMSE", f.fixed(figures.rmse, 3)),
    num("Samples", String(version.samples)),
    cell("Served", isServed ? h("span", { class: "badge served", text: "served" }) : h("span", { class: "muted", text: f.NONE })));
  if (version.status === "active" || !version.reason) return [main];
  const kind = version.status === "quarantined" ? "error-text" : "why";
  return [main, h("tr", { class: "note" }, h("td", { class: kind, colspan: COLUMNS.length, text: version.reason }))];
}

function versionsTable(data) {
  return h("div", { class: "table-wrap" }, h("table", { class: "models" },
    h("thead", {}, h("tr", {}, COLUMNS.map((name) => h("th", { scope: "col", class: NUMBERS.has(name) ? "num" : null, text: name })))),
    h("tbody", {}, data.versions.flatMap((version) => rows(version, data.served_version)))));
}

function summary(data) {
  const served = data.served_version === null ? "no version yet" : `v${data.served_version}`;
  return h("p", { class: "muted" }, `Nodes following ${data.policy} serve `, h("strong", { text: served }), ".");
}

export function mount(root, ctx) {
  const body = h("section", { class: "panel" }, h("p", { class: "muted", text: "Loading…" }));
  root.append(h("div", { class: "page-head" }, h("h1", { text: "Models" })), body);
  api("/v1/models")
    .then((data) => {
      if (!data.versions.length) {
        replace(body, h("p", { class: "empty", text: data.note || "No model version published yet." }));
        return;
      }
      replace(body, summary(data), versionsTable(data));
    })
    .catch((error) => {
      if (error.needsToken) return ctx.needToken(error);
      replace(body,
        h("h2", { text: "Could not read the models" }),
        h("p", { class: "problem", text: error.message }),
        error.hint ? h("p", { class: "muted", text: error.hint }) : null);
      return undefined;
    });
  return () => {};
}
