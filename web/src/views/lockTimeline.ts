// Lock history drawn as a timeline (46.7.1): one row per client with its holds (from the grant to
// the moment it stopped believing, labelled with the fencing token), its pauses and crashes, and a
// row for the protected resource with every write it accepted or rejected. Failed verdicts'
// marks are drawn over the rows they point at.

import type { Lab } from "../pkg/distlab_wasm.js";
import { isKey, t } from "../i18n";
import type { TraceRecord, Verdict } from "../engine";
import { svg } from "../dom";

interface SnapNode { id: number; name: string }

interface HoldSpan { client: string; grant: number; token: number | null; shared: boolean; from: number; to: number | null; end: string }
interface Span { node: string; from: number; to: number }
interface WriteMark { client: string; time: number; token: number | null; accepted: boolean }

/** What the trace says about locks, read incrementally as the run grows. */
export class LockHistory {
  holds: HoldSpan[] = [];
  pauses: Span[] = [];
  crashes: { node: string; time: number }[] = [];
  writes: WriteMark[] = [];
  private cursor = 0;
  private lab: Lab | null = null;
  private names = new Map<number, string>();

  /** Reads the records added since the last call, up to the shown moment (all of them again after a rebuilt or rewound lab). */
  update(lab: Lab, nodes: SnapNode[]): void {
    const len = lab.shown_len();
    if (lab !== this.lab || len < this.cursor) {
      this.lab = lab;
      this.cursor = 0;
      this.holds = [];
      this.pauses = [];
      this.crashes = [];
      this.writes = [];
    }
    for (const n of nodes) this.names.set(n.id, n.name);
    const CHUNK = 5000;
    while (this.cursor < len) {
      const records = lab.trace_slice(this.cursor, Math.min(len, this.cursor + CHUNK)) as TraceRecord[];
      for (const r of records) this.read(r);
      this.cursor += records.length;
      if (records.length === 0) break;
    }
  }

  private open(client: string): HoldSpan | undefined {
    return this.holds.find((h) => h.client === client && h.to === null);
  }

  private close(client: string, time: number, end: string): void {
    const h = this.open(client);
    if (h) {
      h.to = time;
      h.end = end;
    }
  }

  private read(r: TraceRecord): void {
    if (r.kind === "observe") {
      const node = this.names.get(r.node as number) ?? String(r.node);
      const o = r.obs as Record<string, unknown>;
      switch (o.type) {
        case "acquired":
          this.close(node, r.time, "superseded");
          this.holds.push({ client: node, grant: o.grant as number, token: (o.token as number | null) ?? null, shared: o.shared === true, from: r.time, to: null, end: "" });
          break;
        case "unlocking":
          this.close(node, r.time, "released");
          break;
        case "renewal_failed":
          this.close(node, r.time, "renewal_failed");
          break;
        case "lease_expired":
          this.close(node, r.time, "lease_expired");
          break;
        case "write_accepted":
        case "write_rejected": {
          const client = this.names.get(o.client as number) ?? String(o.client);
          this.writes.push({ client, time: r.time, token: (o.token as number | null) ?? null, accepted: o.type === "write_accepted" });
          break;
        }
      }
    } else if (r.kind === "fault") {
      const f = r.fault as Record<string, unknown>;
      if (f.fault === "pause") this.pauses.push({ node: f.node as string, from: r.time, to: r.time + (f.duration_us as number) });
      if (f.fault === "crash") {
        this.crashes.push({ node: f.node as string, time: r.time });
        this.close(f.node as string, r.time, "crashed");
      }
    }
  }
}

const CLIENT_COLORS = ["#2f6fdf", "#c2410c", "#15803d", "#7c3aed", "#0e7490", "#a16207", "#be185d", "#4d7c0f", "#1d4ed8", "#9f1239"];

/** Draws `history` for `clients` over [0, now] (at least `minSpanUs`) into a fresh SVG. */
export function drawTimeline(history: LockHistory, clients: string[], now: number, verdicts: Verdict[], minSpanUs = 4_000_000): SVGSVGElement {
  const width = 900;
  const left = 80;
  const rowH = 28;
  const rows = [...clients, "resource"];
  const height = rows.length * rowH + 30;
  const span = Math.max(now, minSpanUs);
  const x = (us: number) => left + ((width - left - 20) * Math.min(us, span)) / span;
  const y = (name: string) => 10 + rows.indexOf(name) * rowH;
  const color = (name: string) => CLIENT_COLORS[Math.max(0, clients.indexOf(name)) % CLIENT_COLORS.length];
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "timeline", role: "img" });
  root.setAttribute("aria-label", t("locks.timeline"));
  for (const name of rows) {
    root.append(svg("text", { x: 4, y: y(name) + 17, class: "row-label" }, name === "resource" ? t("locks.resource") : name));
    root.append(svg("line", { x1: left, x2: width - 10, y1: y(name) + rowH - 2, y2: y(name) + rowH - 2, class: "row-line" }));
  }
  for (const h of history.holds) {
    if (!clients.includes(h.client)) continue;
    const to = h.to ?? now;
    const g = svg("g", { class: `hold${h.shared ? " shared" : ""}`, "data-client": h.client, "data-grant": h.grant });
    g.append(svg("rect", { x: x(h.from), y: y(h.client) + 5, width: Math.max(2, x(to) - x(h.from)), height: rowH - 12, fill: color(h.client), rx: 3 }));
    const label = h.token !== null ? `t${h.token}` : `#${h.grant}`;
    g.append(svg("text", { x: x(h.from) + 3, y: y(h.client) + 19, class: "hold-label" }, label));
    g.append(svg("title", {}, `${h.client} ${label}: ${(h.from / 1e6).toFixed(3)}–${h.to === null ? "…" : (h.to / 1e6).toFixed(3)} s ${h.end ? t(`locks.end.${h.end}` as "locks.end.released") : ""}`));
    root.append(g);
  }
  // Over the holds: a pause inside a hold is the story.
  for (const p of history.pauses) {
    if (!clients.includes(p.node) || p.from > now) continue;
    const r = svg("rect", { x: x(p.from), y: y(p.node) + 2, width: Math.max(2, x(Math.min(p.to, now)) - x(p.from)), height: rowH - 6, class: "pause" });
    r.append(svg("title", {}, t("locks.pausedSpan")));
    root.append(r);
  }
  for (const c of history.crashes) {
    if (!clients.includes(c.node)) continue;
    root.append(svg("text", { x: x(c.time) - 4, y: y(c.node) + 19, class: "crash" }, "✕"));
  }
  for (const w of history.writes) {
    const cy = y("resource") + 13;
    const cls = `write ${w.accepted ? "accepted" : "rejected"}`;
    const mark = w.accepted
      ? svg("circle", { cx: x(w.time), cy, r: 5, fill: color(w.client), class: cls })
      : svg("text", { x: x(w.time) - 5, y: cy + 5, class: cls }, "✕");
    mark.append(svg("title", {}, `${w.client}${w.token !== null ? ` t${w.token}` : ""} ${w.accepted ? t("locks.accepted") : t("locks.rejected")} @ ${(w.time / 1e6).toFixed(3)} s`));
    root.append(mark);
  }
  for (const v of verdicts) {
    if (v.holds || !v.marks) continue;
    for (const m of v.marks) {
      if (!rows.includes(m.node)) continue;
      const cls = v.promised ? "violation" : "overlap";
      const r = svg("rect", { x: x(m.from_us), y: y(m.node) + 1, width: Math.max(3, x(m.to_us) - x(m.from_us)), height: rowH - 4, class: cls, "data-property": v.property });
      r.append(svg("title", {}, v.detail));
      root.append(r);
    }
  }
  for (let s = 0; s <= span / 1e6; s += Math.max(1, Math.ceil(span / 1e6 / 10))) {
    root.append(svg("text", { x: x(s * 1e6), y: height - 4, class: "tick", "text-anchor": "middle" }, `${s}s`));
  }
  return root;
}

/** A verdict line of a finished run, in the current language: an icon and the state in words (never colour alone), the property, and the detail. */
export function verdictLine(v: Verdict): HTMLDivElement {
  const line = document.createElement("div");
  line.className = v.holds ? "good" : v.promised ? "bad" : "warn";
  line.id = `verdict-${v.property}`;
  line.dataset.status = v.status;
  const key = `prop.${v.property}`;
  const property = isKey(key) ? t(key) : v.property;
  const state = v.holds ? `✓ ${t("verdict.holds")}` : `✗ ${t("verdict.violated")}`;
  const promise = v.promised ? "" : ` (${t("locks.unpromised")})`;
  line.textContent = `${property}${promise}: ${state}. ${t("counter.detailLabel")}${v.detail}`;
  return line;
}
