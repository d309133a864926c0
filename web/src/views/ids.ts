// The distributed-IDs view (46.7.2): three generator nodes as cards (their clocks, worker ids and
// leases, Leaf's two segment buffers filling and switching), the last IDs they handed out with
// duplicates marked, the run's measurements and verdicts, and a decoder for any Snowflake or
// UUID with its layout editable (the engine's `id::decode`, through `decode_id`). A story runs
// the chapter's generator with the fault that breaks it; unticking "the chapter's code" runs the
// fix on the same seed. Everything drawn comes from the snapshot and `IdsJudge::view`
// (engine/src/scenario/ids.rs).

import { loaded, type Lab } from "../modules";
import { mountScenario, type FaultButton, type KeyHandlers } from "../frame";
import type { Snapshot as World } from "../engine";
import { t, type Key } from "../i18n";
import { checkbox, el, labelled, select, show } from "../dom";
import type { Lap, RaceMessage, RaceMode, RaceRequest } from "../race.worker";

type Generator = "snowflake" | "segment" | "uuidv7";
const GENERATORS: Generator[] = ["snowflake", "segment", "uuidv7"];
const STORIES = ["none", "clock-back", "same-worker", "restart-behind", "segment-race", "segment-stall", "chapter-v7"] as const;
type Story = (typeof STORIES)[number];
/** Each story's generator (the scenario's `story` presets). */
const STORY_GENERATOR: Record<Story, Generator | null> = {
  none: null, "clock-back": "snowflake", "same-worker": "snowflake", "restart-behind": "snowflake",
  "segment-race": "segment", "segment-stall": "segment", "chapter-v7": "uuidv7",
};
/** Every node's clock zero in Unix milliseconds (the scenario's `UNIX_BASE_MS`). */
const UNIX_BASE_MS = 1_767_225_600_000;
const CHAPTER_EPOCH_MS = 1_704_067_200_000;
const RACE_MODES: RaceMode[] = ["snowflake", "sonyflake", "uuid-v4", "uuid-v7", "chapter-v7", "segment"];
/** Each lap's length on the browser's clock. */
const LAP_MS = 300;

interface Segment { start: number; next: number; end: number }
interface GenState {
  queue: number; minted: number; refused: number; longest_wait_us: number; last_id: string | null;
  worker?: number; last_tick?: number | null; lease?: { lease: string; worker?: number };
  segment?: { current: Segment | null; spare: Segment | null; fetch: { fetch: string }; step: number; claims: number };
}
interface Report { minted: number; refused: number; duplicates: number; out_of_order: number; longest_wait_ms: number; outage_ms: number; claims: number }
interface IdsView { recent: [string, string, number, boolean][]; report: Report }
type Snapshot = World<GenState>;

interface Field { name: string; bits: number; shift: number; value: number }
interface Parsed { tick: number; datacenter: number; worker: number; sequence: number; unix_ms: number }
type Decoded =
  | { kind: "snowflake"; id: string; binary: string; parsed: Parsed; fields: Field[]; chapter: Parsed }
  | { kind: "uuid"; uuid: string; version: number; variant: string; unix_ms: number | null };

/** A count with thousands separators. */
const num = (n: number) => Math.round(n).toLocaleString("en-US");
/** Unix milliseconds as UTC, to the millisecond. */
const utc = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");

export function mountIds(root: HTMLElement, params: URLSearchParams): KeyHandlers {
  let story: Story = STORIES.find((s) => s === params.get("story")) ?? "none";
  let generator: Generator = STORY_GENERATOR[story] ?? GENERATORS.find((g) => g === params.get("generator")) ?? "snowflake";
  let chapter = params.has("chapter") ? params.get("chapter") === "1" : story !== "none";

  root.innerHTML = "";
  root.append(el("h2", "", t("ids.title")), el("p", "intro", t("ids.intro")), el("p", "wrong", t("ids.wrong")));
  const storySelect = select("ids-story", STORIES.map((s) => [s, t(`ids.story.${s}` as Key)]), story);
  const generatorSelect = select("ids-generator", GENERATORS.map((g) => [g, t(`ids.g.${g}` as Key)]), generator);
  const [chapterLabel, chapterBox] = checkbox("ids-chapter", t("ids.chapter"), chapter);
  const options = el("div", "row panel");
  options.append(labelled(t("ids.story"), storySelect), labelled(t("ids.generator"), generatorSelect), chapterLabel);
  // How far the learner's clock step goes: chosen beside the buttons, read when one is pressed.
  const backInput = el("input");
  backInput.id = "ids-back-ms";
  backInput.type = "number";
  backInput.min = "1";
  backInput.max = "60000";
  backInput.value = "300";
  backInput.size = 6;
  options.append(labelled(t("ids.backMs"), backInput));
  const backMs = () => {
    const v = Math.round(Number(backInput.value));
    return Number.isFinite(v) && v >= 1 && v <= 60_000 ? v : 300;
  };

  const parts = { controls: el("div"), faults: el("div"), verdicts: el("div"), timeline: el("div") };
  parts.verdicts.id = "ids-verdicts";
  const cards = el("div", "ids-cards");
  cards.id = "ids-generators";
  const stream = el("div", "panel");
  stream.id = "ids-stream";
  const measured = el("table", "compare mono");
  measured.id = "ids-measured";
  const decoder = el("div", "panel");
  decoder.id = "ids-decoder";
  const race = el("div", "panel");
  race.id = "ids-race";
  root.append(options, parts.controls, parts.faults, el("h3", "", t("ids.generators")), cards, stream, el("h3", "", t("ids.measured")), measured, parts.verdicts, decoder, race, parts.timeline);

  const frame = mountScenario(parts, params, {
    view: "ids",
    scenario: "ids",
    config: () => (story === "none" ? { generator, chapter } : { story, chapter }),
    params: () => {
      const p = new URLSearchParams(story === "none" ? { generator } : { story });
      if (chapter !== (story !== "none")) p.set("chapter", chapter ? "1" : "0");
      return p;
    },
    draw: (lab, snap) => draw(lab, snap as Snapshot),
    faults: (snap) => faults(snap as Snapshot),
  });

  const sync = () => {
    storySelect.value = story;
    generatorSelect.value = generator;
    chapterBox.checked = chapter;
  };
  storySelect.addEventListener("change", () => {
    story = storySelect.value as Story;
    generator = STORY_GENERATOR[story] ?? generator;
    chapter = story !== "none";
    sync();
    frame.reset();
  });
  generatorSelect.addEventListener("change", () => {
    generator = generatorSelect.value as Generator;
    story = "none";
    sync();
    frame.reset();
  });
  chapterBox.addEventListener("change", () => {
    chapter = chapterBox.checked;
    frame.reset();
  });

  function faults(snap: Snapshot): FaultButton[] {
    const store = snap.nodes.find((n) => n.name === "store");
    const ms = backMs();
    return [
      ...snap.nodes.filter((n) => n.name.startsWith("gen-")).flatMap((n): FaultButton[] => {
        const down = n.status === "crashed";
        return [
          { id: `clock-back-${n.name}`, label: t("ids.clockBack", { node: n.name, ms }), faults: [{ fault: "clock_jump", node: n.name, delta_us: -ms * 1000 }], disabled: down },
          down
            ? { id: `restart-${n.name}`, label: t("ids.restart", { node: n.name }), faults: [{ fault: "restart", node: n.name }] }
            : { id: `crash-${n.name}`, label: t("ids.crash", { node: n.name }), faults: [{ fault: "crash", node: n.name }] },
        ];
      }),
      { id: "pause-store", label: t("ids.pauseStore"), faults: [{ fault: "pause", node: "store", duration_us: 600_000 }], disabled: store?.status !== "up" },
    ];
  }

  // --- the decoder -------------------------------------------------------------------------
  const idInput = el("input");
  idInput.id = "ids-decode-input";
  idInput.size = 40;
  idInput.spellcheck = false;
  const layoutInput = el("input");
  layoutInput.id = "ids-layout";
  layoutInput.value = "41/5/5/12";
  layoutInput.size = 10;
  const epochInput = el("input");
  epochInput.id = "ids-epoch";
  epochInput.value = String(CHAPTER_EPOCH_MS);
  epochInput.size = 14;
  const [sonyLabel, sonyBox] = checkbox("ids-sonyflake", t("ids.sonyflake"), false);
  const decodeButton = el("button", "", t("ids.decode"));
  decodeButton.id = "ids-decode";
  const decoded = el("div");
  decoded.id = "ids-decoded";
  const form = el("div", "row");
  form.append(labelled(t("ids.idInput"), idInput), labelled(t("ids.layout"), layoutInput), labelled(t("ids.epoch"), epochInput), sonyLabel, decodeButton);
  show(decoder, el("h3", "", t("ids.decoder")), el("p", "muted", t("ids.decoderHelp")), form, decoded);

  function decodeNow(): void {
    const text = idInput.value.trim();
    if (!text) return show(decoded);
    let d: Decoded;
    try {
      d = loaded("ids").decode_id(text, layoutInput.value, sonyBox.checked, Number(epochInput.value)) as Decoded;
    } catch (e) {
      return show(decoded, el("p", "bad", String(e instanceof Error ? e.message : e)));
    }
    if (d.kind === "uuid") {
      const time = d.unix_ms === null ? t("ids.uuidNoTime", { version: d.version }) : t("ids.uuidTime", { time: utc(d.unix_ms) });
      return show(decoded, el("p", "mono", t("ids.uuid", { version: d.version, variant: d.variant })), el("p", d.unix_ms === null ? "bad" : "", time));
    }
    const strip = el("div", "ids-bits mono");
    strip.append(el("span", "ids-bit sign", d.binary[0]));
    for (const f of d.fields) {
      const from = 63 - f.shift - f.bits;
      const part = el("span", `ids-bit f-${f.name}`, d.binary.slice(from + 1, from + 1 + f.bits));
      part.title = `${t(`ids.f.${f.name}` as Key)}: ${t("ids.bits", { bits: f.bits })}`;
      strip.append(part);
    }
    const table = el("table", "compare mono");
    table.id = "ids-fields";
    for (const f of d.fields) {
      const row = el("tr");
      row.dataset.field = f.name;
      row.append(el("th", `f-${f.name}`, t(`ids.f.${f.name}` as Key)), el("td", "", t("ids.bits", { bits: f.bits })), el("td", "", String(f.value)));
      table.append(row);
    }
    const c = d.chapter;
    const same = c.unix_ms === d.parsed.unix_ms && c.worker === d.parsed.worker && c.datacenter === d.parsed.datacenter && c.sequence === d.parsed.sequence;
    const chapterNote = el("p", same ? "muted" : "bad", same
      ? t("ids.chapterSame")
      : t("ids.chapterReads", { time: utc(c.unix_ms), datacenter: c.datacenter, worker: c.worker, sequence: c.sequence }));
    chapterNote.id = "ids-chapter-reads";
    show(decoded, strip, table, el("p", "", t("ids.at", { time: utc(d.parsed.unix_ms) })), chapterNote);
  }
  decodeButton.addEventListener("click", decodeNow);
  idInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") decodeNow();
  });
  // A press on an ID in the stream decodes it. Taken on pointerdown on the stable container: while
  // the run plays the rows shift under the pointer, so a click (down and up on one row) may
  // never come.
  stream.addEventListener("pointerdown", (e) => {
    const row = (e.target as HTMLElement).closest<HTMLElement>("[data-id]");
    if (!row) return;
    idInput.value = row.dataset.id ?? "";
    if (!idInput.value.includes("-")) {
      sonyBox.checked = false;
      layoutInput.value = "41/5/5/12";
      epochInput.value = String(CHAPTER_EPOCH_MS);
    }
    decodeNow();
  });

  // --- the throughput race --------------------------------------------------------------------
  const raceButton = el("button", "", t("ids.raceGo"));
  raceButton.id = "ids-race-go";
  const raceStatus = el("span", "muted");
  raceStatus.id = "ids-race-status";
  raceStatus.setAttribute("aria-live", "polite");
  const raceTable = el("table", "compare mono ids-race");
  raceTable.id = "ids-race-table";
  const raceRow = el("div", "row");
  raceRow.append(raceButton, raceStatus);
  const raceScroll = el("div", "chart");
  raceScroll.append(raceTable);
  show(race, el("h3", "", t("ids.race")), el("p", "muted", t("ids.raceHelp", { s: LAP_MS / 1000 })), raceRow, raceScroll);
  let raceWorker: Worker | null = null;

  /** The laps as rows; bars on a logarithmic scale (Sonyflake's 25,600 a second and a segment's
   * tens of millions share it), a mark where the mode's ceiling is. */
  function drawRace(laps: Lap[]): void {
    const rate = (l: Lap) => (l.elapsed_ms ? (l.ids * 1000) / l.elapsed_ms : 0);
    const top = Math.max(...laps.map((l) => Math.max(rate(l), l.limit_per_second ?? 0)), 1e4);
    const scale = (v: number) => (v <= 1e3 ? 0 : (100 * Math.log10(v / 1e3)) / Math.log10(top / 1e3));
    const head = el("tr", "head");
    for (const k of ["mode", "rate", "limit", "order"] as const) head.append(el("th", "", t(`ids.r.${k}`)));
    const rows = laps.map((l) => {
      const tr = el("tr");
      tr.dataset.mode = l.mode;
      tr.dataset.rate = String(Math.round(rate(l)));
      const track = el("div", "ids-track ids-race-track");
      const fill = el("div", "ids-fill");
      fill.style.width = `${scale(rate(l))}%`;
      track.append(fill);
      if (l.limit_per_second !== null) {
        const mark = el("div", "ids-limit");
        mark.style.left = `${scale(l.limit_per_second)}%`;
        track.append(mark);
      }
      const mode = el("th");
      mode.append(el("div", "", t(`ids.rm.${l.mode}` as Key)), el("div", "muted", t("ids.bits", { bits: l.bits })));
      const rateCell = el("td");
      rateCell.append(el("div", "nowrap", t("ids.r.perSecond", { n: num(rate(l)) })), track);
      const limit = l.limit_per_second === null
        ? t("ids.r.none")
        : t("ids.r.ofLimit", { n: num(l.limit_per_second), pct: ((100 * rate(l)) / l.limit_per_second).toFixed(1) });
      const notes = [
        l.full_ticks ? t("ids.r.fullTicks", { n: num(l.full_ticks) }) : "",
        l.claims ? t("ids.r.claims", { n: num(l.claims) }) : "",
        l.version !== null ? t("ids.r.version", { v: l.version }) : "",
      ].filter(Boolean).join(" · ");
      const order = el("td");
      order.append(
        el("div", l.out_of_order ? "bad" : "", l.out_of_order ? t("ids.r.outOfOrder", { n: num(l.out_of_order), ids: num(l.ids) }) : t("ids.r.inOrder")),
        el("div", "muted", notes),
      );
      tr.append(mode, rateCell, el("td", "", limit), order);
      return tr;
    });
    show(raceTable, head, ...rows);
  }

  raceButton.addEventListener("click", () => {
    raceWorker?.terminate();
    const laps: Lap[] = [];
    raceButton.disabled = true;
    delete raceTable.dataset.done;
    show(raceTable);
    const worker = new Worker(new URL("../race.worker.ts", import.meta.url), { type: "module" });
    raceWorker = worker;
    const stop = () => {
      worker.terminate();
      raceButton.disabled = false;
    };
    worker.onmessage = (ev: MessageEvent<RaceMessage>) => {
      // A view left behind stops its race.
      if (!race.isConnected) return stop();
      const m = ev.data;
      if (m.kind === "running") raceStatus.textContent = t("ids.raceRunning", { mode: t(`ids.rm.${m.mode}` as Key), n: m.index + 1, total: RACE_MODES.length });
      else if (m.kind === "lap") {
        laps.push(m.lap);
        drawRace(laps);
      } else if (m.kind === "done") {
        raceStatus.textContent = t("ids.raceDone");
        raceTable.dataset.done = "1";
        stop();
      } else {
        show(raceTable, el("p", "bad", m.message));
        raceStatus.textContent = "";
        stop();
      }
    };
    worker.postMessage({ modes: RACE_MODES, budget_ms: LAP_MS, seed: Date.now() % 1_000_000 } satisfies RaceRequest);
  });

  // --- the run ------------------------------------------------------------------------------
  function bar(segment: Segment | null, label: string, fetching: boolean): HTMLElement {
    const box = el("div", "ids-buffer");
    const size = segment ? segment.end - segment.start : 0;
    const used = segment ? segment.next - segment.start - 1 : 0;
    const track = el("div", "ids-track");
    const fill = el("div", "ids-fill");
    fill.style.width = `${size ? Math.min(100, (100 * used) / size) : 0}%`;
    track.append(fill);
    const text = segment ? `${label}: ${segment.start + 1}–${segment.end}` : `${label}: ${fetching ? t("ids.fetching") : t("ids.noSpare")}`;
    box.append(el("div", "muted", text), track);
    return box;
  }

  function card(n: Snapshot["nodes"][number]): HTMLElement {
    const c = el("div", `ids-card panel ${n.status}`);
    c.dataset.node = n.name;
    c.dataset.key = n.name;
    c.append(el("strong", "", n.name));
    const s = n.state;
    if (!s || n.status === "crashed") {
      c.append(el("p", "bad", t("ids.down")));
      return c;
    }
    const lines: string[] = [`${t("ids.clock")} ${utc(UNIX_BASE_MS + Math.floor(n.clock / 1000)).slice(11)}`];
    if (s.worker !== undefined) lines.push(`${t("ids.worker")} ${s.worker}`);
    if (s.lease) lines.push(s.lease.lease === "held" ? `${t("ids.lease")} ✓` : t("ids.noLease"));
    const ahead = s.last_tick !== undefined && s.last_tick !== null ? s.last_tick - (UNIX_BASE_MS - CHAPTER_EPOCH_MS + Math.floor(n.clock / 1000)) : 0;
    if (ahead > 0) lines.push(t("ids.ahead", { ms: ahead }));
    lines.push(`${t("ids.minted")} ${s.minted} · ${t("ids.refused")} ${s.refused} · ${t("ids.queue")} ${s.queue}`);
    lines.push(`${t("ids.longest")} ${(s.longest_wait_us / 1000).toFixed(1)} ms`);
    for (const l of lines) c.append(el("div", "mono", l));
    const last = el("div", "mono ids-last", `${t("ids.lastId")} ${s.last_id ?? "—"}`);
    c.append(last);
    if (s.segment) {
      c.append(el("div", "muted", t("ids.step", { step: s.segment.step })));
      c.append(bar(s.segment.current, t("ids.current"), false), bar(s.segment.spare, t("ids.spare"), s.segment.fetch.fetch !== "idle"));
    }
    return c;
  }

  function draw(lab: Lab, snap: Snapshot): void {
    show(cards, ...snap.nodes.filter((n) => n.name.startsWith("gen-")).map(card));
    const view = lab.view() as IdsView;
    const list = el("ol", "ids-stream mono");
    for (const [node, id, at, again] of [...view.recent].reverse()) {
      const li = el("li", again ? "dup" : "");
      li.dataset.id = id;
      li.dataset.key = `${node}:${id}:${at}`;
      li.append(el("span", "muted", `${(at / 1e6).toFixed(3)} s ${node} `), el("span", "", id));
      if (again) li.append(el("span", "bad", ` ${t("ids.dup")}`));
      list.append(li);
    }
    show(stream, el("h3", "", t("ids.stream")), view.recent.length ? list : el("p", "muted", t("ids.streamEmpty")));
    const r = view.report;
    const rows: [string, string][] = [
      ["minted", String(r.minted)],
      ["duplicates", String(r.duplicates)],
      ["out_of_order", String(r.out_of_order)],
      ["refused", String(r.refused)],
      ["outage_ms", `${r.outage_ms} ms`],
      ["longest_wait_ms", `${r.longest_wait_ms.toFixed(1)} ms`],
      ["claims", String(r.claims)],
    ];
    show(measured, ...rows.map(([k, v]) => {
      const tr = el("tr");
      tr.dataset.metric = k;
      tr.append(el("th", "", t(`ids.m.${k}` as Key)), el("td", "", v));
      return tr;
    }));
  }

  sync();
  frame.refresh();
  return frame;
}
