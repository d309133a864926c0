// The controls every simulation view shares: seed, play/pause, step, speed, reset, a timeline
// scrubber over the trace with its event list (click an event to see it), and a share link that
// reproduces the run: view + parameters + seed + the faults the learner injected + the time.

import { Lab } from "./pkg/distlab_wasm.js";
import { t } from "./i18n";
import { shareUrl, writeParams } from "./url";

/**
 * The controls' own URL parameters, in a namespace of their own so that no view's knob (the
 * CAP view's replica count `n`, say) can ever be read back as one of them.
 */
const SIM_PREFIX = "sim.";
const SIM = { seed: "sim.seed", speed: "sim.speed", faults: "sim.faults", events: "sim.ev", time: "sim.t" } as const;

/**
 * A fault the learner injected: after `after` events, at simulated time `at` (µs). Both matter: a
 * fault injected after playing lands later than the last event, and must be replayed there.
 */
export interface Action { after: number; at?: number; fault: Record<string, unknown> }

/** Runs `lab` to where `action` was injected: its event count, then its time. */
export function runToAction(lab: Lab, action: Action): void {
  lab.run_to_event(action.after);
  if (action.at !== undefined && action.at > lab.now_us()) lab.run_until(action.at);
}

export interface TraceRecord { index: number; time: number; kind: string; [field: string]: unknown }

/** What a scenario view gives the controls. */
export interface SimHost {
  view: string;
  scenario: string;
  config(): Record<string, unknown>;
  /** Extra URL parameters of the view (its configuration). */
  params(): URLSearchParams;
  render(lab: Lab): void;
}

export interface KeyHandlers { toggle(): void; step(): void; reset(): void }

const SPEEDS = [0.1, 0.25, 1, 4];
const EVENTS_SHOWN = 200;

function button(label: string, id: string): HTMLButtonElement {
  const b = document.createElement("button");
  b.id = id;
  b.textContent = label;
  return b;
}

/** One line of the event list. */
function describe(r: TraceRecord): string {
  const time = (r.time / 1e6).toFixed(6);
  const rest = Object.entries(r)
    .filter(([k]) => !["index", "time", "kind", "msg", "obs"].includes(k))
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(" ");
  return `#${r.index} ${time}s ${r.kind} ${rest}`;
}

export class SimControls implements KeyHandlers {
  lab: Lab;
  private seed: number;
  private actions: Action[];
  private speed: number;
  private playing = false;
  private lastFrame = 0;
  private selected: number | null = null;
  private readonly time = document.createElement("span");
  private readonly events = document.createElement("span");
  private readonly playButton = button(t("controls.play"), "play");
  private readonly scrubber = document.createElement("input");
  private readonly list = document.createElement("div");
  private readonly details = document.createElement("pre");
  private readonly shareField = document.createElement("input");
  private readonly host: SimHost;

  /** The bar goes into `root`, the timeline and its event list into `timelineRoot`. */
  constructor(root: HTMLElement, timelineRoot: HTMLElement, params: URLSearchParams, host: SimHost) {
    this.host = host;
    this.seed = Math.max(0, Math.floor(Number(params.get(SIM.seed) ?? 1))) || 0;
    this.speed = SPEEDS.includes(Number(params.get(SIM.speed))) ? Number(params.get(SIM.speed)) : 1;
    this.actions = JSON.parse(params.get(SIM.faults) ?? "[]") as Action[];
    this.lab = this.rebuild({ events: Number(params.get(SIM.events) ?? 0), timeUs: Number(params.get(SIM.time) ?? 0) });

    const seedInput = document.createElement("input");
    seedInput.type = "number";
    seedInput.min = "0";
    seedInput.id = "seed";
    seedInput.value = String(this.seed);
    seedInput.style.width = "7rem";
    seedInput.addEventListener("change", () => {
      this.seed = Math.max(0, Math.floor(Number(seedInput.value))) || 0;
      this.reset();
    });
    const speed = document.createElement("select");
    speed.id = "speed";
    for (const s of SPEEDS) {
      const o = document.createElement("option");
      o.value = String(s);
      o.textContent = `${s}×`;
      speed.append(o);
    }
    speed.value = String(this.speed);
    speed.addEventListener("change", () => {
      this.speed = Number(speed.value);
      this.save();
    });
    const step = button(t("controls.step"), "step");
    const reset = button(t("controls.reset"), "reset");
    const share = button(t("controls.share"), "share");
    this.playButton.addEventListener("click", () => this.toggle());
    step.addEventListener("click", () => this.step());
    reset.addEventListener("click", () => this.reset());
    share.addEventListener("click", () => {
      this.save();
      this.shareField.value = shareUrl();
      this.shareField.select();
      navigator.clipboard?.writeText(shareUrl()).then(() => (share.textContent = t("controls.copied")), () => undefined);
    });

    const bar = document.createElement("div");
    bar.className = "row panel";
    const seedLabel = document.createElement("label");
    seedLabel.textContent = `${t("controls.seed")} `;
    seedLabel.append(seedInput);
    const speedLabel = document.createElement("label");
    speedLabel.textContent = `${t("controls.speed")} `;
    speedLabel.append(speed);
    this.time.className = "mono";
    this.time.id = "sim-time";
    this.events.className = "mono";
    this.events.id = "event-count";
    bar.append(seedLabel, this.playButton, step, speedLabel, reset, share, this.time, this.events);
    const hint = document.createElement("p");
    hint.className = "muted";
    hint.textContent = `${t("controls.keys")} · ${t("controls.shareHint")}`;
    this.shareField.className = "share-url mono";
    this.shareField.id = "share-url";
    this.shareField.readOnly = true;

    this.scrubber.type = "range";
    this.scrubber.min = "0";
    this.scrubber.className = "scrubber";
    this.scrubber.id = "scrubber";
    this.scrubber.setAttribute("aria-label", t("controls.timeline"));
    this.scrubber.addEventListener("input", () => this.select(Number(this.scrubber.value)));
    this.list.className = "events mono";
    this.list.id = "events";
    this.details.className = "details mono panel";
    this.details.id = "event-details";
    this.details.textContent = t("controls.noEvent");
    const timeline = document.createElement("div");
    timeline.className = "grid2";
    const left = document.createElement("div");
    const heading = document.createElement("h3");
    heading.textContent = t("controls.timeline");
    left.append(heading, this.scrubber, this.list);
    const right = document.createElement("div");
    const eventHeading = document.createElement("h3");
    eventHeading.textContent = t("controls.event");
    right.append(eventHeading, this.details);
    timeline.append(left, right);
    root.append(bar, hint, this.shareField);
    timelineRoot.append(timeline);
  }

  /**
   * A fresh run from the seed with the recorded faults replayed exactly where they were injected
   * (after the same number of events), then run to a number of events or to a time.
   */
  /**
   * The run replayed to where a link left it: its faults, then its event count, then its time
   * (the clock runs on past the last event while playing; every event up to that time was
   * processed then, so running to it now processes none that the sender had not).
   */
  private rebuild(until: { events: number; timeUs: number }): Lab {
    const lab = new Lab(this.host.scenario, this.host.config(), this.seed);
    for (const a of this.actions) {
      runToAction(lab, a);
      lab.inject(a.fault);
    }
    lab.run_to_event(until.events);
    if (until.timeUs > lab.now_us()) lab.run_until(until.timeUs);
    return lab;
  }

  /**
   * Injects `faults` in order; an engine error (an unknown node, restarting a node that is up)
   * is shown at the top of `errors` instead of being thrown.
   */
  tryInject(faults: Record<string, unknown>[], errors: HTMLElement): void {
    try {
      for (const f of faults) this.inject(f);
    } catch (e) {
      const p = document.createElement("p");
      p.className = "error";
      p.textContent = e instanceof Error ? e.message : String(e);
      errors.prepend(p);
    }
  }

  /** A button that injects `faults`; `action` names it for tests (`data-action`). */
  faultButton(label: string, faults: Record<string, unknown>[], errors: HTMLElement, action = ""): HTMLButtonElement {
    const b = document.createElement("button");
    b.textContent = label;
    if (action) b.dataset.action = action;
    b.addEventListener("click", () => this.tryInject(faults, errors));
    return b;
  }

  /** Applies a fault now and records it so that the share link replays it. */
  inject(fault: Record<string, unknown>): void {
    this.lab.inject(fault);
    this.actions.push({ after: this.lab.events_processed(), at: this.lab.now_us(), fault });
    this.refresh();
  }

  toggle(): void {
    this.playing = !this.playing;
    this.playButton.textContent = this.playing ? t("controls.pause") : t("controls.play");
    if (this.playing) {
      this.lastFrame = performance.now();
      requestAnimationFrame((now) => this.frame(now));
    } else {
      this.save();
    }
  }

  step(): void {
    this.lab.step();
    this.refresh();
  }

  reset(): void {
    if (this.playing) this.toggle();
    this.actions = [];
    this.selected = null;
    this.lab = this.rebuild({ events: 0, timeUs: 0 });
    this.refresh();
  }

  private frame(now: number): void {
    if (!this.playing) return;
    // A frame's timestamp can precede the moment play was pressed: never go backwards (found by
    // a flaky browser test: the negative target threw and stopped the loop).
    const elapsedMs = Math.max(0, Math.min(100, now - this.lastFrame));
    this.lastFrame = now;
    const target = Math.floor(this.lab.now_us() + elapsedMs * 1000 * this.speed);
    const end = this.lab.default_until_us();
    this.lab.run_until(Math.min(target, end));
    this.refresh();
    if (this.lab.now_us() >= end) {
      this.toggle();
      return;
    }
    requestAnimationFrame((n) => this.frame(n));
  }

  private select(index: number): void {
    this.selected = index;
    const [record] = this.lab.trace_slice(index, index + 1) as TraceRecord[];
    this.details.textContent = record ? JSON.stringify(record, null, 2) : t("controls.noEvent");
    this.renderList();
  }

  private renderList(): void {
    const len = this.lab.trace_len();
    const center = this.selected ?? len - 1;
    const from = Math.max(0, Math.min(center - EVENTS_SHOWN / 2, len - EVENTS_SHOWN));
    const records = this.lab.trace_slice(from, from + EVENTS_SHOWN) as TraceRecord[];
    this.list.innerHTML = "";
    for (const r of records) {
      const line = document.createElement("div");
      line.textContent = describe(r);
      line.dataset.index = String(r.index);
      if (r.index === this.selected) line.className = "selected";
      line.addEventListener("click", () => {
        this.scrubber.value = String(r.index);
        this.select(r.index);
      });
      this.list.append(line);
    }
    const chosen = this.list.querySelector(".selected");
    if (chosen) chosen.scrollIntoView({ block: "nearest" });
    else this.list.scrollTop = this.list.scrollHeight;
  }

  /** Redraws the controls and the view. */
  refresh(): void {
    const len = this.lab.trace_len();
    this.time.textContent = `${t("controls.time")}: ${(this.lab.now_us() / 1e6).toFixed(3)} s`;
    this.events.textContent = `${t("controls.events")}: ${len}`;
    this.scrubber.max = String(Math.max(0, len - 1));
    if (this.selected === null) this.scrubber.value = this.scrubber.max;
    this.renderList();
    this.host.render(this.lab);
  }

  /** Writes view, parameters, seed, faults and time into the URL. */
  /** The faults injected so far, in order: what the share link replays. */
  faults(): readonly Action[] {
    return this.actions;
  }

  save(): void {
    const p = this.host.params();
    for (const key of p.keys()) {
      if (key.startsWith(SIM_PREFIX)) throw new Error(`the view parameter ${key} is in the controls' namespace`);
    }
    p.set(SIM.seed, String(this.seed));
    if (this.speed !== 1) p.set(SIM.speed, String(this.speed));
    if (this.actions.length) p.set(SIM.faults, JSON.stringify(this.actions));
    p.set(SIM.events, String(this.lab.events_processed()));
    p.set(SIM.time, String(this.lab.now_us()));
    writeParams(this.host.view, p);
  }
}
