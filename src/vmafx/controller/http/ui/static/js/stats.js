// The Stats page: what the farm did, from GET /v1/stats (aggregated by the store; no
// Prometheus needed). Throughput per bucket by kind, queue depth now, failures by reason,
// bytes saved by encodes, the VMAF of scored encodes, and how busy each node and GPU was.
// Charts are inline SVG drawn here; every bar carries data-* attributes with its figures.

import { api } from "./api.js";
import { h, replace, s } from "./dom.js";
import * as f from "./format.js";

const REFRESH_MS = 30000;
const WINDOWS = [
  { hours: 24, bucket: "hour", label: "24 hours" },
  { hours: 168, bucket: "day", label: "7 days" },
  { hours: 720, bucket: "day", label: "30 days" },
];
const PAD = { left: 40, right: 28, top: 10, bottom: 26 };

function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 2.5, 5, 10].map((m) => m * power).find((m) => m >= value);
}

/** Vertical bars, stacked: columns [{label, parts: [{key, value}]}]; keys give the colours. */
function barChart({ columns, keys, width = 720, height = 220, title, xLabel = (c) => c.label, every = 1 }) {
  const top = niceMax(Math.max(0, ...columns.map((c) => c.parts.reduce((a, p) => a + p.value, 0))));
  const inner = { w: width - PAD.left - PAD.right, h: height - PAD.top - PAD.bottom };
  const step = inner.w / Math.max(1, columns.length);
  const y = (v) => PAD.top + inner.h - (v / top) * inner.h;
  const grid = [0, 0.25, 0.5, 0.75, 1].map((k) => [
    s("line", { class: "grid", x1: PAD.left, x2: width - PAD.right, y1: y(top * k), y2: y(top * k) }),
    s("text", { class: "tick", x: PAD.left - 5, y: y(top * k) + 4, "text-anchor": "end" }, String(+(top * k).toFixed(2))),
  ]);
  const bars = columns.map((column, i) => {
    let base = 0;
    const x = PAD.left + i * step + step * 0.12;
    const rects = column.parts.filter((p) => p.value > 0).map((part) => {
      const rect = s("rect", {
        class: `bar series-fill-${keys.indexOf(part.key) % 6}${part.key === "failed" ? " failed" : ""}`,
        x: x.toFixed(1), width: Math.max(1, step * 0.76).toFixed(1),
        y: y(base + part.value).toFixed(1), height: (y(base) - y(base + part.value)).toFixed(1),
        "data-key": part.key, "data-value": part.value,
      }, s("title", {}, `${column.label}: ${part.key} ${part.value}`));
      base += part.value;
      return rect;
    });
    const label = i % every === 0
      ? s("text", { class: "tick", x: (x + step * 0.38).toFixed(1), y: height - 8, "text-anchor": "middle" }, xLabel(column))
      : null;
    return s("g", { class: "column", "data-label": column.label, "data-total": base }, rects, label);
  });
  const svg = s("svg", { class: "chart bars", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title },
    grid, s("line", { class: "axis", x1: PAD.left, x2: width - PAD.right, y1: y(0), y2: y(0) }), bars);
  const legend = keys.length > 1
    ? h("ul", { class: "legend" }, keys.map((key, i) => h("li", {}, h("span", { class: `swatch series-${i % 6}${key === "failed" ? " failed" : ""}` }), key)))
    : null;
  return h("figure", { class: "chart-figure" }, svg, legend);
}

/** Horizontal bars in HTML: rows [{label, value, text}], scaled to the largest. */
function meters(rows, { className = "", empty = "Nothing in this window." } = {}) {
  if (!rows.length) return h("p", { class: "empty", text: empty });
  const top = Math.max(...rows.map((row) => row.value), 1e-9);
  return h("ul", { class: `meters ${className}` }, rows.map((row) => {
    const fill = h("span", { class: "fill" });
    fill.style.width = `${Math.max(0.5, (row.value / top) * 100)}%`;
    return h("li", { "data-label": row.label, "data-value": row.value },
      h("span", { class: "meter-label", title: row.label, text: row.label }),
      h("span", { class: "bar" }, fill),
      h("span", { class: "meter-value", text: row.text ?? String(row.value) }));
  }));
}

function bucketLabel(iso, bucketS) {
  const at = new Date(iso);
  if (bucketS >= 86400) return at.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  return at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

/** Jobs ended per bucket, stacked by kind (failures apart) or by node (`by` "kind"|"node"). */
function throughputChart(stats, by) {
  const { bucket_s: bucketS, since, until } = stats.window;
  const first = Math.floor(Date.parse(since) / 1000 / bucketS) * bucketS;
  const last = Math.floor(Date.parse(until) / 1000 / bucketS) * bucketS;
  const counted = by === "node" ? stats.throughput : stats.throughput.filter((r) => r.state === "completed");
  const groups = [...new Set(counted.map((r) => r[by]))].sort();
  const keys = by === "node" ? groups : [...groups, "failed"];
  const columns = [];
  for (let at = first; at <= last; at += bucketS) {
    const iso = new Date(at * 1000).toISOString();
    const rows = stats.throughput.filter((r) => Date.parse(r.bucket) / 1000 === at);
    const sum = (keep) => rows.filter(keep).reduce((a, r) => a + r.count, 0);
    const parts = groups.map((group) => ({
      key: group,
      value: sum((r) => r[by] === group && (by === "node" || r.state === "completed")),
    }));
    if (by !== "node") parts.push({ key: "failed", value: sum((r) => r.state === "failed") });
    columns.push({ label: iso, parts });
  }
  const every = Math.max(1, Math.ceil(columns.length / 8));
  // As wide as the page allows (drawn at its size, so the text stays the size of the page's).
  const main = document.getElementById("page");
  const width = Math.max(320, Math.min(1200, (main ? main.clientWidth : 760) - 60));
  return barChart({ columns, keys, width, title: `jobs ended per bucket, by ${by}`, xLabel: (c) => bucketLabel(c.label, bucketS), every });
}

function throughputPanel(stats, bucket) {
  const holder = h("div", { class: "throughput-chart" });
  const buttons = ["kind", "node"].map((by) => h("button", { type: "button", class: `chip by-${by}`, "data-by": by, text: `by ${by}` }));
  const show = (by) => {
    for (const button of buttons) button.classList.toggle("on", button.dataset.by === by);
    replace(holder, throughputChart(stats, by));
  };
  for (const button of buttons) {
    button.addEventListener("click", () => {
      throughputBy = button.dataset.by;
      show(throughputBy);
    });
  }
  show(throughputBy);
  return h("section", { class: "panel stat", id: "throughput" },
    h("div", { class: "section-head" }, h("h2", { text: `Throughput (jobs ended per ${bucket})` }),
      h("div", { class: "chips", role: "group", "aria-label": "Stack by" }, buttons)),
    holder);
}

// Which grouping the throughput chart shows; kept across the page's refreshes.
let throughputBy = "kind";

function perNode(stats) {
  const hours = (Date.parse(stats.window.until) - Date.parse(stats.window.since)) / 3.6e6;
  const nodes = new Map();
  for (const row of stats.throughput) {
    const entry = nodes.get(row.node) || { completed: 0, failed: 0 };
    entry[row.state] += row.count;
    nodes.set(row.node, entry);
  }
  if (!nodes.size) return h("p", { class: "empty", text: "No job ended in this window." });
  const rows = [...nodes.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  return h("div", { class: "table-wrap" }, h("table", { class: "numbers per-node" },
    h("thead", {}, h("tr", {}, ["Node", "", "Completed", "Failed", "Jobs / h"].map((t) => h("th", { text: t })))),
    h("tbody", {}, rows.map(([node, n]) => h("tr", { "data-node": node },
      h("td", { text: node }), h("td", {}),
      h("td", { text: String(n.completed) }), h("td", { text: String(n.failed) }),
      h("td", { text: ((n.completed + n.failed) / hours).toFixed(2) }))))));
}

function queues(stats) {
  if (!stats.queues.length) return h("p", { class: "empty", text: "No job is waiting or running." });
  return h("div", { class: "table-wrap" }, h("table", { class: "numbers queues" },
    h("thead", {}, h("tr", {}, ["Queue", "State", "Jobs", "Oldest"].map((t) => h("th", { text: t })))),
    h("tbody", {}, stats.queues.map((q) => h("tr", { "data-queue": q.queue, "data-state": q.state },
      h("td", { text: q.queue }), h("td", { class: `state-${q.state}`, text: q.state }),
      h("td", { text: String(q.count) }), h("td", { text: f.ago(q.oldest_created_at) }))))));
}

function failures(stats) {
  const rows = stats.failures.map((r) => ({ label: r.reason, value: r.count }));
  if (stats.failures_other) rows.push({ label: "other reasons", value: stats.failures_other });
  return meters(rows, { className: "failed", empty: "No job failed in this window." });
}

function savings(stats) {
  if (!stats.savings.length) {
    return h("p", { class: "empty", text: "No encode that reported its source size completed in this window." });
  }
  const total = stats.savings.reduce((a, r) => a + r.source_bytes, 0);
  const saved = stats.totals.saved_bytes;
  return h("div", {},
    h("p", { class: "headline" }, h("strong", { class: "saved-total", "data-bytes": saved, text: f.bytes(saved) }),
      ` saved of ${f.bytes(total)} (${total ? ((saved / total) * 100).toFixed(1) : "0"}%)`),
    meters(stats.savings.map((r) => ({
      label: `${r.codec || "?"} · ${r.jobs} encode${r.jobs === 1 ? "" : "s"}`,
      value: Math.max(0, r.saved_bytes),
      text: `${f.bytes(r.saved_bytes)} (${f.bytes(r.source_bytes)} → ${f.bytes(r.output_bytes)})`,
    }))));
}

function vmaf(stats) {
  const bins = stats.vmaf.bins;
  if (!stats.totals.scored_encodes) {
    return h("p", { class: "empty", text: "No encode scored after encoding (score_after) completed in this window." });
  }
  const firstUsed = Math.max(0, bins.findIndex((b) => b.count > 0) - 1);
  const shown = bins.slice(firstUsed);
  const columns = shown.map((b) => ({ label: `${b.low}–${b.low + stats.vmaf.bin_width}`, parts: [{ key: "encodes", value: b.count }] }));
  return barChart({ columns, keys: ["encodes"], title: "VMAF of scored encodes", height: 200, xLabel: (c) => c.label.split("–")[0] });
}

function busy(stats) {
  return meters(stats.busy.map((r) => ({
    label: r.gpu_uuid ? `${r.node} · ${r.gpu_name || "GPU"} …${r.gpu_uuid.slice(-4)}` : `${r.node} · CPU`,
    value: r.average_jobs,
    text: `${r.average_jobs.toFixed(2)} jobs on average · ${f.duration(r.busy_s)} · ${r.attempts} attempts`,
  })), { empty: "No attempt ran in this window." });
}

function panel(title, id, body, note) {
  return h("section", { class: "panel stat", id }, h("h2", { text: title }), note ? h("p", { class: "muted small", text: note }) : null, body);
}

function totals(stats) {
  const t = stats.totals;
  return h("dl", { class: "totals" },
    h("div", {}, h("dt", { text: "Completed" }), h("dd", { id: "total-completed", text: String(t.completed) })),
    h("div", {}, h("dt", { text: "Failed" }), h("dd", { id: "total-failed", class: t.failed ? "error-text" : "", text: String(t.failed) })),
    h("div", {}, h("dt", { text: "Saved" }), h("dd", { id: "total-saved", text: f.bytes(t.saved_bytes) })),
    h("div", {}, h("dt", { text: "Scored encodes" }), h("dd", { text: String(t.scored_encodes) })));
}

export function mount(root, ctx) {
  const chosen = WINDOWS.find((w) => String(w.hours) === ctx.query.get("hours")) || WINDOWS[0];
  const picker = h("div", { class: "chips", role: "group", "aria-label": "Window" }, WINDOWS.map((w) =>
    h("a", { class: `chip${w === chosen ? " on" : ""}`, href: `#/stats?hours=${w.hours}`, text: w.label })));
  const body = h("div", { class: "stats" });
  const note = h("p", { class: "empty", hidden: true });
  root.append(h("div", { class: "page-head" }, h("h1", { text: "Stats" }), picker), note, body);
  let timer = null;
  let stopped = false;
  const load = async () => {
    try {
      const stats = await api(`/v1/stats?hours=${chosen.hours}&bucket=${chosen.bucket}`);
      note.hidden = true;
      replace(body,
        totals(stats),
        throughputPanel(stats, chosen.bucket),
        h("div", { class: "stat-grid" },
          panel("Per node", "per-node", perNode(stats)),
          panel("Queues now", "queues", queues(stats)),
          panel("Failures by reason", "failures", failures(stats), "An error's first line; the ten commonest."),
          panel("Bytes saved by encodes", "savings", savings(stats), "Source size − output size, per codec (whole-file encodes)."),
          panel("VMAF of encodes", "vmaf", vmaf(stats), "Encodes submitted with score_after, in 5-point bins."),
          panel("Busy per node and GPU", "busy", busy(stats), "Time attempts ran in the window, as jobs running on average.")));
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
