// The Tune view of a tune job's page: the measured CRF→VMAF curve with the target line (SVG),
// every probe with the node it ran on, and for a ladder the hull plot (log bitrate × VMAF) with
// the rung table. From the job's result when it has ended; while it runs (or when it failed)
// from its probe jobs (/v1/jobs?parent_id=ID), refreshed every two seconds.

import { api } from "./api.js";
import { h, replace, s } from "./dom.js";
import * as f from "./format.js";

const PAD = { left: 46, right: 14, top: 18, bottom: 34 };
const REFRESH_MS = 2000;

function ticks(low, high, count = 5) {
  const raw = (high - low) / count || 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((m) => m >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

/** An SVG frame with axes: returns {svg, x, y} where x/y map data to pixels. */
function frame({ width, height, xLow, xHigh, yLow, yHigh, xLog = false, title, xLabel, yLabel }) {
  const right = width - PAD.right;
  const bottom = height - PAD.bottom;
  const tx = xLog ? Math.log : (v) => v;
  const x = (v) => PAD.left + ((tx(v) - tx(xLow)) / (tx(xHigh) - tx(xLow) || 1)) * (right - PAD.left);
  const y = (v) => bottom - ((v - yLow) / (yHigh - yLow || 1)) * (bottom - PAD.top);
  const xs = xLog
    ? ticks(Math.log10(xLow), Math.log10(xHigh), 4).map((p) => 10 ** p).filter((v) => v >= xLow && v <= xHigh)
    : ticks(xLow, xHigh, Math.max(2, Math.floor(width / 90)));
  const svg = s("svg", { class: "chart tune-chart", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title },
    ticks(yLow, yHigh).map((v) => [
      s("line", { class: "grid", x1: PAD.left, x2: right, y1: y(v), y2: y(v) }),
      s("text", { class: "tick", x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end" }, String(v)),
    ]),
    xs.map((v) => s("text", { class: "tick", x: x(v), y: bottom + 16, "text-anchor": "middle" }, xLog ? String(Math.round(v)) : String(v))),
    s("line", { class: "axis", x1: PAD.left, x2: right, y1: bottom, y2: bottom }),
    s("text", { class: "tick", x: (PAD.left + right) / 2, y: height - 4, "text-anchor": "middle" }, xLabel),
    s("text", { class: "tick", x: PAD.left + 4, y: PAD.top - 3, "text-anchor": "start" }, yLabel));
  return { svg, x, y, right, bottom };
}

/** How the page names a tune's metric (the spec's `metric`): VMAF, p5 VMAF, vmaf_neg… */
export function metricLabel(metric) {
  return { vmaf: "VMAF", p5: "p5 VMAF" }[metric || "vmaf"] || metric;
}

/** A probe child's value on the tune's metric: its score_after's mean, or (p5) its 5th percentile. */
function metricValue(after, metric) {
  if (metric !== "p5") return typeof after.vmaf === "number" ? after.vmaf : null;
  const pooled = (after.pooled || {})[after.model || "vmaf_v0.6.1"] || {};
  return typeof pooled.p5 === "number" ? pooled.p5 : null;
}

/** The curve picture: probes as dots (full filled, sample hollow), the fit, the target. */
export function curveChart(probes, { target, curve = [], chosen = null, parameter = "crf", label = "VMAF", width = 640 }) {
  const points = probes.filter((p) => typeof p.vmaf === "number");
  const all = [...points.map((p) => p.vmaf), ...curve.map((c) => c.vmaf), target].filter((v) => typeof v === "number");
  const crfs = [...points.map((p) => p.crf), ...curve.map((c) => c.crf)];
  if (!crfs.length) return h("p", { class: "muted", text: "No probe has been measured yet." });
  const yLow = Math.max(0, Math.floor((Math.min(...all) - 2) / 5) * 5);
  const yHigh = Math.min(100, Math.ceil((Math.max(...all) + 1) / 5) * 5);
  const xLow = Math.min(...crfs) - 1;
  const xHigh = Math.max(...crfs) + 1;
  const height = width < 500 ? 220 : 280;
  const g = frame({ width, height, xLow, xHigh, yLow, yHigh, title: `${label} against ${parameter}`, xLabel: parameter, yLabel: label });
  if (typeof target === "number") {
    g.svg.append(
      s("line", { class: "target", x1: PAD.left, x2: g.right, y1: g.y(target), y2: g.y(target), "data-vmaf": target }),
      s("text", { class: "tick target-label", x: g.right - 4, y: g.y(target) - 5, "text-anchor": "end" }, `target ${target}`));
  }
  if (curve.length > 1) {
    g.svg.append(s("polyline", { class: "series series-0 fit", "data-points": curve.length,
      points: curve.map((c) => `${g.x(c.crf).toFixed(1)},${g.y(c.vmaf).toFixed(1)}`).join(" ") }));
  }
  for (const p of points) {
    const text = `${parameter} ${p.crf}: ${label} ${p.vmaf.toFixed(2)} (${p.kind}${p.node ? ` on ${p.node}` : ""})`;
    g.svg.append(s("circle", {
      class: `probe probe-${p.kind}${p.crf === chosen ? " chosen" : ""}`,
      cx: g.x(p.crf).toFixed(1), cy: g.y(p.vmaf).toFixed(1), r: p.crf === chosen ? 6 : 4,
      "data-crf": p.crf, "data-vmaf": p.vmaf,
    }, s("title", {}, text)));
  }
  return h("figure", { class: "chart-figure" }, g.svg,
    h("figcaption", { class: "muted", text: "● full encode · ○ sample segments · line: the monotone fit" }));
}

/** The ladder picture: points per resolution, the upper hull, the rungs. */
export function hullChart(points, hull, rungs, width = 640) {
  if (!points.length) return h("p", { class: "muted", text: "No point has been measured yet." });
  const kbps = points.map((p) => p.kbps).filter((v) => v > 0);
  const vmaf = points.map((p) => p.vmaf);
  const height = width < 500 ? 220 : 300;
  const g = frame({ width, height, xLog: true, xLow: Math.min(...kbps) * 0.9, xHigh: Math.max(...kbps) * 1.1,
    yLow: Math.max(0, Math.floor((Math.min(...vmaf) - 2) / 5) * 5), yHigh: Math.min(100, Math.ceil((Math.max(...vmaf) + 1) / 5) * 5),
    title: "ladder: VMAF against bitrate", xLabel: "kbit/s (log)", yLabel: "VMAF" });
  const heights = [...new Set(points.map((p) => p.height))].sort((a, b) => b - a);
  for (const p of points) {
    const i = heights.indexOf(p.height) % 6;
    g.svg.append(s("circle", { class: `point series-fill-${i}`, cx: g.x(p.kbps).toFixed(1), cy: g.y(p.vmaf).toFixed(1), r: 3.5,
      "data-height": p.height }, s("title", {}, `${p.width}×${p.height} crf ${p.crf}: ${p.kbps.toFixed(0)} kbit/s, VMAF ${p.vmaf.toFixed(2)}`)));
  }
  const sorted = [...hull].sort((a, b) => a.kbps - b.kbps);
  g.svg.append(s("polyline", { class: "series series-0 hull", "data-points": sorted.length,
    points: sorted.map((p) => `${g.x(p.kbps).toFixed(1)},${g.y(p.vmaf).toFixed(1)}`).join(" ") }));
  for (const r of rungs) {
    g.svg.append(s("rect", { class: "rung", x: (g.x(r.kbps) - 5).toFixed(1), y: (g.y(r.vmaf) - 5).toFixed(1), width: 10, height: 10 }));
  }
  const legend = h("ul", { class: "legend" }, heights.map((height, i) =>
    h("li", {}, h("span", { class: `swatch series-${i % 6}` }), `${height}p`)), h("li", {}, "line: hull · ■ rung"));
  return h("figure", { class: "chart-figure" }, g.svg, legend);
}

function table(head, rows, props = {}) {
  return h("div", { class: "table-wrap" }, h("table", props,
    h("thead", {}, h("tr", {}, head.map((name) => h("th", { scope: "col", text: name })))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell, i) => h("td", { "data-label": head[i] }, cell)))))));
}

/** "node · host / GPU" of a finished probe. */
const placed = (p) => [p.nodes.join(", "), (p.where || []).join(", ")].filter(Boolean).join(" · ");

const jobLink = (id) => h("a", { href: `#/jobs/${encodeURIComponent(id)}`, class: "mono", text: f.shortId(id) });

/** Probe rows from the probe jobs themselves (while the search runs, or after it failed). */
export function probesFromChildren(children, metric = "vmaf") {
  return children.map((c) => {
    const after = (c.result || {}).score_after || {};
    const key = c.idempotency_key || "";
    const [kind, first, second] = key.split(":").slice(2);
    const res = (c.spec || {}).resolution;
    return {
      crf: (c.spec.rate_control || {}).value,
      vmaf: metricValue(after, metric),
      kind: kind === "sample" ? "sample" : (kind === "deliver" ? "delivery" : "full"),
      segment: kind === "sample" ? Number(second) : null,
      size: res ? `${res.width}x${res.height}` : (kind === "ladder" ? first : null),
      node: c.where || (c.lease ? c.lease.node_name : null),
      state: c.state,
      kbps: (c.result || {}).bitrate_kbps ?? null,
      jobs: [c.id],
      attempts: c.attempt,
    };
  }).sort((a, b) => a.crf - b.crf);
}

/** A finished probe's use, and whether an earlier search measured it (no job of this one). */
export const probeUse = (p) => (p.cached ? "cached, " : "") + (p.used === false ? "not used" : "used");

function probeTable(probes, parameter, label = "VMAF") {
  const rows = probes.map((p) => [
    String(p.crf), p.size || "", typeof p.vmaf === "number" ? p.vmaf.toFixed(2) : f.NONE, p.kind + (p.segment !== null && p.segment !== undefined ? ` #${p.segment}` : ""),
    p.node || f.NONE, p.kbps ? `${Number(p.kbps).toFixed(0)}` : f.NONE,
    p.state ? h("span", { class: `badge state-${p.state}`, text: p.state }) : probeUse(p),
    String(p.attempts ?? 1), h("span", {}, (p.jobs || []).map(jobLink)),
  ]);
  return table([parameter, "size", label, "kind", "node", "kbit/s", "state", "tries", "job"], rows, { class: "numbers tune-probes" });
}

function resultFacts(r) {
  const scale = r.scale ? ` at ${r.scale} (scored at the source's size)` : "";
  const rows = [
    ["Chosen", `${r.parameter} ${r.crf}${scale} → ${metricLabel(r.metric)} ${Number(r.vmaf).toFixed(2)}${r.kbps ? `, ${Number(r.kbps).toFixed(0)} kbit/s` : ""}`],
    ["Metric", `${metricLabel(r.metric)} (${r.model || "vmaf_v0.6.1"}, ${r.statistic || "mean"})`],
    ["Encoder", `${r.encoder}${r.preset ? ` (${r.preset})` : ""}`],
    ["Encoded on", r.chosen_where || r.chosen_node || f.NONE],
    ["Output", h("code", { text: r.output || f.NONE })],
    ["Cost", `${r.full_encodes} full encode(s), ${r.cost}× the input's frames`],
    ["Why it stopped", r.reason],
    ["Prior", `${r.parameter} ${r.prior.crf} from ${r.prior.source}`],
  ];
  return h("dl", { class: "facts two" }, rows.map(([k, v]) => [h("dt", { text: k }), h("dd", {}, v)]));
}

/** The Tune section of a tune job's page; returns {section, close}. */
export function tuneSection(job, width) {
  const holder = h("div", { class: "tune-view" });
  const section = h("section", { class: "panel", id: "tune" }, h("h2", { text: job.spec.mode === "ladder" ? "Ladder" : "Tune" }), holder);
  let timer = null;
  const chartWidth = () => Math.max(280, Math.floor(width() || 640));
  const metric = job.spec.metric || "vmaf";
  const label = metricLabel(metric);
  const draw = (children) => {
    const r = job.result;
    if (r && r.mode === "ladder") {
      replace(holder, hullChart(r.points, r.hull, r.rungs, chartWidth()),
        h("h3", { text: "Rungs" }),
        table(["resolution", r.parameter, "kbit/s", "VMAF", "node", "output"], r.rungs.map((p) => [
          `${p.width}×${p.height}`, String(p.crf), p.kbps.toFixed(0), p.vmaf.toFixed(2), p.node || f.NONE, h("code", { text: p.output || "" })]),
        { class: "numbers tune-rungs" }),
        h("h3", { text: "Probes" }), probeTable(r.probes.map((p) => ({ ...p, node: placed(p) })), r.parameter));
      return;
    }
    if (r && r.mode === "target") {
      const probes = r.probes.map((p) => ({ ...p, node: placed(p) }));
      replace(holder, resultFacts(r),
        curveChart(probes, { target: r.target, curve: r.curve, chosen: r.crf, parameter: r.parameter, label, width: chartWidth() }),
        h("h3", { text: "Probes" }), probeTable(probes, r.parameter, label));
      return;
    }
    const probes = probesFromChildren(children || [], metric);
    const parameter = ((children || [])[0]?.spec?.rate_control || {}).mode || "crf";
    if (job.spec.mode === "ladder") {
      const points = probes.filter((p) => typeof p.vmaf === "number" && p.kbps).map((p) => {
        const [w, hgt] = (p.size || "0x0").split("x").map(Number);
        return { width: w, height: hgt, crf: p.crf, kbps: Number(p.kbps), vmaf: p.vmaf };
      });
      replace(holder, hullChart(points, [], [], chartWidth()), h("h3", { text: "Probes" }), probeTable(probes, parameter));
      return;
    }
    replace(holder, curveChart(probes, { target: job.spec.target_vmaf, parameter, label, width: chartWidth() }),
      h("h3", { text: "Probes" }), probes.length ? probeTable(probes, parameter, label) : h("p", { class: "muted", text: "No probe job yet." }));
  };
  const load = async () => {
    try {
      const page = await api(`/v1/jobs?parent_id=${encodeURIComponent(job.id)}&limit=1000`);
      draw(page.jobs);
    } catch (error) {
      replace(holder, h("p", { class: "problem", text: `${error.message}` }));
    }
    if (!f.isTerminal(job)) timer = setTimeout(load, REFRESH_MS);
  };
  if (job.result && job.result.mode) draw([]);
  else load();
  return { section, redraw: () => { if (job.result && job.result.mode) draw([]); }, close: () => clearTimeout(timer) };
}
