// The Nodes page: every node of the tenant (gone ones too), with its GPUs and their load,
// verified encoders, queues, slots in use and last heartbeat. Read again every few seconds
// (nodes have no stream). An admin drains a node, takes it back, and changes its jobs at once
// per queue here (the API answers 403 with the role needed otherwise: said in the card).

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import * as f from "./format.js";

const REFRESH_MS = 3000;
const HARDWARE = /_(nvenc|qsv|amf|vaapi)$/;
const STATE_TEXT = { live: "live", draining: "draining", offline: "gone" };

function chips(values, kind) {
  if (!values.length) return h("span", { class: "muted", text: f.NONE });
  return h("ul", { class: "tags" }, values.map((value) => {
    const hardware = kind && kind(value) === "hw";
    return h("li", { class: hardware ? "hw" : "", title: hardware ? "hardware encoder" : null, text: value });
  }));
}

function slots(node) {
  const used = Object.values(node.slots_in_use).reduce((a, b) => a + b, 0);
  const fill = h("span", { class: "fill" });
  fill.style.width = `${Math.min(100, (used / node.slots) * 100)}%`;
  const perQueue = Object.entries(node.slots_in_use).map(([queue, n]) => `${queue} ${n}`).join(", ");
  return h("div", { class: "progress" },
    h("div", { class: "bar", role: "meter", "aria-valuenow": used, "aria-valuemax": node.slots }, fill),
    h("span", { class: "pct", text: `${used} / ${node.slots}${perQueue ? ` (${perQueue})` : ""}` }));
}

function queues(node) {
  if (!node.queues.length) {
    const limits = Object.entries(node.concurrency).map(([queue, n]) => `${queue} ×${n}`);
    return limits.length ? `all queues (${limits.join(", ")})` : "all queues";
  }
  return node.queues.map((queue) => (queue in node.concurrency ? `${queue} ×${node.concurrency[queue]}` : queue)).join(", ");
}

function pct(value) {
  return typeof value === "number" ? `${Math.round(value)}%` : f.NONE;
}

function load(usage) {
  if (!usage) return null;
  const memory = typeof usage.memory_used_mb === "number"
    ? `${(usage.memory_used_mb / 1024).toFixed(1)}${typeof usage.memory_total_mb === "number" ? ` / ${(usage.memory_total_mb / 1024).toFixed(1)}` : ""} GB`
    : null;
  const parts = [`GPU ${pct(usage.utilization_pct)}`, `encoder ${pct(usage.encoder_utilization_pct)}`];
  if (typeof usage.encoder_sessions === "number") parts.push(`${usage.encoder_sessions} encode session${usage.encoder_sessions === 1 ? "" : "s"}`);
  if (memory) parts.push(memory);
  const fill = h("span", { class: "fill" });
  fill.style.width = `${Math.min(100, usage.utilization_pct || 0)}%`;
  return h("div", { class: "gpu-load", "data-uuid": usage.uuid },
    h("span", { class: "bar", role: "meter", "aria-valuenow": usage.utilization_pct ?? "", "aria-valuemax": 100 }, fill),
    h("span", { class: "pct", text: parts.join(" · ") }));
}

async function act(node, path, init, error) {
  error.hidden = true;
  try {
    await api(`/v1/nodes/${encodeURIComponent(node.id)}/${path}`, init);
    return true;
  } catch (failure) {
    error.hidden = false;
    error.textContent = `${failure.message} ${failure.hint || ""}`;
    return false;
  }
}

function parseLimits(text) {
  const limits = {};
  for (const item of text.split(/[\s,]+/).filter(Boolean)) {
    const match = /^([a-z][a-z0-9_-]*)=(\d+)$/.exec(item);
    if (!match) return null;
    limits[match[1]] = Number(match[2]);
  }
  return Object.keys(limits).length ? limits : null;
}

function limitsText(node) {
  const queues = node.queues.length ? node.queues : Object.keys(node.concurrency);
  return queues.map((queue) => `${queue}=${node.concurrency[queue] ?? 1}`).join(" ");
}

function actions(node, reload) {
  if (node.state === "offline") return null;
  const error = h("p", { class: "error-text action-error", hidden: true, role: "alert" });
  const busy = async (button, work) => {
    button.disabled = true;
    try {
      if (await work()) reload();
    } finally {
      button.disabled = false;
    }
  };
  const drain = h("button", { type: "button", class: "drain", text: "Drain",
    title: "Give this node no more work; its running jobs finish" });
  drain.addEventListener("click", () => busy(drain, () => act(node, "drain", { method: "POST", body: {} }, error)));
  const resume = h("button", { type: "button", class: "resume primary", text: "Resume",
    title: "Take the node back: it gets work again" });
  resume.addEventListener("click", () => busy(resume, () => act(node, "resume", { method: "POST" }, error)));
  const input = h("input", { type: "text", class: "limits", value: limitsText(node), "aria-label": "Jobs at once per queue",
    placeholder: "encode=2 score=1", spellcheck: "false" });
  const set = h("button", { type: "submit", class: "set-concurrency", text: "Set" });
  const form = h("form", { class: "row concurrency", onsubmit: (event) => {
    event.preventDefault();
    const limits = parseLimits(input.value);
    if (!limits) {
      error.hidden = false;
      error.textContent = "Write QUEUE=LIMIT pairs, e.g. encode=2 score=1 (0 turns a queue off).";
      return;
    }
    busy(set, () => act(node, "concurrency", { method: "PUT", body: { concurrency: limits } }, error));
  } }, h("label", { class: "muted", text: "Jobs at once" }), input, set);
  const draining = node.state === "draining";
  return h("div", { class: "node-actions" },
    h("div", { class: "row" }, draining && node.drain_requested ? resume : draining ? null : drain),
    form, error);
}

function card(node, reload) {
  const usage = new Map((node.gpu_usage || []).map((u) => [u.uuid, u]));
  const gpus = node.gpus.length
    ? h("ul", { class: "gpus" }, node.gpus.map((gpu) => h("li", {},
      h("strong", { text: gpu.name }), ` ${gpu.vendor}`, gpu.memory_mb ? ` · ${Math.round(gpu.memory_mb / 1024)} GB` : "",
      gpu.driver ? h("span", { class: "muted", text: ` · driver ${gpu.driver}` }) : null,
      node.state === "offline" ? null : load(usage.get(gpu.uuid)))))
    : h("span", { class: "muted", text: node.gpu_vendor === "cpu" ? "none (CPU only)" : node.gpu_vendor });
  const labels = Object.entries(node.labels).map(([key, value]) => `${key}=${value}`);
  const running = node.running_job_ids.map((id) => h("a", { class: "mono", href: `#/jobs/${encodeURIComponent(id)}`, text: f.shortId(id) }));
  return h("article", { class: `panel node state-${node.state}`, "data-id": node.id },
    h("div", { class: "section-head" },
      h("h2", { text: node.name }),
      h("span", { class: `badge node-${node.state}`, text: STATE_TEXT[node.state] || node.state })),
    h("dl", { class: "facts" },
      h("dt", { text: "Host" }), h("dd", { text: node.host || f.NONE }),
      h("dt", { text: "GPUs" }), h("dd", {}, gpus),
      h("dt", { text: "Encoders" }), h("dd", {}, chips(node.encoders, (e) => (HARDWARE.test(e) ? "hw" : ""))),
      h("dt", { text: "Backends" }), h("dd", {}, chips(node.backends)),
      h("dt", { text: "Queues" }), h("dd", { text: queues(node) }),
      h("dt", { text: "Slots in use" }), h("dd", {}, slots(node)),
      h("dt", { text: "Running" }), h("dd", {}, running.length ? running.flatMap((a, i) => (i ? [" ", a] : [a])) : f.NONE),
      labels.length ? [h("dt", { text: "Labels" }), h("dd", {}, chips(labels))] : null,
      h("dt", { text: "Heartbeat" }), h("dd", { class: "heartbeat", "data-at": node.last_seen_at, text: f.ago(node.last_seen_at) })),
    actions(node, reload));
}

export function mount(root, ctx) {
  const list = h("div", { class: "cards" });
  const note = h("p", { class: "empty", hidden: true });
  root.append(h("div", { class: "page-head" }, h("h1", { text: "Nodes" })), note, list);
  let timer = null;
  let stopped = false;
  const reload = () => {
    clearTimeout(timer);
    read();
  };
  const read = async () => {
    try {
      const { nodes } = await api("/v1/nodes?include_offline=true");
      const order = { live: 0, draining: 1, offline: 2 };
      nodes.sort((a, b) => order[a.state] - order[b.state] || a.name.localeCompare(b.name));
      if (list.contains(document.activeElement) && document.activeElement.matches("input")) {
        // Someone is typing new limits: keep the card as it is until the next read.
      } else {
        replace(list, nodes.map((node) => card(node, reload)));
      }
      note.hidden = nodes.length > 0;
      note.textContent = "No node has registered yet. Start one with `vmafx node --controller HOST:9090`.";
      ctx.setLive("live");
    } catch (error) {
      if (error.needsToken) return ctx.needToken(error);
      note.hidden = false;
      note.textContent = `${error.message} ${error.hint || ""}`;
      ctx.setLive("reconnecting");
    }
    if (!stopped) {
      clearTimeout(timer);
      timer = setTimeout(read, REFRESH_MS);
    }
    return undefined;
  };
  const ticker = setInterval(() => {
    for (const node of list.querySelectorAll(".heartbeat")) node.textContent = f.ago(node.dataset.at);
  }, 1000);
  read();
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearInterval(ticker);
  };
}
