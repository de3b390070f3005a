// The controller's /v1 API: JSON calls and server-sent event streams, with the token the user
// gave once (kept in this tab's sessionStorage, sent as `Authorization: Bearer …`).
//
// Streams are read with fetch() rather than EventSource, because EventSource cannot send an
// Authorization header; the same code serves a controller with auth off. A stream reconnects
// on its own (after the server's `retry:` delay) and is considered dead after a silence three
// times longer than the server's keep-alive period.

const TOKEN_KEY = "vmafx.token";
const SILENCE_MS = 50_000;
const RETRY_MS = 3_000;
const HIDDEN_MS = 15_000;

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value.trim()),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An error answer of the API: `{"error": {"type", "message", "hint", "fields"}}`. */
export class ApiError extends Error {
  constructor(status, type, message, hint, fields) {
    super(message.charAt(0).toUpperCase() + message.slice(1)); // a sentence on the page
    this.status = status;
    this.type = type;
    this.hint = hint || null;
    this.fields = fields || [];
  }

  get needsToken() {
    return this.status === 401;
  }
}

function headers(extra) {
  const all = { Accept: "application/json", ...extra };
  const secret = token.get();
  if (secret) all.Authorization = `Bearer ${secret}`;
  return all;
}

function unreachable() {
  return new ApiError(
    0,
    "UnavailableError",
    `The controller at ${location.host} did not answer.`,
    "Is it still running? Start it with `vmafx controller` (or `vmafx up`); this page retries on its own.",
  );
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const error = (body && body.error) || {};
  return new ApiError(
    response.status,
    error.type || "HttpError",
    error.message || `The controller answered HTTP ${response.status}.`,
    error.hint,
    error.fields,
  );
}

/** GET (or `method`) a JSON resource; throws ApiError. */
export async function api(path, { method = "GET", body } = {}) {
  const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw unreachable();
  }
  if (!response.ok) throw await errorOf(response);
  return response.status === 204 ? null : response.json();
}

function parseBlock(block) {
  const message = { event: "message", data: "", id: null };
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(":")) continue;
    const at = line.indexOf(":");
    const field = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
    if (field === "event") message.event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") message.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) message.retry = Number(value);
  }
  message.data = data.join("\n");
  return message;
}

async function readEvents(response, onMessage, signal) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let watchdog;
  const arm = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => reader.cancel(), SILENCE_MS);
  };
  try {
    arm();
    while (!signal.aborted) {
      const { value, done } = await reader.read();
      if (done) return;
      arm();
      buffer += decoder.decode(value, { stream: true });
      const blocks = buffer.split(/\r?\n\r?\n/);
      buffer = blocks.pop();
      for (const block of blocks) onMessage(parseBlock(block));
    }
  } finally {
    clearTimeout(watchdog);
  }
}

/** Resolves once the tab is visible (or `signal` aborts). */
function whenVisible(signal) {
  return new Promise((resolve) => {
    const check = () => {
      if (document.visibilityState !== "visible" && !signal.aborted) return;
      document.removeEventListener("visibilitychange", check);
      resolve();
    };
    document.addEventListener("visibilitychange", check);
    signal.addEventListener("abort", check, { once: true });
    check();
  });
}

/**
 * Follow an SSE endpoint: `onEvent(name, data)` per JSON message; `onStatus("live" |
 * "reconnecting" | "paused" | "ended", error)`. `until()` true stops reconnecting after a
 * normal end. A tab hidden for a while lets its connection go (browsers allow only six per
 * server over HTTP/1.1) and reconnects when shown again; the server then sends a fresh
 * snapshot. Returns `{close()}`.
 */
export function follow(path, { onEvent, onStatus = () => {}, until = () => false }) {
  const closed = new AbortController();
  let current = new AbortController();
  let hiddenTimer = null;
  let retry = RETRY_MS;
  const onVisibility = () => {
    clearTimeout(hiddenTimer);
    if (document.visibilityState === "hidden") hiddenTimer = setTimeout(() => current.abort(), HIDDEN_MS);
  };
  document.addEventListener("visibilitychange", onVisibility);
  closed.signal.addEventListener("abort", () => {
    current.abort();
    clearTimeout(hiddenTimer);
    document.removeEventListener("visibilitychange", onVisibility);
  });
  const connect = async () => {
    const response = await fetch(path, { headers: headers({ Accept: "text/event-stream" }), signal: current.signal });
    if (!response.ok) throw await errorOf(response);
    onStatus("live", null);
    await readEvents(response, (message) => {
      if (message.retry) retry = message.retry;
      if (message.data) onEvent(message.event, JSON.parse(message.data));
    }, current.signal);
  };
  const run = async () => {
    while (!closed.signal.aborted) {
      await whenVisible(closed.signal);
      current = new AbortController();
      if (closed.signal.aborted) return;
      let failure = null;
      try {
        await connect();
      } catch (error) {
        if (closed.signal.aborted) return;
        if (current.signal.aborted) {
          onStatus("paused", null); // hidden: reconnect once the tab is shown
          continue;
        }
        failure = error instanceof ApiError ? error : unreachable();
        if (failure.status >= 400 && failure.status < 500 && failure.status !== 429) {
          onStatus("ended", failure); // a missing token, a job that does not exist: no retry
          return;
        }
      }
      if (!failure && until()) {
        onStatus("ended", null);
        return;
      }
      onStatus("reconnecting", failure);
      await new Promise((resolve) => setTimeout(resolve, retry));
    }
  };
  run();
  return { close: () => closed.abort() };
}
