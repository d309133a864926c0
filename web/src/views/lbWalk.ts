// Exercise 4 as a guided walkthrough (46.4): weighted random against smooth weighted round robin,
// IP hash when one server dies, a dead server left in rotation by the chapter's health checker,
// power of two choices against least connections across three balancers, and what each algorithm
// sends a slow backend. Each page runs the `lb` scenario on seed 1 under several settings, asks
// the learner what will happen, then shows the runs side by side: their measurements, their
// checkers and, for the weights, their first picks. The stories are the ones `tests/tests/lb.rs`
// pins.

import { newLab } from "../modules";
import type { Verdict } from "../engine";
import { t, type Key } from "../i18n";
import { el } from "../dom";
import { mountGuided } from "./guided";
import { verdictLine } from "./lockTimeline";
import { algorithmLabel, reportRows, type LbReport } from "./lb";

interface Run { config: Record<string, unknown>; label?: Key }
interface Story {
  key: string;
  answer: number;
  runs: Run[];
  /** The measurements the table compares (keys of `reportRows`). */
  rows: Key[];
  /** The verdicts shown under the table. */
  verdicts: string[];
  /** Show each run's first picks. */
  picks?: boolean;
  /** Also compare what backend c (the slowed one) was sent. */
  slowShare?: boolean;
}

interface Outcome { report: LbReport; verdicts: Verdict[]; picks: string[] }

const WEIGHTS = { weights: [5, 1, 1, 1], crash: "" };
const SLOW = { crash: "", slow: "c", slow_at_ms: 5_000, balancers: 3, rate: 300 };

const STORIES: Story[] = [
  {
    key: "wrr", answer: 2,
    runs: [{ config: { ...WEIGHTS, algorithm: "chapter_weighted" } }, { config: { ...WEIGHTS, algorithm: "smooth_wrr" } }],
    rows: ["lb.m.requests", "lb.m.spread"],
    verdicts: ["weighted_shares"],
    picks: true,
  },
  {
    key: "iphash", answer: 0,
    runs: [{ config: { algorithm: "chapter_ip_hash" } }, { config: { algorithm: "ip_hash" } }, { config: { algorithm: "maglev" } }],
    rows: ["lb.m.remap", "lb.m.spread"],
    verdicts: ["bounded_remap"],
  },
  {
    key: "dead", answer: 1,
    runs: [
      { config: { health: "chapter", passive: "off" }, label: "walk4.dead.chapter" },
      { config: { health: "concurrent", passive: "off" }, label: "walk4.dead.concurrent" },
      { config: { health: "concurrent", passive: "nginx" }, label: "walk4.dead.passive" },
    ],
    rows: ["lb.m.deadFor", "lb.m.dead", "lb.m.failed"],
    verdicts: ["no_route_to_down"],
  },
  {
    key: "p2c", answer: 0,
    runs: [{ config: { ...SLOW, algorithm: "least_conn" } }, { config: { ...SLOW, algorithm: "p2c_ewma" } }],
    rows: ["lb.m.p50", "lb.m.p99", "lb.m.p999"],
    verdicts: [],
    slowShare: true,
  },
  {
    key: "slow", answer: 1,
    runs: ["round_robin", "ip_hash", "least_outstanding", "p2c_ewma", "chapter_least_conn"].map((algorithm) => ({ config: { ...SLOW, balancers: 1, algorithm } })),
    rows: ["lb.m.p99", "lb.m.failed"],
    verdicts: [],
    slowShare: true,
  },
];

/** Runs one side of a story to its end on seed 1. */
function play(run: Run): Outcome {
  const lab = newLab("lb", run.config, 1);
  lab.run_until(lab.default_until_us());
  const view = lab.view() as { report: LbReport; first_picks: string[] };
  const out = { report: view.report, verdicts: lab.verdicts() as Verdict[], picks: view.first_picks };
  lab.free();
  return out;
}

const runLabel = (r: Run) => (r.label ? t(r.label) : algorithmLabel(String(r.config.algorithm ?? "round_robin")));

function table(story: Story, outcomes: Outcome[]): HTMLTableElement {
  const tableEl = el("table", "compare mono");
  tableEl.id = "walk-numbers";
  const head = el("tr");
  head.append(el("th", "", ""), ...story.runs.map((r) => el("th", "", runLabel(r))));
  tableEl.append(head);
  const values = outcomes.map((o) => new Map(reportRows(o.report, 4)));
  for (const k of story.rows) {
    const row = el("tr");
    row.dataset.metric = String(k);
    row.append(el("td", "", t(k)), ...values.map((v) => el("td", "", v.get(k) ?? "")));
    tableEl.append(row);
  }
  if (story.slowShare) {
    const row = el("tr");
    row.dataset.metric = "slow-share";
    row.append(el("td", "", t("walk4.slowShare")), ...outcomes.map((o) => {
      const total = o.report.routed.reduce((a, b) => a + b, 0);
      return el("td", "", `${o.report.routed[2]} (${((100 * o.report.routed[2]) / Math.max(1, total)).toFixed(1)}%)`);
    }));
    tableEl.append(row);
  }
  return tableEl;
}

export function mountLbWalk(root: HTMLElement, params: URLSearchParams): void {
  mountGuided(root, params, {
    view: "exercise-4",
    prefix: "walk4",
    title: "walk4.title",
    intro: "walk4.intro",
    done: "walk4.done",
    openLab: "walk4.openLab",
    labHref: "#/balancing",
    pages: STORIES.map((story) => ({
      key: story.key,
      answer: story.answer,
      after(page: HTMLElement) {
        const outcomes = story.runs.map(play);
        page.append(el("h4", "", t("walk4.runs")), table(story, outcomes));
        if (story.picks) {
          const picks = el("div", "walk-picks mono");
          picks.id = "walk-picks";
          story.runs.forEach((r, i) => picks.append(el("div", "muted", runLabel(r)), el("div", "", outcomes[i].picks.join(" "))));
          page.append(el("h4", "", t("walk4.firstPicks")), picks);
        }
        if (story.verdicts.length) {
          const verdicts = el("div", "walk-verdicts");
          verdicts.id = "walk-verdicts";
          story.runs.forEach((r, i) => {
            verdicts.append(el("div", "muted", runLabel(r)));
            for (const v of outcomes[i].verdicts.filter((x) => story.verdicts.includes(x.property))) verdicts.append(verdictLine(v));
          });
          page.append(verdicts);
        }
      },
    })),
  });
}
