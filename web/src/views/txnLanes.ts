// One order's swimlanes (46.7.3): a lane per actor, time to the right, every message of the order
// as an arrow from its sender's lane when sent to its receiver's lane when delivered (a dashed red
// line ending in ✕ when lost, dotted while in flight), the step's state as a coloured band under
// each lane, and the actors' crashes and outages. Hovering a message shows its JSON. A click on a
// lane reports the lane and the moment, for the view to crash (or restart) that actor there.

import { t, isKey } from "../i18n";
import { svg } from "../dom";
import { downIntervals, isOpen, type CellState, type Message, type OrderLog, type TxnHistory } from "./txnHistory";

export interface InFlight { msg_id: number; deliver_at: number }

const WIDTH = 900;
const LEFT = 120;
const RIGHT = 16;
const LANE_H = 46;
const TOP = 8;
/** The shortest window drawn: a whole order takes a few tens of milliseconds. */
const SPAN_MIN_US = 20_000;
/** A quiet stretch is drawn at most this long (see `TimeScale`). */
const GAP_MAX_US = 25_000;
/** Tick labels closer than this (in drawing units) to the previous one are left out. */
const TICK_GAP = 70;
const CLASSES = ["request", "commit", "undo", "ok", "no", "query"];

/** How a message is drawn: requests, decisions to go on or to undo, positive and negative answers. */
function messageClass(m: Message): string {
  const p = m.payload;
  switch (m.type) {
    case "execute": case "prepare": case "try": case "do": case "publish": return "request";
    case "decide": return p.commit ? "commit" : "undo";
    case "confirm": return "commit";
    case "cancel": case "undo": return "undo";
    case "vote": return p.yes ? "ok" : "no";
    case "executed": case "tried": case "result": return p.ok ? "ok" : "no";
    case "query": return "query";
    // The choreography's domain events: forward, refused, or compensated on the way back.
    case "event":
      if (p.event === "order_placed") return "request";
      if (String(p.event).endsWith("_refused")) return "no";
      if (p.event === "payment_refunded" || p.event === "stock_released") return "undo";
      return "ok";
    default: return "ok";
  }
}

/** An actor's name in the current language (the engine's name when the page has none for it). */
export function nodeLabel(node: string): string {
  const key = `txn.node.${node}`;
  return isKey(key) ? t(key) : node;
}

export function stateLabel(state: CellState): string {
  return t(`txn.state.${state}`);
}

/** Round tick steps (1, 2, 5 × 10^k µs) giving about six ticks over `span`. */
function tickStep(span: number): number {
  const raw = Math.max(1, span / 6);
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

/**
 * Time → x, piecewise linear through the moments something happened, with every quiet stretch
 * longer than `GAP_MAX_US` drawn as if it lasted that long: an order's burst of messages stays
 * readable beside a coordinator's outage of seconds. The compressed stretches are `gaps`.
 */
class TimeScale {
  readonly gaps: [number, number][] = [];
  private readonly ts: number[];
  private readonly xs: number[];

  constructor(moments: number[], t0: number, t1: number, x0: number, x1: number) {
    this.ts = [...new Set([t0, t1, ...moments.filter((m) => m > t0 && m < t1)])].sort((a, b) => a - b);
    const weights = this.ts.slice(1).map((t, i) => Math.min(t - this.ts[i], GAP_MAX_US));
    const total = weights.reduce((a, b) => a + b, 0) || 1;
    this.xs = [x0];
    weights.forEach((w, i) => {
      this.xs.push(this.xs[i] + ((x1 - x0) * w) / total);
      if (this.ts[i + 1] - this.ts[i] > GAP_MAX_US) this.gaps.push([this.ts[i], this.ts[i + 1]]);
    });
  }

  x(t: number): number {
    return this.interpolate(t, this.ts, this.xs);
  }

  t(x: number): number {
    return Math.round(this.interpolate(x, this.xs, this.ts));
  }

  /** Round ticks inside the stretches drawn to scale, and the ends of every compressed one. */
  ticks(): number[] {
    const [t0, t1] = [this.ts[0], this.ts[this.ts.length - 1]];
    const compressed = this.gaps.reduce((a, [from, to]) => a + to - from, 0);
    const step = tickStep(t1 - t0 - compressed);
    const inGap = (t: number) => this.gaps.some(([from, to]) => t > from && t < to);
    const round: number[] = [];
    for (let s = Math.ceil(t0 / step) * step; s <= t1 && round.length < 200; s += step) if (!inGap(s)) round.push(s);
    return [t0, ...this.gaps.flat(), ...round, t1].sort((a, b) => a - b);
  }

  private interpolate(v: number, from: number[], to: number[]): number {
    if (v <= from[0]) return to[0];
    for (let i = 1; i < from.length; i++) {
      if (v <= from[i]) return to[i - 1] + ((to[i] - to[i - 1]) * (v - from[i - 1])) / Math.max(1e-9, from[i] - from[i - 1]);
    }
    return to[to.length - 1];
  }
}

function markers(): SVGDefsElement {
  const defs = svg("defs", {});
  for (const cls of CLASSES) {
    const m = svg("marker", { id: `txn-arrow-${cls}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse", class: `arrowhead ${cls}` });
    m.append(svg("path", { d: "M0,0 L10,5 L0,10 z" }));
    defs.append(m);
  }
  return defs;
}

/**
 * Draws `log`'s lanes over its own window of time: from its first record to its last, or to
 * `now` while some step can still move. [`laneAt`] says where a press on it landed.
 */
export function drawLanes(history: TxnHistory, log: OrderLog, lanes: string[], now: number, inFlight: InFlight[]): SVGSVGElement {
  const open = isOpen(log) || log.messages.some((m) => inFlight.some((f) => f.msg_id === m.id));
  const [t0, t1] = [log.first, Math.max(open ? now : log.last, log.first + SPAN_MIN_US)];
  const moments = [
    ...log.messages.flatMap((m) => [m.sent, ...m.deliveries.map((d) => d.time), ...m.losses.map((l) => l.time)]),
    ...[...log.cells.values()].flat().map((s) => s.time),
    ...history.faults.map((f) => f.time),
  ];
  const scale = new TimeScale(moments, t0, t1, LEFT + 10, WIDTH - RIGHT - 10);
  const x = (us: number) => scale.x(us);
  const y = (node: string) => TOP + lanes.indexOf(node) * LANE_H + LANE_H / 2;
  const bottom = TOP + lanes.length * LANE_H;
  const height = bottom + 34;
  const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, class: "txn-lanes", role: "img", "data-order": log.order });
  root.setAttribute("aria-label", t("txn.lanes", { order: log.order }));
  root.append(markers());

  lanes.forEach((node, i) => {
    const top = TOP + i * LANE_H;
    const lane = svg("g", { class: "lane", "data-node": node });
    lane.append(svg("rect", { x: LEFT, y: top, width: WIDTH - LEFT - RIGHT, height: LANE_H, class: `lane-bg ${i % 2 ? "odd" : "even"}` }));
    lane.append(svg("text", { x: 6, y: y(node) + 4, class: "row-label" }, nodeLabel(node)));
    lane.append(svg("line", { x1: LEFT, x2: WIDTH - RIGHT, y1: y(node), y2: y(node), class: "row-line" }));
    lane.append(svg("title", {}, t("txn.laneHint", { node: nodeLabel(node) })));
    const steps = log.cells.get(node) ?? [];
    steps.forEach((s, k) => {
      const until = k + 1 < steps.length ? steps[k + 1].time : t1;
      const band = svg("rect", { x: x(s.time), y: top + LANE_H - 11, width: Math.max(2, x(until) - x(s.time)), height: 8, class: `band s-${s.state}`, "data-state": s.state });
      band.append(svg("title", {}, `${nodeLabel(node)}: ${stateLabel(s.state)} @ ${(s.time / 1e6).toFixed(6)} s`));
      lane.append(band);
    });
    for (const [from, to] of downIntervals(history.faults, node, t0, t1)) {
      const down = svg("rect", { x: x(from), y: top + 2, width: Math.max(2, x(to) - x(from)), height: LANE_H - 4, class: "down" });
      down.append(svg("title", {}, t("txn.downSpan", { node: nodeLabel(node) })));
      lane.append(down);
    }
    root.append(lane);
  });

  for (const f of history.faults) {
    if (!lanes.includes(f.node) || f.time < t0 || f.time > t1 || (f.fault !== "crash" && f.fault !== "restart")) continue;
    const mark = svg("text", { x: x(f.time), y: y(f.node) - 8, class: f.fault, "text-anchor": "middle", "data-node": f.node, "data-index": f.index }, f.fault === "crash" ? "✕" : "↻");
    mark.append(svg("title", {}, `${t(f.fault === "crash" ? "txn.crashed" : "txn.restarted", { node: nodeLabel(f.node) })} @ ${(f.time / 1e6).toFixed(6)} s`));
    root.append(mark);
  }

  for (const m of log.messages) {
    if (!lanes.includes(m.from) || !lanes.includes(m.to)) continue;
    const cls = messageClass(m);
    const g = svg("g", { class: `msg ${cls}`, "data-type": m.type, "data-from": m.from, "data-to": m.to, "data-index": m.index });
    const [x1, y1, y2] = [x(m.sent), y(m.from), y(m.to)];
    for (const d of m.deliveries) g.append(svg("line", { x1, y1, x2: x(d.time), y2, "marker-end": `url(#txn-arrow-${cls})` }));
    for (const loss of m.losses) {
      // Lost on the way (at send, the link's loss) or on arrival (the receiver down, a cut).
      const [lx, ly] = loss.time > m.sent ? [x(loss.time), y2] : [x1 + 14, y1 + (y2 - y1) * 0.35];
      g.append(svg("line", { x1, y1, x2: lx, y2: ly, class: "lost" }), svg("text", { x: lx, y: ly + 4, class: "lost-mark", "text-anchor": "middle" }, "✕"));
    }
    const flying = inFlight.find((f) => f.msg_id === m.id);
    if (flying) {
      const p = Math.min(1, (now - m.sent) / Math.max(1, flying.deliver_at - m.sent));
      g.append(svg("line", { x1, y1, x2: x1 + (x(flying.deliver_at) - x1) * p, y2: y1 + (y2 - y1) * p, class: "flying" }));
    }
    g.append(svg("title", {}, `${m.from} → ${m.to} @ ${(m.sent / 1e6).toFixed(6)} s\n${JSON.stringify(m.payload)}${m.losses.length ? `\n${t("txn.lost")} (${m.losses.map((l) => l.reason).join(", ")})` : ""}`));
    root.append(g);
  }

  for (const [from, to] of scale.gaps) {
    const mid = (x(from) + x(to)) / 2;
    const gap = svg("text", { x: mid, y: bottom + 12, class: "gap-mark", "text-anchor": "middle" }, "≈");
    gap.append(svg("title", {}, t("txn.gap", { ms: ((to - from) / 1000).toFixed(1) })));
    root.append(svg("line", { x1: mid, x2: mid, y1: TOP, y2: bottom, class: "gap-line" }), gap);
  }
  let lastTick = -Infinity;
  for (const tick of scale.ticks()) {
    if (x(tick) - lastTick < TICK_GAP) continue;
    lastTick = x(tick);
    root.append(svg("text", { x: x(tick), y: height - 6, class: "tick", "text-anchor": "middle" }, `${(tick / 1e6).toFixed(3)}s`));
  }

  latest = { lanes, time: (px) => scale.t(px) };
  return root;
}

/** The lanes and the time scale of the latest drawing: `dom.show` keeps the drawing on the page
 * and updates it to the latest one, so the one on the page has the latest's geometry (the
 * transactions view draws one set of lanes at a time). */
let latest: { lanes: string[]; time: (px: number) => number } | null = null;

/** The lane and the moment under a press at (clientX, clientY) on the lanes drawn last (`root`,
 * the drawing on the page), whatever is drawn there (a band, an arrow); null outside the lanes. */
export function laneAt(root: SVGSVGElement, clientX: number, clientY: number): { node: string; timeUs: number } | null {
  const hit = latest;
  const matrix = root.getScreenCTM();
  if (!hit || !matrix) return null;
  const p = new DOMPoint(clientX, clientY).matrixTransform(matrix.inverse());
  const node = hit.lanes[Math.floor((p.y - TOP) / LANE_H)];
  if (!node || p.x < LEFT || p.x > WIDTH - RIGHT) return null;
  return { node, timeUs: hit.time(p.x) };
}
