// Exercise 5 as a guided walkthrough (46.7.2): a clock stepping back (refused, waited out, or a
// logical clock), two processes with one worker id, a restart behind the last timestamp, the
// racing segment claim, and the chapter's v7 that is a v4. Each page runs the `ids` scenario on
// seed 1 under the chapter's code and the fixes, asks the learner what will happen, then shows
// the runs side by side: their measurements and their checkers. The stories are the ones
// `tests/tests/ids.rs` pins.

import { newLab } from "../modules";
import type { Verdict } from "../engine";
import { t, type Key } from "../i18n";
import { el } from "../dom";
import { mountGuided } from "./guided";
import { verdictLine } from "./lockTimeline";

interface Run { config: Record<string, unknown>; label: Key }
interface Story { key: string; answer: number; runs: Run[]; rows: string[]; verdicts: string[]; version?: boolean }
interface Report { minted: number; refused: number; duplicates: number; out_of_order: number; longest_wait_ms: number; outage_ms: number; claims: number }
interface Outcome { report: Report; verdicts: Verdict[]; first: string }

const chapter = (story: string): Run => ({ config: { story }, label: "walk5.r.chapter" });
const fixed = (story: string): Run => ({ config: { story, chapter: false }, label: "walk5.r.fixed" });

const STORIES: Story[] = [
  {
    key: "clock", answer: 0,
    runs: [chapter("clock-back"), { config: { story: "clock-back", chapter: false, rollback: "wait" }, label: "walk5.r.wait" }, { config: { story: "clock-back", chapter: false }, label: "walk5.r.logical" }],
    rows: ["refused", "outage_ms", "longest_wait_ms", "duplicates"],
    verdicts: ["available"],
  },
  { key: "worker", answer: 2, runs: [chapter("same-worker"), fixed("same-worker")], rows: ["duplicates", "minted"], verdicts: ["unique"] },
  { key: "restart", answer: 1, runs: [chapter("restart-behind"), fixed("restart-behind")], rows: ["duplicates", "refused", "longest_wait_ms"], verdicts: ["unique"] },
  { key: "segment", answer: 0, runs: [chapter("segment-race"), fixed("segment-race")], rows: ["duplicates", "claims"], verdicts: ["unique"] },
  { key: "v7", answer: 2, runs: [chapter("chapter-v7"), fixed("chapter-v7")], rows: ["out_of_order", "minted"], verdicts: ["monotonic"], version: true },
];

/** Runs one side of a story to its end on seed 1. */
function play(run: Run): Outcome {
  const lab = newLab("ids", run.config, 1);
  lab.run_until(lab.default_until_us());
  const view = lab.view() as { report: Report; recent: [string, string, number, boolean][] };
  const out = { report: view.report, verdicts: lab.verdicts() as Verdict[], first: view.recent[0]?.[1] ?? "" };
  lab.free();
  return out;
}

function value(r: Report, k: string): string {
  const v = r[k as keyof Report];
  return k.endsWith("_ms") ? `${Number(v).toFixed(1)} ms` : String(v);
}

function table(story: Story, outcomes: Outcome[]): HTMLTableElement {
  const tableEl = el("table", "compare mono");
  tableEl.id = "walk-numbers";
  const head = el("tr");
  head.append(el("th", "", ""), ...story.runs.map((r) => el("th", "", t(r.label))));
  tableEl.append(head);
  for (const k of story.rows) {
    const row = el("tr");
    row.dataset.metric = k;
    row.append(el("td", "", t(`ids.m.${k}` as Key)), ...outcomes.map((o) => el("td", "", value(o.report, k))));
    tableEl.append(row);
  }
  if (story.version) {
    const row = el("tr");
    row.dataset.metric = "version";
    // A UUID's version is the hex digit after the second hyphen.
    row.append(el("td", "", t("walk5.version")), ...outcomes.map((o) => el("td", "", `${o.first.charAt(14)} (${o.first})`)));
    tableEl.append(row);
  }
  return tableEl;
}

export function mountIdsWalk(root: HTMLElement, params: URLSearchParams): void {
  mountGuided(root, params, {
    view: "exercise-5",
    prefix: "walk5",
    title: "walk5.title",
    intro: "walk5.intro",
    done: "walk5.done",
    openLab: "walk5.openLab",
    labHref: "#/ids",
    pages: STORIES.map((story) => ({
      key: story.key,
      answer: story.answer,
      after(page: HTMLElement) {
        const outcomes = story.runs.map(play);
        page.append(el("h4", "", t("walk5.runs")), table(story, outcomes));
        const verdicts = el("div", "walk-verdicts");
        verdicts.id = "walk-verdicts";
        story.runs.forEach((r, i) => {
          verdicts.append(el("div", "muted", t(r.label)));
          for (const v of outcomes[i].verdicts.filter((x) => story.verdicts.includes(x.property))) verdicts.append(verdictLine(v));
        });
        page.append(verdicts);
      },
    })),
  });
}
