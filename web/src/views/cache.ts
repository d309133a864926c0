// The caching view (46.3): eviction policies side by side on the same trace with Belady's optimum
// as their ceiling and the keys each one holds; a Bloom filter's bits and measured false-positive
// rate; and the cache patterns with their protections, each run next to the same seed without
// the learner's changes, with the database load over time and the expiry histogram.

import { loaded, newLab, type Lab, type Modules } from "../modules";
import { mountScenario, type FaultButton, type KeyHandlers } from "../frame";
import type { Snapshot } from "../engine";
import { t, type Key } from "../i18n";
import { el, labelled, show, svg } from "../dom";
import { barChart, chartWidth, lineChart, type Series } from "./cacheCharts";

/** The policies offered; `chapter-fifo` is the chapter's FIFOCache, LRU under another name. */
const POLICIES = ["lru", "fifo", "lfu", "w-tinylfu", "chapter-fifo"] as const;
const WORKLOADS = ["zipf", "zipf-scan", "shifting", "loop", "uniform"] as const;

interface PolicyView { policy: string; hits: number; hit_ratio: number; curve: number[]; cached: number; weight: number }
interface ComparisonView { position: number; length: number; capacity: number; sample_every: number; policies: PolicyView[]; opt_hit_ratio: number | null; hot_keys: { key: number; count: number; last_access: number; cached: boolean[] }[] }
interface BloomView { bits: number; hashes: number; inserted: number; fill: number[]; expected_fp_rate: number; measured_fp_rate: number; probes: number }

/** The stories of the patterns panel: the scenario configuration each starts from. */
export const STORIES: Record<string, Record<string, unknown>> = {
  race: { write_percent: 10 },
  penetration: { absent_percent: 20, write_percent: 0, duration_ms: 10000 },
  avalanche: { rate_per_s: 1000, keys: 1000, zipf_s: 0, warmup: true, start_ms: 500, ttl_ms: 10000, write_percent: 0 },
  breakdown: { rate_per_s: 1000, ttl_ms: 2000, write_percent: 0, warmup: true, start_ms: 300, duration_ms: 10000 },
  "write-behind": { pattern: "write-behind", crash_cache_at_ms: 10500 },
};

/** The protections' settings when switched on. */
const ON: Record<string, unknown> = { null_ttl_ms: 1000, bloom: true, jitter_percent: 50, warmup: true, single_flight: true, mutex: true, xfetch_beta: 3 };
const TOGGLES = ["null_ttl_ms", "bloom", "jitter_percent", "warmup", "single_flight", "mutex", "xfetch_beta"] as const;
const FIXES = ["none", "double-delete", "versioned"] as const;
const PATTERNS = ["cache-aside", "read-through", "write-through", "write-behind"] as const;

function isOn(config: Record<string, unknown>, key: string): boolean {
  const v = config[key];
  return v !== undefined && v !== false && v !== 0;
}

export function mountCache(root: HTMLElement, params: URLSearchParams): KeyHandlers {
  root.innerHTML = "";
  root.append(el("h2", "", t("cache.title")), el("p", "intro", t("cache.intro")), el("p", "wrong", t("cache.wrong")));
  root.append(policyPanel(), bloomPanel());
  return patternPanel(root, params);
}

/** A select of `values`, each labelled by `label`, with `value` chosen. */
function choice(id: string, values: readonly string[], label: (v: string) => string, value: string): HTMLSelectElement {
  const select = el("select");
  select.id = id;
  for (const v of values) {
    const o = el("option", "", label(v));
    o.value = v;
    select.append(o);
  }
  select.value = value;
  return select;
}

function numberInput(id: string, value: number, min: number, max: number): HTMLInputElement {
  const input = el("input");
  input.type = "number";
  input.id = id;
  input.value = String(value);
  input.min = String(min);
  input.max = String(max);
  input.style.width = "7rem";
  return input;
}

function policyPanel(): HTMLElement {
  const panel = el("section", "panel");
  panel.append(el("h3", "", t("cache.policies.title")), el("p", "muted", t("cache.policies.intro")));
  const workload = choice("cache-workload", WORKLOADS, (w) => t(`cache.workload.${w}` as Key), "zipf");
  const keys = numberInput("cache-keys", 10000, 1, 1000000);
  const skew = numberInput("cache-skew", 0.9, 0, 5);
  skew.step = "0.1";
  const capacity = numberInput("cache-capacity", 500, 1, 1000000);
  const length = numberInput("cache-length", 200000, 1, 5000000);
  const row = el("div", "row");
  row.append(labelled(t("cache.workload"), workload), labelled(t("cache.keys"), keys), labelled(t("cache.skew"), skew), labelled(t("cache.capacity"), capacity), labelled(t("cache.length"), length));
  const choose = el("div", "row");
  const boxes = new Map<string, HTMLInputElement>();
  for (const p of POLICIES) {
    const box = el("input");
    box.type = "checkbox";
    box.id = `policy-${p}`;
    box.checked = p !== "fifo" && p !== "chapter-fifo";
    boxes.set(p, box);
    const label = el("label", "");
    label.append(box, ` ${t(`cache.policy.${p}` as Key)}`);
    choose.append(label);
  }
  const run = el("button", "", t("cache.compare"));
  run.id = "cache-compare";
  choose.append(run);
  const error = el("div", "bad");
  const chart = el("div", "chart");
  chart.id = "policy-chart-box";
  const legend = el("div", "mono");
  legend.id = "policy-legend";
  const contents = el("div", "chart");
  contents.id = "cache-contents";
  panel.append(row, choose, error, chart, legend, contents);

  let frame = 0;
  run.addEventListener("click", () => {
    cancelAnimationFrame(frame);
    error.textContent = "";
    const kind = workload.value;
    const n = Number(keys.value);
    const s = Number(skew.value);
    const wl = kind === "loop" || kind === "uniform" ? { kind, keys: n } : kind === "shifting" ? { kind, keys: n, s, shift_every: Math.max(1, Math.floor(Number(length.value) / 4)) } : { kind, keys: n, s };
    const policies = POLICIES.filter((p) => boxes.get(p)?.checked);
    let lab: InstanceType<Modules["caching"]["CacheLab"]>;
    try {
      lab = new (loaded("caching").CacheLab)({ workload: wl, length: Number(length.value), capacity: Number(capacity.value), seed: 1, policies });
    } catch (e) {
      error.textContent = String(e instanceof Error ? e.message : e);
      return;
    }
    const perFrame = Math.max(1000, Math.ceil(Number(length.value) / 60));
    const tick = () => {
      const done = lab.advance(perFrame);
      drawComparison(lab.view() as ComparisonView, chart, legend, contents);
      if (done) lab.free();
      else frame = requestAnimationFrame(tick);
    };
    tick();
  });
  return panel;
}

function drawComparison(view: ComparisonView, chart: HTMLElement, legend: HTMLElement, contents: HTMLElement): void {
  const points = Math.ceil(view.length / view.sample_every);
  const series: Series[] = view.policies.map((p) => ({ values: p.curve, cls: `policy-${p.policy}`, label: t(`cache.policy.${p.policy}` as Key) }));
  chart.innerHTML = "";
  const opt = view.opt_hit_ratio ?? 0;
  chart.append(lineChart("policy-chart", series, { xMax: points, xDomain: [0, view.length], width: chartWidth(chart), yMax: 1, xLabel: t("cache.accesses", { n: view.length }), yLabel: t("cache.hitRatio"), ceiling: { value: opt, label: `OPT ${(opt * 100).toFixed(1)}%` } }));
  legend.textContent = `${view.position}/${view.length} · ` + view.policies.map((p) => `${t(`cache.policy.${p.policy}` as Key)} ${(p.hit_ratio * 100).toFixed(1)}%`).join(" · ") + ` · OPT ${(opt * 100).toFixed(1)}%`;
  contents.innerHTML = "";
  contents.append(el("div", "muted", t("cache.contents", { n: view.hot_keys.length })));
  const cell = 14;
  const grid = svg("svg", { viewBox: `0 0 ${90 + view.hot_keys.length * cell} ${20 + view.policies.length * cell}`, class: "contents-grid", id: "contents-grid" });
  view.policies.forEach((p, row) => {
    grid.append(svg("text", { x: 0, y: 20 + row * cell + 11, class: "axis-label" }, t(`cache.policy.${p.policy}` as Key)));
    view.hot_keys.forEach((k, col) => {
      const r = svg("rect", { x: 90 + col * cell, y: 20 + row * cell, width: cell - 2, height: cell - 2, class: k.cached[row] ? "held" : "not-held" });
      r.append(svg("title", {}, `${t("cache.key")} ${k.key}: ${t("cache.keyFacts", { count: k.count, ago: view.position - 1 - k.last_access })}`));
      grid.append(r);
    });
  });
  view.hot_keys.forEach((k, col) => {
    if (col % 5 === 0) grid.append(svg("text", { x: 90 + col * cell, y: 12, class: "axis-label" }, `#${k.key}`));
  });
  contents.append(grid);
}

function bloomPanel(): HTMLElement {
  const panel = el("section", "panel");
  panel.append(el("h3", "", t("cache.bloom.title")), el("p", "muted", t("cache.bloom.intro")));
  const expected = numberInput("bloom-expected", 100000, 1, 10000000);
  const rate = numberInput("bloom-rate", 0.01, 0.0001, 0.5);
  rate.step = "0.001";
  const inserted = numberInput("bloom-inserted", 100000, 0, 10000000);
  const go = el("button", "", t("cache.bloom.build"));
  go.id = "bloom-build";
  const row = el("div", "row");
  row.append(labelled(t("cache.bloom.expected"), expected), labelled(t("cache.bloom.rate"), rate), labelled(t("cache.bloom.inserted"), inserted), go);
  const out = el("div", "chart");
  out.id = "bloom-view";
  const facts = el("div", "mono");
  facts.id = "bloom-facts";
  panel.append(row, out, facts);
  const draw = () => {
    out.innerHTML = "";
    try {
      const v = loaded("caching").bloom_view(Number(expected.value), Number(rate.value), Number(inserted.value), 100000, 512) as BloomView;
      const cols = 64;
      const pic = svg("svg", { viewBox: `0 0 ${cols * 10} ${(v.fill.length / cols) * 10}`, class: "bloom-bits", role: "img" });
      v.fill.forEach((f, i) => {
        const r = svg("rect", { x: (i % cols) * 10, y: Math.floor(i / cols) * 10, width: 9, height: 9, class: "bloom-cell", "fill-opacity": (0.1 + 0.9 * f).toFixed(2) });
        r.append(svg("title", {}, `${(f * 100).toFixed(1)}%`));
        pic.append(r);
      });
      out.append(pic);
      facts.textContent = t("cache.bloom.facts", { bits: v.bits, hashes: v.hashes, inserted: v.inserted, expected: (v.expected_fp_rate * 100).toFixed(3), measured: (v.measured_fp_rate * 100).toFixed(3), probes: v.probes });
    } catch (e) {
      facts.textContent = String(e instanceof Error ? e.message : e);
    }
  };
  go.addEventListener("click", draw);
  draw();
  return panel;
}

function patternPanel(root: HTMLElement, params: URLSearchParams): KeyHandlers {
  const panel = el("section", "panel");
  panel.append(el("h3", "", t("cache.patterns.title")), el("p", "muted", t("cache.patterns.intro")));
  let story = params.get("story") ?? "race";
  if (!(story in STORIES)) story = "race";
  const overrides: Record<string, unknown> = JSON.parse(params.get("set") ?? "{}") as Record<string, unknown>;

  const storySelect = choice("cache-story", Object.keys(STORIES), (s) => t(`cache.story.${s}` as Key), story);
  const storyText = el("p", "explain");
  storyText.id = "cache-story-text";
  const toggles = el("div", "row");
  toggles.id = "cache-toggles";
  const charts = el("div");
  const parts = { controls: el("div"), faults: el("div"), verdicts: el("div"), timeline: el("div") };
  parts.verdicts.id = "cache-verdicts";
  const head = el("div", "row");
  head.append(labelled(t("cache.story"), storySelect));
  panel.append(head, storyText, toggles, parts.controls, parts.faults, charts, parts.verdicts, parts.timeline);
  root.append(panel);

  const base = () => ({ ...STORIES[story] });
  const current = () => ({ ...base(), ...overrides });
  let baseline: Lab | null = null;
  let baselineKey = "";

  const controls = mountScenario(parts, params, {
    view: "caching",
    scenario: "cache",
    config: current,
    params: () => new URLSearchParams({ story, ...(Object.keys(overrides).length ? { set: JSON.stringify(overrides) } : {}) }),
    draw: (lab) => render(lab),
    faults: (snap: Snapshot): FaultButton[] =>
      snap.nodes.filter((n) => !/^app/.test(n.name)).map((n) => n.status === "crashed"
        ? { id: `restart-${n.name}`, label: t("election.restart", { node: n.name }), faults: [{ fault: "restart", node: n.name }] }
        : { id: `crash-${n.name}`, label: t("election.crash", { node: n.name }), faults: [{ fault: "crash", node: n.name }] }),
  });

  const changed = () => {
    drawToggles();
    controls.reset();
  };

  function drawToggles(): void {
    storyText.textContent = t(`cache.story.${story}.text` as Key);
    toggles.innerHTML = "";
    const config = current();
    const aside = (config.pattern ?? "cache-aside") === "cache-aside";
    const pattern = choice("cache-pattern", PATTERNS, (p) => t(`cache.pattern.${p}` as Key), String(config.pattern ?? "cache-aside"));
    pattern.addEventListener("change", () => {
      overrides.pattern = pattern.value;
      // The cache service loads and fills by itself: the application's protections do not apply.
      if (pattern.value !== "cache-aside") {
        overrides.fix = "none";
        for (const k of TOGGLES) overrides[k] = typeof ON[k] === "boolean" ? false : 0;
      }
      changed();
    });
    const fix = choice("cache-fix", FIXES, (f) => t(`cache.fix.${f}` as Key), String(config.fix ?? "none"));
    fix.disabled = !aside;
    fix.addEventListener("change", () => {
      overrides.fix = fix.value;
      changed();
    });
    toggles.append(labelled(t("cache.pattern"), pattern), labelled(t("cache.fix"), fix));
    for (const key of TOGGLES) {
      const box = el("input");
      box.type = "checkbox";
      box.id = `toggle-${key}`;
      box.checked = isOn(config, key);
      box.disabled = !aside;
      box.addEventListener("change", () => {
        overrides[key] = box.checked ? ON[key] : typeof ON[key] === "boolean" ? false : 0;
        changed();
      });
      const label = el("label", "toggle");
      label.append(box, ` ${t(`cache.toggle.${key}` as Key)}`);
      toggles.append(label);
    }
  }

  storySelect.addEventListener("change", () => {
    story = storySelect.value;
    for (const k of Object.keys(overrides)) delete overrides[k];
    changed();
  });

  function render(lab: Lab): void {
    const key = `${JSON.stringify(base())}/${lab.seed()}`;
    if (!baseline || baselineKey !== key || baseline.now_us() > lab.now_us()) {
      baseline?.free();
      baseline = newLab("cache", base(), lab.seed());
      baselineKey = key;
    }
    baseline.run_until(lab.now_us());
    const now = lab.summary() as Record<string, unknown>;
    const before = baseline.summary() as Record<string, unknown>;
    const series = (s: Record<string, unknown>, k: string) => (s[k] as number[] | undefined) ?? [];
    const buckets = Math.ceil(lab.default_until_us() / 1000 / Number(now.bucket_ms ?? 100));
    const seconds = Number(now.bucket_ms ?? 100) / 1000;
    const dbNow = series(now, "db_series");
    const dbBefore = series(before, "db_series");
    const next = charts.cloneNode(false) as HTMLElement;
    const yMax = Math.max(1, ...dbNow, ...dbBefore);
    next.append(el("h4", "", t("cache.dbLoad")));
    next.append(lineChart("db-chart", [
      { values: dbBefore, cls: "before", label: t("cache.before") },
      { values: dbNow, cls: "after", label: t("cache.after") },
    ], { xMax: buckets, xDomain: [0, (buckets - 1) * seconds], width: chartWidth(charts), yMax, xLabel: t("cache.time100ms"), yLabel: t("cache.loadsPerBucket") }));
    next.append(el("div", "muted", t("cache.dbLegend")));
    next.append(el("h4", "", t("cache.expiry")));
    next.append(barChart("expiry-chart", series(now, "expiry_series").slice(0, buckets + 1), { width: chartWidth(charts), bucketLabel: (i) => String(Math.round(i * seconds * 10) / 10), xLabel: t("cache.time100ms"), yLabel: t("cache.expiring") }));
    const table = el("table", "compare");
    table.id = "cache-compare-table";
    const headRow = el("tr");
    headRow.append(el("th", "", ""), el("th", "", t("cache.before")), el("th", "", t("cache.after")));
    table.append(headRow);
    for (const k of ["hit_ratio", "db_loads", "db_peak_per_bucket", "db_loads_absent", "max_loads_per_wave", "stale_reads", "late_stale_reads", "writes_lost", "early_refreshes"]) {
      const tr = el("tr");
      const f = (v: unknown) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : "–");
      tr.append(el("td", "", t(`cache.m.${k}` as Key)), el("td", "mono", f(before[k])), el("td", "mono", f(now[k])));
      tr.dataset.metric = k;
      table.append(tr);
    }
    next.append(table);
    show(charts, ...next.childNodes);
  }

  drawToggles();
  controls.refresh();
  return controls;
}
