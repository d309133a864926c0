// The distributed-lock view (46.7.1): clients, the store(s) or the coordination service, and the
// protected resource; the learner injects every fault (GC pauses, crashes, clock jumps, cut
// links) and watches hold intervals, tokens, accepted and rejected writes on a timeline, with the
// checkers' verdicts and the violating interval highlighted.

import type { Lab } from "../modules";
import { mountScenario, type FaultButton, type KeyHandlers } from "../frame";
import type { Snapshot as World, Verdict } from "../engine";
import { t } from "../i18n";
import { drawTimeline, lockView } from "./lockTimeline";
import { el, show } from "../dom";

type Kind = "single" | "zk" | "redlock";
type Snapshot = World<Record<string, unknown>>;

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

  const cards = el("div", "cards");
  const chart = el("div", "panel chart");
  chart.id = "lock-timeline";
  const legend = el("p", "muted", t("locks.legend"));
  const parts = { controls: el("div"), faults: el("div"), verdicts: el("div"), timeline: el("div") };
  parts.verdicts.id = "lock-verdicts";
  root.append(options, parts.controls, cards, parts.faults, chart, legend, parts.verdicts, parts.timeline);

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

  const controls = mountScenario(parts, params, {
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
    draw: (lab, snap) => render(lab, snap as Snapshot),
    faults: (snap) => faults(snap as Snapshot),
  });
  const rebuild = () => {
    syncOptions();
    controls.reset();
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

  const clientsOf = (snap: Snapshot) => snap.nodes.filter((n) => /^c\d+$/.test(n.name));
  const serversOf = (snap: Snapshot) => snap.nodes.filter((n) => n.name.startsWith("redis") || n.name === "zk");

  /** Per client: pause, crash or restart, cut or reconnect; per store: a clock jump, crash or restart. */
  function faults(snap: Snapshot): FaultButton[] {
    const servers = serversOf(snap);
    const cut = (a: number, b: number) => snap.cuts.some(([f, to]) => f === a && to === b);
    const upDown = (name: string, crashed: boolean): FaultButton => crashed
      ? { id: `restart-${name}`, label: t("election.restart", { node: name }), faults: [{ fault: "restart", node: name }] }
      : { id: `crash-${name}`, label: t("election.crash", { node: name }), faults: [{ fault: "crash", node: name }] };
    const buttons: FaultButton[] = [];
    for (const c of clientsOf(snap)) {
      const isolated = servers.length > 0 && servers.every((sv) => cut(c.id, sv.id));
      const links = servers.flatMap((sv) => [{ from: c.name, to: sv.name }, { from: sv.name, to: c.name }]);
      buttons.push(
        { id: `pause-${c.name}`, label: `${c.name}: ${t("locks.pause", { ms: gcMs })}`, faults: [{ fault: "pause", node: c.name, duration_us: gcMs * 1000 }], disabled: c.status !== "up" },
        upDown(c.name, c.status === "crashed"),
        { id: `${isolated ? "reconnect" : "cut"}-${c.name}`, label: `${c.name}: ${isolated ? t("locks.reconnect") : t("locks.cut")}`, faults: links.map((l) => ({ fault: isolated ? "repair" : "cut", ...l })) },
      );
    }
    for (const sv of servers) {
      if (sv.name !== "zk") buttons.push({ id: `jump-${sv.name}`, label: `${sv.name}: ${t("locks.jump", { ms: LEASE_MS })}`, faults: [{ fault: "clock_jump", node: sv.name, delta_us: LEASE_MS * 1000 }] });
      buttons.push(upDown(sv.name, sv.status === "crashed"));
    }
    return buttons;
  }

  function render(lab: Lab, snap: Snapshot): void {
    const clients = clientsOf(snap);
    const servers = serversOf(snap);
    const nextCards = cards.cloneNode(false) as HTMLElement;
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
      nextCards.append(card);
    }
    for (const sv of servers) {
      const s = sv.state ?? {};
      const card = el("div", `card server ${sv.status}`);
      card.dataset.node = sv.name;
      const detail = sv.name === "zk" ? `${t("locks.sessions")} ${String(s.sessions ?? 0)} · ${t("locks.znodes")} ${JSON.stringify(s.nodes ?? [])}` : storeDetail(s, sv.clock);
      card.append(el("div", "muted", `${sv.name === "zk" ? t("locks.service") : t("locks.store")} ${sv.name} · ${t(`counter.status.${sv.status}`)}`), el("div", "mono muted", detail));
      nextCards.append(card);
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
      nextCards.append(card);
    }
    show(cards, ...nextCards.childNodes);
    const verdicts = lab.verdicts() as Verdict[];
    show(chart, drawTimeline(lockView(lab), clients.map((c) => c.name), snap.time, verdicts));
  }

  syncOptions();
  controls.refresh();
  return controls;
}
