// The load-balancing view (46.4): clients, one to three balancers and four backends, each backend
// with its requests in service and queued, its recent latency and whether each balancer has it in
// rotation; the health checks of the first balancer on a timeline (every probe, every failure, the
// flip at the threshold and what caused it, the spans a process was down); the run's measurements;
// and every algorithm run on the same seed, compared in two charts. The learner picks the
// algorithm (the chapter's five beside the fixed ones), the checkers and the weights, and crashes
// or slows any backend while the run plays. Everything drawn comes from the scenario's
// `Judge::view` (engine/src/scenario/lb.rs) and the snapshot.

import { axisBottom, axisLeft } from "d3-axis";
import { scaleBand, scaleLinear, scaleLog } from "d3-scale";
import { select as d3select } from "d3-selection";
import { newLab, type Lab } from "../modules";
import { mountScenario, type FaultButton, type KeyHandlers } from "../frame";
import type { Snapshot as World } from "../engine";
import { t, type Key } from "../i18n";
import { checkbox, el, labelled, select, show, svg } from "../dom";
import { chartWidth } from "./cacheCharts";

type Health = "concurrent" | "chapter" | "off";
type Passive = "nginx" | "envoy" | "off";

/** The judge's view (engine/src/scenario/lb.rs). */
interface BackendRow { name: string; weight: number; routed: number; failed: number; routed_while_dead: number; recent_p50_us: number | null; down_at: string[] }
interface HealthMark { at_us: number; balancer: string; backend: string; to: "down" | "up"; cause: "probes" | "requests" }
interface ProbeMark { at_us: number; balancer: string; backend: string; ok: boolean }
interface DeadSpan { backend: string; from_us: number; to_us: number | null }
interface Remap { keys: number; moved: number; forced: number }
export interface LbReport {
  requests: number; answered: number; failed: number; no_backend: number; goodput_per_s: number;
  p50_us: number | null; p99_us: number | null; p999_us: number | null; spread: number; routed: number[];
  routed_while_dead: number; dead_in_rotation_ms: number | null; remap: Remap | null; ideal_remap_fraction: number;
}
interface LbView { algorithm: string; balancers: string[]; backends: BackendRow[]; health: HealthMark[]; probes: ProbeMark[]; dead: DeadSpan[]; report: LbReport }
type Snapshot = World<Record<string, unknown>>;

export const FIXED = ["round_robin", "smooth_wrr", "least_conn", "least_outstanding", "ip_hash", "bounded_load", "maglev", "p2c_ewma", "random"];
export const CHAPTER = ["chapter_round_robin", "chapter_weighted", "chapter_least_conn", "chapter_ip_hash", "chapter_consistent"];
const HEALTHS: Health[] = ["concurrent", "chapter", "off"];
const PASSIVES: Passive[] = ["nginx", "envoy", "off"];
const BACKENDS = ["a", "b", "c", "d"];
const CAPACITY = 4;
const SLOW = 10;
/** Latency bars are full at this (ms). */
const LATENCY_FULL_MS = 100;

const ms = (us: number | null) => (us === null ? t("lb.none") : `${(us / 1000).toFixed(1)} ms`);
export const algorithmLabel = (a: string) => t(`lb.alg.${a}` as Key);

function pick<T extends string>(options: readonly T[], value: string | null, fallback: T): T {
  return options.find((o) => o === value) ?? fallback;
}

/** The algorithm select, the chapter's in their own group. */
function algorithmSelect(value: string): HTMLSelectElement {
  const s = el("select");
  s.id = "lb-algorithm";
  for (const [label, names] of [[t("lb.fixed"), FIXED], [t("lb.chapters"), CHAPTER]] as const) {
    const group = el("optgroup");
    group.label = label;
    for (const n of names) {
      const o = el("option", "", algorithmLabel(n));
      o.value = n;
      group.append(o);
    }
    s.append(group);
  }
  s.value = value;
  return s;
}

/** A bar of `value` out of `full`, with its text. */
export function gauge(cls: string, value: number, full: number, text: string): HTMLElement {
  const row = el("div", `lb-gauge ${cls}`);
  const track = el("span", "lb-track");
  const fill = el("span", "lb-fill");
  fill.style.width = `${Math.min(100, (100 * value) / Math.max(1, full))}%`;
  track.append(fill);
  row.append(el("span", "mono", text), track);
  return row;
}

/** The measurements of one run, as table rows [label, value]. */
export function reportRows(r: LbReport, backends: number): [Key, string][] {
  return [
    ["lb.m.requests", String(r.requests)],
    ["lb.m.goodput", r.goodput_per_s.toFixed(1)],
    ["lb.m.failed", String(r.failed)],
    ["lb.m.p50", ms(r.p50_us)],
    ["lb.m.p99", ms(r.p99_us)],
    ["lb.m.p999", ms(r.p999_us)],
    ["lb.m.spread", r.spread.toFixed(2)],
    ["lb.m.dead", String(r.routed_while_dead)],
    ["lb.m.deadFor", r.dead_in_rotation_ms === null ? t("lb.none") : `${(r.dead_in_rotation_ms / 1000).toFixed(1)} s`],
    ["lb.m.remap", r.remap ? t("lb.m.remapValue", { moved: r.remap.moved, keys: r.remap.keys, forced: r.remap.forced, n: backends }) : t("lb.none")],
  ];
}

/** `text` cut to `chars` characters, an ellipsis marking the cut (a phone's narrow chart). */
function fit(text: string, chars: number): string {
  return text.length <= chars ? text : `${text.slice(0, Math.max(1, chars - 1))}…`;
}

/** Horizontal bars, one row per algorithm and one bar per series, on a d3 axis (log or linear). */
function hbars(id: string, rows: string[], series: { label: string; cls: string; values: (number | null)[] }[], opts: { log: boolean; unit: string; label: string; width: number }): SVGSVGElement {
  // Room for the longest algorithm's name (about 7.5 px a character at 12.5 px), at most 45%.
  const left = Math.min(opts.width * 0.45, 16 + 7.5 * Math.max(...rows.map((r) => algorithmLabel(r).length)));
  const band = 12 * series.length + 10;
  const height = rows.length * band + 56;
  const chart = svg("svg", { viewBox: `0 0 ${opts.width} ${height}`, width: opts.width, height, class: "bar-chart lb-hbars", id, role: "img" });
  chart.setAttribute("aria-label", opts.label);
  const values = series.flatMap((s) => s.values).filter((v): v is number => v !== null && v > 0);
  const hi = Math.max(1, ...values);
  const x = opts.log
    ? scaleLog().domain([Math.max(0.1, Math.min(...values, hi) / 1.5), hi * 1.2]).range([left, opts.width - 16]).nice()
    : scaleLinear().domain([0, hi * 1.1]).range([left, opts.width - 16]).nice();
  const y = scaleBand<string>().domain(rows).range([8, height - 48]).paddingInner(0.15);
  const root = d3select(chart);
  root.append("g").attr("class", "axis x").attr("transform", `translate(0,${height - 48})`).call(axisBottom(x).ticks(Math.max(2, Math.floor(opts.width / 110)), opts.log ? "~g" : undefined).tickSizeOuter(0));
  root.append("g").attr("class", "axis y").attr("transform", `translate(${left},0)`).call(axisLeft(y).tickFormat((a) => fit(algorithmLabel(a), Math.floor((left - 16) / 7.5))).tickSizeOuter(0));
  root.append("text").attr("class", "axis-label").attr("x", (left + opts.width) / 2).attr("y", height - 8).attr("text-anchor", "middle").text(opts.unit);
  const barH = Math.max(4, (y.bandwidth() - 2) / series.length);
  rows.forEach((row, i) => {
    series.forEach((s, j) => {
      const v = s.values[i];
      if (v === null || v <= 0) return;
      const x0 = opts.log ? x.range()[0] : x(0);
      const bar = svg("rect", { x: x0, y: (y(row) ?? 0) + j * barH, width: Math.max(1, x(v) - x0), height: barH - 1, class: `bar ${s.cls}`, "data-algorithm": row, "data-series": s.cls });
      bar.append(svg("title", {}, `${algorithmLabel(row)} · ${s.label}: ${v.toFixed(2)}`));
      chart.append(bar);
    });
  });
  if (series.length > 1) series.forEach((s, j) => {
    const lx = left + j * 90;
    chart.append(svg("rect", { x: lx, y: height - 30, width: 10, height: 10, class: `bar ${s.cls}` }), svg("text", { x: lx + 14, y: height - 21, class: "axis-label" }, s.label));
  });
  return chart;
}

export function mountLb(root: HTMLElement, params: URLSearchParams): KeyHandlers {
  let algorithm = pick([...FIXED, ...CHAPTER], params.get("alg"), "round_robin");
  let health = pick(HEALTHS, params.get("health"), "concurrent");
  let passive = pick(PASSIVES, params.get("passive"), "nginx");
  let balancers = Math.min(3, Math.max(1, Math.floor(Number(params.get("lbs") ?? 1)) || 1));
  let heavy = params.get("tail") === "heavy";
  let weights = (params.get("w") ?? "").split(",").map((v) => Math.floor(Number(v)));
  if (weights.length !== BACKENDS.length || weights.some((w) => !(w >= 1 && w <= 100))) weights = BACKENDS.map(() => 1);

  root.innerHTML = "";
  root.append(el("h2", "", t("lb.title")), el("p", "intro", t("lb.intro")), el("p", "wrong", t("lb.wrong")));
  const algSelect = algorithmSelect(algorithm);
  const healthSelect = select("lb-health", HEALTHS.map((v) => [v, t(`lb.health.${v}` as Key)]), health);
  const passiveSelect = select("lb-passive", PASSIVES.map((v) => [v, t(`lb.passive.${v}` as Key)]), passive);
  const lbSelect = select("lb-balancers", ["1", "2", "3"].map((v) => [v, v]), String(balancers));
  const [tailLabel, tailBox] = checkbox("lb-tail", t("lb.tail"), heavy);
  const weightInputs = BACKENDS.map((b, i) => {
    const input = el("input");
    input.type = "number";
    input.id = `lb-weight-${b}`;
    input.min = "1";
    input.max = "100";
    input.value = String(weights[i]);
    input.style.width = "3.5rem";
    input.setAttribute("aria-label", t("lb.weightOf", { backend: b }));
    return input;
  });
  const weightBox = el("span", "lb-weights");
  weightBox.append(`${t("lb.weights")} `, ...weightInputs.flatMap((w, i) => [`${BACKENDS[i]} `, w, " "]));
  const options = el("div", "row panel");
  options.append(labelled(t("lb.algorithm"), algSelect), labelled(t("lb.health"), healthSelect), labelled(t("lb.passive"), passiveSelect), labelled(t("lb.balancers"), lbSelect), weightBox, tailLabel);

  const parts = { controls: el("div"), faults: el("div"), verdicts: el("div"), timeline: el("div") };
  parts.verdicts.id = "lb-verdicts";
  const stage = el("div", "lb-stage panel");
  stage.id = "lb-stage";
  stage.setAttribute("aria-label", t("lb.picture"));
  const healthChart = el("div", "panel chart");
  healthChart.id = "lb-health-timeline";
  const measured = el("table", "compare mono");
  measured.id = "lb-measured";
  const compare = el("div", "panel");
  compare.id = "lb-compare";
  root.append(options, parts.controls, parts.faults, stage, el("p", "muted", t("lb.legend")), healthChart, el("p", "muted", t("lb.timelineLegend")), el("h3", "", t("lb.measured")), measured, parts.verdicts, parts.timeline, compare);

  function config(): Record<string, unknown> {
    const c: Record<string, unknown> = { algorithm, health, passive, balancers, weights };
    if (heavy) Object.assign(c, { tail_percent: 5, tail_factor: 50 });
    return c;
  }

  const frame = mountScenario(parts, params, {
    view: "balancing",
    scenario: "lb",
    config,
    params: () => {
      const p = new URLSearchParams({ alg: algorithm });
      if (health !== "concurrent") p.set("health", health);
      if (passive !== "nginx") p.set("passive", passive);
      if (balancers !== 1) p.set("lbs", String(balancers));
      if (weights.some((w) => w !== 1)) p.set("w", weights.join(","));
      if (heavy) p.set("tail", "heavy");
      return p;
    },
    draw: (lab, snap) => draw(lab, snap as Snapshot),
    faults: (snap) => faults(snap as Snapshot),
  });

  let compared: { key: string; reports: [string, LbReport][] } | null = null;
  const rebuild = () => {
    frame.reset();
    renderCompare();
  };
  const onChange = (input: HTMLElement, apply: () => void) => input.addEventListener("change", () => {
    apply();
    rebuild();
  });
  onChange(algSelect, () => (algorithm = algSelect.value));
  onChange(healthSelect, () => (health = healthSelect.value as Health));
  onChange(passiveSelect, () => (passive = passiveSelect.value as Passive));
  onChange(lbSelect, () => (balancers = Number(lbSelect.value)));
  onChange(tailBox, () => (heavy = tailBox.checked));
  weightInputs.forEach((input, i) => onChange(input, () => {
    const w = Math.min(100, Math.max(1, Math.floor(Number(input.value)) || 1));
    input.value = String(w);
    weights = weights.map((x, j) => (j === i ? w : x));
  }));

  function faults(snap: Snapshot): FaultButton[] {
    const buttons: FaultButton[] = [];
    for (const b of BACKENDS) {
      const n = snap.nodes.find((x) => x.name === b);
      if (!n) continue;
      buttons.push(n.status === "crashed"
        ? { id: `restart-${b}`, label: t("lb.restart", { backend: b }), faults: [{ fault: "restart", node: b }] }
        : { id: `crash-${b}`, label: t("lb.crash", { backend: b }), faults: [{ fault: "crash", node: b }] });
      buttons.push((n.slow ?? 1) > 1
        ? { id: `unslow-${b}`, label: t("lb.unslow", { backend: b }), faults: [{ fault: "slow", node: b, factor: 1 }] }
        : { id: `slow-${b}`, label: t("lb.slow", { backend: b }), faults: [{ fault: "slow", node: b, factor: SLOW }] });
    }
    return buttons;
  }

  function renderStage(view: LbView, snap: Snapshot): void {
    const column = (title: string, cards: HTMLElement[]) => {
      const c = el("div", "lb-column");
      c.dataset.key = `col-${title}`;
      c.append(el("h3", "", title), ...cards);
      return c;
    };
    const clients = snap.nodes.filter((n) => n.name.startsWith("client-")).map((n) => {
      const card = el("div", "card lb-card");
      card.dataset.node = n.name;
      const s = n.state ?? {};
      card.append(el("div", "muted", n.name), el("div", "mono muted", t("lb.client.sent", { sent: Number(s.sent ?? 0), waiting: Number(s.waiting ?? 0) })));
      return card;
    });
    const lbs = snap.nodes.filter((n) => n.name.startsWith("lb-")).map((n) => {
      const card = el("div", "card lb-card server");
      card.dataset.node = n.name;
      const rotation = el("div", "lb-rotation mono");
      for (const b of view.backends) {
        const out = b.down_at.includes(n.name);
        rotation.append(el("span", out ? "lb-out" : "lb-in", `${out ? "✕" : "✓"} ${b.name}`), " ");
      }
      card.append(el("div", "muted", `${t("lb.balancer")} ${n.name}`), el("div", "mono muted", t("lb.inFlight", { count: Number((n.state ?? {}).in_flight ?? 0) })), rotation);
      return card;
    });
    const backends = view.backends.map((b) => {
      const n = snap.nodes.find((x) => x.name === b.name);
      const status = n?.status ?? "up";
      const slow = n?.slow ?? 1;
      const s = n?.state ?? {};
      const card = el("div", `card lb-card lb-backend ${status}${b.down_at.length ? " out" : ""}${slow > 1 ? " slow" : ""}`);
      card.dataset.node = b.name;
      const head = el("div", "lb-head");
      head.append(el("strong", "", b.name), el("span", "muted", ` w=${b.weight} · ${t(`lb.backend.status.${status}` as Key)}`));
      if (slow > 1) head.append(el("span", "warn", ` · ${t("lb.backend.slow", { factor: slow })}`));
      const p50 = b.recent_p50_us;
      card.append(
        head,
        gauge("serving", Number(s.serving ?? 0), CAPACITY, t("lb.backend.serving", { serving: Number(s.serving ?? 0), capacity: CAPACITY })),
        gauge("queued", Number(s.queued ?? 0), 16, t("lb.backend.queued", { queued: Number(s.queued ?? 0) })),
        gauge("latency", p50 === null ? 0 : p50 / 1000, LATENCY_FULL_MS, p50 === null ? t("lb.backend.noLatency") : t("lb.backend.latency", { ms: (p50 / 1000).toFixed(1) })),
        el("div", "mono muted", t("lb.backend.sent", { routed: b.routed, failed: b.failed })),
        el("div", b.down_at.length ? "bad" : "good", b.down_at.length ? `✕ ${t("lb.backend.out", { balancers: b.down_at.join(", ") })}` : `✓ ${t("lb.backend.in")}`),
      );
      return card;
    });
    show(stage, column(t("lb.clients"), clients), column(t("lb.balancer"), lbs), column(t("lb.backends"), backends));
  }

  function renderTimeline(lab: Lab, view: LbView, snap: Snapshot): void {
    const balancer = view.balancers[0] ?? "lb-1";
    // As wide as its panel (a 90 s run needs the room), drawn at that pixel width.
    const width = healthChart.clientWidth > 0 ? Math.max(320, Math.min(1400, healthChart.clientWidth - 24)) : 900;
    const rowH = 40;
    const left = 40;
    const height = BACKENDS.length * rowH + 34;
    const span = Math.max(lab.default_until_us(), snap.time, 1);
    const x = scaleLinear().domain([0, span / 1e6]).range([left, width - 12]);
    const xs = (us: number) => x(Math.min(us, span) / 1e6);
    const y = (b: string) => 6 + BACKENDS.indexOf(b) * rowH;
    const pic = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "lb-timeline", role: "img" });
    pic.setAttribute("aria-label", t("lb.timeline", { balancer }));
    for (const b of BACKENDS) {
      pic.append(svg("text", { x: 6, y: y(b) + 26, class: "row-label" }, b), svg("line", { x1: left, x2: xs(snap.time), y1: y(b) + rowH - 6, y2: y(b) + rowH - 6, class: "row-line" }));
    }
    for (const d of view.dead) {
      const to = d.to_us ?? snap.time;
      const r = svg("rect", { x: xs(d.from_us), y: y(d.backend) + 2, width: Math.max(2, xs(to) - xs(d.from_us)), height: rowH - 6, class: "pause lb-dead", "data-backend": d.backend });
      r.append(svg("title", {}, `${d.backend}: ${t("lb.backend.status.crashed")} ${(d.from_us / 1e6).toFixed(1)}–${d.to_us === null ? "…" : (d.to_us / 1e6).toFixed(1)} s`));
      pic.append(r);
    }
    for (const p of view.probes.filter((p) => p.balancer === balancer)) {
      const mark = svg("text", { x: xs(p.at_us), y: y(p.backend) + 28, class: `lb-probe ${p.ok ? "ok" : "failed"}`, "text-anchor": "middle", "data-backend": p.backend, "data-at": p.at_us }, p.ok ? "✓" : "✕");
      mark.append(svg("title", {}, `${p.backend} · ${(p.at_us / 1e6).toFixed(3)} s · ${p.ok ? "✓" : "✕"}`));
      pic.append(mark);
    }
    const flips = view.health.filter((h) => h.balancer === balancer);
    flips.forEach((h, i) => {
      const g = svg("g", { class: `lb-flip ${h.to} ${h.cause}`, "data-backend": h.backend, "data-to": h.to, "data-cause": h.cause, "data-at": h.at_us });
      const hx = xs(h.at_us);
      // The cause in words where the next flip of the row leaves room for it, else the arrow alone.
      const next = flips.slice(i + 1).find((o) => o.backend === h.backend);
      const room = (next ? xs(next.at_us) : width) - hx;
      const label = room > 80 ? `${h.to === "down" ? "▼" : "▲"} ${t(`lb.cause.${h.cause}` as Key)}` : h.to === "down" ? "▼" : "▲";
      g.append(svg("line", { x1: hx, x2: hx, y1: y(h.backend), y2: y(h.backend) + rowH - 4 }), svg("text", { x: hx + 3, y: y(h.backend) + 10, class: "lb-flip-label" }, label));
      g.append(svg("title", {}, `${h.backend} ${t(`lb.to.${h.to}` as Key)} · ${t(`lb.cause.${h.cause}` as Key)} · ${(h.at_us / 1e6).toFixed(3)} s`));
      pic.append(g);
    });
    for (const s of x.ticks(Math.max(2, Math.floor(width / 90)))) pic.append(svg("text", { x: x(s), y: height - 6, class: "tick", "text-anchor": "middle" }, `${s} s`));
    pic.append(svg("line", { x1: xs(snap.time), x2: xs(snap.time), y1: 2, y2: height - 22, class: "cursor" }));
    show(healthChart, el("h3", "", t("lb.timeline", { balancer })), pic);
  }

  function renderMeasured(view: LbView): void {
    const rows = reportRows(view.report, BACKENDS.length).map(([k, v]) => {
      const tr = el("tr");
      tr.dataset.metric = String(k);
      tr.append(el("td", "", t(k)), el("td", "", v));
      return tr;
    });
    show(measured, ...rows);
  }

  function draw(lab: Lab, snap: Snapshot): void {
    const view = lab.view() as LbView;
    renderStage(view, snap);
    renderTimeline(lab, view, snap);
    renderMeasured(view);
  }

  // The comparison: every algorithm on this configuration and seed, one run a tick so that the
  // page stays responsive, then the charts.
  let chapterToo = true;
  let running = false;
  const compareKey = () => JSON.stringify([config(), frame.seedValue, chapterToo]);
  function renderCompare(progress?: string): void {
    const [chapterLabel, chapterBox] = checkbox("lb-compare-chapter", t("lb.compareChapter"), chapterToo);
    chapterBox.addEventListener("change", () => {
      chapterToo = chapterBox.checked;
      renderCompare();
    });
    const run = el("button", "", t("lb.compareRun"));
    run.id = "lb-compare-run";
    run.disabled = running;
    run.addEventListener("click", () => void runCompare());
    const head = [el("h3", "", t("lb.compare")), el("p", "muted", t("lb.compareHint"))];
    const controls = el("div", "row");
    controls.append(run, chapterLabel);
    const body: Element[] = [];
    if (progress) body.push(el("p", "muted", progress));
    if (compared) {
      if (compared.key !== compareKey()) body.push(el("p", "warn", t("lb.stale")));
      const names = compared.reports.map(([a]) => a);
      const width = chartWidth(compare);
      const pct = (f: (r: LbReport) => number | null) => compared!.reports.map(([, r]) => { const v = f(r); return v === null ? null : v / 1000; });
      body.push(
        el("h4", "", t("lb.latencyChart")),
        hbars("lb-latency-chart", names, [
          { label: "p50", cls: "p50", values: pct((r) => r.p50_us) },
          { label: "p99", cls: "p99", values: pct((r) => r.p99_us) },
          { label: "p99.9", cls: "p999", values: pct((r) => r.p999_us) },
        ], { log: true, unit: "ms", label: t("lb.latencyChart"), width }),
        el("h4", "", t("lb.spreadChart")),
        hbars("lb-spread-chart", names, [{ label: t("lb.m.spread"), cls: "spread", values: compared.reports.map(([, r]) => r.spread) }], { log: false, unit: "×", label: t("lb.spreadChart"), width }),
      );
      const table = el("table", "compare mono");
      table.id = "lb-compare-table";
      const head = el("tr");
      head.append(el("th", "", t("lb.col.algorithm")), ...(["lb.m.goodput", "lb.m.failed", "lb.m.dead", "lb.m.remap"] as Key[]).map((k) => el("th", "", t(k))));
      table.append(head);
      for (const [a, r] of compared.reports) {
        const tr = el("tr");
        tr.dataset.algorithm = a;
        const rows = new Map(reportRows(r, BACKENDS.length));
        tr.append(el("td", "", algorithmLabel(a)), ...(["lb.m.goodput", "lb.m.failed", "lb.m.dead", "lb.m.remap"] as Key[]).map((k) => el("td", "", rows.get(k) ?? "")));
        table.append(tr);
      }
      body.push(table);
    }
    compare.replaceChildren(...head, controls, ...body);
  }

  async function runCompare(): Promise<void> {
    running = true;
    const names = chapterToo ? [...FIXED, ...CHAPTER] : FIXED;
    const key = compareKey();
    const reports: [string, LbReport][] = [];
    for (const a of names) {
      renderCompare(t("lb.comparing", { done: reports.length + 1, total: names.length }));
      await new Promise((r) => setTimeout(r, 0));
      const lab = newLab("lb", { ...config(), algorithm: a }, frame.seedValue);
      lab.run_until(lab.default_until_us());
      reports.push([a, (lab.view() as LbView).report]);
      lab.free();
    }
    running = false;
    compared = { key, reports };
    renderCompare();
  }

  renderCompare();
  frame.refresh();
  return frame;
}
