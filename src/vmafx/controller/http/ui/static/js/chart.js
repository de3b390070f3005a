// A per-frame line chart in inline SVG: one polyline per series, axes with round ticks, and a
// readout of the frame under the pointer. Sized to its container in CSS pixels so text stays
// legible on a phone; the caller draws it again when the container's width changes.

import { h, s } from "./dom.js";

const PAD = { left: 46, right: 14, top: 12, bottom: 30 };

function ticks(low, high, count = 5) {
  const raw = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((m) => m >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

function bounds(series, yMin, yMax) {
  const xs = series.flatMap((item) => item.x);
  const ys = series.flatMap((item) => item.y);
  let low = yMin ?? Math.min(...ys);
  let high = yMax ?? Math.max(...ys);
  if (!(high > low)) [low, high] = [low - 1, high + 1];
  const xLow = Math.min(...xs);
  const xHigh = Math.max(...xs);
  return { xLow, xHigh: xHigh > xLow ? xHigh : xLow + 1, low, high };
}

function nearest(values, target) {
  let best = 0;
  for (let i = 1; i < values.length; i += 1) if (Math.abs(values[i] - target) < Math.abs(values[best] - target)) best = i;
  return best;
}

function readout(svg, series, scale, box) {
  const line = s("line", { class: "cursor", y1: PAD.top, y2: box.bottom, visibility: "hidden" });
  const label = s("text", { class: "readout", x: PAD.left + 6, y: PAD.top + 12 });
  const move = (event) => {
    const rect = svg.getBoundingClientRect();
    const x = scale.xInv(((event.clientX - rect.left) / rect.width) * box.width);
    const first = series[0];
    const i = nearest(first.x, x);
    const at = scale.x(first.x[i]);
    line.setAttribute("x1", at);
    line.setAttribute("x2", at);
    line.setAttribute("visibility", "visible");
    const values = series.map((item) => `${item.label} ${item.y[nearest(item.x, first.x[i])].toFixed(2)}`);
    label.textContent = `frame ${first.x[i]}: ${values.join(" · ")}`;
  };
  const leave = () => {
    line.setAttribute("visibility", "hidden");
    label.textContent = "";
  };
  svg.addEventListener("pointermove", move);
  svg.addEventListener("pointerleave", leave);
  return [line, label];
}

/**
 * series: [{label, x: [frame numbers], y: [values]}]; returns a figure with the SVG and a legend.
 * The SVG's polylines carry `data-points` (how many points each draws).
 */
export function lineChart({ series, width = 720, height = 260, yMin, yMax, title }) {
  const box = { width, height, right: width - PAD.right, bottom: height - PAD.bottom };
  const b = bounds(series, yMin, yMax);
  const scale = {
    x: (v) => PAD.left + ((v - b.xLow) / (b.xHigh - b.xLow)) * (box.right - PAD.left),
    xInv: (px) => b.xLow + ((px - PAD.left) / (box.right - PAD.left)) * (b.xHigh - b.xLow),
    y: (v) => box.bottom - ((v - b.low) / (b.high - b.low)) * (box.bottom - PAD.top),
  };
  const grid = ticks(b.low, b.high).map((v) => [
    s("line", { class: "grid", x1: PAD.left, x2: box.right, y1: scale.y(v), y2: scale.y(v) }),
    s("text", { class: "tick", x: PAD.left - 6, y: scale.y(v) + 4, "text-anchor": "end" }, String(v)),
  ]);
  const xTicks = ticks(b.xLow, b.xHigh, Math.max(2, Math.floor(width / 110))).map((v) =>
    s("text", { class: "tick", x: scale.x(v), y: box.bottom + 18, "text-anchor": "middle" }, String(v)));
  const lines = series.map((item, index) => s("polyline", {
    class: `series series-${index % 6}`,
    "data-points": item.x.length,
    "data-label": item.label,
    points: item.x.map((x, i) => `${scale.x(x).toFixed(1)},${scale.y(item.y[i]).toFixed(1)}`).join(" "),
  }));
  const svg = s("svg", {
    class: "chart",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": title || "per-frame chart",
  }, grid, xTicks,
  s("line", { class: "axis", x1: PAD.left, x2: box.right, y1: box.bottom, y2: box.bottom }),
  lines);
  svg.append(...readout(svg, series, scale, box));
  const legend = h("ul", { class: "legend" }, series.map((item, index) =>
    h("li", {}, h("span", { class: `swatch series-${index % 6}` }), item.label)));
  return h("figure", { class: "chart-figure" }, svg, series.length > 1 ? legend : null);
}
