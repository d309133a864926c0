// The CAP view (46.1): the replicated store of the `cap` scenario. Replicas on a circle with
// their values and versions, every link clickable (cut / heal), partition presets, crash and
// restart; a Porcupine-style history (a lane per client, a bar per operation); the checkers'
// verdicts with the offending operations outlined; live availability and staleness; and a
// sweep over seeds and quorum sizes in a Web Worker.

import type { Lab } from "../modules";
import { mountScenario, type FaultButton, type KeyHandlers } from "../frame";
import type { Fault, Snapshot as World, Verdict } from "../engine";
import { t } from "../i18n";
import { axisBottom, axisLeft } from "d3-axis";
import { scaleBand, scaleLinear } from "d3-scale";
import { select as d3select } from "d3-selection";
import { chartWidth } from "./cacheCharts";
import type { SweepMessage, SweepRequest } from "../sweep.worker";
import { el, labelled, select, show, svg } from "../dom";

type Level = "strong" | "quorum" | "eventual" | "causal";
type Snapshot = World<{ data?: Record<string, { value?: string; values?: string[]; version?: number[] }>; coordinating?: number }>;
interface OpView { client: string; call: number; ret: number | null; op: { op: "get" | "put" | "cas"; key: string; value?: string; expected?: string | null }; result: { result: string; value?: string | null; values?: string[]; ok?: boolean } | null; stale: boolean }

const LEVELS: Level[] = ["strong", "quorum", "eventual", "causal"];
const RECENT_US = 2_000_000;

/** The engine's node ids (`n4`) by name (`c1`), from the latest snapshot. */
let writers = new Map<string, string>();

/** A written value in words: the engine's `n4.35` (node 4's request 35) is `c1·35`, the client's
 * 35th request; absent is ∅. */
function valueLabel(v: string | null | undefined): string {
  if (v === null || v === undefined) return "∅";
  const m = /^(n\d+)\.(\d+)$/.exec(v);
  return m ? `${writers.get(m[1]) ?? m[1]}·${m[2]}` : v;
}

/** What an operation's bar says and how it is coloured. */
function describeOp(o: OpView): { text: string; cls: string } {
  const what =
    o.op.op === "put" ? `put ${o.op.key}=${valueLabel(o.op.value)}` : o.op.op === "cas" ? `cas ${o.op.key}:${valueLabel(o.op.expected)}→${valueLabel(o.op.value)}` : `get ${o.op.key}`;
  if (!o.result) return { text: `${what} …`, cls: o.ret === null ? "pending" : "failed" };
  switch (o.result.result) {
    case "ok":
      return { text: what, cls: "ok" };
    case "swapped":
      return { text: `${what} ${o.result.ok ? "✓" : "✗"}`, cls: "ok" };
    case "value":
      return { text: `${what}→${valueLabel(o.result.value)}`, cls: o.stale ? "stale" : "ok" };
    case "values":
      return { text: `${what}→{${(o.result.values ?? []).join(",")}}`, cls: o.stale ? "stale" : "ok" };
    default:
      return { text: `${what} ✕`, cls: "failed" };
  }
}

export function mountCap(root: HTMLElement, params: URLSearchParams): KeyHandlers {
  let n = Math.min(7, Math.max(1, Number(params.get("n") ?? 3) || 3));
  let r = Math.min(n, Math.max(1, Number(params.get("r") ?? 2) || 2));
  let w = Math.min(n, Math.max(1, Number(params.get("w") ?? 2) || 2));
  let level: Level = LEVELS.find((l) => l === params.get("level")) ?? "strong";
  let worker: Worker | null = null;

  root.innerHTML = "";
  root.append(el("h2", "", t("cap.title")), el("p", "intro", t("cap.intro")), el("p", "wrong", t("cap.wrong")));
  const options = el("div", "row panel");
  const range = (max: number) => Array.from({ length: max }, (_, i) => [String(i + 1), String(i + 1)] as [string, string]);
  const nSelect = select("cap-n", range(7), String(n));
  const rSelect = select("cap-r", range(n), String(r));
  const wSelect = select("cap-w", range(n), String(w));
  const levelSelect = select("cap-level", LEVELS.map((l) => [l, t(`cap.level.${l}` as "cap.level.strong")]), level);
  const overlap = el("span", "mono");
  overlap.id = "cap-quorums";
  options.append(labelled("N", nSelect), labelled("R", rSelect), labelled("W", wSelect), labelled(t("cap.level"), levelSelect), overlap);
  const stage = el("div", "grid2");
  const picture = el("div", "panel");
  picture.id = "cap-ring";
  const side = el("div");
  const numbers = el("div", "panel mono");
  numbers.id = "cap-numbers";
  const parts = { controls: el("div"), faults: el("div"), verdicts: el("div"), timeline: el("div") };
  parts.verdicts.id = "cap-verdicts";
  side.append(parts.faults, numbers, parts.verdicts);
  stage.append(picture, side);
  const history = el("div", "panel chart");
  history.id = "cap-history";
  const sweep = el("div", "panel");
  sweep.id = "cap-sweep";
  root.append(options, parts.controls, stage, el("h3", "", t("cap.history")), history, el("h3", "", t("cap.sweep")), sweep, parts.timeline);
  // A link is cut or healed on the press itself, through one listener on the picture (which is
  // redrawn every frame): a click on a line redrawn between press and release would be lost.
  picture.addEventListener("pointerdown", (ev) => {
    const link = (ev.target as Element).closest("[data-link]") as SVGElement | null;
    if (!link) return;
    const [a, b] = (link.dataset.link ?? "").split("-");
    const verb = link.classList.contains("cut") ? "repair" : "cut";
    controls.inject([{ fault: verb, from: a, to: b }, { fault: verb, from: b, to: a }]);
  });

  const controls = mountScenario(parts, params, {
    view: "cap",
    scenario: "cap",
    config: () => ({ replicas: n, read_quorum: r, write_quorum: w, consistency: level, partition: "none", duration_ms: 60000, quiet_ms: 0, keys: 2 }),
    params: () => new URLSearchParams({ n: String(n), r: String(r), w: String(w), level }),
    draw: (lab, snap) => render(lab, snap as Snapshot),
    faults: (snap) => faults(snap as Snapshot),
  });

  function refreshQuorums(): void {
    const ok = (b: boolean) => (b ? "✓" : "✗");
    overlap.textContent = `R + W > N ${ok(r + w > n)} · W > N/2 ${ok(2 * w > n)}`;
    overlap.className = `mono ${r + w > n && 2 * w > n ? "good" : "bad"}`;
  }
  function rebuild(): void {
    refreshQuorums();
    controls.reset();
  }
  nSelect.addEventListener("change", () => {
    n = Number(nSelect.value);
    r = Math.min(r, n);
    w = Math.min(w, n);
    for (const [s, v] of [[rSelect, r], [wSelect, w]] as [HTMLSelectElement, number][]) {
      s.innerHTML = "";
      for (const [value, label] of range(n)) {
        const o = el("option", "", label);
        o.value = value;
        s.append(o);
      }
      s.value = String(v);
    }
    rebuild();
  });
  rSelect.addEventListener("change", () => {
    r = Number(rSelect.value);
    rebuild();
  });
  wSelect.addEventListener("change", () => {
    w = Number(wSelect.value);
    rebuild();
  });
  levelSelect.addEventListener("change", () => {
    level = levelSelect.value as Level;
    rebuild();
  });

  /** The replicas and the clients that live beside them (client i beside replica i mod N). */
  function members(replicas: number[], clients: string[]): string[] {
    return [...replicas.map((i) => `r${i}`), ...clients.filter((c) => replicas.includes(Number(c.slice(1)) % n))];
  }

  /** Crash or restart each replica; the partition presets. */
  function faults(snap: Snapshot): FaultButton[] {
    writers = new Map(snap.nodes.map((n) => [`n${n.id}`, n.name]));
    const replicas = snap.nodes.filter((x) => /^r\d+$/.test(x.name));
    const clients = snap.nodes.filter((x) => /^c\d+$/.test(x.name)).map((c) => c.name);
    const all = replicas.map((_, i) => i);
    const minority = Math.max(1, Math.floor((n - 1) / 2));
    const mid = Math.floor(n / 2);
    const bridge = (): Fault[] => {
      const a = members(all.slice(0, mid), clients);
      const b = members(all.slice(mid + 1), clients);
      return a.flatMap((x) => b.flatMap((y) => [{ fault: "cut", from: x, to: y }, { fault: "cut", from: y, to: x }]));
    };
    return [
      ...replicas.map((x): FaultButton => x.status === "crashed"
        ? { id: `restart-${x.name}`, label: t("election.restart", { node: x.name }), faults: [{ fault: "restart", node: x.name }] }
        : { id: `crash-${x.name}`, label: t("election.crash", { node: x.name }), faults: [{ fault: "crash", node: x.name }] }),
      { id: "preset-isolate", label: t("cap.isolate"), faults: [{ fault: "partition", groups: [members(all.slice(0, n - 1), clients), members([n - 1], clients)] }], disabled: n < 2 },
      { id: "preset-split", label: t("cap.split"), faults: [{ fault: "partition", groups: [members(all.slice(0, n - minority), clients), members(all.slice(n - minority), clients)] }], disabled: n < 2 },
      { id: "preset-bridge", label: t("cap.bridge"), faults: n >= 3 ? bridge() : [], disabled: n < 3 },
      { id: "preset-heal", label: t("counter.heal"), faults: [{ fault: "heal" }] },
    ];
  }

  function render(lab: Lab, snap: Snapshot): void {
    const replicas = snap.nodes.filter((x) => /^r\d+$/.test(x.name));
    const clients = snap.nodes.filter((x) => /^c\d+$/.test(x.name)).map((c) => c.name);
    const cut = (a: number, b: number) => snap.cuts.some(([f, to]) => f === a && to === b);
    // The replicas and their links.
    const size = 420;
    const center = size / 2;
    const radius = n === 1 ? 0 : 140;
    const pos = new Map<number, [number, number]>();
    replicas.forEach((x, i) => {
      const a = (2 * Math.PI * i) / replicas.length - Math.PI / 2;
      pos.set(x.id, [center + radius * Math.cos(a), center + radius * Math.sin(a)]);
    });
    const pic = svg("svg", { viewBox: `0 0 ${size} ${size}`, class: "cap-ring", role: "img" });
    pic.setAttribute("aria-label", t("cap.ringLabel"));
    for (let i = 0; i < replicas.length; i++) {
      for (let j = i + 1; j < replicas.length; j++) {
        const [a, b] = [replicas[i], replicas[j]];
        const [x1, y1] = pos.get(a.id) ?? [0, 0];
        const [x2, y2] = pos.get(b.id) ?? [0, 0];
        const isCut = cut(a.id, b.id) || cut(b.id, a.id);
        const line = svg("line", { x1, y1, x2, y2, class: `link ${isCut ? "cut" : "up"}`, "data-link": `${a.name}-${b.name}` });
        line.append(svg("title", {}, isCut ? t("cap.healLink") : t("cap.cutLink")));
        pic.append(line);
      }
    }
    for (const x of replicas) {
      const [cx, cy] = pos.get(x.id) ?? [0, 0];
      const g = svg("g", { class: `replica ${x.status}`, "data-node": x.name });
      g.append(svg("circle", { cx, cy, r: 42, class: "body" }));
      g.append(svg("text", { x: cx, y: cy - 22, "text-anchor": "middle", class: "name" }, x.name));
      const data = x.state?.data ?? {};
      Object.entries(data).slice(0, 3).forEach(([key, v], k) => {
        const shown = v.values ? `{${v.values.map(valueLabel).join(",")}}` : valueLabel(v.value);
        g.append(svg("text", { x: cx, y: cy - 4 + k * 14, "text-anchor": "middle", class: "value" }, `${key}=${shown}`));
      });
      if (x.status === "crashed") g.append(svg("text", { x: cx, y: cy + 30, "text-anchor": "middle", class: "value" }, "✕"));
      pic.append(g);
    }
    show(picture, pic, el("p", "muted", t("cap.linkHint")));

    // Live numbers: overall, and over the last two simulated seconds.
    const ops = (lab.view() as { operations: OpView[] }).operations;
    const finished = (o: OpView) => o.result !== null || (o.ret === null && snap.time - o.call > 1_000_000);
    const answered = (o: OpView) => o.result !== null && ["ok", "value", "values"].includes(o.result.result);
    const recent = ops.filter((o) => o.call >= snap.time - RECENT_US && finished(o));
    const pct = (a: number, b: number) => (b === 0 ? "–" : `${((100 * a) / b).toFixed(1)}%`);
    const stale = ops.filter((o) => o.stale).length;
    numbers.innerHTML = "";
    const line = (id: string, text: string) => {
      const d = el("div", "", text);
      d.id = id;
      numbers.append(d);
    };
    line("cap-availability", `${t("cap.availability")}: ${pct(ops.filter(answered).length, ops.filter(finished).length)} (${ops.filter(answered).length}/${ops.filter(finished).length})`);
    line("cap-recent", `${t("cap.recent")}: ${pct(recent.filter(answered).length, recent.length)}`);
    line("cap-stale", `${t("cap.stale")}: ${stale}`);

    // Verdicts, and the operations they point at.
    const verdicts = lab.verdicts() as Verdict[];

    // The history: a lane per client, a bar per operation, the last ten simulated seconds.
    const width = 900;
    const left = 40;
    const lane = 22;
    const span = 10_000_000;
    const from = Math.max(0, snap.time - span);
    const scale = scaleLinear().domain([from / 1e6, (from + span) / 1e6]).range([left, width - 10]);
    const x = (us: number) => scale(Math.min(us, snap.time) / 1e6);
    const h = svg("svg", { viewBox: `0 0 ${width} ${clients.length * lane + 20}`, class: "history", role: "img" });
    h.setAttribute("aria-label", t("cap.history"));
    clients.forEach((c, i) => h.append(svg("text", { x: 4, y: i * lane + 15, class: "row-label" }, c)));
    for (const o of ops) {
      const end = o.ret ?? snap.time;
      if (end < from) continue;
      const lanes = clients.indexOf(o.client);
      const { text, cls } = describeOp(o);
      const bar = svg("g", { class: `op ${cls}` });
      const bw = Math.max(2, x(end) - x(Math.max(o.call, from)));
      bar.append(svg("rect", { x: x(Math.max(o.call, from)), y: lanes * lane + 3, width: bw, height: lane - 6, rx: 2 }));
      if (bw > 40) bar.append(svg("text", { x: x(Math.max(o.call, from)) + 2, y: lanes * lane + 15, class: "op-label" }, text.slice(0, Math.floor(bw / 6))));
      bar.append(svg("title", {}, `${o.client} ${text} [${(o.call / 1e6).toFixed(3)} – ${o.ret === null ? "…" : (o.ret / 1e6).toFixed(3)} s]`));
      h.append(bar);
    }
    for (const v of verdicts) {
      if (v.holds || !v.marks) continue;
      for (const m of v.marks) {
        const i = clients.indexOf(m.node);
        if (i < 0 || m.to_us < from) continue;
        h.append(svg("rect", { x: x(Math.max(m.from_us, from)), y: i * lane + 1, width: Math.max(4, x(m.to_us) - x(Math.max(m.from_us, from))), height: lane - 2, class: "violation" }));
      }
    }
    for (const s of scale.ticks(10).filter((s) => s <= snap.time / 1e6)) {
      h.append(svg("text", { x: scale(s), y: clients.length * lane + 14, class: "tick", "text-anchor": "middle" }, `${s} s`));
    }
    show(history, h, el("p", "muted", t("cap.historyLegend")));
  }

  // The sweep: every (R, W) pair, or each consistency level, over many seeds, in a worker.
  const sweepParam = select("sweep-param", [["rw", t("cap.sweepRw")], ["consistency", t("cap.sweepLevel")]], "rw");
  const seedsInput = el("input");
  seedsInput.type = "number";
  seedsInput.id = "sweep-seeds";
  seedsInput.min = "1";
  seedsInput.max = "2000";
  seedsInput.value = params.get("seeds") ?? "200";
  seedsInput.style.width = "6rem";
  const run = el("button", "", t("cap.sweepRun"));
  run.id = "sweep-run";
  const progress = el("progress");
  progress.id = "sweep-progress";
  progress.value = 0;
  const chart = el("div", "chart");
  chart.id = "sweep-chart";
  const sweepRow = el("div", "row");
  sweepRow.append(labelled(t("cap.sweepOver"), sweepParam), labelled(t("cap.sweepSeeds"), seedsInput), run, progress);
  sweep.append(el("p", "muted", t("cap.sweepIntro")), sweepRow, chart);

  run.addEventListener("click", () => {
    worker?.terminate();
    const seeds = Math.min(2000, Math.max(1, Math.floor(Number(seedsInput.value)) || 200));
    const base = { replicas: n, read_quorum: r, write_quorum: w, consistency: level, keys: 1, clients: 5, op_interval_ms: 20 };
    const points: SweepRequest["points"] =
      sweepParam.value === "rw"
        ? Array.from({ length: n * n }, (_, k) => {
            const [pr, pw] = [Math.floor(k / n) + 1, (k % n) + 1];
            return { label: `R${pr} W${pw}`, config: { ...base, read_quorum: pr, write_quorum: pw } };
          })
        : LEVELS.map((l) => ({ label: t(`cap.level.${l}` as "cap.level.strong"), config: { ...base, consistency: l } }));
    const results: { label: string; violation: number; availability: number }[] = [];
    chart.innerHTML = "";
    progress.max = points.length * seeds;
    progress.value = 0;
    run.disabled = true;
    worker = new Worker(new URL("../sweep.worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (ev: MessageEvent<SweepMessage>) => {
      const m = ev.data;
      if (m.kind === "progress") progress.value = m.done;
      else if (m.kind === "point") {
        results.push({ label: m.label, violation: m.result.violation_rate, availability: m.result.availability });
        drawSweep(results, points.length);
      } else if (m.kind === "done") {
        run.disabled = false;
        chart.dataset.done = "1";
      } else {
        run.disabled = false;
        chart.prepend(el("p", "error", m.message));
      }
    };
    worker.postMessage({ points, seeds } satisfies SweepRequest);
  });

  /** The sweep's bars on d3 scales and axes, drawn at the chart's pixel width; the legend is
   * text below the drawing, so it can never run into the bars' labels. */
  function drawSweep(results: { label: string; violation: number; availability: number }[], total: number): void {
    const width = chartWidth(chart);
    const height = 240;
    const m = { top: 12, right: 12, bottom: 40, left: 48 };
    const labels = [...results.map((r) => r.label), ...Array.from({ length: Math.max(0, total - results.length) }, (_, i) => `…${i}`)];
    const x = scaleBand<string>().domain(labels).range([m.left, width - m.right]).paddingInner(0.2);
    const y = scaleLinear().domain([0, 1]).range([height - m.bottom, m.top]);
    const g = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "sweep", role: "img" });
    g.setAttribute("aria-label", t("cap.sweep"));
    const every = Math.max(1, Math.ceil(46 / Math.max(1, x.step())));
    const shown = results.map((r) => r.label).filter((_, i) => i % every === 0);
    d3select(g).append("g").attr("class", "axis x").attr("transform", `translate(0,${height - m.bottom})`).call(axisBottom(x).tickValues(shown).tickSizeOuter(0));
    d3select(g).append("g").attr("class", "axis y").attr("transform", `translate(${m.left},0)`).call(axisLeft(y).ticks(4).tickFormat((v) => `${Math.round(Number(v) * 100)}%`).tickSizeOuter(0));
    for (const p of results) {
      const x0 = x(p.label) ?? 0;
      const bw = x.bandwidth() / 2;
      const bar = (value: number, dx: number, cls: string) => {
        const rect = svg("rect", { x: x0 + dx, y: y(value), width: bw, height: Math.max(0.5, y(0) - y(value)), class: cls, "data-label": p.label });
        rect.append(svg("title", {}, `${p.label}: ${(value * 100).toFixed(1)}%`));
        g.append(rect);
      };
      bar(p.violation, 0, "bar-violation");
      bar(p.availability, bw, "bar-availability");
    }
    const legend = el("div", "sweep-legend");
    legend.id = "sweep-legend";
    legend.append(el("span", "legend-violation", `■ ${t("cap.violationRate")}`), el("span", "legend-availability", `■ ${t("cap.availability")}`));
    chart.innerHTML = "";
    chart.append(g, legend);
  }

  refreshQuorums();
  controls.refresh();
  return controls;
}
