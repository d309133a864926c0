// The frame every simulation view stands on: seed, play/pause/step/speed/reset, a "finished"
// state, the share link (a button that copies), the fault toolbar, the verdict panel, and the
// timeline (its scheduled and injected faults drawn on it, a scrubber that rewinds the world to
// any event, and the event list). A view supplies its parameters, its picture and its fault
// buttons; everything else is here, once.
//
// The frame's parts are Preact components, rendered once and re-rendered in place on every tick
// (a signal), keyed: a button under the pointer is the same element from one frame to the next,
// so a press held while the run plays still lands (the old controls were rebuilt every frame).

import { h, render, type ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { scaleLinear } from "d3-scale";
import { signal } from "@preact/signals";
import { newLab, partOf, type Lab } from "./modules";
import { detail, isKey, lang, t } from "./i18n";
import { shareUrl, writeParams } from "./url";
import type { Action, Change, Comparison, Fault, FaultMark, ReplayFile, Shrunk, Snapshot, StoreReply, TraceRecord, Verdict } from "./engine";
import type { ShrinkMessage, ShrinkRequest } from "./shrink.worker";
import type { BranchMessage, BranchRequest } from "./branch.worker";

/**
 * The controls' own URL parameters, in a namespace of their own so that no view's knob (the
 * CAP view's replica count `n`, say) can ever be read back as one of them.
 */
const SIM_PREFIX = "sim.";
const SIM = { seed: "sim.seed", speed: "sim.speed", faults: "sim.faults", events: "sim.ev", time: "sim.t", selected: "sim.sel", config: "sim.config", branch: "sim.branch" } as const;

const SPEEDS = [0.1, 0.25, 1, 4];
const EVENTS_SHOWN = 200;

/** A button of the fault toolbar: `id` keys it (and names it for tests, `data-action`). */
export interface FaultButton { id: string; label: string; faults: Fault[]; disabled?: boolean; title?: string }

/** What a view gives the frame. */
export interface ScenarioView {
  view: string;
  scenario: string;
  config(): Record<string, unknown>;
  /** The view's URL parameters (its configuration); none may start with `sim.`. */
  params(): URLSearchParams;
  /** Draws the picture of the shown moment. */
  draw(lab: Lab, snap: Snapshot): void;
  /** The fault buttons for the shown moment. */
  faults(snap: Snapshot): FaultButton[];
}

/** Where the frame's parts go in the view's layout. */
export interface FrameParts { controls: HTMLElement; faults: HTMLElement; verdicts: HTMLElement; timeline: HTMLElement }

export interface KeyHandlers { toggle(): void; step(): void; reset(): void }

/** The frame on the page (the latest mounted), for the one resize listener: pictures drawn at
 * their pixel width are drawn again when the window changes size (a phone turned, a projector's
 * window); a playing run redraws on its own. Only the latest is kept, so a view left behind is
 * not held alive by it. */
let shown: { frame: Frame; anchor: HTMLElement } | null = null;
if (typeof window !== "undefined") {
  window.addEventListener("resize", () => {
    const current = shown;
    if (current && current.anchor.isConnected && !current.frame.isPlaying) requestAnimationFrame(() => current.frame.refresh());
  });
}

/** One line of the event list: nodes by name, and what a message or an observation is. */
function describe(r: TraceRecord, names: Map<number, string>): string {
  const time = (r.time / 1e6).toFixed(6);
  const node = (v: unknown) => (typeof v === "number" ? names.get(v) ?? String(v) : String(v));
  const type = (v: unknown) => (v && typeof v === "object" && "type" in v ? String((v as { type: unknown }).type) : "");
  const route = "from" in r && "to" in r ? `${node(r.from)} → ${node(r.to)}` : "node" in r ? node(r.node) : "";
  const what = type(r.msg) || type(r.obs) || (r.kind === "fault" ? faultText(r.fault as Fault) : "");
  const rest = Object.entries(r)
    .filter(([k]) => !["index", "time", "kind", "msg", "obs", "from", "to", "node", "fault"].includes(k))
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(" ");
  return [`#${r.index} ${time}s ${r.kind}`, route, what, rest].filter(Boolean).join(" ");
}

/** When a finished run ended: its default end, or its last event when nothing was left to happen
 * before that (the clock may have been run on past it, through a link's time or a long step). */
function finishedAt(lab: Lab): number {
  const now = lab.live_now_us();
  if (now >= lab.default_until_us()) return lab.default_until_us();
  const len = lab.trace_len();
  const [last] = len > 0 ? (lab.trace_slice(len - 1, len) as TraceRecord[]) : [];
  return last?.time ?? now;
}

function seconds(us: number, digits = 3): string {
  return `${(us / 1e6).toFixed(digits)} s`;
}

/** A fault in words, for the timeline's marks. */
function faultText(f: Fault): string {
  const node = typeof f.node === "string" ? ` ${f.node}` : "";
  return `${isKey(`common.fault.${f.fault}`) ? t(`common.fault.${f.fault}` as "common.fault.crash") : f.fault}${node}`;
}

/** A shrink of one violated property: its progress while the worker runs, then its result. */
interface ShrinkState { property: string; running: boolean; runs: number; max: number; faults: number; result?: Shrunk; error?: string }

/** A comparison of the run with a branch of it: its progress while the worker runs, then its result. */
interface BranchState { change: Change; running: boolean; done: number; result?: Comparison; error?: string }

/** One way to branch the run at the shown moment, for the branch menu. */
export interface BranchOption { id: string; label: string; change: Change }

export class Frame implements KeyHandlers {
  lab: Lab;
  private seed: number;
  private speed: number;
  private playing = false;
  private lastFrame = 0;
  /** The selected trace record (the scrubber's position); `null` follows the live run. */
  private selected: number | null = null;
  private readonly tick = signal(0);
  private readonly errors = signal<string[]>([]);
  private readonly copied = signal(false);
  /** How long the last rewind took (ms), for the browser test's report. */
  private seekMs = 0;
  private readonly spec: ScenarioView;
  /** Node names by id, from the latest snapshot: the event list says `r0 → r2`, not `from=0 to=2`. */
  names = new Map<number, string>();
  /** A whole configuration from the link (`sim.config`: a shrunk counterexample), run instead of
   * the view's own until the view's settings change from what they were when it was opened. */
  private override: Record<string, unknown> | null = null;
  private overrideBase = "";
  private readonly shrinking = signal<ShrinkState | null>(null);
  private worker: Worker | null = null;
  private readonly branching = signal<BranchState | null>(null);
  private branchWorker: Worker | null = null;
  /** A `distlab replay` file opened beside the run it replayed. */
  private readonly replaying = signal<ReplayFile | null>(null);

  constructor(parts: FrameParts, params: URLSearchParams, spec: ScenarioView) {
    this.spec = spec;
    this.seed = Math.max(0, Math.floor(Number(params.get(SIM.seed) ?? 1))) || 0;
    this.speed = SPEEDS.includes(Number(params.get(SIM.speed))) ? Number(params.get(SIM.speed)) : 1;
    const actions = JSON.parse(params.get(SIM.faults) ?? "[]") as Action[];
    const linked = params.get(SIM.config);
    if (linked !== null) {
      try {
        const parsed: unknown = JSON.parse(linked);
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) this.useConfig(parsed as Record<string, unknown>);
      } catch {
        this.errors.value = [`${SIM.config}: ${linked.slice(0, 80)}`];
      }
    }
    this.lab = this.build(actions, Number(params.get(SIM.events) ?? 0), Number(params.get(SIM.time) ?? 0));
    const sel = params.get(SIM.selected);
    if (sel !== null) this.seekQuietly(Number(sel));
    this.parts = parts;
    const branch = params.get(SIM.branch);
    if (branch !== null) {
      try {
        this.startBranch(JSON.parse(branch) as Change);
      } catch {
        this.errors.value = [`${SIM.branch}: ${branch.slice(0, 80)}`];
      }
    }
  }

  /** The frame's parts, rendered at the first refresh: the view calls it once its own state is set up. */
  private parts: FrameParts | null;

  private mount(): void {
    if (!this.parts) return;
    const parts = this.parts;
    this.parts = null;
    render(h(ControlsBar, { frame: this }), parts.controls);
    render(h(FaultBar, { frame: this }), parts.faults);
    render(h(VerdictPanel, { frame: this }), parts.verdicts);
    render(h(Timeline, { frame: this }), parts.timeline);
    shown = { frame: this, anchor: parts.controls };
  }

  /** Runs `config` instead of the view's own configuration, until the view's settings change. */
  private useConfig(config: Record<string, unknown>): void {
    this.override = config;
    this.overrideBase = JSON.stringify(this.spec.config());
  }

  /** The configuration the run is built from: the link's, while the view's settings are as they
   * were when it was opened; the view's own otherwise. */
  config(): Record<string, unknown> {
    if (this.override && JSON.stringify(this.spec.config()) !== this.overrideBase) this.override = null;
    return this.override ?? this.spec.config();
  }

  get linkedConfig(): Record<string, unknown> | null {
    return this.override;
  }

  get shrinkState(): ShrinkState | null {
    return this.shrinking.value;
  }

  /** Shrinks the run toward `property` in a worker, reporting progress as it goes. */
  shrink(property: string): void {
    this.stopShrink();
    const worker = new Worker(new URL("./shrink.worker.ts", import.meta.url), { type: "module" });
    this.worker = worker;
    const marks = this.lab.fault_marks() as FaultMark[];
    const state: ShrinkState = { property, running: true, runs: 0, max: 0, faults: marks.length };
    this.shrinking.value = state;
    worker.onmessage = (ev: MessageEvent<ShrinkMessage>) => {
      const m = ev.data;
      const now = this.shrinking.value ?? state;
      if (m.kind === "progress") this.shrinking.value = { ...now, runs: m.runs, max: m.max_runs, faults: m.faults };
      else {
        this.shrinking.value = m.kind === "done" ? { ...now, running: false, runs: m.result.runs, result: m.result } : { ...now, running: false, error: m.message };
        worker.terminate();
        if (this.worker === worker) this.worker = null;
      }
    };
    const request: ShrinkRequest = { part: partOf(this.spec.scenario), scenario: this.spec.scenario, config: this.config(), seed: this.seed, actions: this.actions(), property };
    worker.postMessage(request);
  }

  /** Stops a running shrink and forgets its state. */
  stopShrink(): void {
    this.worker?.terminate();
    this.worker = null;
    this.shrinking.value = null;
  }

  /** Opens the shrunk run: its configuration (with its explicit schedule) from the start. */
  openShrunk(): void {
    const result = this.shrinking.value?.result;
    if (!result) return;
    this.useConfig(result.config);
    this.reset();
  }

  get branchState(): BranchState | null {
    return this.branching.value;
  }

  /** The ways to branch the run at the shown moment: each of the view's one-fault buttons there
   * added after the shown event, or one of the run's faults from that moment on removed. */
  branchOptions(): BranchOption[] {
    const snap = this.lab.snapshot() as Snapshot;
    const adds = this.faultButtons()
      .filter((b) => b.faults.length === 1 && !b.disabled)
      .map((b) => ({ id: `add-${b.id}`, label: t("common.branch.add", { fault: b.label }), change: { add: { after: snap.events_processed, at: snap.time, fault: b.faults[0] } } }));
    const shown = this.lab.shown_len();
    const removes = (this.lab.fault_marks() as FaultMark[])
      .filter((m) => m.index === null || m.index >= shown)
      .map((m, i) => ({ id: `remove-${m.time}-${i}`, label: t("common.branch.remove", { fault: faultText(m.fault), t: seconds(m.time) }), change: { remove: { at_us: m.time, fault: m.fault } } }));
    return [...adds, ...removes];
  }

  /** Runs the run and its branch with `change` to their end in a worker, and compares them. */
  branch(change: Change): void {
    this.startBranch(change);
    if (!this.playing) this.save();
  }

  private startBranch(change: Change): void {
    this.stopBranch();
    const worker = new Worker(new URL("./branch.worker.ts", import.meta.url), { type: "module" });
    this.branchWorker = worker;
    const state: BranchState = { change, running: true, done: 0 };
    this.branching.value = state;
    worker.onmessage = (ev: MessageEvent<BranchMessage>) => {
      const m = ev.data;
      const now = this.branching.value ?? state;
      if (m.kind === "progress") this.branching.value = { ...now, done: m.done };
      else {
        this.branching.value = m.kind === "done" ? { ...now, running: false, done: 1, result: m.result } : { ...now, running: false, error: m.message };
        worker.terminate();
        if (this.branchWorker === worker) this.branchWorker = null;
      }
    };
    const request: BranchRequest = { part: partOf(this.spec.scenario), scenario: this.spec.scenario, config: this.config(), seed: this.seed, actions: this.actions(), change };
    worker.postMessage(request);
  }

  private stopBranch(): void {
    this.branchWorker?.terminate();
    this.branchWorker = null;
  }

  /** Stops a comparison and puts it away. */
  closeBranch(): void {
    this.stopBranch();
    this.branching.value = null;
    this.save();
  }

  /** Opens branch B as the run, at the moment it parts from A. */
  openBranch(): void {
    const r = this.branching.value?.result;
    if (!r) return;
    if (JSON.stringify(r.b_branch.config) !== JSON.stringify(this.config())) this.useConfig(r.b_branch.config);
    this.closeBranch();
    this.playing = false;
    this.selected = null;
    this.lab.free();
    this.lab = this.build(r.b_branch.injected, 0, r.divergence?.at_us ?? 0);
    this.refresh();
    this.save();
  }

  get replay(): ReplayFile | null {
    return this.replaying.value;
  }

  /** Opens a `distlab replay` file: the run it replayed (its configuration and seed, from the
   * start) with Redis's answers beside the simulated store's. A file of another scenario, or
   * not one at all, is said, not thrown. */
  openReplay(text: string): void {
    let file: ReplayFile;
    try {
      file = JSON.parse(text) as ReplayFile;
      if (typeof file.scenario !== "string" || !Array.isArray(file.history)) throw new Error("no history");
    } catch {
      this.errors.value = [t("common.replay.notAFile")];
      return;
    }
    if (file.scenario !== this.spec.scenario) {
      this.errors.value = [t("common.replay.otherScenario", { scenario: file.scenario })];
      return;
    }
    this.seed = file.seed;
    this.useConfig(file.config);
    this.reset();
    this.replaying.value = file;
  }

  /** Leaves the link's configuration for the view's own. */
  leaveLinked(): void {
    this.override = null;
    this.reset();
  }

  private build(actions: Action[], events: number, timeUs: number): Lab {
    const lab = newLab(this.spec.scenario, this.config(), this.seed);
    lab.replay_link(actions, events, timeUs);
    return lab;
  }

  /** The tick every part reads: reading it subscribes the part to redraws. */
  get version(): number {
    return this.tick.value;
  }

  get isPlaying(): boolean {
    return this.playing;
  }

  get selection(): number | null {
    return this.selected;
  }

  get lastSeekMs(): number {
    return this.seekMs;
  }

  get errorList(): string[] {
    return this.errors.value;
  }

  get linkCopied(): boolean {
    return this.copied.value;
  }

  get seedValue(): number {
    return this.seed;
  }

  get speedValue(): number {
    return this.speed;
  }

  setSeed(seed: number): void {
    this.seed = Math.max(0, Math.floor(seed)) || 0;
    this.reset();
  }

  setSpeed(speed: number): void {
    this.speed = speed;
    this.save();
  }

  /** Injects `faults` in order; an engine error (an unknown node, restarting a node that is up) is shown, not thrown. */
  inject(faults: Fault[]): void {
    // A comparison is of the run as it was asked for: with one more fault of the learner's it
    // is another run (and the link would replay another comparison).
    if (this.branching.value) this.closeBranch();
    try {
      for (const f of faults) this.lab.inject(f);
      this.errors.value = [];
    } catch (e) {
      this.errors.value = [e instanceof Error ? e.message : String(e)];
    }
    this.selected = null;
    this.refresh();
    if (!this.playing) this.save();
  }

  /** Shows the world right after trace record `index` (rewinding; the live run goes on when played). */
  seek(index: number): void {
    this.seekQuietly(index);
    this.refresh();
  }

  private seekQuietly(index: number): void {
    const start = performance.now();
    const len = this.lab.trace_len();
    const target = Math.max(0, Math.min(len - 1, Math.floor(index)));
    this.selected = target >= len - 1 ? null : target;
    this.lab.seek(target + 1);
    this.seekMs = performance.now() - start;
  }

  /** Jumps to the last event at or before true time `us` (a violation's moment). */
  jumpTo(us: number): void {
    const len = this.lab.trace_len();
    let lo = 0;
    let hi = len - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const [r] = this.lab.trace_slice(mid, mid + 1) as TraceRecord[];
      if (r.time <= us) lo = mid;
      else hi = mid - 1;
    }
    if (this.playing) this.toggle();
    this.seek(lo);
  }

  /** Back to the live run. */
  follow(): void {
    this.selected = null;
    this.lab.follow();
    this.refresh();
  }

  toggle(): void {
    this.playing = !this.playing;
    if (this.playing) {
      if (this.lab.finished()) this.playing = false;
      this.selected = null;
      this.lab.follow();
      this.lastFrame = performance.now();
      requestAnimationFrame((now) => this.frame(now));
    } else {
      this.save();
    }
    this.refresh();
  }

  step(): void {
    this.selected = null;
    this.lab.step();
    this.refresh();
    this.save();
  }

  reset(): void {
    this.stopShrink();
    this.stopBranch();
    this.branching.value = null;
    this.replaying.value = null;
    this.playing = false;
    this.selected = null;
    this.errors.value = [];
    this.lab.free();
    this.lab = this.build([], 0, 0);
    this.refresh();
    this.save();
  }

  private frame(now: number): void {
    if (!this.playing) return;
    // A frame's timestamp can precede the moment play was pressed: never go backwards.
    const elapsedMs = Math.max(0, Math.min(100, now - this.lastFrame));
    this.lastFrame = now;
    const target = Math.floor(this.lab.live_now_us() + elapsedMs * 1000 * this.speed);
    const end = this.lab.default_until_us();
    this.lab.run_until(Math.min(target, end));
    if (this.lab.finished()) this.playing = false;
    this.refresh();
    if (!this.playing) {
      this.save();
      return;
    }
    requestAnimationFrame((n) => this.frame(n));
  }

  /** Redraws the frame's parts and the view's picture. */
  refresh(): void {
    this.mount();
    const snap = this.lab.snapshot() as Snapshot;
    this.names = new Map(snap.nodes.map((n) => [n.id, n.name]));
    this.spec.draw(this.lab, snap);
    this.tick.value++;
  }

  /** The view's fault buttons for the shown moment. */
  faultButtons(): FaultButton[] {
    return this.spec.faults(this.lab.snapshot() as Snapshot);
  }

  /** The faults injected so far, in order: what the share link replays. */
  actions(): Action[] {
    return this.lab.actions() as Action[];
  }

  /** Writes view, parameters, seed, faults, time and the selected event into the URL. */
  save(): void {
    const p = this.spec.params();
    for (const key of p.keys()) {
      if (key.startsWith(SIM_PREFIX)) throw new Error(`the view parameter ${key} is in the controls' namespace`);
    }
    p.set(SIM.seed, String(this.seed));
    if (this.speed !== 1) p.set(SIM.speed, String(this.speed));
    const actions = this.actions();
    if (actions.length) p.set(SIM.faults, JSON.stringify(actions));
    p.set(SIM.events, String(this.lab.events_processed()));
    p.set(SIM.time, String(this.lab.live_now_us()));
    if (this.selected !== null) p.set(SIM.selected, String(this.selected));
    if (this.override) p.set(SIM.config, JSON.stringify(this.override));
    const branch = this.branching.value;
    if (branch) p.set(SIM.branch, JSON.stringify(branch.change));
    writeParams(this.spec.view, p);
  }

  share(): void {
    this.save();
    const url = shareUrl();
    this.copied.value = true;
    setTimeout(() => (this.copied.value = false), 2500);
    navigator.clipboard?.writeText(url).catch(() => undefined);
  }
}

function ControlsBar({ frame }: { frame: Frame }) {
  frame.version;
  const lab = frame.lab;
  const finished = lab.finished();
  const state = frame.selection !== null
    ? h("span", { class: "badge rewound", id: "run-state", "data-state": "rewound" }, `⏪ ${t("common.frame.rewound", { t: seconds(lab.now_us()) })} `, h("button", { id: "follow", onClick: () => frame.follow() }, t("common.frame.follow")))
    : finished
      ? h("span", { class: "badge finished", id: "run-state", "data-state": "finished" }, `■ ${t("common.frame.finished", { t: seconds(finishedAt(lab)) })}`)
      : h("span", { class: "badge", id: "run-state", "data-state": frame.isPlaying ? "playing" : "paused" }, frame.isPlaying ? `▶ ${t("common.frame.playing")}` : `❚❚ ${t("common.frame.paused")}`);
  return h("div", { class: "frame-controls" },
    h("div", { class: "row panel" },
      h("label", null, `${t("common.controls.seed")} `,
        h("input", { type: "number", min: 0, id: "seed", value: frame.seedValue, style: "width:7rem", onChange: (e: Event) => frame.setSeed(Number((e.target as HTMLInputElement).value)) })),
      h("button", { id: "play", onClick: () => frame.toggle(), disabled: finished && !frame.isPlaying }, frame.isPlaying ? t("common.controls.pause") : t("common.controls.play")),
      h("button", { id: "step", onClick: () => frame.step(), disabled: finished }, t("common.controls.step")),
      h("label", null, `${t("common.controls.speed")} `,
        h("select", { id: "speed", value: String(frame.speedValue), onChange: (e: Event) => frame.setSpeed(Number((e.target as HTMLSelectElement).value)) },
          SPEEDS.map((s) => h("option", { key: s, value: String(s) }, `${s}×`)))),
      h("button", { id: "reset", onClick: () => frame.reset() }, t("common.controls.reset")),
      h("button", { id: "share", onClick: () => frame.share(), title: t("common.controls.shareHint") }, frame.linkCopied ? `✓ ${t("common.controls.copied")}` : t("common.controls.share")),
      h("span", { class: "mono", id: "sim-time" }, t("common.frame.labelled", { label: t("common.controls.time"), value: seconds(lab.now_us()) })),
      h("span", { class: "mono", id: "event-count" }, t("common.frame.labelled", { label: t("common.controls.events"), value: lab.shown_len() })),
      state),
    h("p", { class: "muted" }, `${t("common.controls.keys")} · ${t("common.controls.shareHint")}`),
    frame.linkedConfig
      ? h("p", { class: "notice", id: "linked-config" },
        Array.isArray(frame.linkedConfig.schedule) ? t("common.shrink.banner", { faults: frame.linkedConfig.schedule.length }) : t("common.shrink.bannerPlain"), " ",
        h("button", { id: "leave-linked", onClick: () => frame.leaveLinked() }, t("common.shrink.leave")))
      : null,
    frame.errorList.map((e) => h("p", { class: "error", key: e }, e)));
}

function FaultBar({ frame }: { frame: Frame }) {
  frame.version;
  return h("div", { class: "row fault-bar", role: "toolbar", "aria-label": t("common.frame.faults") },
    frame.faultButtons().map((b) =>
      h("button", { key: b.id, id: b.id, "data-action": b.id, disabled: b.disabled, title: b.title, onClick: () => frame.inject(b.faults) }, b.label)));
}

const STATUS_ICON: Record<Verdict["status"], string> = { holds: "✓", violated: "✗", pending: "…", unknown: "?" };

/** One verdict: the property, its state in words and an icon (never colour alone), and the checker's detail. */
function VerdictLine({ v, frame }: { v: Verdict; frame: Frame }) {
  const key = `common.prop.${v.property}`;
  const property = isKey(key) ? t(key) : v.property;
  const state = v.status === "holds"
    ? v.final ? t("common.verdict.holds") : t("common.verdict.holdsSoFar")
    : v.status === "pending" ? t("common.verdict.pending")
    : v.status === "unknown" ? t("common.verdict.unknown") : t("common.verdict.violated");
  const cls = v.status === "holds" ? "good" : v.status === "pending" ? "muted" : v.status === "unknown" || !v.promised ? "warn" : "bad";
  const name = v.promised ? property : t("common.frame.aside", { text: property, aside: t("locks.unpromised") });
  return h("div", { class: `verdict ${cls}`, id: `verdict-${v.property}`, "data-status": v.status, "data-final": String(v.final) },
    h("span", { class: "icon", "aria-hidden": "true" }, STATUS_ICON[v.status]), " ",
    h("strong", null, t("common.frame.labelled", { label: name, value: state })),
    v.status === "violated" && v.at_us !== undefined
      ? h("button", { class: "jump", "data-jump": v.property, onClick: () => frame.jumpTo(v.at_us!) }, t("common.verdict.jump", { t: seconds(v.at_us) }))
      : null,
    v.status === "violated" && !frame.shrinkState?.running
      ? h("button", { class: "shrink", "data-shrink": v.property, title: t("common.shrink.hint"), onClick: () => frame.shrink(v.property) }, t("common.shrink.button"))
      : null,
    h("div", { class: "detail mono muted" }, detail(v)));
}

function VerdictPanel({ frame }: { frame: Frame }) {
  frame.version;
  const verdicts = frame.lab.verdicts() as Verdict[];
  return h("div", { class: "panel verdicts", id: "verdicts" },
    h("h3", null, t("common.frame.verdicts")),
    verdicts.map((v) => h(VerdictLine, { v, frame, key: v.property })),
    h(ShrinkPanel, { frame }),
    h("div", { class: "mono" }, t("common.frame.labelled", { label: t("counter.hash"), value: "" }), h("span", { id: "trace-hash" }, frame.lab.trace_hash())));
}

/** A shrink's progress, then what it found: the faults kept and the way to open that run. */
function ShrinkPanel({ frame }: { frame: Frame }) {
  frame.version;
  const s = frame.shrinkState;
  if (!s) return null;
  const key = `common.prop.${s.property}`;
  const property = isKey(key) ? t(key) : s.property;
  if (s.running) {
    return h("div", { class: "shrink-panel", id: "shrink", "data-state": "running" },
      h("progress", { max: s.max || 1, value: s.runs }), " ",
      h("span", { class: "mono" }, t("common.shrink.running", { runs: s.runs, max: s.max || "…", faults: s.faults })), " ",
      h("button", { id: "shrink-stop", onClick: () => frame.stopShrink() }, t("common.shrink.cancel")));
  }
  if (s.error !== undefined || !s.result) return h("p", { class: "error", id: "shrink", "data-state": "error" }, t("common.shrink.error", { message: s.error ?? "" }));
  const r = s.result;
  return h("div", { class: "shrink-panel", id: "shrink", "data-state": "done", "data-before": r.faults_before, "data-after": r.faults_after },
    h("p", null, t("common.shrink.done", { property, after: r.faults_after, before: r.faults_before, runs: r.runs }), lang() === "zh" ? "" : " ",
      r.faults_after === 0 ? t("common.shrink.none") : r.minimal ? t("common.shrink.minimal") : t("common.shrink.notMinimal")),
    r.faults_after > 0
      ? h("ol", { class: "mono" }, r.config.schedule.map((f, i) => h("li", { key: i }, `${faultText(f)} @ ${seconds(f.at_us)}`)))
      : null,
    h("button", { id: "shrink-open", onClick: () => frame.openShrunk() }, t("common.shrink.open")));
}

/** The run's time strip: its faults (scheduled hollow, applied filled, the learner's own in the accent colour) and the shown moment. */
function FaultStrip({ frame }: { frame: Frame }) {
  frame.version;
  const lab = frame.lab;
  const marks = lab.fault_marks() as FaultMark[];
  const end = Math.max(lab.default_until_us(), lab.live_now_us(), ...marks.map((m) => m.time), 1);
  // Drawn at the pixel width it is shown at, so its text stays at the stylesheet's size and
  // d3 spaces the ticks for the room there is (a phone gets fewer).
  const [width, setWidth] = useState(1000);
  const ref = useRef<SVGSVGElement>(null);
  useEffect(() => {
    const strip = ref.current;
    if (!strip || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(([e]) => setWidth(Math.max(200, Math.round(e.contentRect.width))));
    observer.observe(strip);
    return () => observer.disconnect();
  }, []);
  const scale = scaleLinear().domain([0, end / 1e6]).range([24, width - 24]);
  const x = (us: number) => scale(us / 1e6);
  const ticks = scale.ticks(Math.max(2, Math.floor(width / 90)));
  return h("svg", { class: "fault-strip", ref, viewBox: `0 0 ${width} 50`, role: "img", "aria-label": t("common.frame.faultStrip"), id: "fault-strip" },
    h("line", { x1: scale(0), y1: 18, x2: scale(end / 1e6), y2: 18, class: "axis" }),
    h("rect", { x: scale(0), y: 14, width: Math.max(0, x(lab.live_now_us()) - scale(0)), height: 8, class: "played" }),
    ticks.map((s) => h("text", { key: `t${s}`, x: scale(s), y: 46, class: "tick", "text-anchor": "middle" }, `${s} s`)),
    marks.map((m, i) => h("g", { key: `${m.index ?? "next"}-${i}`, class: `fault-mark ${m.index === null ? "scheduled" : "applied"} ${m.by_learner ? "learner" : "scenario"}`, "data-fault": m.fault.fault, "data-time": m.time, transform: `translate(${x(m.time)},18)`,
      onClick: m.index !== null ? () => frame.seek(m.index!) : undefined },
      h("path", { d: "M0,-9 L6,0 L0,9 L-6,0 Z" }),
      h("title", null, `${faultText(m.fault)} @ ${seconds(m.time)}${m.index === null ? ` (${t("common.frame.scheduled")})` : ""}`))),
    replayMark(frame, x),
    h("line", { x1: x(lab.now_us()), y1: 4, x2: x(lab.now_us()), y2: 32, class: "cursor" }));
}

/** Where a replay parted from Redis, on the strip: a press goes to the store's execution of the command. */
function replayMark(frame: Frame, x: (us: number) => number) {
  const d = frame.replay?.divergence;
  if (!d) return null;
  const record = frame.replay?.history[d.n]?.record ?? 0;
  return h("g", { class: "replay-mark", id: "replay-mark", transform: `translate(${x(d.at_us)},18)`, onClick: () => frame.seek(record) },
    h("rect", { x: -6, y: -16, width: 20, height: 32, class: "hit" }),
    h("line", { x1: 0, y1: -14, x2: 0, y2: 14 }),
    h("text", { x: 4, y: -6, class: "tick" }, "≠"),
    h("title", null, t("common.replay.mark", { n: d.n, t: seconds(d.at_us, 6) })));
}

function Timeline({ frame }: { frame: Frame }) {
  frame.version;
  const lab = frame.lab;
  const len = lab.trace_len();
  const selected = frame.selection;
  const center = selected ?? len - 1;
  const from = Math.max(0, Math.min(center - EVENTS_SHOWN / 2, len - EVENTS_SHOWN));
  const records = lab.trace_slice(from, from + EVENTS_SHOWN) as TraceRecord[];
  const chosen = selected === null ? null : (lab.trace_slice(selected, selected + 1) as TraceRecord[])[0];
  const children: ComponentChildren = [
    h("div", null,
      h("input", { type: "range", min: 0, max: Math.max(0, len - 1), value: selected ?? Math.max(0, len - 1), class: "scrubber", id: "scrubber", "aria-label": t("common.controls.timeline"), "data-seek-ms": frame.lastSeekMs.toFixed(2),
        onInput: (e: Event) => frame.seek(Number((e.target as HTMLInputElement).value)) }),
      h(EventList, { records, selected, frame })),
    h("div", null,
      h("h3", null, t("common.controls.event")),
      h("pre", { class: "details mono panel", id: "event-details" }, chosen ? JSON.stringify(chosen, null, 2) : t("common.controls.noEvent")),
      h(BranchMenu, { frame })),
  ];
  return h("div", { class: "frame-timeline" },
    h("h3", null, t("common.controls.timeline")),
    h(FaultStrip, { frame }),
    h("div", { class: "grid2" }, children),
    h(BranchPanel, { frame }),
    h(ReplayPanel, { frame }));
}

/** A Redis answer in a few words: `OK`, `nil`, `3`, `"text"`, `[…]`. */
function replyText(r: StoreReply | null): string {
  if (!r) return "–";
  switch (r.reply) {
    case "nil": return "nil";
    case "status": return r.value;
    case "int": return String(r.value);
    case "bulk": return JSON.stringify(r.value);
    case "error": return `(error) ${r.value}`;
    case "array": return `[${r.value.map(replyText).join(", ")}]`;
  }
}

/** Against real Redis: open a `distlab replay` file and read Redis's answers beside the simulated store's. */
function ReplayPanel({ frame }: { frame: Frame }) {
  frame.version;
  const file = frame.replay;
  const open = h("label", { class: "file" }, `${t("common.replay.open")} `,
    h("input", { type: "file", id: "replay-file", accept: ".json,application/json",
      onChange: (e: Event) => {
        const input = e.target as HTMLInputElement;
        void input.files?.[0]?.text().then((text) => frame.openReplay(text));
      } }));
  if (!file) {
    return h("details", { class: "replay-panel panel", id: "replay" },
      h("summary", null, t("common.replay.title")),
      h("p", { class: "muted" }, t("common.replay.hint")), open);
  }
  const d = file.divergence;
  const at = d ? d.n : 0;
  const rows = file.history.slice(Math.max(0, at - 6), at + 8);
  return h("section", { class: "replay-panel panel", id: "replay", "data-diverged": String(d !== null), "data-n": d?.n ?? "" },
    h("h3", null, t("common.replay.title")),
    h("p", null, t("common.replay.summary", { commands: file.commands, target: file.target.replace(/^target: /, "") })),
    file.store_faults.length
      ? h("p", { class: "muted" }, t("common.replay.faults", { faults: file.store_faults.map((f) => `${faultText(f.fault)} @ ${seconds(f.at_us)}`).join(", ") }))
      : null,
    h("p", { id: "replay-verdict", class: d ? "bad" : "good" },
      d ? t("common.replay.parted", { n: d.n, t: seconds(d.at_us, 6), late: ((d.real_at_us - d.at_us) / 1000).toFixed(3) }) : t("common.replay.same")),
    file.flagged_by.length ? h("p", { class: "bad" }, t("common.replay.flagged", { properties: file.flagged_by.map((p) => (isKey(`common.prop.${p}`) ? t(`common.prop.${p}` as "common.prop.mutual_exclusion") : p)).join(", ") })) : null,
    h("div", { class: "table-scroll" },
      h("table", { class: "replay-table mono" },
        h("thead", null, h("tr", null, ["#", "t", t("common.replay.who"), t("common.replay.command"), t("common.replay.simulated"), t("common.replay.real")].map((c) => h("th", { key: c }, c)))),
        h("tbody", null, rows.map((r) => h("tr", { key: r.n, class: r.same ? undefined : "diverged", "data-n": r.n, onClick: () => frame.seek(r.record) },
          h("td", null, r.n), h("td", null, seconds(r.at_us, 6)), h("td", null, `${r.client} → ${r.store}`), h("td", null, r.command),
          h("td", null, replyText(r.reply)), h("td", null, replyText(r.real))))))),
    open);
}

/** Branch here: one fault more after the shown event, or one of the run's faults from then on less. */
function BranchMenu({ frame }: { frame: Frame }) {
  frame.version;
  const [choice, setChoice] = useState("");
  const options = frame.branchOptions();
  const picked = options.find((o) => o.id === choice) ?? options[0];
  const running = frame.branchState?.running ?? false;
  return h("div", { class: "branch-menu panel", id: "branch-menu" },
    h("h3", null, t("common.branch.title")),
    h("p", { class: "muted" }, t("common.branch.hint")),
    options.length === 0
      ? h("p", { class: "muted" }, t("common.branch.nothing"))
      : h("div", { class: "row" },
        h("select", { id: "branch-change", "aria-label": t("common.branch.title"), value: picked?.id, onChange: (e: Event) => setChoice((e.target as HTMLSelectElement).value) },
          options.map((o) => h("option", { key: o.id, value: o.id }, o.label))),
        h("button", { id: "branch-run", disabled: running || !picked, onClick: () => picked && frame.branch(picked.change) }, t("common.branch.run"))));
}

const changeText = (c: Change): string =>
  "add" in c
    ? t("common.branch.changeAdd", { fault: faultText(c.add.fault), after: c.add.after, t: seconds(c.add.at, 6) })
    : t("common.branch.changeRemove", { fault: faultText(c.remove.fault), t: seconds(c.remove.at_us, 6) });

/** The run (A) beside its branch (B): where they part, both verdicts, and their events around it. */
function BranchPanel({ frame }: { frame: Frame }) {
  frame.version;
  const s = frame.branchState;
  if (!s) return null;
  const head = h("h3", null, t("common.branch.heading", { change: changeText(s.change) }));
  const close = h("button", { id: "branch-close", onClick: () => frame.closeBranch() }, s.running ? t("common.branch.cancel") : t("common.branch.close"));
  if (s.running) {
    return h("section", { class: "branch-panel panel", id: "branch", "data-state": "running" }, head,
      h("progress", { max: 1, value: s.done }), " ", h("span", { class: "mono" }, t("common.branch.running", { pct: Math.round(s.done * 100) })), " ", close);
  }
  if (s.error !== undefined || !s.result) {
    return h("section", { class: "branch-panel panel", id: "branch", "data-state": "error" }, head, h("p", { class: "error" }, t("common.branch.error", { message: s.error ?? "" })), close);
  }
  const r = s.result;
  const d = r.divergence;
  const event = (i: number | null) => (i === null ? t("common.branch.ended") : `#${i}`);
  const verdictRows = r.a.verdicts.map((va) => {
    const vb = r.b.verdicts.find((v) => v.property === va.property);
    const key = `common.prop.${va.property}`;
    const cell = (v: Verdict | undefined) => h("td", { class: v?.status === "holds" ? "good" : v?.status === "violated" ? "bad" : "muted", "data-status": v?.status },
      v ? `${STATUS_ICON[v.status]} ${t(`common.verdict.${v.status === "holds" ? "holds" : v.status}` as "common.verdict.holds")}` : "–");
    const differs = va.status !== vb?.status;
    return h("tr", { key: va.property, class: differs ? "differs" : undefined, "data-property": va.property },
      h("th", { scope: "row" }, isKey(key) ? t(key) : va.property), cell(va), cell(vb), h("td", null, differs ? t("common.branch.differs") : ""));
  });
  // The change's own record is in B when a fault was added, in A when one was removed.
  const changed = r.change_record?.index;
  const column = (label: string, side: Comparison["a"], parted: number | null | undefined, change: number | undefined) =>
    h("div", null,
      h("h4", null, label, " ", h("span", { class: "mono muted" }, side.trace_hash)),
      h("div", { class: "events mono" }, side.window.map((rec) =>
        h("div", { key: rec.index, "data-index": rec.index, class: rec.index === parted ? "diverged" : rec.index === change ? "change" : undefined }, describe(rec, frame.names)))),
      // The diverged record whole: two lines of the list can read alike (a reply to the same
      // request) and differ in what they carry.
      h("pre", { class: "details mono diverged-record" }, JSON.stringify(side.window.find((rec) => rec.index === parted) ?? null, null, 2)));
  return h("section", { class: "branch-panel panel", id: "branch", "data-state": "done", "data-diverged": String(d !== null), "data-a-index": d?.a_index ?? "", "data-b-index": d?.b_index ?? "", "data-a-hash": r.a.trace_hash, "data-b-hash": r.b.trace_hash }, head,
    r.change_record ? h("p", { class: "mono" }, `${t("common.branch.changeRecord")} ${describe(r.change_record, frame.names)}`) : null,
    h("p", { id: "branch-verdict" }, d ? t("common.branch.parted", { t: seconds(d.at_us, 6), a: event(d.a_index), b: event(d.b_index) }) : t("common.branch.same")),
    h("table", { class: "branch-verdicts" },
      h("thead", null, h("tr", null, h("th", null, t("common.frame.verdicts")), h("th", null, "A"), h("th", null, "B"), h("th", null, ""))),
      h("tbody", null, verdictRows,
        h("tr", { key: "events" }, h("th", { scope: "row" }, t("common.controls.events")), h("td", { class: "mono" }, r.a.records), h("td", { class: "mono" }, r.b.records), h("td", null, "")))),
    h("div", { class: "grid2" }, column(t("common.branch.a"), r.a, d?.a_index, "add" in r.change ? undefined : changed), column(t("common.branch.b"), r.b, d?.b_index, "add" in r.change ? changed : undefined)),
    h("div", { class: "row" },
      h("button", { id: "branch-open", onClick: () => frame.openBranch() }, t("common.branch.open")), close));
}

function EventList({ records, selected, frame }: { records: TraceRecord[]; selected: number | null; frame: Frame }) {
  return h("div", {
    class: "events mono", id: "events",
    ref: (el: HTMLDivElement | null) => {
      if (!el) return;
      const line = el.querySelector(".selected");
      if (line) line.scrollIntoView({ block: "nearest" });
      else el.scrollTop = el.scrollHeight;
    },
  }, records.map((r) => h("div", { key: r.index, "data-index": r.index, class: r.index === selected ? "selected" : r.kind === "fault" ? "fault" : undefined, onClick: () => frame.seek(r.index) }, describe(r, frame.names))));
}

/** The frame for `spec` into `parts`; the view draws through `spec.draw`, and calls `refresh()` once it is set up. */
export function mountScenario(parts: FrameParts, params: URLSearchParams, spec: ScenarioView): Frame {
  return new Frame(parts, params, spec);
}
