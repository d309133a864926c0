// Lock history drawn as a timeline (46.7.1): one row per client with its holds (from the grant to
// the moment it stopped believing, labelled with the fencing token), its pauses and crashes, and a
// row for the protected resource with every write it accepted or rejected. Failed verdicts'
// marks are drawn over the rows they point at. The data is the lock judge's view: nothing here
// reads the trace.

import type { Lab } from "../modules";
import { detail, isKey, t } from "../i18n";
import type { FaultMark, Verdict } from "../engine";
import { scaleLinear } from "d3-scale";
import { svg } from "../dom";

/** One hold, from the lock judge's view (engine/src/scenario/lock.rs): `to_us` is null while still believed. */
interface HoldSpan { client: string; grant: number; token: number | null; shared: boolean; from_us: number; to_us: number | null; end: string }
interface WriteMark { client: string; time_us: number; token: number | null; accepted: boolean }
interface Span { node: string; from: number; to: number }

/** What the timeline draws: the judge's holds and writes, and the pauses and crashes applied. */
export interface LockView { holds: HoldSpan[]; writes: WriteMark[]; pauses: Span[]; crashes: { node: string; time: number }[] }

/** The lock timeline's data at the shown moment, all from the engine. */
export function lockView(lab: Lab): LockView {
  const view = lab.view() as { holds: HoldSpan[]; writes: WriteMark[] };
  const applied = (lab.fault_marks() as FaultMark[]).filter((m) => m.index !== null && m.index < lab.shown_len());
  const pauses = applied.filter((m) => m.fault.fault === "pause").map((m) => ({ node: m.fault.node as string, from: m.time, to: m.time + (m.fault.duration_us as number) }));
  const crashes = applied.filter((m) => m.fault.fault === "crash").map((m) => ({ node: m.fault.node as string, time: m.time }));
  return { ...view, pauses, crashes };
}

const CLIENT_COLORS = ["#2f6fdf", "#c2410c", "#15803d", "#7c3aed", "#0e7490", "#a16207", "#be185d", "#4d7c0f", "#1d4ed8", "#9f1239"];

/** Draws `history` for `clients` over [0, now] (at least `minSpanUs`) into a fresh SVG. */
export function drawTimeline(history: LockView, clients: string[], now: number, verdicts: Verdict[], minSpanUs = 4_000_000): SVGSVGElement {
  const width = 900;
  const left = 80;
  const rowH = 28;
  const rows = [...clients, "resource"];
  const height = rows.length * rowH + 30;
  const span = Math.max(now, minSpanUs);
  const scale = scaleLinear().domain([0, span / 1e6]).range([left, width - 20]);
  const x = (us: number) => scale(Math.min(us, span) / 1e6);
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
    const to = h.to_us ?? now;
    const g = svg("g", { class: `hold${h.shared ? " shared" : ""}`, "data-client": h.client, "data-grant": h.grant });
    g.append(svg("rect", { x: x(h.from_us), y: y(h.client) + 5, width: Math.max(2, x(to) - x(h.from_us)), height: rowH - 12, fill: color(h.client), rx: 3 }));
    const label = h.token !== null ? `t${h.token}` : `#${h.grant}`;
    g.append(svg("text", { x: x(h.from_us) + 3, y: y(h.client) + 19, class: "hold-label" }, label));
    g.append(svg("title", {}, `${h.client} ${label}: ${(h.from_us / 1e6).toFixed(3)}–${h.to_us === null ? "…" : (h.to_us / 1e6).toFixed(3)} s ${h.end !== "open" ? t(`locks.end.${h.end}` as "locks.end.released") : ""}`));
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
    if (!clients.includes(c.node) || c.time > now) continue;
    root.append(svg("text", { x: x(c.time) - 4, y: y(c.node) + 19, class: "crash" }, "✕"));
  }
  for (const w of history.writes) {
    const cy = y("resource") + 13;
    const cls = `write ${w.accepted ? "accepted" : "rejected"}`;
    const mark = w.accepted
      ? svg("circle", { cx: x(w.time_us), cy, r: 5, fill: color(w.client), class: cls })
      : svg("text", { x: x(w.time_us) - 5, y: cy + 5, class: cls }, "✕");
    mark.append(svg("title", {}, `${w.client}${w.token !== null ? ` t${w.token}` : ""} ${w.accepted ? t("locks.accepted") : t("locks.rejected")} @ ${(w.time_us / 1e6).toFixed(3)} s`));
    root.append(mark);
  }
  for (const v of verdicts) {
    if (v.holds || !v.marks) continue;
    for (const m of v.marks) {
      if (!rows.includes(m.node)) continue;
      const cls = v.promised ? "violation" : "overlap";
      const r = svg("rect", { x: x(m.from_us), y: y(m.node) + 1, width: Math.max(3, x(m.to_us) - x(m.from_us)), height: rowH - 4, class: cls, "data-property": v.property });
      r.append(svg("title", {}, detail(v)));
      root.append(r);
    }
  }
  for (const s of scale.ticks(8)) root.append(svg("text", { x: scale(s), y: height - 4, class: "tick", "text-anchor": "middle" }, `${s} s`));
  return root;
}

/** A verdict line of a finished run, in the current language: an icon and the state in words (never colour alone), the property, and the detail. */
export function verdictLine(v: Verdict): HTMLDivElement {
  const line = document.createElement("div");
  line.className = v.holds ? "good" : v.promised ? "bad" : "warn";
  line.id = `verdict-${v.property}`;
  line.dataset.status = v.status;
  const key = `common.prop.${v.property}`;
  const property = isKey(key) ? t(key) : v.property;
  const state = v.holds ? `✓ ${t("common.verdict.holds")}` : `✗ ${t("common.verdict.violated")}`;
  const name = v.promised ? property : t("common.frame.aside", { text: property, aside: t("locks.unpromised") });
  line.textContent = t("common.verdict.line", { property: name, state, detail: detail(v) });
  return line;
}
