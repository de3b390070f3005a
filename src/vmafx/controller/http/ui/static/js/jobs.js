// The Jobs page: every job of the tenant, live from /v1/events, newest first, filtered by
// state, kind and queue. A waiting job says why it waits; a job that ran says where (host / GPU).
//
// The job stream does not carry attribution, so `host / GPU` comes from GET /v1/jobs/{id},
// read once per attempt and state change for the rows on screen, a few at a time.

import { api, follow } from "./api.js";
import { h, setText } from "./dom.js";
import * as f from "./format.js";
import { submitForm } from "./submit.js";

const MAX_ROWS = 200;
const RENDER_MS = 50;
const DETAIL_CONCURRENCY = 4;
const COLUMNS = ["State", "Job", "Kind", "Queue", "Host / GPU", "Progress", "Duration", "Score"];

export function progressBar() {
  const fill = h("span", { class: "fill" });
  const bar = h("div", { class: "bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100 }, fill);
  const label = h("span", { class: "pct" });
  return { node: h("div", { class: "progress" }, bar, label), bar, fill, label };
}

/** The bar and its label; `full` (the job page) adds speed, ETA and encoder to the phase. */
export function setProgress(parts, job, full = false) {
  const value = f.percent(job);
  parts.node.dataset.state = job.state;
  parts.fill.style.width = `${value ?? 0}%`;
  parts.bar.classList.toggle("unknown", value === null && job.state === "running");
  if (value === null) parts.bar.removeAttribute("aria-valuenow");
  else parts.bar.setAttribute("aria-valuenow", value.toFixed(1));
  const phase = job.state === "running" && job.progress_detail && job.progress_detail.phase;
  const text = full ? f.progressText(job) : phase && value !== null ? `${phase} ${value.toFixed(0)} %` : "";
  if (text) setText(parts.label, text);
  else setText(parts.label, value === null ? (job.state === "running" ? "…" : f.NONE) : `${value.toFixed(0)}%`);
}

function newRow(job) {
  const cell = (label, ...children) => h("td", { "data-label": label }, ...children);
  const row = {
    state: h("span", { class: "badge" }),
    link: h("a", { class: "mono", href: `#/jobs/${encodeURIComponent(job.id)}`, title: job.id }),
    kind: cell("Kind"),
    queue: cell("Queue"),
    where: cell("Host / GPU"),
    progress: progressBar(),
    duration: cell("Duration"),
    score: cell("Score"),
    note: h("td", { colspan: COLUMNS.length }),
  };
  row.noteRow = h("tr", { class: "note", hidden: true }, row.note);
  row.score.classList.add("num");
  row.where.classList.add("where");
  row.body = h("tbody", { class: "job", "data-id": job.id },
    h("tr", { class: "main" },
      cell("State", row.state), cell("Job", row.link), row.kind, row.queue, row.where,
      cell("Progress", row.progress.node), row.duration, row.score),
    row.noteRow);
  return row;
}

function noteOf(job) {
  if (job.state === "pending" && job.pending_reason) return ["why", `waiting: ${job.pending_reason}`];
  if ((job.state === "failed" || job.state === "cancelled") && job.error) {
    return ["error-text", job.error.split("\n")[0]];
  }
  return null;
}

function updateRow(row, job, where) {
  row.body.dataset.state = job.state;
  row.state.className = `badge state-${job.state}`;
  setText(row.state, job.state);
  setText(row.link, f.shortId(job.id));
  setText(row.kind, job.kind);
  setText(row.queue, job.queue);
  setText(row.where, where);
  setProgress(row.progress, job);
  setText(row.duration, f.duration(f.runSeconds(job)));
  setText(row.score, f.fixed(f.scoreOf(job)));
  const note = noteOf(job);
  row.noteRow.hidden = !note;
  if (note) {
    row.note.className = note[0];
    setText(row.note, note[1]);
  }
}

/** What a row needs of a job: results and specs can be large, and thousands may stream in. */
function slim(job) {
  const after = job.result && job.result.score_after;
  const { result, spec, ...rest } = job;
  return { ...rest, result: after ? { score_after: { vmaf: after.vmaf } } : null };
}

function select(label, name, values, current, onChange) {
  const options = [h("option", { value: "", text: `all ${label}` })];
  for (const value of values) options.push(h("option", { value, text: value, selected: value === current }));
  const node = h("select", { name, "aria-label": label, onchange: () => onChange(node.value) }, options);
  node.value = current;
  return node;
}

/** `host / GPU` of each job, read from the job's details when its attempt or state changes. */
function attribution(onChange) {
  const known = new Map();
  const waiting = [];
  let active = 0;
  const pump = () => {
    while (active < DETAIL_CONCURRENCY && waiting.length) {
      const id = waiting.shift();
      active += 1;
      api(`/v1/jobs/${encodeURIComponent(id)}`)
        .then((details) => {
          known.get(id).text = details.where;
          onChange();
        })
        .catch(() => {
          known.get(id).key = null; // try again on the next change
        })
        .finally(() => {
          active -= 1;
          pump();
        });
    }
  };
  return {
    of(job) {
      const key = `${job.attempt}:${job.state}`;
      const entry = known.get(job.id);
      if (job.attempt && (!entry || entry.key !== key)) {
        known.set(job.id, { key, text: entry ? entry.text : null });
        waiting.push(job.id);
        pump();
      }
      const text = known.get(job.id)?.text;
      return text || (job.lease ? job.lease.node_name : job.attempt ? "…" : f.NONE);
    },
  };
}

export function mount(root, ctx) {
  const jobs = new Map();
  const rows = new Map();
  const filters = { state: ctx.query.get("state") || "", kind: ctx.query.get("kind") || "", queue: ctx.query.get("queue") || "" };
  const counts = h("div", { class: "chips", role: "group", "aria-label": "Filter by state" });
  const tools = h("div", { class: "toolbar" },
    select("kinds", "kind", f.KINDS, filters.kind, (v) => setFilter("kind", v)));
  const banner = h("p", { class: "banner", hidden: true });
  const head = h("thead", {}, h("tr", {}, COLUMNS.map((name) => h("th", { scope: "col", text: name }))));
  const table = h("table", { class: "jobs" }, head);
  const empty = h("p", { class: "empty", hidden: true });
  let timer = null;
  const where = attribution(() => schedule());

  const setFilter = (name, value) => {
    filters[name] = value;
    const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v)).toString();
    history.replaceState(null, "", `#/jobs${query ? `?${query}` : ""}`);
    render();
  };

  const chips = ["", ...f.STATES].map((state) => {
    const count = h("b");
    const node = h("button", {
      type: "button",
      class: `chip state-${state || "all"}`,
      onclick: () => setFilter("state", filters.state === state ? "" : state),
    }, state || "all", count);
    counts.append(node);
    return { state, node, count };
  });
  const queueSelect = { node: null, values: null };

  function renderTools() {
    const all = [...jobs.values()];
    for (const chip of chips) {
      const on = filters.state === chip.state;
      chip.node.classList.toggle("on", on);
      chip.node.setAttribute("aria-pressed", String(on));
      setText(chip.count, chip.state ? all.filter((job) => job.state === chip.state).length : all.length);
    }
    const queues = [...new Set(all.map((job) => job.queue))].sort();
    if (queueSelect.values !== queues.join()) {
      queueSelect.values = queues.join();
      const next = select("queues", "queue", queues, filters.queue, (v) => setFilter("queue", v));
      if (queueSelect.node) queueSelect.node.replaceWith(next);
      else tools.append(next);
      queueSelect.node = next;
    }
  }

  function render() {
    timer = null;
    renderTools();
    const shown = [...jobs.values()]
      .filter((job) => (!filters.state || job.state === filters.state)
        && (!filters.kind || job.kind === filters.kind)
        && (!filters.queue || job.queue === filters.queue))
      .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
    const visible = new Set();
    for (const job of shown.slice(0, MAX_ROWS)) {
      let row = rows.get(job.id);
      if (!row) rows.set(job.id, (row = newRow(job)));
      updateRow(row, job, where.of(job));
      table.append(row.body); // moves an existing row into its place
      visible.add(job.id);
    }
    for (const [id, row] of rows) if (!visible.has(id)) row.body.remove();
    empty.hidden = shown.length > 0 && shown.length <= MAX_ROWS;
    setText(empty, shown.length > MAX_ROWS ? `${shown.length - MAX_ROWS} older jobs not shown: narrow the filters.`
      : jobs.size ? "No job matches these filters." : "No jobs yet. Submit one above, or with `vmafx jobs submit score REF DIS`.");
  }

  function schedule() {
    if (timer === null) timer = setTimeout(render, RENDER_MS);
  }

  const stream = follow("/v1/events", {
    onEvent(name, data) {
      if (name === "job") {
        jobs.set(data.id, slim(data));
        schedule();
      } else if (name === "error") {
        banner.hidden = false;
        setText(banner, `${data.error.message} Reconnecting…`);
      }
    },
    onStatus(status, error) {
      if (error && error.needsToken) return ctx.needToken(error);
      ctx.setLive(status === "live" ? "live" : "reconnecting");
      banner.hidden = status === "live" || !error;
      if (error) setText(banner, `${error.message} ${error.hint || ""}`);
    },
  });
  const ticker = setInterval(() => {
    for (const [id, row] of rows) {
      const job = jobs.get(id);
      if (job && job.state === "running") setText(row.duration, f.duration(f.runSeconds(job)));
    }
  }, 1000);

  const form = submitForm({
    onSubmitted: (job) => {
      jobs.set(job.id, slim(job));
      schedule();
    },
    needToken: ctx.needToken,
  });
  root.append(
    h("div", { class: "page-head" }, h("h1", { text: "Jobs" }), counts),
    h("div", { class: "toolbar-row" }, tools, form), banner, h("div", { class: "table-wrap" }, table), empty);
  render();
  return () => {
    stream.close();
    clearInterval(ticker);
    clearTimeout(timer);
  };
}
