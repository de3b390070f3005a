// The Libraries page: each watched folder (`vmafx watch DIR --rule …`) with its jobs counted by
// state and its latest files, newest first. A library is known by its jobs (batch id
// `watch:NAME`), so it appears with the watcher's first submission. Read again every few seconds.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import * as f from "./format.js";

const REFRESH_MS = 3000;
const SHOWN = 50;
const STATES = ["pending", "running", "completed", "failed", "cancelled"];

function verdict(job) {
  const r = job.result || {};
  if (job.kind === "health" && typeof r.ok === "boolean") {
    return r.ok ? "healthy" : `${r.error_count} decode error${r.error_count === 1 ? "" : "s"}`;
  }
  const score = f.scoreOf(job);
  if (score !== null) return `VMAF ${score.toFixed(2)}`;
  return job.state === "running" ? f.progressText(job) || "running" : (job.error || "").split("\n")[0];
}

function fileOf(job) {
  const spec = job.spec || {};
  const path = spec.source || (spec.distorted || [])[0] || "";
  return path;
}

function card(library, jobs) {
  const counts = STATES.map((state) => h("li", { class: `badge state-${state}`, "data-state": state,
    text: `${library.states[state] || 0} ${state}` }));
  const rows = jobs.map((job) => h("tr", { "data-id": job.id },
    h("td", {}, h("code", { title: fileOf(job), text: fileOf(job).split("/").pop() })),
    h("td", { text: job.kind }),
    h("td", {}, h("span", { class: `badge state-${job.state}`, text: job.state })),
    h("td", { class: "verdict", text: verdict(job) }),
    h("td", {}, h("a", { class: "mono", href: `#/jobs/${encodeURIComponent(job.id)}`, text: f.shortId(job.id) }))));
  const more = library.jobs > jobs.length ? h("p", { class: "muted", text: `${jobs.length} newest of ${library.jobs} jobs shown.` }) : null;
  return h("article", { class: "panel library", "data-name": library.name },
    h("div", { class: "section-head" },
      h("h2", { text: library.name }),
      h("span", { class: "muted", text: `${library.jobs} job${library.jobs === 1 ? "" : "s"}` })),
    h("ul", { class: "tags counts" }, counts),
    h("table", { class: "library-files" },
      h("thead", {}, h("tr", {}, ["File", "Kind", "State", "Result", "Job"].map((t) => h("th", { text: t })))),
      h("tbody", {}, rows)),
    more);
}

export function mount(root, ctx) {
  const list = h("div", { class: "libraries" });
  const note = h("p", { class: "empty", hidden: true });
  root.append(h("div", { class: "page-head" }, h("h1", { text: "Libraries" })),
    h("p", { class: "muted" }, "Watched folders: ", h("code", { text: "vmafx watch DIR --rule health|score|encode" }),
      " submits each new or changed file once."),
    note, list);
  let timer = null;
  let stopped = false;
  const load = async () => {
    try {
      const { libraries } = await api("/v1/libraries");
      const pages = await Promise.all(libraries.map((library) =>
        api(`/v1/jobs?batch_id=${encodeURIComponent(library.batch_id)}&limit=${SHOWN}`)));
      replace(list, libraries.map((library, i) => card(library, pages[i].jobs)));
      note.hidden = libraries.length > 0;
      note.textContent = "No folder is watched yet. Start a watcher with `vmafx watch DIR --rule health --controller HOST:9090`.";
      ctx.setLive("live");
    } catch (error) {
      if (error.needsToken) return ctx.needToken(error);
      note.hidden = false;
      note.textContent = `${error.message} ${error.hint || ""}`;
      ctx.setLive("reconnecting");
    }
    if (!stopped) timer = setTimeout(load, REFRESH_MS);
    return undefined;
  };
  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
