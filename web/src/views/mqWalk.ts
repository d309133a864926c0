// Exercise 2 as a guided walkthrough (46.2): a consumer crash mid-processing, a poison message,
// a dependency's outage, duplicate delivery and a broker crash. Each page runs the `mq` scenario
// on seed 1 under the chapter's code and a fix (or under several settings), asks the learner what
// will happen, then shows the runs side by side: their counters, their checkers, and the journey
// of the message that tells the story. The stories are the ones `tests/tests/mq.rs` pins.

import { newLab } from "../modules";
import type { Fault, FaultMark, Verdict } from "../engine";
import { t, type Key } from "../i18n";
import { el } from "../dom";
import { mountGuided } from "./guided";
import { verdictLine } from "./lockTimeline";
import { journeyList, type Step } from "./mq";

interface MqView { queues: { name: string; lost: number[] }[]; counters: Record<string, number>; journeys: Record<string, Step[]> }

/** A fault the page injects at a moment of the run (the crash page's crash and restart). */
interface Scripted { at_us: number; fault: Fault }
interface Run { label: Key; config: Record<string, unknown>; script?: Scripted[] }
interface Story {
  key: string;
  answer: number;
  runs: Run[];
  /** The counters the table compares. */
  counters: string[];
  /** The verdicts shown under the table. */
  verdicts: string[];
  /** The message whose journey tells the story, picked from the first run. */
  focus(view: MqView): number | null;
  /** Also compare how long that message took from its first delivery to its last. */
  span?: boolean;
}

/** A run without the storm or the lossy network: only the story's own fault. */
const QUIET = { crash_consumers: false, pause_consumers: false, crash_broker: false, loss_percent: 0, duplicate_percent: 0, reorder_percent: 0 };

const firstWith = (view: MqView, type: string, extra: (s: Step) => boolean = () => true): number | null => {
  let best: { id: number; t: number } | null = null;
  for (const [id, steps] of Object.entries(view.journeys)) {
    const s = steps.find((x) => x.type === type && extra(x));
    if (s && (!best || s.t < best.t)) best = { id: Number(id), t: s.t };
  }
  return best?.id ?? null;
};

const CRASH = { ...QUIET, fail_percent: 0, poison_every: 0, delay_percent: 0, consumers: 1, producers: 1, messages: 5 };
const OUTAGE = { ...QUIET, fail_percent: 0, poison_every: 0, delay_percent: 0, max_deliveries: 4, backoff_base_ms: 1000, outage_from_ms: 1000, outage_ms: 2000 };
const POISON = { ...QUIET, poison_every: 10, fail_percent: 0, delay_percent: 0 };
const DUP = { duplicate_percent: 10, loss_percent: 5 };
const BROKER = { ...QUIET, crash_broker: true, fsync_every_ms: 1000 };

const STORIES: Story[] = [
  {
    key: "crash", answer: 1,
    runs: [
      { label: "walk2.chapter", config: { ...CRASH, mode: "chapter" } },
      { label: "walk2.reliable", config: { ...CRASH, mode: "reliable" } },
    ].map((r) => ({ ...r, script: [{ at_us: 130_000, fault: { fault: "crash", node: "consumer-1" } }, { at_us: 400_000, fault: { fault: "restart", node: "consumer-1" } }] })) as Run[],
    counters: ["published", "delivered", "redelivered", "acked", "lost"],
    verdicts: ["no_loss"],
    focus: (v) => firstWith(v, "delivered"),
  },
  {
    key: "poison", answer: 1,
    runs: [
      { label: "walk2.chapter", config: { ...POISON, mode: "chapter" } },
      { label: "walk2.reliable", config: { ...POISON, mode: "reliable" } },
    ],
    counters: ["published", "delivered", "redelivered", "dead_lettered"],
    verdicts: ["settled"],
    focus: (v) => firstWith(v, "dead"),
    span: true,
  },
  {
    key: "outage", answer: 2,
    runs: [
      { label: "walk2.chapter", config: { ...OUTAGE, mode: "chapter" } },
      { label: "walk2.reliable", config: { ...OUTAGE, mode: "reliable" } },
    ],
    counters: ["published", "redelivered", "acked", "dead_lettered"],
    verdicts: ["settled"],
    focus: (v) => firstWith(v, "dead"),
  },
  {
    key: "dup", answer: 0,
    runs: [
      { label: "walk2.dup.without", config: { ...DUP, dedup: false } },
      { label: "walk2.dup.with", config: { ...DUP, dedup: true } },
    ],
    counters: ["delivered", "redelivered", "applied_twice", "skipped"],
    verdicts: ["effectively_once"],
    focus: (v) => firstWith(v, "applied", (s) => s.again === true),
  },
  {
    key: "broker", answer: 1,
    runs: [
      { label: "walk2.broker.never", config: { ...BROKER, fsync: "never", confirms: false } },
      { label: "walk2.broker.every", config: { ...BROKER, fsync: "every_ms", confirms: false } },
      { label: "walk2.broker.always", config: { ...BROKER, fsync: "always", confirms: false } },
    ],
    counters: ["published", "confirmed", "acked", "lost"],
    verdicts: ["no_loss"],
    focus: (v) => v.queues.flatMap((q) => q.lost)[0] ?? null,
  },
];

interface Outcome { view: MqView; verdicts: Verdict[]; faults: FaultMark[]; end: number }

/** Runs one side of a story to its end on seed 1, injecting its scripted faults on the way. */
function play(run: Run): Outcome {
  const lab = newLab("mq", run.config, 1);
  for (const s of run.script ?? []) {
    lab.run_until(s.at_us);
    lab.inject(s.fault);
  }
  lab.run_until(lab.default_until_us());
  const out = { view: lab.view() as MqView, verdicts: lab.verdicts() as Verdict[], faults: lab.fault_marks() as FaultMark[], end: lab.now_us() };
  lab.free();
  return out;
}

/** Seconds from the first delivery of message `id` to its last, in a run. */
function deliverySpan(o: Outcome, id: number): string {
  const times = (o.view.journeys[String(id)] ?? []).filter((s) => s.type === "delivered").map((s) => s.t);
  return times.length ? ((Math.max(...times) - Math.min(...times)) / 1e6).toFixed(3) : "–";
}

function table(story: Story, outcomes: Outcome[], focus: number | null): HTMLTableElement {
  const tableEl = el("table", "compare mono");
  tableEl.id = "walk-numbers";
  const head = el("tr");
  head.append(el("th", "", ""), ...story.runs.map((r) => el("th", "", t(r.label))));
  tableEl.append(head);
  for (const c of story.counters) {
    const row = el("tr");
    row.dataset.metric = c;
    row.append(el("td", "", t(`mq.counter.${c}` as Key)), ...outcomes.map((o) => el("td", "", String(o.view.counters[c] ?? 0))));
    tableEl.append(row);
  }
  if (story.span && focus !== null) {
    const row = el("tr");
    row.dataset.metric = "span";
    row.append(el("td", "", t("walk2.span", { id: focus })), ...outcomes.map((o) => el("td", "", deliverySpan(o, focus))));
    tableEl.append(row);
  }
  return tableEl;
}

export function mountMqWalk(root: HTMLElement, params: URLSearchParams): void {
  mountGuided(root, params, {
    view: "exercise-2",
    prefix: "walk2",
    title: "walk2.title",
    intro: "walk2.intro",
    done: "walk2.done",
    openLab: "walk2.openLab",
    labHref: "#/queues",
    pages: STORIES.map((story) => ({
      key: story.key,
      answer: story.answer,
      after(page: HTMLElement) {
        const outcomes = story.runs.map(play);
        const id = story.focus(outcomes[0].view);
        page.append(el("h4", "", t("walk2.runs")), table(story, outcomes, id));
        const verdicts = el("div", "walk-verdicts");
        verdicts.id = "walk-verdicts";
        story.runs.forEach((r, i) => {
          verdicts.append(el("div", "muted", t(r.label)));
          for (const v of outcomes[i].verdicts.filter((x) => story.verdicts.includes(x.property))) verdicts.append(verdictLine(v));
        });
        page.append(verdicts);
        const journeys = el("div", "walk-journeys");
        journeys.id = "walk-journeys";
        if (id === null) journeys.append(el("p", "muted", t("walk2.noStory")));
        else {
          story.runs.forEach((r, i) => {
            const o = outcomes[i];
            journeys.append(el("h4", "", t("walk2.journeyOf", { id, run: t(r.label) })), journeyList(o.view.journeys[String(id)] ?? [], o.faults, o.end));
          });
        }
        page.append(journeys);
      },
    })),
  });
}
