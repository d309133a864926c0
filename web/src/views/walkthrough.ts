// Exercise 1 as a guided walkthrough (46.7.1): five pages, each sets up one fault of the
// `exercise-1` scenario, shows the run up to the fault, asks the learner what will happen, and
// only then runs it to the end and explains the timeline and the verdicts.

import { newLab } from "../modules";
import { t } from "../i18n";
import { drawTimeline, lockView, verdictLine } from "./lockTimeline";
import type { Verdict } from "../engine";
import { el } from "../dom";
import { mountGuided, type GuidedPage } from "./guided";

interface Step { step: number; fencing: boolean; faultAtUs: number; key: string; answer: number }

/** The pages: step 3 twice, without and then with fencing. `answer` is the right choice (0-based). */
const STEPS: Step[] = [
  { step: 1, fencing: true, faultAtUs: 600_000, key: "crash", answer: 1 },
  { step: 2, fencing: true, faultAtUs: 2_500_000, key: "watchdog", answer: 0 },
  { step: 3, fencing: false, faultAtUs: 200_000, key: "pause", answer: 2 },
  { step: 3, fencing: true, faultAtUs: 200_000, key: "fenced", answer: 1 },
  { step: 4, fencing: true, faultAtUs: 2_150_000, key: "restart", answer: 2 },
];
const CLIENTS = ["c0", "c1"];

function page(s: Step): GuidedPage {
  let verdicts: Verdict[] = [];
  return {
    key: s.key,
    answer: s.answer,
    body(root, revealed) {
      const lab = newLab("exercise-1", { step: s.step, fencing: s.fencing }, 1);
      lab.run_until(revealed ? lab.default_until_us() : s.faultAtUs);
      const snap = lab.snapshot() as { time: number; nodes: { id: number; name: string }[] };
      verdicts = lab.verdicts() as Verdict[];
      const chart = el("div", "chart");
      chart.id = "walk-timeline";
      chart.append(drawTimeline(lockView(lab), CLIENTS, snap.time, revealed ? verdicts : [], lab.default_until_us()));
      lab.free();
      root.append(chart, el("p", "muted", t("locks.legend")));
    },
    after(root) {
      const list = el("div", "panel");
      list.id = "walk-verdicts";
      for (const v of verdicts) list.append(verdictLine(v));
      root.append(list);
    },
  };
}

export function mountWalkthrough(root: HTMLElement, params: URLSearchParams): void {
  mountGuided(root, params, {
    view: "exercise-1",
    prefix: "walk",
    title: "walk.title",
    intro: "walk.intro",
    done: "walk.done.body",
    openLab: "walk.openLab",
    labHref: "#/locks",
    pages: STEPS.map(page),
  });
}
