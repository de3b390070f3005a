// The Jobs page: the tenant's jobs a page at a time (GET /v1/jobs with a cursor, newest first),
// searched by file name, id prefix, node or error text (`q`) and filtered by state, kind and
// queue, all applied by the controller, so the page stays fast at 100,000 jobs. Counts per
// state come from GET /v1/jobs/counts. Rows on screen change live from /v1/events (changes
// only, `snapshot=false`); new jobs appear at the top of the first page.
//
// Rows can be selected (or "all N matching" the filters) and cancelled or retried in one call
// (POST /v1/jobs/cancel, /v1/jobs/retry). A waiting job says why it waits; a job that ran says
// where (host / GPU, from GET /v1/jobs/{id}, read once per attempt and state change).

import { ApiError, api, follow } from "./api.js";
import { h, setText } from "./dom.js";
import * as f from "./format.js";
import { submitForm } from "./submit.js";

const PAGE_SIZE = 50;
const RENDER_MS = 50;
const SEARCH_MS = 300;
const COUNTS_MS = 2000;
const DETAIL_CONCURRENCY = 4;
const COLUMNS = ["", "State", "Job", "Files", "Kind", "Queue", "Host / GPU", "Progress", "Duration", "Score"];

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

/** `ref.mp4 → crf38.mp4 (+2)`: the base names of a job's files, full paths in the title. */
export function filesText(job) {
  const base = (path) => path.replace(/[\\/]+$/, "").split(/[\\/]/).pop() || path;
  const inputs = job.inputs || [];
  const outputs = job.outputs || [];
  const reads = inputs.slice(0, 2).map(base);
  const more = inputs.length > 2 ? ` (+${inputs.length - 2})` : "";
  const left = reads.join(job.kind === "score" ? " → " : ", ") + more;
  const right = outputs.map(base).join(", ");
  return { text: right ? `${left} → ${right}` : left || f.NONE, title: [...inputs, ...outputs].join("\n") };
}

function newRow(job, onPick) {
  const cell = (label, ...children) => h("td", { "data-label": label }, ...children);
  const row = {
    pick: h("input", { type: "checkbox", class: "pick", "aria-label": `Select job ${f.shortId(job.id)}`, onchange: () => onPick(job.id, row.pick.checked) }),
    state: h("span", { class: "badge" }),
    link: h("a", { class: "mono", href: `#/jobs/${encodeURIComponent(job.id)}`, title: job.id }),
    files: cell("Files"),
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
  row.files.classList.add("files");
  row.body = h("tbody", { class: "job", "data-id": job.id },
    h("tr", { class: "main" },
      h("td", { class: "pick" }, row.pick), cell("State", row.state), cell("Job", row.link), row.files,
      row.kind, row.queue, row.where, cell("Progress", row.progress.node), row.duration, row.score),
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

function updateRow(row, job, where, picked) {
  row.body.dataset.state = job.state;
  row.state.className = `badge state-${job.state}`;
  setText(row.state, job.state);
  setText(row.link, f.shortId(job.id));
  const files = filesText(job);
  setText(row.files, files.text);
  row.files.title = files.title;
  setText(row.kind, job.kind);
  setText(row.queue, job.queue);
  setText(row.where, where);
  setProgress(row.progress, job);
  setText(row.duration, f.duration(f.runSeconds(job)));
  setText(row.score, f.fixed(f.scoreOf(job)));
  row.pick.checked = picked;
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
  const { result, spec, ...rest } = job; // inputs and outputs stay: the Files column
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

function plural(n, word) {
  return `${n.toLocaleString("en")} ${word}${n === 1 ? "" : "s"}`;
}

export function mount(root, ctx) {
  const filters = {
    state: ctx.query.get("state") || "",
    kind: ctx.query.get("kind") || "",
    queue: ctx.query.get("queue") || "",
    q: ctx.query.get("q") || "",
  };
  const jobs = new Map(); // the page on screen, by id
  const rows = new Map();
  const selected = new Set();
  const cursors = [null]; // cursors[i]: the cursor of page i (null: the newest page)
  let pageIndex = 0;
  let nextCursor = null;
  let allMatching = false;
  let matching = 0;
  let timer = null;
  let loadSeq = 0;
  let stream = null;
  let countsTimer = null;
  let searchTimer = null;
  let drawnOnce = false;
  let behind = false;
  const where = attribution(() => schedule());

  const counts = h("div", { class: "chips", role: "group", "aria-label": "Filter by state" });
  const search = h("input", {
    type: "search",
    name: "q",
    class: "search",
    value: filters.q,
    placeholder: "Search files, job id, node, error…",
    title: "Words match a file name, the start of a job id, a node or the error; narrow one with file:, id:, node:, error:, state:, kind: or queue:",
    "aria-label": "Search jobs",
    oninput: () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => setFilter("q", search.value.trim()), SEARCH_MS);
    },
  });
  search.value = filters.q;
  const tools = h("div", { class: "toolbar" }, search,
    select("kinds", "kind", f.KINDS, filters.kind, (v) => setFilter("kind", v)));
  const banner = h("p", { class: "banner", hidden: true });
  const pickAll = h("input", { type: "checkbox", class: "pick-page", "aria-label": "Select the jobs on this page", onchange: () => pickPage(pickAll.checked) });
  const head = h("thead", {}, h("tr", {}, h("th", { scope: "col", class: "pick" }, pickAll),
    COLUMNS.slice(1).map((name) => h("th", { scope: "col", text: name }))));
  const table = h("table", { class: "jobs" }, head);
  const empty = h("p", { class: "empty", hidden: true });
  const bulk = h("div", { class: "bulk", hidden: true, role: "region", "aria-label": "Selected jobs" });
  const newer = h("button", { type: "button", class: "newer", text: "← Newer", onclick: () => go(pageIndex - 1) });
  const older = h("button", { type: "button", class: "older", text: "Older →", onclick: () => go(pageIndex + 1) });
  const pageLabel = h("span", { class: "page-label" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages of jobs" }, newer, pageLabel, older);

  const params = (withState = true) => {
    const query = new URLSearchParams();
    for (const name of ["state", "kind", "queue", "q"]) {
      if (filters[name] && (withState || name !== "state")) query.set(name, filters[name]);
    }
    return query;
  };

  const setFilter = (name, value) => {
    if (filters[name] === value) return;
    filters[name] = value;
    const query = params().toString();
    history.replaceState(null, "", `#/jobs${query ? `?${query}` : ""}`);
    clearSelection();
    cursors.length = 1;
    pageIndex = 0;
    if (name !== "state") restartStream();
    behind = false;
    load();
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

  function showError(error) {
    if (error instanceof ApiError && error.needsToken) return ctx.needToken(error);
    banner.hidden = false;
    setText(banner, `${error.message} ${error.hint || ""}`.trim());
  }

  async function loadCounts() {
    try {
      const answer = await api(`/v1/jobs/counts?${params(false)}`);
      for (const chip of chips) {
        setText(chip.count, (chip.state ? answer.states[chip.state] || 0 : answer.total).toLocaleString("en"));
      }
      matching = filters.state ? answer.states[filters.state] || 0 : answer.total;
      renderBulk();
    } catch (error) {
      showError(error);
    }
  }

  function scheduleCounts() {
    if (countsTimer === null) countsTimer = setTimeout(() => { countsTimer = null; loadCounts(); }, COUNTS_MS);
  }

  async function load() {
    const seq = ++loadSeq;
    const query = params();
    query.set("limit", String(PAGE_SIZE));
    if (cursors[pageIndex]) query.set("cursor", cursors[pageIndex]);
    try {
      const page = await api(`/v1/jobs?${query}`);
      if (seq !== loadSeq) return; // a newer load won
      banner.hidden = true;
      jobs.clear();
      for (const job of page.jobs) jobs.set(job.id, slim(job));
      nextCursor = page.next_cursor;
      render();
    } catch (error) {
      if (seq === loadSeq) showError(error);
    }
    if (seq === loadSeq) loadCounts(); // after the rows: they are what the page is for
  }

  function go(index) {
    if (index < 0 || (index > pageIndex && !nextCursor)) return;
    if (index > pageIndex) cursors[index] = nextCursor;
    pageIndex = index;
    load();
  }

  function pickPage(on) {
    for (const id of jobs.keys()) (on ? selected.add(id) : selected.delete(id));
    allMatching = false;
    schedule();
  }

  function onPick(id, on) {
    if (on) selected.add(id);
    else selected.delete(id);
    allMatching = false;
    schedule();
  }

  function clearSelection() {
    selected.clear();
    allMatching = false;
  }

  function bulkBody() {
    if (allMatching) {
      const body = { all_matching: true, kind: filters.kind ? [filters.kind] : [], queue: filters.queue ? [filters.queue] : [] };
      if (filters.state) body.state = [filters.state];
      if (filters.q) body.q = filters.q;
      return body;
    }
    return { job_ids: [...selected] };
  }

  async function runBulk(action) {
    const body = { ...bulkBody(), ...(action === "cancel" ? { reason: "cancelled from the web UI" } : {}) };
    bulk.replaceChildren(h("span", { class: "busy", text: action === "cancel" ? "Cancelling…" : "Retrying…" }));
    try {
      const done = await api(`/v1/jobs/${action}`, { method: "POST", body });
      const verb = action === "cancel" ? "Cancelled" : "Retried";
      const skipped = done.skipped.length ? ` ${done.skipped[0]}` : "";
      clearSelection();
      renderBulk(`${verb} ${plural(done.changed, "job")} of ${done.matched.toLocaleString("en")} matching.${skipped}`);
      load();
    } catch (error) {
      renderBulk();
      showError(error);
    }
  }

  function confirmBulk(action) {
    const n = allMatching ? matching : selected.size;
    const verb = action === "cancel" ? "Cancel" : "Retry";
    const what = action === "cancel" ? "Pending and running ones stop; finished ones stay as they are." : "Failed ones (cancelled too when that state is chosen) become new jobs.";
    bulk.replaceChildren(
      h("span", { class: "ask", text: `${verb} ${plural(n, "job")}? ${what}` }),
      h("button", { type: "button", class: action === "cancel" ? "danger confirm" : "confirm", text: `Yes, ${verb.toLowerCase()}`, onclick: () => runBulk(action) }),
      h("button", { type: "button", text: "No", onclick: () => renderBulk() }));
  }

  function renderBulk(message) {
    const n = allMatching ? matching : selected.size;
    bulk.hidden = !n && !message;
    if (bulk.hidden) return;
    const parts = [];
    if (message) parts.push(h("span", { class: "done", text: message }));
    if (n) {
      parts.push(h("span", { class: "count", text: allMatching ? `All ${plural(matching, "matching job")} selected` : `${plural(n, "job")} selected` }));
      if (!allMatching && matching > selected.size) {
        parts.push(h("button", { type: "button", class: "link all-matching", text: `Select all ${plural(matching, "matching job")}`, onclick: () => { allMatching = true; schedule(); } }));
      }
      parts.push(
        h("button", { type: "button", class: "danger bulk-cancel", text: "Cancel…", onclick: () => confirmBulk("cancel") }),
        h("button", { type: "button", class: "bulk-retry", text: "Retry…", onclick: () => confirmBulk("retry") }),
        h("button", { type: "button", class: "quiet", text: "Clear", onclick: () => { clearSelection(); schedule(); } }));
    }
    bulk.replaceChildren(...parts);
  }

  function renderTools() {
    for (const chip of chips) {
      const on = filters.state === chip.state;
      chip.node.classList.toggle("on", on);
      chip.node.setAttribute("aria-pressed", String(on));
    }
    const queues = [...new Set([...jobs.values()].map((job) => job.queue).concat(filters.queue ? [filters.queue] : []))].sort();
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
    const shown = [...jobs.values()];
    for (const job of shown) {
      let row = rows.get(job.id);
      if (!row) rows.set(job.id, (row = newRow(job, onPick)));
      updateRow(row, job, where.of(job), allMatching || selected.has(job.id));
      table.append(row.body); // moves an existing row into its place
    }
    for (const [id, row] of rows) {
      if (!jobs.has(id)) {
        row.body.remove();
        rows.delete(id);
      }
    }
    pickAll.checked = shown.length > 0 && shown.every((job) => allMatching || selected.has(job.id));
    empty.hidden = shown.length > 0;
    const filtered = Object.values(filters).some(Boolean);
    setText(empty, filtered || pageIndex ? "No job matches these filters."
      : "No jobs yet. Submit one above, or with `vmafx jobs submit score REF DIS`.");
    newer.disabled = pageIndex === 0;
    older.disabled = !nextCursor;
    setText(pageLabel, `Page ${pageIndex + 1}`);
    renderBulk();
    if (shown.length && !drawnOnce) {
      drawnOnce = true;
      window.vmafxFirstRowsMs = performance.now(); // read by the browser tests
    }
  }

  function schedule() {
    if (timer === null) timer = setTimeout(render, RENDER_MS);
  }

  /** A job submitted after every job on the page (an older job that changed stays where it is:
   * on a later page). */
  function isNewer(job) {
    for (const shown of jobs.values()) return job.created_at > shown.created_at; // the newest
    return true;
  }

  function onChange(job) {
    if (jobs.has(job.id)) {
      jobs.set(job.id, slim(job));
      schedule();
    } else if (pageIndex === 0 && isNewer(job) && (!filters.state || job.state === filters.state)) {
      const fresh = new Map([[job.id, slim(job)], ...jobs]); // newest first
      jobs.clear();
      for (const [id, value] of fresh) jobs.set(id, value);
      schedule();
    }
    scheduleCounts();
  }

  function restartStream() {
    if (stream) stream.close();
    const query = params(false);
    query.set("snapshot", "false");
    stream = follow(`/v1/events?${query}`, {
      onEvent(name, data) {
        if (name === "job") onChange(data);
        else if (name === "error") {
          banner.hidden = false;
          setText(banner, `${data.error.message} Reconnecting…`);
        }
      },
      onStatus(status, error) {
        if (error && error.needsToken) return ctx.needToken(error);
        ctx.setLive(status === "live" ? "live" : "reconnecting");
        if (error) showError(error);
        if (status !== "live") behind = true;
        else if (behind) {
          behind = false;
          load(); // catch up on what changed while disconnected
        }
      },
    });
  }

  const ticker = setInterval(() => {
    for (const [id, row] of rows) {
      const job = jobs.get(id);
      if (job && job.state === "running") setText(row.duration, f.duration(f.runSeconds(job)));
    }
  }, 1000);

  const form = submitForm({
    onSubmitted: (job) => onChange(job),
    needToken: ctx.needToken,
  });
  root.append(
    h("div", { class: "page-head" }, h("h1", { text: "Jobs" }), counts),
    h("div", { class: "toolbar-row" }, tools, form), banner, bulk,
    h("div", { class: "table-wrap" }, table), empty, pager);
  restartStream();
  load();
  return () => {
    if (stream) stream.close();
    clearInterval(ticker);
    clearTimeout(timer);
    clearTimeout(countsTimer);
    clearTimeout(searchTimer);
  };
}
