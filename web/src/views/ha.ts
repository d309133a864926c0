// The high-availability view (46.5, the chapter's fifth learning goal): callers, a service and its
// dependency as a call chain with the service's queue, workers and adaptive limit as gauges; the
// breaker's state machine lit at the shown moment; calls, retries, real answers, fallbacks and
// give-ups a second over time with the incident shaded, and the queue beside the slowest answer;
// the run's measurements. A story sets the protections (every one on, the cascade, the retry
// storm); each can then be toggled, and the dependency slowed or taken down while the run plays.
// Everything drawn comes from the scenario's `Judge::view` (engine/src/scenario/ha.rs) and the
// snapshot.

import { scaleLinear } from "d3-scale";
import type { Lab } from "../modules";
import { mountScenario, type FaultButton, type KeyHandlers } from "../frame";
import type { Snapshot as World } from "../engine";
import { t, type Key } from "../i18n";
import { checkbox, el, labelled, select, show, svg } from "../dom";
import { chartWidth } from "./cacheCharts";
import { gauge } from "./lb";

type Story = "protected" | "cascade" | "retry-storm";
type Incident = "slow" | "outage";
const STORIES: Story[] = ["protected", "cascade", "retry-storm"];
const PROTECTIONS = ["limiter", "adaptive", "deadlines", "bulkhead", "breaker", "fallback", "backoff", "budget"] as const;
type Protection = (typeof PROTECTIONS)[number];
/** The scenario's defaults the view shows in its gauges and labels. */
const WORKERS = 8;
const DEPENDENCY_CAPACITY = 16;
const SLOW = 20;
/** The door's GCRA limiter admits this many at once (the scenario's `limit_burst`). */
const LIMIT_BURST = 40;

/** The judge's view (engine/src/scenario/ha.rs). */
interface Bucket { calls: number; retries: number; ok: number; fallback: number; failed: number; refused: number; expired: number; wasted: number; latency_max_us: number; queue: number; busy: number; dependency: number; limit: number }
interface Report {
  calls: number; attempts: number; amplification: number; ok: number; fallback_cached: number; fallback_default: number; failed: number;
  refused_limited: number; refused_adaptive: number; refused_queue: number; expired: number; wasted: number;
  p50_us: number | null; p99_us: number | null; recovered_after_ms: number | null; breaker_transitions: number;
}
interface HaView { bucket_ms: number; incident: { kind: Incident; from_us: number; to_us: number } | null; buckets: Bucket[]; transitions: { from: string; to: string; at: number }[]; report: Report }
type State = Record<string, unknown>;
type Snapshot = World<State>;

/** Each story's protections, retries and incident (the scenario's `story` presets). */
function preset(story: Story): { on: Set<Protection>; retries: number; incident: Incident } {
  if (story === "cascade") return { on: new Set(), retries: 0, incident: "slow" };
  if (story === "retry-storm") return { on: new Set(), retries: 3, incident: "outage" };
  return { on: new Set(PROTECTIONS), retries: 3, incident: "slow" };
}

const ms = (us: number | null) => (us === null ? t("ha.m.none") : `${(us / 1000).toFixed(1)} ms`);

export function mountHa(root: HTMLElement, params: URLSearchParams): KeyHandlers {
  let story = STORIES.find((s) => s === params.get("story")) ?? "protected";
  let { on, retries, incident } = preset(story);
  const given = params.get("on");
  if (given !== null) on = new Set(PROTECTIONS.filter((p) => given.split(",").includes(p)));
  const r = Number(params.get("retries"));
  if (params.has("retries") && Number.isInteger(r) && r >= 0 && r <= 5) retries = r;
  if (params.get("incident") === "outage" || params.get("incident") === "slow") incident = params.get("incident") as Incident;

  root.innerHTML = "";
  root.append(el("h2", "", t("ha.title")), el("p", "intro", t("ha.intro")), el("p", "wrong", t("ha.wrong")));
  const storySelect = select("ha-story", STORIES.map((s) => [s, t(`ha.story.${s}` as Key)]), story);
  const incidentSelect = select("ha-incident", (["slow", "outage"] as Incident[]).map((i) => [i, t(`ha.incident.${i}` as Key)]), incident);
  const retrySelect = select("ha-retries", ["0", "1", "2", "3", "5"].map((v) => [v, v]), String(retries));
  const options = el("div", "row panel");
  options.append(labelled(t("ha.story"), storySelect), labelled(t("ha.incident"), incidentSelect), labelled(t("ha.retries"), retrySelect));
  const boxes = new Map<Protection, HTMLInputElement>();
  const toggles = el("div", "row panel");
  toggles.id = "ha-protections";
  toggles.append(el("strong", "", t("ha.protections")));
  for (const p of PROTECTIONS) {
    const [label, box] = checkbox(`ha-${p}`, t(`ha.p.${p}` as Key), on.has(p));
    boxes.set(p, box);
    toggles.append(label);
  }
  const storyText = el("p", "muted");
  storyText.id = "ha-story-text";
  const parts = { controls: el("div"), faults: el("div"), verdicts: el("div"), timeline: el("div") };
  parts.verdicts.id = "ha-verdicts";
  const stage = el("div", "lb-stage ha-stage panel");
  stage.id = "ha-stage";
  stage.setAttribute("aria-label", t("ha.picture"));
  const breaker = el("div", "panel");
  breaker.id = "ha-breaker";
  const charts = el("div", "panel chart");
  charts.id = "ha-charts";
  const measured = el("table", "compare mono");
  measured.id = "ha-measured";
  root.append(options, toggles, storyText, parts.controls, parts.faults, stage, breaker, charts, el("h3", "", t("ha.measured")), measured, parts.verdicts, parts.timeline);

  function config(): Record<string, unknown> {
    return {
      limiter: on.has("limiter") ? "gcra" : null,
      adaptive: on.has("adaptive"),
      deadlines: on.has("deadlines"),
      bulkhead: on.has("bulkhead"),
      breaker: on.has("breaker"),
      fallback: on.has("fallback"),
      backoff: on.has("backoff"),
      budget: on.has("budget"),
      retries,
      incident,
      incident_ms: incident === "outage" ? 5000 : 10000,
      duration_ms: 40000,
    };
  }

  const frame = mountScenario(parts, params, {
    view: "availability",
    scenario: "ha",
    config,
    params: () => {
      const p = new URLSearchParams({ story });
      const base = preset(story);
      if ([...PROTECTIONS].some((x) => on.has(x) !== base.on.has(x))) p.set("on", PROTECTIONS.filter((x) => on.has(x)).join(","));
      if (retries !== base.retries) p.set("retries", String(retries));
      if (incident !== base.incident) p.set("incident", incident);
      return p;
    },
    draw: (lab, snap) => draw(lab, snap as Snapshot),
    faults: (snap) => faults(snap as Snapshot),
  });

  const sync = () => {
    for (const [p, box] of boxes) box.checked = on.has(p);
    retrySelect.value = String(retries);
    incidentSelect.value = incident;
    storyText.textContent = t(`ha.storyText.${story}` as Key);
  };
  storySelect.addEventListener("change", () => {
    story = storySelect.value as Story;
    ({ on, retries, incident } = preset(story));
    sync();
    frame.reset();
  });
  incidentSelect.addEventListener("change", () => {
    incident = incidentSelect.value as Incident;
    frame.reset();
  });
  retrySelect.addEventListener("change", () => {
    retries = Number(retrySelect.value);
    frame.reset();
  });
  for (const [p, box] of boxes) box.addEventListener("change", () => {
    if (box.checked) on.add(p);
    else on.delete(p);
    frame.reset();
  });
  sync();

  function faults(snap: Snapshot): FaultButton[] {
    const dep = snap.nodes.find((n) => n.name === "dependency");
    if (!dep) return [];
    return [
      (dep.slow ?? 1) > 1
        ? { id: "unslow", label: t("ha.unslow"), faults: [{ fault: "slow", node: "dependency", factor: 1 }] }
        : { id: "slow", label: t("ha.slow"), faults: [{ fault: "slow", node: "dependency", factor: SLOW }] },
      dep.status === "crashed"
        ? { id: "restart", label: t("ha.restart"), faults: [{ fault: "restart", node: "dependency" }] }
        : { id: "crash", label: t("ha.crash"), faults: [{ fault: "crash", node: "dependency" }] },
    ];
  }

  function renderStage(snap: Snapshot, transitions: number): void {
    const column = (title: string, cards: HTMLElement[]) => {
      const c = el("div", "lb-column");
      c.dataset.key = `col-${title}`;
      c.append(el("h3", "", title), ...cards);
      return c;
    };
    const callers = snap.nodes.filter((n) => n.name.startsWith("client-")).map((n) => {
      const s = n.state ?? {};
      const card = el("div", "card lb-card");
      card.dataset.node = n.name;
      card.append(el("div", "muted", n.name), el("div", "mono muted", t("ha.callers.state", { calls: Number(s.calls ?? 0), waiting: Number(s.waiting ?? 0), backing: Number(s.backing_off ?? 0) })));
      return card;
    });
    const service = snap.nodes.find((n) => n.name === "service");
    const s = service?.state ?? {};
    const serviceCard = el("div", "card lb-card server");
    serviceCard.dataset.node = "service";
    const busy = Number(s.busy ?? 0);
    const queue = Number(s.queue ?? 0);
    serviceCard.append(
      el("strong", "", t("ha.service")),
      gauge("serving", busy, WORKERS, t("ha.service.workers", { busy, workers: WORKERS })),
      gauge("queued", queue, 200, t("ha.service.queue", { queue })),
    );
    if (typeof s.tokens === "number") serviceCard.append(gauge("latency", s.tokens, LIMIT_BURST, t("ha.service.tokens", { tokens: s.tokens, burst: LIMIT_BURST })));
    if (typeof s.limit === "number") serviceCard.append(el("div", "mono muted", t("ha.service.limit", { limit: s.limit })));
    const dep = snap.nodes.find((n) => n.name === "dependency");
    const d = dep?.state ?? {};
    const status = dep?.status ?? "up";
    const slow = dep?.slow ?? 1;
    const depCard = el("div", `card lb-card lb-backend ${status}${slow > 1 ? " slow" : ""}`);
    depCard.dataset.node = "dependency";
    const head = el("div", "lb-head");
    head.append(el("strong", "", t("ha.dependency")), el("span", "muted", ` · ${t(`ha.dependency.status.${status}` as Key)}`));
    if (slow > 1) head.append(el("span", "warn", ` · ${t("ha.dependency.slow", { factor: slow })}`));
    const serving = status === "crashed" ? 0 : Number(d.serving ?? 0);
    const queued = status === "crashed" ? 0 : Number(d.queued ?? 0);
    depCard.append(
      head,
      gauge("serving", serving, DEPENDENCY_CAPACITY, t("ha.dependency.serving", { serving, capacity: DEPENDENCY_CAPACITY })),
      gauge("queued", queued, 200, t("ha.dependency.queued", { queued })),
    );
    show(stage, column(t("ha.callers"), callers), column(t("ha.service"), [serviceCard]), column(t("ha.dependency"), [depCard]));

    const state = typeof s.breaker === "string" ? s.breaker : null;
    const machine = el("div", "row ha-machine");
    for (const st of ["closed", "open", "half_open"]) {
      const box = el("span", `ha-state ${st}${st === state ? " lit" : ""}`, `${st === state ? "● " : "○ "}${t(`ha.state.${st}` as Key)}`);
      box.dataset.state = st;
      machine.append(box);
    }
    const count = el("span", "mono muted", t("ha.transitions", { count: transitions }));
    count.id = "ha-transitions";
    count.dataset.count = String(transitions);
    if (state !== null) machine.append(count);
    show(breaker, el("h3", "", t("ha.breaker")), state === null ? el("p", "muted", t("ha.breaker.off")) : machine, el("p", "muted", t("ha.breaker.legend")));
  }

  function chart(id: string, label: string, view: HaView, snapTime: number, series: { cls: string; label: string; value: (b: Bucket) => number }[], scale: number): SVGSVGElement {
    const width = chartWidth(charts);
    const height = 180;
    const left = 44;
    const span = 40;
    const x = scaleLinear().domain([0, span]).range([left, width - 24]);
    const values = view.buckets.flatMap((b) => series.map((s) => s.value(b) * scale));
    const y = scaleLinear().domain([0, Math.max(10, ...values) * 1.1]).range([height - 22, 10]).nice();
    const pic = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "ha-chart", id, role: "img" });
    pic.setAttribute("aria-label", label);
    if (view.incident) {
      const x0 = x(view.incident.from_us / 1e6);
      const x1 = x(Math.min(view.incident.to_us, span * 1e6) / 1e6);
      const shade = svg("rect", { x: x0, y: 10, width: Math.max(1, x1 - x0), height: height - 32, class: "pause ha-incident" });
      shade.append(svg("title", {}, t("ha.incidentSpan")));
      pic.append(shade);
    }
    for (const tick of y.ticks(4)) {
      pic.append(svg("line", { x1: left, x2: width - 24, y1: y(tick), y2: y(tick), class: "grid" }), svg("text", { x: left - 4, y: y(tick) + 4, class: "tick", "text-anchor": "end" }, String(tick)));
    }
    for (const tick of x.ticks(Math.max(2, Math.floor(width / 90)))) pic.append(svg("text", { x: x(tick), y: height - 6, class: "tick", "text-anchor": "middle" }, `${tick} s`));
    const bucketS = view.bucket_ms / 1000;
    series.forEach((s) => {
      const points = view.buckets.map((b, i) => `${x((i + 1) * bucketS).toFixed(1)},${y(s.value(b) * scale).toFixed(1)}`);
      if (points.length) pic.append(svg("polyline", { points: points.join(" "), class: `ha-line ${s.cls}`, "data-series": s.cls }));
    });
    pic.append(svg("line", { x1: x(Math.min(snapTime / 1e6, span)), x2: x(Math.min(snapTime / 1e6, span)), y1: 6, y2: height - 18, class: "cursor" }));
    return pic;
  }

  /** The series' colours in words, as HTML so that a phone wraps them. */
  function legend(series: { cls: string; label: string }[]): HTMLElement {
    const box = el("div", "ha-legend muted");
    for (const s of series) {
      const item = el("span");
      item.append(el("span", `ha-swatch ${s.cls}`), ` ${s.label}`);
      box.append(item);
    }
    return box;
  }

  function renderCharts(view: HaView, snap: Snapshot): void {
    const perSecond = 1000 / view.bucket_ms;
    const calls = [
      { cls: "offered", label: t("ha.series.offered"), value: (b: Bucket) => b.calls },
      { cls: "retries", label: t("ha.series.retries"), value: (b: Bucket) => b.retries },
      { cls: "ok", label: t("ha.series.ok"), value: (b: Bucket) => b.ok },
      { cls: "fallback", label: t("ha.series.fallback"), value: (b: Bucket) => b.fallback },
      { cls: "failed", label: t("ha.series.failed"), value: (b: Bucket) => b.failed },
    ];
    const queue = [
      { cls: "queue", label: t("ha.series.queue"), value: (b: Bucket) => b.queue },
      { cls: "latency", label: t("ha.series.latency"), value: (b: Bucket) => b.latency_max_us / 1000 },
    ];
    show(
      charts,
      el("h3", "", t("ha.chart.calls")),
      chart("ha-calls", t("ha.chart.calls"), view, snap.time, calls, perSecond),
      legend(calls),
      el("h3", "", t("ha.chart.queue")),
      chart("ha-queue", t("ha.chart.queue"), view, snap.time, queue, 1),
      legend(queue),
    );
  }

  function renderMeasured(r: Report): void {
    const rows: [Key, string][] = [
      ["ha.m.calls", String(r.calls)],
      ["ha.m.amplification", r.amplification.toFixed(2)],
      ["ha.m.ok", String(r.ok)],
      ["ha.m.fallback", `${r.fallback_cached} / ${r.fallback_default}`],
      ["ha.m.failed", String(r.failed)],
      ["ha.m.refused", `${r.refused_limited} / ${r.refused_adaptive} / ${r.refused_queue}`],
      ["ha.m.expired", String(r.expired)],
      ["ha.m.wasted", String(r.wasted)],
      ["ha.m.latency", `${ms(r.p50_us)} / ${ms(r.p99_us)}`],
      ["ha.m.recovered", r.recovered_after_ms === null ? t("ha.m.none") : `${(r.recovered_after_ms / 1000).toFixed(1)} s`],
    ];
    show(measured, ...rows.map(([k, v]) => {
      const tr = el("tr");
      tr.dataset.metric = k;
      tr.append(el("td", "", t(k)), el("td", "", v));
      return tr;
    }));
  }

  function draw(lab: Lab, snap: Snapshot): void {
    const view = lab.view() as HaView;
    renderStage(snap, view.transitions.length);
    renderCharts(view, snap);
    renderMeasured(view.report);
  }

  frame.refresh();
  return frame;
}
