// The Nodes page: every node of the tenant (gone ones too), with its GPUs, verified encoders,
// queues, slots in use and last heartbeat. Read again every few seconds (nodes have no stream).

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
  if (!node.queues.length) return "all queues";
  return node.queues.map((queue) => (queue in node.concurrency ? `${queue} ×${node.concurrency[queue]}` : queue)).join(", ");
}

function card(node) {
  const gpus = node.gpus.length
    ? h("ul", { class: "gpus" }, node.gpus.map((gpu) => h("li", {},
      h("strong", { text: gpu.name }), ` ${gpu.vendor}`, gpu.memory_mb ? ` · ${Math.round(gpu.memory_mb / 1024)} GB` : "",
      gpu.driver ? h("span", { class: "muted", text: ` · driver ${gpu.driver}` }) : null)))
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
      h("dt", { text: "Heartbeat" }), h("dd", { class: "heartbeat", "data-at": node.last_seen_at, text: f.ago(node.last_seen_at) })));
}

export function mount(root, ctx) {
  const list = h("div", { class: "cards" });
  const note = h("p", { class: "empty", hidden: true });
  root.append(h("div", { class: "page-head" }, h("h1", { text: "Nodes" })), note, list);
  let timer = null;
  let stopped = false;
  const load = async () => {
    try {
      const { nodes } = await api("/v1/nodes?include_offline=true");
      const order = { live: 0, draining: 1, offline: 2 };
      nodes.sort((a, b) => order[a.state] - order[b.state] || a.name.localeCompare(b.name));
      replace(list, nodes.map(card));
      note.hidden = nodes.length > 0;
      note.textContent = "No node has registered yet. Start one with `vmafx node --controller HOST:9090`.";
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
  const ticker = setInterval(() => {
    for (const node of list.querySelectorAll(".heartbeat")) node.textContent = f.ago(node.dataset.at);
  }, 1000);
  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearInterval(ticker);
  };
}
