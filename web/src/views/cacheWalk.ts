// Exercise 3 as a guided walkthrough (46.3): policy choice, TTL and the stale fill, then the three
// failure modes (penetration, avalanche, breakdown). Each page runs the same seed twice, without
// and with one change, asks the learner what the change will do, and then shows both runs.

import { CacheLab, Lab } from "../pkg/distlab_wasm.js";
import { t, type Key } from "../i18n";
import { writeParams } from "../url";
import { el } from "../dom";
import { lineChart } from "./cacheCharts";
import { STORIES } from "./cache";

interface Page {
  key: string;
  /** Runs both sides and returns their series and the metric that tells them apart. */
  run(): { before: number[]; after: number[]; metric: string; values: [number, number]; yMax: number; xLabel: string; yLabel: string };
  answer: number;
}

function scenario(config: Record<string, unknown>, metric: string): { series: number[]; value: number } {
  const lab = new Lab("cache", config, 1);
  lab.run_until(lab.default_until_us());
  const summary = lab.summary() as Record<string, unknown>;
  lab.free();
  return { series: (summary.db_series as number[]) ?? [], value: Number(summary[metric] ?? 0) };
}

function patterns(before: Record<string, unknown>, after: Record<string, unknown>, metric: string) {
  const a = scenario(before, metric);
  const b = scenario(after, metric);
  return { before: a.series, after: b.series, metric, values: [a.value, b.value] as [number, number], yMax: Math.max(1, ...a.series, ...b.series), xLabel: t("cache.time100ms"), yLabel: t("cache.loadsPerBucket") };
}

function policies() {
  const lab = new CacheLab({ workload: { kind: "zipf-scan", keys: 10000, s: 0.9 }, length: 100000, capacity: 500, seed: 1, policies: ["lru", "w-tinylfu"] });
  lab.advance(100000);
  const view = lab.view() as { policies: { curve: number[]; hit_ratio: number }[] };
  lab.free();
  const [lru, tiny] = view.policies;
  return { before: lru.curve, after: tiny.curve, metric: "hit_ratio", values: [lru.hit_ratio, tiny.hit_ratio] as [number, number], yMax: 1, xLabel: t("cache.accesses", { n: 100000 }), yLabel: t("cache.hitRatio") };
}

const PAGES: Page[] = [
  { key: "policy", run: policies, answer: 1 },
  { key: "stale", run: () => patterns(STORIES.race, { ...STORIES.race, fix: "versioned" }, "late_stale_reads"), answer: 2 },
  { key: "penetration", run: () => patterns(STORIES.penetration, { ...STORIES.penetration, bloom: true }, "db_loads_absent"), answer: 0 },
  { key: "avalanche", run: () => patterns(STORIES.avalanche, { ...STORIES.avalanche, jitter_percent: 50 }, "db_peak_per_bucket"), answer: 1 },
  { key: "breakdown", run: () => patterns({ apps: 1, rate_per_s: 0, burst: 1000, duration_ms: 3000 }, { apps: 1, rate_per_s: 0, burst: 1000, duration_ms: 3000, single_flight: true }, "db_loads"), answer: 2 },
];
const CHOICES = 3;

export function mountCacheWalk(root: HTMLElement, params: URLSearchParams): void {
  let index = Math.min(PAGES.length, Math.max(0, Number(params.get("page") ?? 0) || 0));
  let revealed = false;
  let chosen: number | null = null;

  function go(next: number): void {
    index = next;
    revealed = false;
    chosen = null;
    writeParams("exercise-3", new URLSearchParams({ page: String(index) }));
    render();
  }

  function render(): void {
    root.innerHTML = "";
    root.append(el("h2", "", t("walk3.title")), el("p", "intro", t("walk3.intro")));
    const progress = el("div", "row");
    progress.id = "walk-progress";
    PAGES.forEach((_, i) => {
      const dot = el("button", i === index ? "step-dot current" : "step-dot", String(i + 1));
      dot.addEventListener("click", () => go(i));
      progress.append(dot);
    });
    root.append(progress);
    if (index >= PAGES.length) {
      const done = el("div", "panel");
      done.id = "walkthrough-done";
      done.append(el("h3", "", t("walk.done.title")), el("p", "", t("walk3.done")));
      const again = el("button", "", t("walk.again"));
      again.id = "walk-again";
      again.addEventListener("click", () => go(0));
      const lab = el("a", "", t("walk3.openLab"));
      lab.href = "#/caching";
      done.append(again, " ", lab);
      root.append(done);
      return;
    }
    const p = PAGES[index];
    const k = (suffix: string) => `walk3.${p.key}.${suffix}` as Key;
    const page = el("div", "panel");
    page.id = "walk-step";
    page.dataset.page = String(index);
    page.append(el("h3", "", `${t("walk.step", { n: index + 1, total: PAGES.length })}: ${t(k("title"))}`), el("p", "", t(k("setup"))));
    const question = el("fieldset", "question");
    question.append(el("legend", "", t(k("question"))));
    for (let i = 0; i < CHOICES; i++) {
      const label = el("label", "choice");
      const radio = el("input");
      radio.type = "radio";
      radio.name = "choice";
      radio.checked = chosen === i;
      radio.disabled = revealed;
      radio.addEventListener("change", () => {
        chosen = i;
        reveal.disabled = false;
      });
      label.append(radio, ` ${t(`${k("choice")}${i}` as Key)}`);
      if (revealed && i === p.answer) label.classList.add("right");
      question.append(label);
    }
    page.append(question);
    const buttons = el("div", "row");
    const reveal = el("button", "", t("walk.reveal"));
    reveal.id = "reveal";
    reveal.disabled = revealed || chosen === null;
    reveal.addEventListener("click", () => {
      revealed = true;
      render();
    });
    const skip = el("button", "", t("walk.skip"));
    skip.id = "reveal-skip";
    skip.hidden = revealed;
    skip.addEventListener("click", () => {
      revealed = true;
      render();
    });
    buttons.append(reveal, skip);
    if (revealed) {
      const r = p.run();
      const chart = el("div", "chart");
      chart.id = "walk-chart";
      chart.append(lineChart("walk-series", [
        { values: r.before, cls: "before", label: t(k("before")) },
        { values: r.after, cls: "after", label: t(k("after")) },
      ], { xMax: Math.max(r.before.length, r.after.length), yMax: r.yMax, xLabel: r.xLabel, yLabel: r.yLabel }));
      const f = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(3));
      const numbers = el("p", "mono", `${t(`cache.m.${r.metric}` as Key)}: ${t(k("before"))} ${f(r.values[0])} → ${t(k("after"))} ${f(r.values[1])}`);
      numbers.id = "walk-numbers";
      const verdict = el("p", chosen === p.answer ? "good" : "bad", chosen === null ? "" : chosen === p.answer ? t("walk.right") : t("walk.wrongAnswer"));
      verdict.id = "walk-answer";
      const explain = el("p", "explain", t(k("explain")));
      explain.id = "walk-explain";
      page.append(chart, el("div", "muted", t("cache.dbLegend")), numbers, verdict, explain);
      const next = el("button", "", index + 1 < PAGES.length ? t("walk.next") : t("walk.finish"));
      next.id = "next";
      next.addEventListener("click", () => go(index + 1));
      buttons.append(next);
    }
    page.append(buttons);
    root.append(page);
  }

  render();
}
