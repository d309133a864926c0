// The failure-detector view (46.1.2): one target sending heartbeats over a jittery, lossy link,
// with GC pauses, until it crashes; one monitor judging it with the chapter's fixed timeout and
// with a phi-accrual detector at once. The timeline shows when each detector suspected the
// target: a fixed timeout short enough to notice the crash quickly also suspects a healthy target
// whenever it pauses; phi accrual, which learns how heartbeats arrive, waits longer and cries wolf
// less. Pause the target, cut the link or crash it yourself, and change the two thresholds.

import { scaleLinear } from "d3-scale";
import { mountScenario, type KeyHandlers } from "../frame";
import type { FaultMark, Snapshot as World } from "../engine";
import type { Lab } from "../modules";
import { t } from "../i18n";
import { el, show, svg } from "../dom";
import { chartWidth } from "./cacheCharts";

/** The judge's view (engine/src/scenario/detector.rs): each detector's suspicions, `to_us` null while still suspected. */
interface Suspicion { from_us: number; to_us: number | null }
interface DetectorView { fixed: Suspicion[]; phi: Suspicion[] }
type Snapshot = World<{ sent?: number; fixed_suspects?: boolean; phi_suspects?: boolean }>;

const TIMEOUTS = [200, 300, 500, 1000];
const THRESHOLDS = [1, 3, 8, 12];

function choice(id: string, label: string, values: number[], value: number, unit: string): [HTMLLabelElement, HTMLSelectElement] {
  const s = el("select");
  s.id = id;
  for (const v of values) {
    const o = el("option", "", `${v}${unit}`);
    o.value = String(v);
    s.append(o);
  }
  s.value = String(value);
  const l = el("label", "", `${label} `);
  l.append(s);
  return [l, s];
}

function pick(values: number[], raw: string | null, fallback: number): number {
  const v = Number(raw);
  return values.includes(v) ? v : fallback;
}

export function mountDetector(root: HTMLElement, params: URLSearchParams): KeyHandlers {
  let timeout = pick(TIMEOUTS, params.get("timeout"), 500);
  let threshold = pick(THRESHOLDS, params.get("phi"), 8);
  let pauses = params.get("pauses") !== "0";
  root.innerHTML = "";
  root.append(el("h2", "", t("detector.title")), el("p", "intro", t("detector.intro")), el("p", "wrong", t("detector.wrong")));
  const options = el("div", "row");
  const [timeoutLabel, timeoutSelect] = choice("fd-timeout", t("detector.timeout"), TIMEOUTS, timeout, " ms");
  const [phiLabel, phiSelect] = choice("fd-phi", t("detector.threshold"), THRESHOLDS, threshold, "");
  const pauseBox = el("input");
  pauseBox.type = "checkbox";
  pauseBox.id = "fd-pauses";
  pauseBox.checked = pauses;
  const pauseLabel = el("label", "");
  pauseLabel.append(pauseBox, ` ${t("detector.pauses")}`);
  options.append(timeoutLabel, phiLabel, pauseLabel);
  const picture = el("div", "panel chart");
  picture.id = "fd-timeline";
  const facts = el("table", "compare");
  facts.id = "fd-measured";
  const parts = { controls: el("div"), faults: el("div"), verdicts: el("div"), timeline: el("div") };
  root.append(options, parts.controls, parts.faults, picture, el("p", "muted", t("detector.legend")), facts, parts.verdicts, parts.timeline);

  const frame = mountScenario(parts, params, {
    view: "failure-detector",
    scenario: "failure-detector",
    config: () => ({ fixed_timeout_ms: timeout, phi_threshold: threshold, pauses }),
    params: () => {
      const p = new URLSearchParams();
      if (timeout !== 500) p.set("timeout", String(timeout));
      if (threshold !== 8) p.set("phi", String(threshold));
      if (!pauses) p.set("pauses", "0");
      return p;
    },
    draw: (lab, snap) => draw(lab, snap as Snapshot),
    faults: (snap) => {
      const target = snap.nodes.find((n) => n.name === "target");
      const down = target?.status === "crashed";
      return [
        { id: "pause-target", label: t("detector.pause"), faults: [{ fault: "pause", node: "target", duration_us: 1_000_000 }], disabled: target?.status !== "up" },
        down
          ? { id: "restart-target", label: t("election.restart", { node: t("detector.row.target") }), faults: [{ fault: "restart", node: "target" }] }
          : { id: "crash-target", label: t("election.crash", { node: t("detector.row.target") }), faults: [{ fault: "crash", node: "target" }] },
        { id: "cut-link", label: t("detector.cut"), faults: [{ fault: "partition", groups: [["target"], ["monitor"]] }] },
        { id: "heal", label: t("counter.heal"), faults: [{ fault: "heal" }] },
      ];
    },
  });
  const reset = () => frame.reset();
  timeoutSelect.addEventListener("change", () => {
    timeout = Number(timeoutSelect.value);
    reset();
  });
  phiSelect.addEventListener("change", () => {
    threshold = Number(phiSelect.value);
    reset();
  });
  pauseBox.addEventListener("change", () => {
    pauses = pauseBox.checked;
    reset();
  });

  function draw(lab: Lab, snap: Snapshot): void {
    const view = lab.view() as DetectorView;
    const applied = (lab.fault_marks() as FaultMark[]).filter((m) => m.index !== null && m.index < lab.shown_len());
    const width = chartWidth(picture);
    const rowH = 34;
    const rows = ["target", "fixed", "phi"] as const;
    const left = 118;
    const height = rows.length * rowH + 36;
    const span = Math.max(lab.default_until_us(), snap.time, 1);
    const x = scaleLinear().domain([0, span / 1e6]).range([left, width - 16]);
    const xs = (us: number) => x(Math.min(us, span) / 1e6);
    const y = (row: (typeof rows)[number]) => 8 + rows.indexOf(row) * rowH;
    const pic = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "fd-timeline", role: "img" });
    pic.setAttribute("aria-label", t("detector.title"));
    const label = { target: t("detector.row.target"), fixed: t("detector.row.fixed", { ms: timeout }), phi: t("detector.row.phi", { phi: threshold }) };
    for (const row of rows) {
      pic.append(svg("text", { x: 4, y: y(row) + 21, class: "row-label" }, label[row]));
      pic.append(svg("line", { x1: left, x2: xs(snap.time), y1: y(row) + rowH - 8, y2: y(row) + rowH - 8, class: `row-line ${row === "target" ? "" : "trusted"}` }));
    }
    for (const m of applied) {
      if (m.fault.fault === "pause" && m.fault.node === "target") {
        const r = svg("rect", { x: xs(m.time), y: y("target") + 4, width: Math.max(2, xs(Math.min(m.time + (m.fault.duration_us as number), snap.time)) - xs(m.time)), height: rowH - 12, class: "pause" });
        r.append(svg("title", {}, t("locks.pausedSpan")));
        pic.append(r);
      }
      if (m.fault.fault === "crash" && m.fault.node === "target") pic.append(svg("text", { x: xs(m.time) - 5, y: y("target") + 22, class: "crash" }, "✕"));
      if (m.fault.fault === "partition") pic.append(svg("line", { x1: xs(m.time), x2: xs(m.time), y1: y("target"), y2: height - 30, class: "cut-mark" }));
    }
    // A suspicion is right when the target was down at its start (crashed, and not restarted since).
    const downAt = (us: number) => {
      let down = false;
      for (const m of applied) {
        if (m.time > us || m.fault.node !== "target") continue;
        if (m.fault.fault === "crash") down = true;
        if (m.fault.fault === "restart") down = false;
      }
      return down;
    };
    for (const row of ["fixed", "phi"] as const) {
      for (const s of view[row]) {
        const to = s.to_us ?? snap.time;
        const suspicion = svg("rect", { x: xs(s.from_us), y: y(row) + 6, width: Math.max(3, xs(to) - xs(s.from_us)), height: rowH - 14, class: `suspected ${downAt(s.from_us) ? "true" : "false"}`, "data-detector": row, "data-from": s.from_us });
        suspicion.append(svg("title", {}, `${label[row]}: ${(s.from_us / 1e6).toFixed(3)}–${s.to_us === null ? "…" : (s.to_us / 1e6).toFixed(3)} s`));
        pic.append(suspicion);
      }
    }
    for (const s of x.ticks(Math.max(2, Math.floor(width / 90)))) pic.append(svg("text", { x: x(s), y: height - 8, class: "tick", "text-anchor": "middle" }, `${s} s`));
    pic.append(svg("line", { x1: xs(snap.time), x2: xs(snap.time), y1: 4, y2: height - 26, class: "cursor" }));
    show(picture, pic);

    const summary = lab.summary() as Record<string, number | null>;
    facts.innerHTML = "";
    const head = el("tr");
    head.append(el("th", "", ""), el("th", "", t("detector.col.detection")), el("th", "", t("detector.col.false")));
    facts.append(head);
    for (const row of ["fixed", "phi"] as const) {
      const tr = el("tr");
      tr.dataset.detector = row;
      const ms = summary[`${row}_detection_ms`];
      tr.append(el("td", "", label[row]), el("td", "", ms === null || ms === undefined ? t("detector.notYet") : `${ms} ms`), el("td", "", String(summary[`${row}_false_suspicions`] ?? 0)));
      facts.append(tr);
    }
  }

  frame.refresh();
  return frame;
}
