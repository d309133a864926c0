// Charts the cache views share (46.3): line charts of series (hit ratio over a trace, database
// loads over time) with an optional ceiling line, and bar charts (the expiry histogram). Scales,
// ticks and paths come from d3's modules; a chart is drawn at the pixel width it is shown at, so
// its text stays at the stylesheet's size (never shrunk below 12 px on a phone or a projector).

import { axisBottom, axisLeft, type Axis, type AxisDomain } from "d3-axis";
import { scaleBand, scaleLinear, type ScaleLinear } from "d3-scale";
import { select } from "d3-selection";
import { line } from "d3-shape";
import { svg } from "../dom";

export interface Series { values: number[]; cls: string; label: string }

const H = 240;
const M = { top: 28, right: 16, bottom: 44, left: 52 };
/** Wide enough to read; the chart is drawn wider where there is room. */
const MIN_WIDTH = 320;
const DEFAULT_WIDTH = 640;

/** The width to draw a chart at inside `container` (its own width once laid out). */
export function chartWidth(container: Element | null): number {
  const w = container?.clientWidth ?? 0;
  return w > 0 ? Math.max(MIN_WIDTH, Math.min(760, w)) : DEFAULT_WIDTH;
}

function frame(id: string, cls: string, width: number, label: string): SVGSVGElement {
  const chart = svg("svg", { viewBox: `0 0 ${width} ${H}`, width, height: H, class: cls, id, role: "img" });
  chart.setAttribute("aria-label", label);
  return chart;
}

/** The axes (d3-axis: ticks and their numbers) and their labels. */
function axes<X extends AxisDomain>(chart: SVGSVGElement, bottom: Axis<X>, y: ScaleLinear<number, number>, width: number, xLabel: string, yLabel: string): void {
  const root = select(chart);
  root.append("g").attr("class", "axis x").attr("transform", `translate(0,${H - M.bottom})`).call(bottom);
  root.append("g").attr("class", "axis y").attr("transform", `translate(${M.left},0)`).call(axisLeft(y).ticks(5).tickSizeOuter(0));
  root.append("text").attr("class", "axis-label").attr("x", (M.left + width - M.right) / 2).attr("y", H - 6).attr("text-anchor", "middle").text(xLabel);
  root.append("text").attr("class", "axis-label").attr("x", 4).attr("y", M.top - 12).text(yLabel);
}

/** Lines over x = 0..n-1 scaled to `xMax` points; `ceiling` draws a dashed horizontal line. */
export function lineChart(id: string, series: Series[], opts: { xMax: number; yMax: number; xLabel: string; yLabel: string; width?: number; xDomain?: [number, number]; ceiling?: { value: number; label: string } }): SVGSVGElement {
  const width = opts.width ?? DEFAULT_WIDTH;
  const chart = frame(id, "line-chart", width, opts.yLabel);
  const [x0, x1] = opts.xDomain ?? [0, Math.max(1, opts.xMax - 1)];
  const x = scaleLinear().domain([x0, x1]).range([M.left, width - M.right]);
  const index = scaleLinear().domain([0, Math.max(1, opts.xMax - 1)]).range([x0, x1]);
  const y = scaleLinear().domain([0, Math.max(opts.yMax, 1e-9)]).range([H - M.bottom, M.top]).nice();
  axes(chart, axisBottom(x).ticks(Math.max(2, Math.floor(width / 90))).tickSizeOuter(0), y, width, opts.xLabel, opts.yLabel);
  if (opts.ceiling) {
    const cy = y(opts.ceiling.value);
    chart.append(svg("line", { x1: M.left, y1: cy, x2: width - M.right, y2: cy, class: "ceiling", "data-value": opts.ceiling.value }));
    chart.append(svg("text", { x: width - M.right, y: cy - 4, "text-anchor": "end", class: "axis-label" }, opts.ceiling.label));
  }
  const path = line<number>().x((_, i) => x(index(i))).y((v) => y(Math.min(v, y.domain()[1])));
  for (const s of series) {
    if (s.values.length === 0) continue;
    const p = svg("path", { d: path(s.values) ?? "", class: `series ${s.cls}`, "data-label": s.label });
    p.append(svg("title", {}, s.label));
    chart.append(p);
  }
  return chart;
}

/** Bars of `values` (one per bucket, labelled by `bucketLabel`). */
export function barChart(id: string, values: number[], opts: { xLabel: string; yLabel: string; width?: number; bucketLabel?: (i: number) => string }): SVGSVGElement {
  const width = opts.width ?? DEFAULT_WIDTH;
  const chart = frame(id, "bar-chart", width, opts.yLabel);
  const buckets = values.map((_, i) => i);
  const x = scaleBand<number>().domain(buckets).range([M.left, width - M.right]).paddingInner(0.1);
  const y = scaleLinear().domain([0, Math.max(1, ...values)]).range([H - M.bottom, M.top]).nice();
  const every = Math.max(1, Math.ceil(values.length / Math.max(2, Math.floor(width / 60))));
  const bottom = axisBottom(x).tickValues(buckets.filter((i) => i % every === 0)).tickFormat((i) => (opts.bucketLabel ?? String)(i)).tickSizeOuter(0);
  axes(chart, bottom, y, width, opts.xLabel, opts.yLabel);
  values.forEach((v, i) => {
    if (v === 0) return;
    const bar = svg("rect", { x: x(i) ?? 0, y: y(v), width: Math.max(1, x.bandwidth()), height: y(0) - y(v), class: "bar" });
    bar.append(svg("title", {}, String(v)));
    chart.append(bar);
  });
  return chart;
}
