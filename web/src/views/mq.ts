// The message-queue view (46.2): producers, the broker's queues as lanes of messages coloured by
// state (in-flight ones with the time left before their redelivery), the dead-letter queue, the
// delayed messages and retries on a time axis, and the consumers with their database. The learner
// crashes or pauses a consumer, crashes the broker, switches the fsync policy, dedup, confirms,
// the poison message's failures or the chapter's mode, and clicks any message to follow its
// journey. Everything drawn comes from the scenario's `Judge::view` (engine/src/scenario/mq.rs).

import type { Lab } from "../modules";
import { mountScenario, type FaultButton, type KeyHandlers } from "../frame";
import type { FaultMark, Snapshot as World } from "../engine";
import { t, type Key } from "../i18n";
import { checkbox, el, labelled, select, show, svg } from "../dom";
import { scaleLinear } from "d3-scale";

type Snapshot = World<Record<string, unknown>>;
type Topology = "queue" | "pubsub" | "partitioned";
type Mode = "reliable" | "chapter";
type Fsync = "always" | "every_ms" | "never";
type Exchange = "fanout" | "topic" | "direct";

/** A message at the broker, as the judge's view gives it (acked ones are only counted). */
interface Msg { id: number; state: "ready" | "in_flight" | "delayed" | "dead" | "taken"; deliveries: number; error: string | null; poison: boolean; consumer?: string; deadline_us?: number; until_us?: number }
interface Lane { name: string; capacity: number | null; acked: number; messages: Msg[]; lost: number[] }
/** One observation about a message: its type and fields, when, and who observed it. */
export interface Step { type: string; t: number; node: string; [field: string]: unknown }
interface MqView { chapter_pubsub: boolean; visibility_us: number; queues: Lane[]; counters: Record<string, number>; journeys: Record<string, Step[]> }

const TOPOLOGIES: Topology[] = ["queue", "pubsub", "partitioned"];
const MODES: Mode[] = ["reliable", "chapter"];
const FSYNCS: Fsync[] = ["always", "every_ms", "never"];
const EXCHANGES: Exchange[] = ["fanout", "topic", "direct"];
const COUNTERS = ["published", "confirmed", "delivered", "redelivered", "acked", "dead_lettered", "applied_twice", "lost"];
/** The scenario's visibility timeout; a pause of this view outlasts it, so the message comes back. */
const VISIBILITY_MS = 1000;
const PAUSE_MS = 1500;
/** The delay axis shows at least this far ahead. */
const AXIS_MIN_US = 3_000_000;

const secs = (us: number) => (us / 1e6).toFixed(3);

function pick<T extends string>(options: readonly T[], value: string | null, fallback: T): T {
  return options.find((o) => o === value) ?? fallback;
}

/** An error or reason from the engine, in the current language when it is one the view knows. */
export function errorText(e: string): string {
  const fixed: Record<string, Key> = {
    "poison message: the handler cannot parse it": "mq.err.poison",
    "dependency unavailable": "mq.err.outage",
    "handler failed": "mq.err.failed",
    "database write timed out": "mq.err.write",
    "no answer from the handler": "mq.err.noAnswer",
    "visibility timeout": "mq.err.visibility",
  };
  if (fixed[e]) return t(fixed[e]);
  const full = /^queue "(.+)" stayed full for (\d+) ms$/.exec(e);
  if (full) return t("mq.err.stayedFull", { queue: full[1], ms: full[2] });
  const overflow = /^queue "(.+)" full \((\d+) messages\): overflow$/.exec(e);
  if (overflow) return t("mq.err.overflow", { queue: overflow[1], capacity: overflow[2] });
  return e;
}

/** One step of a message's journey, in words. */
export function stepText(s: Step): string {
  const f = (k: string) => String(s[k] ?? "");
  switch (s.type) {
    case "published":
      return t("mq.step.published", { node: s.node, delay: Number(s.delay_us) > 0 ? t("mq.step.delay", { ms: Number(s.delay_us) / 1000 }) : "" });
    case "confirmed":
      return t("mq.step.confirmed", { node: s.node });
    case "refused":
      return t("mq.step.refused", { node: s.node, reason: errorText(f("reason")) });
    case "enqueued":
      return t("mq.step.enqueued", { queue: f("queue"), until: s.until_us !== null && s.until_us !== undefined ? t("mq.step.until", { at: secs(Number(s.until_us)) }) : "" });
    case "delivered":
      return t("mq.step.delivered", { queue: f("queue"), consumer: f("consumer"), attempt: f("attempt") });
    case "handler_failed":
      return t("mq.step.handler_failed", { node: s.node, attempt: f("attempt"), error: errorText(f("error")) });
    case "retry":
      return t("mq.step.retry", { queue: f("queue"), at: secs(Number(s.at_us)), error: errorText(f("error")) });
    case "acked":
      return t("mq.step.acked", { queue: f("queue") });
    case "dead":
      return t("mq.step.dead", { queue: f("queue"), deliveries: f("deliveries"), error: errorText(f("error")) });
    case "applied":
      return t(s.again ? "mq.step.applied_again" : "mq.step.applied", { queue: f("queue") });
    case "skipped":
      return t("mq.step.skipped");
    case "swallowed":
      return t("mq.step.swallowed", { node: s.node, subscriber: f("subscriber"), error: errorText(f("error")) });
    default:
      return s.type;
  }
}

/** A message's journey: its steps, and the faults that struck the nodes it went through (the broker
 * always) while it was still unsettled, up to `now`: the broker's crash between a delivery and its
 * ack is the story. */
export function journeyList(steps: Step[], faults: FaultMark[], now: number): HTMLOListElement {
  const nodes = new Set(["broker", ...steps.flatMap((s) => [s.node, String(s.consumer ?? "")])]);
  const settled = steps.find((s) => s.type === "acked" || s.type === "dead");
  const from = steps[0]?.t ?? Infinity;
  const to = settled ? settled.t : now;
  const lines = [
    ...steps.map((s) => {
      const bad = s.type === "dead" || s.type === "handler_failed" || s.type === "swallowed" || (s.type === "applied" && s.again) || s.type === "refused";
      const item = el("li", bad ? "bad" : "", `${secs(s.t)} s · ${stepText(s)}`);
      item.dataset.type = s.type;
      return { t: s.t, item };
    }),
    ...faults.filter((m) => m.time >= from && m.time <= to && nodes.has(String(m.fault.node))).map((m) => {
      const item = el("li", "warn", `${secs(m.time)} s · ⚡ ${t(`common.fault.${m.fault.fault}` as Key)} ${String(m.fault.node)}`);
      item.dataset.type = "fault";
      return { t: m.time, item };
    }),
  ].sort((a, b) => a.t - b.t);
  const list = el("ol", "mq-steps mono");
  list.append(...lines.map((l) => l.item));
  return list;
}

/** A message's tile: its id, its state in its class and its title, a countdown bar when in flight. */
function tile(queue: string, m: Msg | { id: number; state: "lost"; poison?: boolean }, now: number, visibilityUs: number, selected: number): HTMLElement {
  const box = el("button", `mq-tile ${m.state}${m.id === selected ? " selected" : ""}`);
  box.type = "button";
  box.dataset.key = `${queue}:${m.id}`;
  box.dataset.msg = String(m.id);
  box.dataset.state = m.state;
  box.append(el("span", "mq-id", `${m.poison ? "⚠" : ""}${m.id}`));
  if (m.state === "in_flight" && "deadline_us" in m && m.deadline_us !== undefined) {
    const left = Math.max(0, m.deadline_us - now);
    const bar = el("span", "mq-countdown");
    bar.style.width = `${Math.min(100, (100 * left) / Math.max(1, visibilityUs))}%`;
    box.append(el("span", "mq-left", `${(left / 1e6).toFixed(1)} s`), bar);
    box.title = t("mq.tile.inFlight", { id: m.id, consumer: m.consumer ?? "?", left: (left / 1e6).toFixed(1) });
  } else {
    box.title = t("mq.tile.other", { id: m.id, state: t(`mq.state.${m.state}` as Key), deliveries: "deliveries" in m ? m.deliveries : 0 });
  }
  return box;
}

/** Whether the broker is down: then nothing can be said of its queues until it is back. */
function brokerDown(snap: Snapshot): boolean {
  return snap.nodes.find((n) => n.name === "broker")?.status === "crashed";
}

export function mountMq(root: HTMLElement, params: URLSearchParams): KeyHandlers {
  let topology = pick(TOPOLOGIES, params.get("topology"), "queue");
  let mode = pick(MODES, params.get("mode"), "reliable");
  let fsync = pick(FSYNCS, params.get("fsync"), "always");
  let exchange = pick(EXCHANGES, params.get("exchange"), "fanout");
  let dedup = params.get("dedup") !== "0";
  let confirms = params.get("confirms") !== "0";
  let storm = params.get("storm") !== "0";
  let poisonFailures = Math.min(100, Math.max(0, Math.floor(Number(params.get("poison") ?? 0)) || 0));
  /** The message whose journey is shown (0: none yet). */
  let selected = Math.max(0, Math.floor(Number(params.get("msg") ?? 0)) || 0);
  if (mode === "chapter" && topology === "partitioned") topology = "queue";

  root.innerHTML = "";
  root.append(el("h2", "", t("mq.title")), el("p", "intro", t("mq.intro")), el("p", "wrong", t("mq.wrong")));
  const topologySelect = select("mq-topology", TOPOLOGIES.map((v) => [v, t(`mq.topology.${v}` as Key)]), topology);
  const exchangeSelect = select("mq-exchange", EXCHANGES.map((v) => [v, t(`mq.exchange.${v}` as Key)]), exchange);
  const modeSelect = select("mq-mode", MODES.map((v) => [v, t(`mq.mode.${v}` as Key)]), mode);
  const fsyncSelect = select("mq-fsync", FSYNCS.map((v) => [v, t(`mq.fsync.${v}` as Key)]), fsync);
  const [dedupLabel, dedupBox] = checkbox("mq-dedup", t("mq.dedup"), dedup);
  const [confirmsLabel, confirmsBox] = checkbox("mq-confirms", t("mq.confirms"), confirms);
  const [stormLabel, stormBox] = checkbox("mq-storm", t("mq.storm"), storm);
  const poisonInput = el("input");
  poisonInput.type = "number";
  poisonInput.id = "mq-poison";
  poisonInput.min = "0";
  poisonInput.max = "100";
  poisonInput.value = String(poisonFailures);
  poisonInput.style.width = "4rem";
  const exchangeLabel = labelled(t("mq.exchange"), exchangeSelect);
  const fsyncLabel = labelled(t("mq.fsync"), fsyncSelect);
  const note = el("p", "muted");
  note.id = "mq-note";
  const options = el("div", "row panel");
  options.append(labelled(t("mq.mode"), modeSelect), labelled(t("mq.topology"), topologySelect), exchangeLabel, fsyncLabel, confirmsLabel, dedupLabel, labelled(t("mq.poison"), poisonInput), stormLabel);

  const parts = { controls: el("div"), faults: el("div"), verdicts: el("div"), timeline: el("div") };
  parts.verdicts.id = "mq-verdicts";
  const counters = el("div", "cards mq-counters");
  counters.id = "mq-counters";
  const cards = el("div", "cards");
  cards.id = "mq-cards";
  const lanes = el("div", "panel mq-lanes");
  lanes.id = "mq-lanes";
  const dlq = el("div", "panel mq-lanes");
  dlq.id = "mq-dlq";
  const delayed = el("div", "panel chart");
  delayed.id = "mq-delayed";
  const journey = el("div", "panel mq-journey");
  journey.id = "mq-journey";
  root.append(options, note, parts.controls, counters, cards, parts.faults, lanes, el("p", "muted", t("mq.legend")), dlq, delayed, journey, parts.verdicts, parts.timeline);

  function config(): Record<string, unknown> {
    const c: Record<string, unknown> = {
      mode, topology, fsync, confirms, dedup, poison_failures: poisonFailures,
      crash_consumers: storm, pause_consumers: storm, crash_broker: storm,
      visibility_ms: VISIBILITY_MS,
    };
    if (topology === "pubsub") c.exchange = exchange;
    if (topology === "partitioned") c.delay_percent = 0;
    return c;
  }

  const controls = mountScenario(parts, params, {
    view: "queues",
    scenario: "mq",
    config,
    params: () => {
      const p = new URLSearchParams({ mode, topology });
      if (topology === "pubsub") p.set("exchange", exchange);
      if (fsync !== "always") p.set("fsync", fsync);
      if (!confirms) p.set("confirms", "0");
      if (!dedup) p.set("dedup", "0");
      if (!storm) p.set("storm", "0");
      if (poisonFailures) p.set("poison", String(poisonFailures));
      if (selected) p.set("msg", String(selected));
      return p;
    },
    draw: (lab, snap) => render(lab, snap as Snapshot),
    faults: (snap) => faults(snap as Snapshot),
  });

  /** What the chosen mode allows: the chapter's broker has no log, no confirms, no dedup and no partitions. */
  function syncOptions(): void {
    const chapter = mode === "chapter";
    (topologySelect.querySelector('option[value="partitioned"]') as HTMLOptionElement).disabled = chapter;
    exchangeLabel.hidden = topology !== "pubsub" || chapter;
    for (const input of [fsyncSelect, confirmsBox, dedupBox]) input.disabled = chapter;
    note.textContent = chapter ? t("mq.noteChapter") : fsync === "every_ms" ? t("mq.noteEvery") : fsync === "never" ? t("mq.noteNever") : "";
  }
  const rebuild = () => {
    selected = 0;
    syncOptions();
    controls.reset();
  };
  const onChange = (input: HTMLElement, apply: () => void) => input.addEventListener("change", () => {
    apply();
    rebuild();
  });
  onChange(modeSelect, () => {
    mode = modeSelect.value as Mode;
    if (mode === "chapter" && topology === "partitioned") topologySelect.value = topology = "queue";
  });
  onChange(topologySelect, () => (topology = topologySelect.value as Topology));
  onChange(exchangeSelect, () => (exchange = exchangeSelect.value as Exchange));
  onChange(fsyncSelect, () => (fsync = fsyncSelect.value as Fsync));
  onChange(confirmsBox, () => (confirms = confirmsBox.checked));
  onChange(dedupBox, () => (dedup = dedupBox.checked));
  onChange(stormBox, () => (storm = stormBox.checked));
  onChange(poisonInput, () => {
    poisonFailures = Math.min(100, Math.max(0, Math.floor(Number(poisonInput.value)) || 0));
    poisonInput.value = String(poisonFailures);
  });
  // One listener per stable container, on the press: a message's tile may be gone a frame later
  // (acked while the run plays), and choosing which journey to show destroys nothing, so the press
  // itself chooses. The keyboard's Enter on a focused tile arrives as a click.
  for (const box of [lanes, dlq, delayed]) {
    const choose = (ev: Event) => {
      const hit = (ev.target as Element).closest<Element>("[data-msg]");
      if (!hit) return;
      selected = Number(hit.getAttribute("data-msg"));
      controls.save();
      controls.refresh();
    };
    box.addEventListener("pointerdown", choose);
    box.addEventListener("click", (ev) => {
      if ((ev as MouseEvent).detail === 0) choose(ev);
    });
  }

  function faults(snap: Snapshot): FaultButton[] {
    const buttons: FaultButton[] = [];
    const upDown = (name: string, crashed: boolean): FaultButton => crashed
      ? { id: `restart-${name}`, label: t("election.restart", { node: name }), faults: [{ fault: "restart", node: name }] }
      : { id: `crash-${name}`, label: t("election.crash", { node: name }), faults: [{ fault: "crash", node: name }] };
    for (const n of snap.nodes.filter((x) => x.name.startsWith("consumer-"))) {
      buttons.push(upDown(n.name, n.status === "crashed"));
      buttons.push({ id: `pause-${n.name}`, label: t("mq.pause", { node: n.name, ms: PAUSE_MS }), faults: [{ fault: "pause", node: n.name, duration_us: PAUSE_MS * 1000 }], disabled: n.status !== "up" });
    }
    const broker = snap.nodes.find((x) => x.name === "broker");
    if (broker && !(mode === "chapter" && topology === "pubsub")) buttons.push(upDown("broker", broker.status === "crashed"));
    return buttons;
  }

  function renderCounters(view: MqView): void {
    show(counters, ...COUNTERS.map((k) => {
      const value = view.counters[k] ?? 0;
      const bad = (k === "lost" || k === "applied_twice") && value > 0;
      const card = el("div", `card mq-counter${bad ? " bad" : ""}`);
      card.dataset.counter = k;
      card.append(el("div", "muted", t(`mq.counter.${k}` as Key)), el("div", "value", String(value)));
      return card;
    }));
  }

  function renderCards(snap: Snapshot): void {
    show(cards, ...snap.nodes.map((n) => {
      const s = n.state ?? {};
      const role = n.name.replace(/-\d+$/, "") as "producer" | "broker" | "consumer" | "db";
      const card = el("div", `card mq-card ${n.status}${role === "broker" ? " server" : ""}`);
      card.dataset.node = n.name;
      const lines: string[] = [];
      if (n.state) {
        if (role === "producer") {
          lines.push(t("mq.card.sent", { sent: Number(s.sent), unconfirmed: Number(s.unconfirmed) }));
          if (s.calling !== null && s.calling !== undefined) lines.push(t("mq.card.calling", { id: Number(s.calling) }));
        } else if (role === "broker") {
          const log = s.log as { synced: number; unsynced: number };
          lines.push(t("mq.card.log", { synced: log.synced, unsynced: log.unsynced }));
          if (Number(s.waiting) > 0) lines.push(t("mq.card.waiting", { waiting: Number(s.waiting) }));
          const groups = Object.values((s.groups ?? {}) as Record<string, [string, number][]>);
          const name = (id: number) => snap.nodes.find((x) => x.id === id)?.name ?? String(id);
          for (const owners of groups) if (owners.length) lines.push(t("mq.card.owners", { owners: owners.map(([p, c]) => `${p}→${name(c)}`).join(" ") }));
        } else if (role === "consumer") {
          const h = s.handling as { queue: string; id: number; attempt: number; phase: "working" | "writing" } | null;
          lines.push(h ? t("mq.card.handling", { phase: t(`mq.phase.${h.phase}`), id: h.id, attempt: h.attempt }) : t("mq.card.idle"));
          if (Number(s.in_hand) > 0) lines.push(t("mq.card.inHand", { count: Number(s.in_hand) }));
        } else if (role === "db") {
          lines.push(t("mq.card.applied", { applied: Number(s.applied), twice: Number(s.applied_twice) }));
        }
      }
      card.append(el("div", "muted", `${role === "broker" ? t("mq.role.broker") : role === "db" ? t("mq.role.db") : n.name} · ${t(`counter.status.${n.status}`)}`), ...lines.map((l) => el("div", "mono muted", l)));
      return card;
    }));
  }

  function renderLanes(view: MqView, snap: Snapshot): void {
    const head = [el("h3", "", t("mq.queues"))];
    if (view.chapter_pubsub) return show(lanes, ...head, el("p", "muted", t("mq.chapterPubsub")));
    if (brokerDown(snap)) return show(lanes, ...head, el("p", "bad", t("mq.brokerDown")));
    show(lanes, ...head, ...view.queues.map((q) => {
      const count = (state: Msg["state"]) => q.messages.filter((m) => m.state === state).length;
      const lane = el("div", "mq-lane");
      lane.dataset.key = `lane-${q.name}`;
      lane.dataset.queue = q.name;
      const facts = [t("mq.lane", { queue: q.name, ready: count("ready"), in_flight: count("in_flight"), delayed: count("delayed"), acked: q.acked })];
      if (q.capacity !== null) facts.push(t("mq.lane.capacity", { capacity: q.capacity }));
      if (q.lost.length) facts.push(t("mq.lane.lost", { count: q.lost.length }));
      const shown = q.messages.filter((m) => m.state !== "dead" && m.state !== "delayed");
      const order = { in_flight: 0, taken: 1, ready: 2 } as Record<string, number>;
      shown.sort((a, b) => (order[a.state] ?? 3) - (order[b.state] ?? 3));
      const tiles = el("div", "mq-tiles");
      tiles.append(...shown.map((m) => tile(q.name, m, snap.time, view.visibility_us, selected)), ...q.lost.map((id) => tile(q.name, { id, state: "lost" }, snap.time, view.visibility_us, selected)));
      if (!tiles.childElementCount) tiles.append(el("span", "muted", t("mq.lane.empty")));
      lane.append(el("div", `mono ${q.lost.length ? "bad" : "muted"}`, facts.join(" · ")), tiles);
      return lane;
    }));
  }

  function renderDlq(view: MqView, snap: Snapshot): void {
    if (brokerDown(snap)) return show(dlq, el("h3", "", t("mq.dlq")), el("p", "muted", t("mq.brokerDownShort")));
    const dead = view.queues.flatMap((q) => q.messages.filter((m) => m.state === "dead").map((m) => ({ q: q.name, m })));
    const tiles = el("div", "mq-tiles");
    for (const { q, m } of dead) {
      const x = tile(q, m, snap.time, view.visibility_us, selected);
      x.dataset.key = `dlq:${q}:${m.id}`;
      x.title = t("mq.dlqTile", { id: m.id, queue: q, deliveries: m.deliveries, error: errorText(m.error ?? "") });
      x.append(el("span", "mq-left", `×${m.deliveries}`));
      tiles.append(x);
    }
    show(dlq, el("h3", "", t("mq.dlq")), dead.length ? tiles : el("p", "muted", t("mq.dlqEmpty")));
  }

  /** Delayed messages and retries, one row per queue, at the time each becomes deliverable. */
  function renderDelayed(view: MqView, snap: Snapshot): void {
    const rows = view.queues.map((q) => ({ name: q.name, items: q.messages.filter((m) => m.state === "delayed" && m.until_us !== undefined) }));
    const all = rows.flatMap((r) => r.items);
    if (brokerDown(snap)) return show(delayed, el("h3", "", t("mq.delayed")), el("p", "muted", t("mq.brokerDownShort")));
    if (!all.length) return show(delayed, el("h3", "", t("mq.delayed")), el("p", "muted", t("mq.delayedEmpty")));
    const now = snap.time;
    const horizon = Math.max(AXIS_MIN_US, ...all.map((m) => (m.until_us ?? now) - now));
    const width = 900;
    const left = 70;
    const rowH = 30;
    const height = rows.length * rowH + 26;
    const scale = scaleLinear().domain([0, horizon / 1e6]).range([left, width - 24]);
    const drawing = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "mq-axis", role: "img" });
    drawing.setAttribute("aria-label", t("mq.delayed"));
    rows.forEach((r, i) => {
      const y = 6 + i * rowH;
      drawing.append(svg("text", { x: 4, y: y + 18, class: "row-label" }, r.name), svg("line", { x1: left, x2: width - 10, y1: y + rowH - 4, y2: y + rowH - 4, class: "row-line" }));
      for (const m of r.items) {
        const x = scale(Math.max(0, (m.until_us ?? now) - now) / 1e6);
        const g = svg("g", { class: `mq-dot${m.id === selected ? " selected" : ""}`, "data-msg": m.id, "data-key": `delay:${r.name}:${m.id}` });
        g.append(svg("circle", { cx: x, cy: y + 13, r: 7 }), svg("title", {}, `${m.poison ? "⚠ " : ""}${m.id} · ${t("mq.state.delayed")} → ${secs(m.until_us ?? now)} s · ×${m.deliveries}`));
        drawing.append(g);
      }
    });
    for (const s of scale.ticks(6)) drawing.append(svg("text", { x: scale(s), y: height - 4, class: "tick", "text-anchor": "middle" }, `+${s} s`));
    show(delayed, el("h3", "", t("mq.delayed")), drawing);
  }

  function renderJourney(lab: Lab, view: MqView, now: number): void {
    if (!selected) return show(journey, el("p", "muted", t("mq.journeyHint")));
    const steps = view.journeys[String(selected)] ?? [];
    const faults = (lab.fault_marks() as FaultMark[]).filter((m) => m.index !== null && m.index < lab.shown_len());
    show(journey, el("h3", "", t("mq.journey", { id: selected })), steps.length ? journeyList(steps, faults, now) : el("p", "muted", t("mq.journeyNone", { id: selected })));
  }

  function render(lab: Lab, snap: Snapshot): void {
    const view = lab.view() as MqView;
    renderCounters(view);
    renderCards(snap);
    renderLanes(view, snap);
    renderDlq(view, snap);
    renderDelayed(view, snap);
    renderJourney(lab, view, snap.time);
  }

  syncOptions();
  controls.refresh();
  return controls;
}
