// Exercise 3 as a guided walkthrough (46.3): policy choice, TTL and the stale fill, then the three
// failure modes (penetration, avalanche, breakdown). Each page runs the same seed twice, without
// and with one change, asks the learner what the change will do, and then shows both runs.

import { loaded, newLab } from "../modules";
import { t, type Key } from "../i18n";
import { el } from "../dom";
import { chartWidth, lineChart } from "./cacheCharts";
import { STORIES } from "./cache";
import { mountGuided } from "./guided";

interface Page {
  key: string;
  /** Runs both sides and returns their series and the metric that tells them apart. */
  run(): { before: number[]; after: number[]; metric: string; values: [number, number]; yMax: number; xLabel: string; yLabel: string; xDomain: [number, number] };
  answer: number;
}

/** Which series a page draws: the database's load, or the stale reads its question asks about. */
type Drawn = "db_series" | "late_stale_series";

function scenario(config: Record<string, unknown>, metric: string, drawn: Drawn): { series: number[]; value: number } {
  const lab = newLab("cache", config, 1);
  lab.run_until(lab.default_until_us());
  const summary = lab.summary() as Record<string, unknown>;
  lab.free();
  return { series: (summary[drawn] as number[]) ?? [], value: Number(summary[metric] ?? 0) };
}

function patterns(before: Record<string, unknown>, after: Record<string, unknown>, metric: string, drawn: Drawn = "db_series") {
  const a = scenario(before, metric, drawn);
  const b = scenario(after, metric, drawn);
  // A run without a single stale read has an empty series: draw it as zeros over the same span.
  const span = Math.max(a.series.length, b.series.length);
  for (const r of [a, b]) while (r.series.length < span) r.series.push(0);
  const yLabel = drawn === "db_series" ? t("cache.loadsPerBucket") : t("cache.stalePerBucket");
  return { before: a.series, after: b.series, metric, values: [a.value, b.value] as [number, number], yMax: Math.max(1, ...a.series, ...b.series), xLabel: t("cache.time100ms"), yLabel, xDomain: [0, (span - 1) / 10] as [number, number] };
}

function policies() {
  const lab = new (loaded("caching").CacheLab)({ workload: { kind: "zipf-scan", keys: 10000, s: 0.9 }, length: 100000, capacity: 500, seed: 1, policies: ["lru", "w-tinylfu"] });
  lab.advance(100000);
  const view = lab.view() as { policies: { curve: number[]; hit_ratio: number }[] };
  lab.free();
  const [lru, tiny] = view.policies;
  return { before: lru.curve, after: tiny.curve, metric: "hit_ratio", values: [lru.hit_ratio, tiny.hit_ratio] as [number, number], yMax: 1, xLabel: t("cache.accesses", { n: 100000 }), yLabel: t("cache.hitRatio"), xDomain: [0, 100000] as [number, number] };
}

const PAGES: Page[] = [
  { key: "policy", run: policies, answer: 1 },
  { key: "stale", run: () => patterns(STORIES.race, { ...STORIES.race, fix: "versioned" }, "late_stale_reads", "late_stale_series"), answer: 2 },
  { key: "penetration", run: () => patterns(STORIES.penetration, { ...STORIES.penetration, bloom: true }, "db_loads_absent"), answer: 0 },
  { key: "avalanche", run: () => patterns(STORIES.avalanche, { ...STORIES.avalanche, jitter_percent: 50 }, "db_peak_per_bucket"), answer: 1 },
  { key: "breakdown", run: () => patterns({ apps: 1, rate_per_s: 0, burst: 1000, duration_ms: 3000 }, { apps: 1, rate_per_s: 0, burst: 1000, duration_ms: 3000, single_flight: true }, "db_loads"), answer: 2 },
];
export function mountCacheWalk(root: HTMLElement, params: URLSearchParams): void {
  mountGuided(root, params, {
    view: "exercise-3",
    prefix: "walk3",
    title: "walk3.title",
    intro: "walk3.intro",
    done: "walk3.done",
    openLab: "walk3.openLab",
    labHref: "#/caching",
    pages: PAGES.map((p) => ({
      key: p.key,
      answer: p.answer,
      after(page: HTMLElement) {
        const k = (suffix: string) => `walk3.${p.key}.${suffix}` as Key;
        const r = p.run();
        const chart = el("div", "chart");
        chart.id = "walk-chart";
        chart.append(lineChart("walk-series", [
          { values: r.before, cls: "before", label: t(k("before")) },
          { values: r.after, cls: "after", label: t(k("after")) },
        ], { xMax: Math.max(r.before.length, r.after.length), xDomain: r.xDomain, width: chartWidth(page), yMax: r.yMax, xLabel: r.xLabel, yLabel: r.yLabel }));
        const f = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(3));
        const numbers = el("p", "mono", `${t(`cache.m.${r.metric}` as Key)}: ${t(k("before"))} ${f(r.values[0])} → ${t(k("after"))} ${f(r.values[1])}`);
        numbers.id = "walk-numbers";
        page.append(chart, el("div", "muted", t("cache.dbLegend")), numbers);
      },
    })),
  });
}
