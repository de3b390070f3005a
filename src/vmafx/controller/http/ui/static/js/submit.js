// A small form to submit a score or encode job (the CLI is the main way: `vmafx jobs submit`).
// Whatever the controller refuses — a file outside the scoring roots, an unknown encoder, a
// missing token — is shown inline with the controller's own message and hint.

import { api } from "./api.js";
import { h, replace } from "./dom.js";

function field(label, input, help) {
  return h("label", { class: "field" }, h("span", { text: label }), input, help ? h("small", { text: help }) : null);
}

function choice(name, values, value) {
  return h("select", { name }, values.map((v) => h("option", { value: v, text: v, selected: v === value })));
}

const text = (name, props = {}) => h("input", { name, type: "text", autocomplete: "off", spellcheck: "false", ...props });

function scoreFields() {
  return h("div", { class: "fields", "data-kind": "score" },
    field("Reference", text("reference", { placeholder: "/media/ref.mp4" }), "An absolute path under a scoring root, or a URL."),
    field("Distorted (one per line)", h("textarea", { name: "distorted", rows: 2, spellcheck: "false", placeholder: "/media/crf23.mp4" })),
    field("Model", text("model", { value: "vmaf_v0.6.1" })));
}

function encodeFields() {
  return h("div", { class: "fields", "data-kind": "encode", hidden: true },
    field("Source", text("source", { placeholder: "/media/master.mov" })),
    field("Output", text("output", { placeholder: "/media/out/master_h264.mp4" })),
    field("Codec", choice("codec", ["h264", "hevc", "av1", "vp9"], "h264")),
    field("Hardware", choice("hw", ["prefer", "require", "never"], "prefer")),
    field("Encoder (optional)", text("encoder", { placeholder: "h264_nvenc" })),
    field("CRF", h("input", { name: "crf", type: "number", min: 0, max: 63, value: 23 })),
    field("Preset (optional)", text("preset", { placeholder: "medium" })),
    h("label", { class: "check" }, h("input", { name: "score_after", type: "checkbox" }), "Score after encoding"));
}

function specOf(kind, form) {
  const get = (name) => (form.elements[name].value || "").trim();
  if (kind === "score") {
    return {
      reference: get("reference"),
      distorted: get("distorted").split("\n").map((line) => line.trim()).filter(Boolean),
      models: [get("model") || "vmaf_v0.6.1"],
    };
  }
  const spec = { source: get("source"), output: get("output"), codec: get("codec"), hw: get("hw") };
  if (get("encoder")) spec.encoder = get("encoder");
  if (get("preset")) spec.preset = get("preset");
  if (get("crf")) spec.rate_control = { mode: "crf", value: Number(get("crf")) };
  spec.score_after = form.elements.score_after.checked;
  return spec;
}

function problem(error, needToken) {
  return h("div", { class: "problem", role: "alert" },
    h("strong", { text: error.message }),
    error.hint ? h("p", { text: error.hint }) : null,
    error.needsToken ? h("button", { type: "button", onclick: () => needToken(error), text: "Enter a token" }) : null,
    error.fields.length
      ? h("ul", {}, error.fields.map((item) => h("li", {}, h("code", { text: item.path }), ` ${item.message}`)))
      : null);
}

/** The form, folded away under "Submit a job"; `onSubmitted(job)` gets the new job. */
export function submitForm({ onSubmitted, needToken }) {
  const outcome = h("div", { class: "outcome", "aria-live": "polite" });
  const kind = choice("kind", ["score", "encode"], "score");
  const parts = { score: scoreFields(), encode: encodeFields() };
  const button = h("button", { type: "submit", class: "primary", text: "Submit" });
  const submit = async (event) => {
    event.preventDefault();
    button.disabled = true;
    replace(outcome);
    try {
      const spec = specOf(kind.value, form);
      // A pinned encoder is also a requirement: the job waits for a node that verified it,
      // and says so, instead of failing on a node without it.
      const requirements = spec.encoder ? { encoder: spec.encoder } : undefined;
      const job = await api("/v1/jobs", { method: "POST", body: { kind: kind.value, spec, requirements } });
      replace(outcome, h("p", { class: "ok" }, "Submitted ",
        h("a", { href: `#/jobs/${encodeURIComponent(job.id)}`, class: "mono", text: job.id.slice(0, 8) }),
        job.pending_reason ? ` — waiting: ${job.pending_reason}` : ""));
      onSubmitted(job);
    } catch (error) {
      replace(outcome, problem(error, needToken));
    } finally {
      button.disabled = false;
    }
  };
  kind.addEventListener("change", () => {
    for (const [name, node] of Object.entries(parts)) node.hidden = name !== kind.value;
  });
  const form = h("form", { class: "submit-form", onsubmit: submit, novalidate: true },
    field("Kind", kind), parts.score, parts.encode, h("div", { class: "row" }, button), outcome);
  return h("details", { class: "panel submit" }, h("summary", { text: "Submit a job" }), form);
}
