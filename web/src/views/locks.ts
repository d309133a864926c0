// The distributed-lock view (46.7.1): clients, the store(s) or the coordination service, and the
// protected resource; the learner injects every fault (GC pauses, crashes, clock jumps, cut
// links) and watches hold intervals, tokens, accepted and rejected writes on a timeline, with the
// checkers' verdicts and the violating interval highlighted.

import type { Lab } from "../pkg/distlab_wasm.js";
import { SimControls, type KeyHandlers } from "../controls";
import { t } from "../i18n";
import { LockHistory, drawTimeline, verdictLine, type Verdict } from "./lockTimeline";
import { el } from "../dom";

type Kind = "single" | "zk" | "redlock";
interface NodeSnap { id: number; name: string; status: "up" | "paused" | "crashed"; clock: number; state: Record<string, unknown> | null }
interface Snapshot { time: number; nodes: NodeSnap[]; cuts: [number, number][] }

const LEASE_MS = 2000;
const SCENARIO: Record<Kind, string> = { single: "lock", zk: "zk-lock", redlock: "redlock" };

/** The store's lock key: who holds it and until when, on the store's own clock. */
function storeDetail(state: Record<string, unknown>, clockUs: number): string {
  const keys = (state.keys ?? {}) as Record<string, { value: { type: string; value: unknown }; expires_at_ms: number | null }>;
  const lock = keys["{lock}"];
  const holder = lock ? `${t("locks.heldBy")} ${String(lock.value.value)}${lock.expires_at_ms !== null ? ` · PTTL ${Math.max(0, lock.expires_at_ms - Math.floor(clockUs / 1000))} ms` : ""}` : t("locks.free");
  return `${holder} · ${t("locks.clock")} ${(clockUs / 1e6).toFixed(3)} s`;
}

export function mountLocks(root: HTMLElement, params: URLSearchParams): KeyHandlers {
  let kind: Kind = (["single", "zk", "redlock"] as Kind[]).find((k) => k === params.get("kind")) ?? "single";
  let watchdog = params.get("watchdog") !== "0";
  let fencing = params.get("fencing") !== "0";
  let gcMs = Math.max(10, Number(params.get("gc") ?? 2 * LEASE_MS)) || 2 * LEASE_MS;
  const history = new LockHistory();

  root.innerHTML = "";
  root.append(el("h2", "", t("locks.title")), el("p", "intro", t("locks.intro")), el("p", "wrong", t("locks.wrong")));
  const options = el("div", "row panel");
  const kindSelect = el("select");
  kindSelect.id = "lock-kind";
  for (const k of ["single", "zk", "redlock"] as Kind[]) {
    const o = el("option", "", t(`locks.kind.${k}`));
    o.value = k;
    kindSelect.append(o);
  }
  kindSelect.value = kind;
  const checkbox = (id: string, label: string, value: boolean): [HTMLLabelElement, HTMLInputElement] => {
    const box = el("input");
    box.type = "checkbox";
    box.id = id;
    box.checked = value;
    const l = el("label");
    l.append(box, ` ${label}`);
    return [l, box];
  };
  const [watchdogLabel, watchdogBox] = checkbox("watchdog", t("locks.watchdog"), watchdog);
  const [fencingLabel, fencingBox] = checkbox("fencing", t("locks.fencing"), fencing);
  const gcInput = el("input");
  gcInput.type = "number";
  gcInput.id = "gc-ms";
  gcInput.min = "10";
  gcInput.step = "100";
  gcInput.value = String(gcMs);
  gcInput.style.width = "6rem";
  const gcLabel = el("label", "", `${t("locks.gcLength")} `);
  gcLabel.append(gcInput);
  const kindLabel = el("label", "", `${t("locks.kind")} `);
  kindLabel.append(kindSelect);
  const note = el("span", "muted");
  options.append(kindLabel, watchdogLabel, fencingLabel, gcLabel, note);

  const controlsRoot = el("div");
  const cards = el("div", "cards");
  const chart = el("div", "panel chart");
  chart.id = "lock-timeline";
  const legend = el("p", "muted", t("locks.legend"));
  const status = el("div", "panel");
  status.id = "lock-verdicts";
  const timelineRoot = el("div");
  root.append(options, controlsRoot, cards, chart, legend, status, timelineRoot);

  /** What this kind allows: Redlock has neither fencing nor watchdog, ZooKeeper's session is its lease. */
  function effective(): { watchdog: boolean; fencing: boolean } {
    return { watchdog: watchdog && kind === "single", fencing: fencing && kind !== "redlock" };
  }

  function syncOptions(): void {
    const e = effective();
    watchdogBox.disabled = kind !== "single";
    fencingBox.disabled = kind === "redlock";
    watchdogBox.checked = e.watchdog;
    fencingBox.checked = e.fencing;
    note.textContent = kind === "redlock" ? t("locks.noteRedlock") : kind === "zk" ? t("locks.noteZk") : "";
  }

  const controls = new SimControls(controlsRoot, timelineRoot, params, {
    view: "locks",
    get scenario() {
      return SCENARIO[kind];
    },
    config: () => ({
      ...effective(),
      clients: 3,
      lease_ms: LEASE_MS,
      duration_ms: 30000,
      loss_percent: 0,
      pauses: false,
      clock_jumps: false,
      partitions: false,
      crashes: false,
      store_restarts: false,
    }),
    params: () => {
      const p = new URLSearchParams({ kind, gc: String(gcMs) });
      if (!watchdog) p.set("watchdog", "0");
      if (!fencing) p.set("fencing", "0");
      return p;
    },
    render: (lab) => render(lab),
  });
  const rebuild = () => {
    syncOptions();
    controls.reset();
    controls.save();
  };
  kindSelect.addEventListener("change", () => {
    kind = kindSelect.value as Kind;
    rebuild();
  });
  watchdogBox.addEventListener("change", () => {
    watchdog = watchdogBox.checked;
    rebuild();
  });
  fencingBox.addEventListener("change", () => {
    fencing = fencingBox.checked;
    rebuild();
  });
  gcInput.addEventListener("change", () => {
    gcMs = Math.max(10, Math.floor(Number(gcInput.value))) || 2 * LEASE_MS;
    gcInput.value = String(gcMs);
    controls.save();
  });

  const act = (label: string, fault: Record<string, unknown>, id: string) => controls.faultButton(label, [fault], status, id);

  function render(lab: Lab): void {
    const snap = lab.snapshot() as Snapshot;
    history.update(lab, snap.nodes);
    const clients = snap.nodes.filter((n) => /^c\d+$/.test(n.name));
    const servers = snap.nodes.filter((n) => n.name.startsWith("redis") || n.name === "zk");
    const cut = (a: number, b: number) => snap.cuts.some(([f, to]) => f === a && to === b);
    cards.innerHTML = "";
    for (const c of clients) {
      const s = c.state ?? {};
      const card = el("div", `card ${c.status}`);
      card.dataset.node = c.name;
      const token = s.token === null || s.token === undefined ? "" : ` · ${t("locks.token")} ${String(s.token)}`;
      card.append(
        el("div", "muted", `${t("locks.client")} ${c.name} · ${t(`counter.status.${c.status}`)}`),
        el("div", "value", c.state ? t(`locks.phase.${String(s.phase)}` as "locks.phase.idle") : "–"),
        el("div", "mono muted", s.grant ? `#${String(s.grant)}${token}` : ""),
      );
      const actions = el("div", "row");
      const isolated = servers.length > 0 && servers.every((sv) => cut(c.id, sv.id));
      const links = servers.flatMap((sv) => [
        { from: c.name, to: sv.name },
        { from: sv.name, to: c.name },
      ]);
      actions.append(
        act(t("locks.pause", { ms: gcMs }), { fault: "pause", node: c.name, duration_us: gcMs * 1000 }, `pause-${c.name}`),
        c.status === "crashed" ? act(t("counter.restart"), { fault: "restart", node: c.name }, `restart-${c.name}`) : act(t("counter.crash"), { fault: "crash", node: c.name }, `crash-${c.name}`),
      );
      const faults = links.map((l) => ({ fault: isolated ? "repair" : "cut", ...l }));
      actions.append(controls.faultButton(isolated ? t("locks.reconnect") : t("locks.cut"), faults, status, `${isolated ? "reconnect" : "cut"}-${c.name}`));
      card.append(actions);
      cards.append(card);
    }
    for (const sv of servers) {
      const s = sv.state ?? {};
      const card = el("div", `card server ${sv.status}`);
      card.dataset.node = sv.name;
      const detail = sv.name === "zk" ? `${t("locks.sessions")} ${String(s.sessions ?? 0)} · ${t("locks.znodes")} ${JSON.stringify(s.nodes ?? [])}` : storeDetail(s, sv.clock);
      card.append(el("div", "muted", `${sv.name === "zk" ? t("locks.service") : t("locks.store")} ${sv.name} · ${t(`counter.status.${sv.status}`)}`), el("div", "mono muted", detail));
      const actions = el("div", "row");
      if (sv.name !== "zk") actions.append(act(t("locks.jump", { ms: LEASE_MS }), { fault: "clock_jump", node: sv.name, delta_us: LEASE_MS * 1000 }, `jump-${sv.name}`));
      actions.append(sv.status === "crashed" ? act(t("counter.restart"), { fault: "restart", node: sv.name }, `restart-${sv.name}`) : act(t("counter.crash"), { fault: "crash", node: sv.name }, `crash-${sv.name}`));
      card.append(actions);
      cards.append(card);
    }
    const resource = snap.nodes.find((n) => n.name === "resource");
    if (resource) {
      const s = resource.state ?? {};
      const card = el("div", "card");
      card.dataset.node = "resource";
      card.append(
        el("div", "muted", t("locks.resource")),
        el("div", "mono", `${t("locks.accepted")} ${String(s.accepted ?? 0)} · ${t("locks.rejected")} ${String(s.rejected ?? 0)}`),
        el("div", "mono muted", `${t("locks.highest")} ${String(s.highest_token ?? "–")}`),
      );
      cards.append(card);
    }
    const verdicts = lab.verdicts() as Verdict[];
    chart.innerHTML = "";
    chart.append(drawTimeline(history, clients.map((c) => c.name), snap.time, verdicts));
    status.innerHTML = "";
    for (const v of verdicts) status.append(verdictLine(v));
  }

  syncOptions();
  controls.refresh();
  return controls;
}
