// The Job page: what the job is, where it runs or ran (each attempt: node, GPU, encoder,
// fallback), live progress, the per-frame chart and pooled metrics of a score, the error with
// ffmpeg's last lines, and a cancel button. Live from /v1/jobs/{id}/events.

import { api, follow, token } from "./api.js";
import { lineChart } from "./chart.js";
import { h, replace, setText } from "./dom.js";
import * as f from "./format.js";
import { progressBar, setProgress } from "./jobs.js";
import { tuneSection } from "./tune.js";

const POOLS = ["mean", "harmonic_mean", "min", "max", "p5", "p95"];

function facts(kind, rows) {
  return h("dl", { class: `facts ${kind}` }, rows.filter(Boolean).map(([key, value]) => [h("dt", { text: key }), h("dd", {}, value)]));
}

function table(head, rows, props = {}) {
  return h("div", { class: "table-wrap" }, h("table", props,
    h("thead", {}, h("tr", {}, head.map((name) => h("th", { scope: "col", text: name })))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell, i) => h("td", { "data-label": head[i] }, cell)))))));
}

function requirementsText(req) {
  const parts = [];
  for (const key of ["backend", "gpu_vendor", "encoder"]) if (req[key]) parts.push(`${key} ${req[key]}`);
  if (req.min_gpu_memory_mb) parts.push(`GPU memory ≥ ${req.min_gpu_memory_mb} MB`);
  for (const [key, value] of Object.entries(req.labels || {})) parts.push(`${key}=${value}`);
  return parts.join(", ") || null;
}

function summary(job, progress, elapsed) {
  const spec = job.spec || {};
  const distorted = spec.distorted || [];
  return facts("two", [
    ["Kind / queue", `${job.kind} / ${job.queue}`],
    ["Host / GPU", job.where || (job.lease ? job.lease.node_name : f.NONE)],
    ["Progress", progress.node],
    ["Duration", elapsed],
    ["Score", f.fixed(f.scoreOf(job), 4)],
    ["Created", f.clock(job.created_at)],
    job.started_at && ["Started", f.clock(job.started_at)],
    job.finished_at && ["Finished", f.clock(job.finished_at)],
    ["Priority", String(job.priority)],
    requirementsText(job.requirements) && ["Requires", requirementsText(job.requirements)],
    spec.reference && ["Reference", h("code", { text: spec.reference })],
    ...distorted.map((path, i) => [`Distorted ${distorted.length > 1 ? i + 1 : ""}`.trim(), h("code", { text: path })]),
    spec.source && ["Source", h("code", { text: spec.source })],
    spec.output && ["Output", h("code", { text: spec.output })],
  ]);
}

/** The scored inputs with a chart series: a score job's inputs, or an encode's output scored
 * after encoding (`--score-after`), drawn the same way. */
function seriesOf(result, job) {
  const after = result.score_after;
  if (after && after.series && after.series.frame_nums) {
    return [{ distorted: (job && job.spec && job.spec.output) || "output", series: after.series, per_frame: after.per_frame }];
  }
  return (result.results || []).filter((item) => item.series && item.series.frame_nums);
}

/** Links that download the full per-frame series the controller keeps (CSV as `vmafx score
 * --per-frame` writes it, or JSON): fetched with the token, saved through a blob URL. */
function framesLinks(job) {
  const result = job.result || {};
  const entries = [...(result.results || []).map((item) => item.per_frame), result.score_after && result.score_after.per_frame];
  const kept = entries.filter((entry) => entry && entry.stored === true);
  const left = entries.find((entry) => entry && entry.stored === false);
  const box = h("p", { class: "frames-links" });
  if (!kept.length) {
    return left ? h("p", { class: "muted frames-links", text: `The full per-frame series stayed on the node: ${left.why || ""}` }) : null;
  }
  const fetchAs = async (format) => {
    try {
      const response = await fetch(`/v1/jobs/${encodeURIComponent(job.id)}/frames?format=${format}`, {
        headers: token.get() ? { Authorization: `Bearer ${token.get()}` } : {},
      });
      if (!response.ok) throw new Error(`the controller answered HTTP ${response.status}`);
      const url = URL.createObjectURL(await response.blob());
      const link = h("a", { href: url, download: `vmafx-${f.shortId(job.id)}-frames.${format}` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      box.append(h("span", { class: "problem", role: "alert", text: ` ${error.message}` }));
    }
  };
  const button = (format, text) => h("button", { type: "button", class: `link frames-${format}`, text, onclick: () => fetchAs(format) });
  box.append("Every frame: ", button("csv", "CSV"), " · ", button("json", "JSON"));
  return box;
}

function chartSection(job) {
  const scored = seriesOf(job.result || {}, job);
  if (!scored.length) return null;
  const metrics = [...new Set(scored.flatMap((item) => Object.keys(item.series)))].filter((k) => k !== "frame_nums");
  let metric = metrics.find((m) => m === "vmaf") || metrics.find((m) => m.startsWith("vmaf")) || metrics[0];
  const holder = h("div", { class: "chart-holder" });
  const draw = () => {
    const series = scored.filter((item) => item.series[metric]).map((item) => ({
      label: item.distorted.split("/").pop(),
      x: item.series.frame_nums,
      y: item.series[metric],
    }));
    // VMAF on its own scale up to 100, from a round number below the worst frame.
    const vmaf = metric.startsWith("vmaf");
    const low = Math.min(...series.flatMap((item) => item.y));
    const width = Math.max(280, Math.floor(holder.clientWidth || 720));
    replace(holder, lineChart({
      series,
      width,
      height: width < 500 ? 200 : 260,
      yMin: vmaf ? Math.max(0, Math.floor((low - 5) / 10) * 10) : undefined,
      yMax: vmaf ? 100 : undefined,
      title: `per-frame ${metric}`,
    }));
  };
  const picker = h("select", { "aria-label": "metric", onchange: () => { metric = picker.value; draw(); } },
    metrics.map((m) => h("option", { value: m, text: m, selected: m === metric })));
  const section = h("section", { class: "panel" }, h("div", { class: "section-head" }, h("h2", { text: "Per frame" }), picker), holder, framesLinks(job));
  return { section, draw };
}

// A model is keyed by its name (`vmaf_v0.6.1`); `vmaf` is the one-release alias of the only
// model, the same figures twice, so it is shown once, under the model's name (as
// vmafx.core.scores.shown_pooled does for the CLI).
function pooledRows(name, pooled) {
  const entries = Object.entries(pooled || {});
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const alias = (pooled || {}).vmaf;
  const aliased = entries.some(([metric, values]) => metric !== "vmaf" && metric.startsWith("vmaf") && same(values, alias));
  return entries.filter(([metric]) => !(aliased && metric === "vmaf")).map(([metric, values]) => [name, metric, ...POOLS.map((p) => f.fixed(values[p], 3))]);
}

function pooledSection(job) {
  const result = job.result || {};
  const rows = (result.results || []).flatMap((item) => pooledRows(item.distorted.split("/").pop(), item.pooled));
  if (result.score_after && result.score_after.pooled) rows.push(...pooledRows("output vs source", result.score_after.pooled));
  if (!rows.length) return null;
  return h("section", { class: "panel" }, h("h2", { text: "Pooled metrics" }),
    table(["Input", "Metric", "Mean", "Harmonic mean", "Min", "Max", "P5", "P95"], rows, { class: "numbers" }));
}

function encodeSection(job) {
  const r = job.result || {};
  if (job.kind !== "encode" || !r.output) return null;
  const fallback = r.fallback ? `${r.fallback.from} failed, used ${r.fallback.to}: ${r.fallback.reason}` : null;
  const after = r.score_after;
  return h("section", { class: "panel" }, h("h2", { text: "Encode" }), facts("two", [
    ["Output", h("code", { text: r.output })],
    ["Encoder", `${r.encoder}${r.hardware ? " (hardware)" : ""}`],
    r.gpu && ["GPU", f.gpuText(r.gpu)],
    fallback && ["Fallback", fallback],
    ["Size", `${f.bytes(r.bytes)}${r.bitrate_kbps ? ` · ${r.bitrate_kbps} kbit/s` : ""}`],
    ["Picture", `${r.width}×${r.height}, ${r.frames} frames, ${f.duration(r.duration_s)}`],
    after && ["VMAF after", after.error ? after.error : f.fixed(after.vmaf, 3)],
  ]));
}

/** A health check: the verdict, frames decoded of expected, and each decode error's time. */
function healthSection(job) {
  const r = job.result || {};
  if (job.kind !== "health" || typeof r.ok !== "boolean") return null;
  const frames = r.frames_expected ? `${r.frames_decoded} of ${r.frames_expected}` : `${r.frames_decoded}`;
  const rows = (r.errors || []).map((e) => [
    e.stream,
    typeof e.time_s === "number" ? `${e.time_s.toFixed(3)} s` : f.NONE,
    e.frame === null || e.frame === undefined ? f.NONE : String(e.frame),
    h("span", { class: "error-text", text: e.message }),
  ]);
  const listed = rows.length < r.error_count ? ` (first ${rows.length} listed)` : "";
  return h("section", { class: "panel health" }, h("h2", { text: "Health check" }), facts("two", [
    ["Verdict", h("span", { class: `badge state-${r.ok ? "completed" : "failed"}`, id: "health-verdict",
      text: r.ok ? "healthy" : `${r.error_count} decode error${r.error_count === 1 ? "" : "s"}${listed}` })],
    ["Frames decoded", frames],
    ["Duration", r.decoded_s === null ? f.NONE : f.duration(r.decoded_s)],
    ["Picture", r.width ? `${r.codec} ${r.width}×${r.height}` : f.NONE],
    ["Checked in", f.duration(r.elapsed_s)],
  ]), rows.length ? table(["Stream", "Time", "Frame", "Error"], rows, { class: "health-errors" }) : null);
}

function attemptsSection(job) {
  if (!job.attempts || !job.attempts.length) return null;
  const rows = job.attempts.map((a) => [
    String(a.number), a.node_name, a.where, a.gpu ? `${a.gpu.vendor} ${a.gpu.name} #${a.gpu.index} ${a.gpu.uuid}`.trim() : f.NONE,
    a.encoder ? `${a.encoder}${a.fallback ? " (fallback)" : ""}`
      : (!a.outcome && job.progress_detail && job.progress_detail.encoder) || f.NONE, // running: as its node says
    f.clock(a.started_at), a.ended_at ? f.clock(a.ended_at) : f.NONE,
    h("span", { class: `badge state-${a.outcome || "running"}`, text: a.outcome || "running" }),
    a.error ? h("span", { class: "error-text", text: a.error.split("\n")[0] }) : "",
  ]);
  return h("section", { class: "panel" }, h("h2", { text: "Attempts" }),
    table(["#", "Node", "Host / GPU", "GPU", "Encoder", "Started", "Ended", "Outcome", "Error"], rows, { class: "attempts" }));
}

/** What a full redraw shows, apart from progress (events replayed on load change none of it). */
function signature(job) {
  if (!job) return "";
  const last = (job.attempts || []).at(-1) || {};
  return JSON.stringify([job.state, job.attempt, job.where, job.pending_reason, job.error, job.attempts?.length, last.outcome, last.encoder, job.progress_detail?.encoder]);
}

function cancelControls(id, onDone) {
  const box = h("div", { class: "cancel" });
  const ask = () => replace(box, h("button", { type: "button", class: "danger", text: "Cancel job", onclick: confirm }));
  const run = async () => {
    replace(box, h("span", { class: "muted", text: "Cancelling…" }));
    try {
      await api(`/v1/jobs/${encodeURIComponent(id)}/cancel`, { method: "POST", body: { reason: "cancelled from the web UI" } });
      onDone();
    } catch (error) {
      ask();
      box.append(h("p", { class: "problem", role: "alert", text: `${error.message} ${error.hint || ""}` }));
    }
  };
  function confirm() {
    replace(box, h("span", { text: "Cancel this job? " }),
      h("button", { type: "button", class: "danger", text: "Yes, cancel it", onclick: run }),
      h("button", { type: "button", text: "Keep it", onclick: ask }));
  }
  ask();
  return box;
}

/** "Retry": a new job doing the same work, linked to this one; the page then shows it. */
function retryControls(id) {
  const box = h("div", { class: "retry" });
  const run = async () => {
    replace(box, h("span", { class: "muted", text: "Retrying…" }));
    try {
      const fresh = await api(`/v1/jobs/${encodeURIComponent(id)}/retry`, { method: "POST" });
      location.hash = `#/jobs/${encodeURIComponent(fresh.id)}`;
    } catch (error) {
      ask();
      box.append(h("p", { class: "problem", role: "alert", text: `${error.message} ${error.hint || ""}` }));
    }
  };
  const ask = () => replace(box, h("button", { type: "button", class: "retry-job", text: "Retry job", title: "Submit the same work again as a new job linked to this one", onclick: run }));
  ask();
  return box;
}

/** Everything the page shows of `job`, top to bottom. */
function sections(job, { progress, elapsed, chart, refresh, tune }) {
  const waiting = job.state === "pending" && job.pending_reason;
  return [
    h("div", { class: "page-head" },
      h("h1", {}, "Job ", h("span", { class: "mono", title: job.id, text: f.shortId(job.id) })),
      h("span", { class: `badge state-${job.state}`, id: "job-state", text: job.state }),
      f.isTerminal(job) ? null : cancelControls(job.id, refresh),
      job.state === "failed" || job.state === "cancelled" ? retryControls(job.id) : null),
    job.retry_of
      ? h("p", { class: "muted retry-of" }, "A retry of job ",
        h("a", { class: "mono", href: `#/jobs/${encodeURIComponent(job.retry_of)}`, text: f.shortId(job.retry_of) }))
      : null,
    waiting ? h("p", { class: "callout why" }, h("strong", { text: "Waiting: " }), job.pending_reason) : null,
    job.error
      ? h("section", { class: "panel" },
        h("h2", { text: job.state === "cancelled" ? "Why it was cancelled" : "Error" }),
        h("pre", { class: "stderr", text: job.error }))
      : null,
    h("section", { class: "panel" }, summary(job, progress, elapsed)),
    chart ? chart.section : null,
    tune ? tune.section : null,
    pooledSection(job),
    encodeSection(job),
    healthSection(job),
    attemptsSection(job),
    h("details", { class: "panel" }, h("summary", { text: "Spec" }), h("pre", { text: JSON.stringify(job.spec, null, 2) })),
  ];
}

export function mount(root, ctx) {
  const id = ctx.params.id;
  let job = null;
  let refreshing = null;
  const progress = progressBar();
  progress.node.classList.add("wide");
  const elapsed = h("span");
  const view = h("div", { class: "job-page" });
  let redraw = () => {};
  let tune = null;
  let width = 0;
  const observer = new ResizeObserver(() => {
    if (Math.abs(view.clientWidth - width) > 8) {
      width = view.clientWidth;
      redraw();
    }
  });
  root.append(h("p", { class: "crumbs" }, h("a", { href: "#/jobs", text: "← Jobs" })), view);
  observer.observe(view);

  const showProgress = () => {
    setProgress(progress, job, true); // "encoding 42 % 87 fps ETA 0:12 (libx264)" from progress_detail
  };
  const render = () => {
    showProgress();
    setText(elapsed, f.duration(f.runSeconds(job)));
    const chart = chartSection(job);
    if (tune) tune.close();
    tune = job.kind === "tune" ? tuneSection(job, () => view.clientWidth - 40) : null;
    redraw = chart ? chart.draw : tune ? tune.redraw : () => {};
    replace(view, sections(job, { progress, elapsed, chart, refresh, tune }));
    redraw(); // the chart is sized to its holder, which has a width only now
  };
  function refresh() {
    clearTimeout(refreshing);
    refreshing = setTimeout(async () => {
      try {
        const next = await api(`/v1/jobs/${encodeURIComponent(id)}`);
        const same = signature(next) === signature(job);
        job = next;
        if (same) showProgress(); // nothing but progress moved: keep the page as it is
        else render();
      } catch (error) {
        if (error.needsToken) ctx.needToken(error);
      }
    }, 150);
  }
  const stream = follow(`/v1/jobs/${encodeURIComponent(id)}/events`, {
    onEvent(name, data) {
      if (name === "snapshot") {
        job = data;
        render();
      } else if (name === "job_event" && data.type === "progress" && job && job.state === "running") {
        const value = data.data.progress;
        if (typeof value === "number" && value >= (job.progress ?? 0)) job.progress = value;
        const before = signature(job);
        if (data.data.partial) job.progress_detail = data.data.partial;
        if (signature(job) !== before) render(); // the running attempt's encoder became known
        else showProgress();
      } else if (name === "job_event" || name === "end") {
        refresh();
      }
    },
    onStatus(status, error) {
      if (error && error.needsToken) return ctx.needToken(error);
      if (error && error.status === 404) {
        replace(view, h("p", { class: "problem", text: `${error.message} ${error.hint || ""}` }));
        return undefined;
      }
      ctx.setLive(status === "live" ? "live" : status === "ended" ? "off" : "reconnecting");
      return undefined;
    },
    until: () => job !== null && f.isTerminal(job),
  });
  const ticker = setInterval(() => {
    if (job && job.state === "running") setText(elapsed, f.duration(f.runSeconds(job)));
  }, 1000);
  return () => {
    if (tune) tune.close();
    stream.close();
    observer.disconnect();
    clearInterval(ticker);
    clearTimeout(refreshing);
  };
}
