// Numbers, times and job facts as the pages show them.

export const NONE = "—";
export const STATES = ["pending", "running", "completed", "failed", "cancelled"];
export const KINDS = ["score", "encode", "thumbnail", "filmstrip", "infer", "tune", "health"];

export function isTerminal(job) {
  return job.state === "completed" || job.state === "failed" || job.state === "cancelled";
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return NONE;
  const s = Math.max(0, seconds);
  if (s < 60) return `${s.toFixed(1)} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

/** Seconds the job has run (until now while it runs); null before it started. */
export function runSeconds(job, now = Date.now()) {
  if (!job.started_at) return null;
  const end = job.finished_at ? Date.parse(job.finished_at) : now;
  return (end - Date.parse(job.started_at)) / 1000;
}

export function ago(iso, now = Date.now()) {
  if (!iso) return NONE;
  return `${duration((now - Date.parse(iso)) / 1000)} ago`;
}

export function clock(iso) {
  if (!iso) return NONE;
  const at = new Date(iso);
  const today = new Date().toDateString() === at.toDateString();
  return today ? at.toLocaleTimeString() : at.toLocaleString();
}

export function fixed(value, digits = 2) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : NONE;
}

export function bytes(value) {
  if (typeof value !== "number") return NONE;
  const units = ["B", "KB", "MB", "GB", "TB"];
  let n = value;
  let unit = 0;
  while (n >= 1000 && unit < units.length - 1) {
    n /= 1000;
    unit += 1;
  }
  return `${n.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

export function shortId(id) {
  return id.slice(0, 8);
}

/** The headline score: a score job's VMAF, or an encode job's VMAF after encoding. */
export function scoreOf(job) {
  if (typeof job.score === "number") return job.score;
  const after = job.result && job.result.score_after;
  return after && typeof after.vmaf === "number" ? after.vmaf : null;
}

function hms(seconds) {
  const whole = Math.max(0, Math.round(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** What a running job does now, as `vmafx jobs get` says it (core/progress_text.py):
 *  "encoding 42 % 87 fps ETA 0:12 (libaom-av1)"; "" when its node said nothing more. */
export function progressText(job) {
  const detail = job.progress_detail;
  if (job.state !== "running" || !detail) return "";
  const bits = [];
  if (detail.phase) bits.push(detail.phase);
  const value = percent(job);
  if (value !== null) bits.push(value > 0 && value < 10 ? `${value.toFixed(1)} %` : `${value.toFixed(0)} %`);
  else if (detail.frames) bits.push(`frame ${detail.frames}`);
  if (detail.fps > 0) bits.push(detail.fps < 10 ? `${detail.fps.toFixed(1)} fps` : `${detail.fps.toFixed(0)} fps`);
  if (detail.eta_s > 0) bits.push(`ETA ${hms(detail.eta_s)}`);
  if (detail.encoder) bits.push(`(${detail.encoder})`);
  return bits.join(" ");
}

/** Percent done (0-100) or null when unknown. */
export function percent(job) {
  if (job.state === "completed") return 100;
  return typeof job.progress === "number" ? Math.min(100, Math.max(0, job.progress * 100)) : null;
}

export function gpuText(gpu) {
  if (!gpu) return NONE;
  const memory = gpu.memory_mb ? ` · ${Math.round(gpu.memory_mb / 1024)} GB` : "";
  return `${gpu.name}${memory}`;
}
