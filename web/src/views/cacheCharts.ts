// Charts the cache views share: line charts of series (hit ratio over a trace, database loads
// over time) with an optional ceiling line, and bar charts (the expiry histogram).

import { svg } from "../dom";

export interface Series { values: number[]; cls: string; label: string }

const W = 640;
const H = 220;
const PAD = 36;

/** Lines over x = 0..n-1 scaled to `xMax` points; `ceiling` draws a dashed horizontal line. */
export function lineChart(id: string, series: Series[], opts: { xMax: number; yMax: number; xLabel: string; yLabel: string; ceiling?: { value: number; label: string } }): SVGSVGElement {
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "line-chart", id, role: "img" });
  chart.setAttribute("aria-label", opts.yLabel);
  const x = (i: number) => PAD + ((W - 2 * PAD) * i) / Math.max(1, opts.xMax - 1);
  const y = (v: number) => H - PAD - ((H - 2 * PAD) * Math.min(v, opts.yMax)) / Math.max(opts.yMax, 1e-9);
  chart.append(svg("line", { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD, class: "axis" }));
  chart.append(svg("line", { x1: PAD, y1: PAD, x2: PAD, y2: H - PAD, class: "axis" }));
  chart.append(svg("text", { x: W / 2, y: H - 6, "text-anchor": "middle", class: "axis-label" }, opts.xLabel));
  chart.append(svg("text", { x: 4, y: PAD - 10, class: "axis-label" }, `${opts.yLabel} (max ${formatNumber(opts.yMax)})`));
  if (opts.ceiling) {
    const cy = y(opts.ceiling.value);
    chart.append(svg("line", { x1: PAD, y1: cy, x2: W - PAD, y2: cy, class: "ceiling", "data-value": opts.ceiling.value }));
    chart.append(svg("text", { x: W - PAD, y: cy - 4, "text-anchor": "end", class: "axis-label" }, opts.ceiling.label));
  }
  for (const s of series) {
    if (s.values.length === 0) continue;
    const d = s.values.map((v, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join("");
    const path = svg("path", { d, class: `series ${s.cls}`, "data-label": s.label });
    path.append(svg("title", {}, s.label));
    chart.append(path);
  }
  return chart;
}

/** Bars of `values` (one per bucket). */
export function barChart(id: string, values: number[], opts: { xLabel: string; yLabel: string }): SVGSVGElement {
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "bar-chart", id, role: "img" });
  chart.setAttribute("aria-label", opts.yLabel);
  const max = Math.max(1, ...values);
  const width = (W - 2 * PAD) / Math.max(1, values.length);
  values.forEach((v, i) => {
    if (v === 0) return;
    const h = ((H - 2 * PAD) * v) / max;
    const bar = svg("rect", { x: PAD + i * width, y: H - PAD - h, width: Math.max(1, width - 1), height: h, class: "bar" });
    bar.append(svg("title", {}, String(v)));
    chart.append(bar);
  });
  chart.append(svg("line", { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD, class: "axis" }));
  chart.append(svg("text", { x: W / 2, y: H - 6, "text-anchor": "middle", class: "axis-label" }, opts.xLabel));
  chart.append(svg("text", { x: 4, y: PAD - 10, class: "axis-label" }, `${opts.yLabel} (max ${formatNumber(max)})`));
  return chart;
}

export function formatNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}
