// The distributed-transactions view (46.7.3): one order placed every 200 ms over the inventory,
// payment and shipping services under the protocol chosen (2PC, TCC, an orchestrated or a
// choreographed saga, or the transactional outbox). The grid shows each order's state at each
// actor; the swimlanes one order's messages; the event list what happened to it. The learner fails
// a chosen order's step, or crashes any actor at any moment by clicking its lane (or an event):
// the run is replayed to that moment with the faults injected before it, the crash goes in there,
// and the share link replays it all. Under 2PC the blocked participants are listed with their
// in-doubt clocks beside a saga twin of the same run, which compensates instead of waiting.

import { catalog, type Lab } from "../modules";
import { mountScenario, type FaultButton, type KeyHandlers } from "../frame";
import { isKey, lang, t } from "../i18n";
import { el, labelled, select, show } from "../dom";
import { TxnHistory, enteredAt, isOpen, type FaultMark, type Item, type OrderLog } from "./txnHistory";
import { drawLanes, laneAt, nodeLabel, stateLabel, type InFlight } from "./txnLanes";
import { drawGrid } from "./txnGrid";
import { SagaTwin, blockedPanel, inDoubt, twinPanel } from "./txnBlocking";

interface NodeSnap { id: number; name: string; status: "up" | "paused" | "crashed"; state: Record<string, unknown> | null }
interface Snapshot { time: number; nodes: NodeSnap[]; in_flight: InFlight[] }

/** The protocols this view knows, in the order offered; only those in the engine's catalogue appear. */
const PROTOCOLS = ["2pc", "tcc", "saga", "saga-choreo", "outbox"];
/** A dozen orders fit the grid; stock for ten, so the last two are refused with nobody's help. */
const ORDERS = 12;
/** One order every half second: the run lasts about six seconds at 1×, time enough to crash the
 * coordinator after an order's votes and watch the run finish. */
const INTERVAL_MS = 500;
const STOCK = 10;
/** The steps `fail_step` counts (1, 2, 3). */
const STEPS = ["inventory", "payment", "shipping"];
const LOSSES = [0, 10, 20];
/** The outbox runs on a lossy link unless told otherwise: there the chapter's dual write loses a
 * message on the default seed, and the outbox (whose relay retries until acknowledged) does not. */
const defaultLoss = (protocol: string) => (protocol === "outbox" ? 10 : 0);
/** Lanes top to bottom: whoever drives the order first, then the steps in order. */
const LANE_ORDER = ["coordinator", "orchestrator", "orders", ...STEPS];

/** A payload's fields other than its type and its order, as `name=value`: a field the view names
 * in words is shown so, and a duration in µs in milliseconds. */
function fields(payload: Record<string, unknown>): string {
  return Object.entries(payload)
    .filter(([k]) => !["type", "tx", "order", "id"].includes(k))
    .map(([k, v]) => {
      const name = isKey(`txn.field.${k}`) ? t(`txn.field.${k}` as "txn.field.lock") : k;
      const value = k.endsWith("_us") && typeof v === "number" ? `${v / 1000} ms` : typeof v === "object" ? JSON.stringify(v) : String(v);
      return `${name}=${value}`;
    })
    .join(" ");
}

/** A line of the order's event list: who, what (the engine's own type and fields), and for an
 * observation the state it leads to, unless its name already says so. */
function describeItem(i: Item, log: OrderLog): string {
  const what = [i.type, fields(i.payload)].filter(Boolean).join(" ");
  const route = `${nodeLabel(i.node)} → ${nodeLabel(i.to ?? "")}`;
  if (i.kind === "send") return `${route}: ${what}`;
  if (i.kind === "drop") return `✕ ${t("txn.lost")}: ${route}: ${what}`;
  const state = enteredAt(log, i.node, i.time);
  const label = state ? stateLabel(state) : i.type;
  return `${nodeLabel(i.node)}: ${what}${label !== i.type ? ` → ${label}` : ""}`;
}

/** An actor's public state as `field value` pairs, the fields named in the current language. */
function describeState(state: Record<string, unknown> | null): string {
  const pairs = Object.entries(state ?? {}).filter(([k]) => k !== "service");
  const value = (v: unknown) => (v === null ? "–" : Array.isArray(v) ? (v.length ? v.map((o) => `#${String(o)}`).join(", ") : "–") : String(v));
  return pairs.map(([k, v]) => `${isKey(`txn.field.${k}`) ? t(`txn.field.${k}` as "txn.field.lock") : k} ${value(v)}`).join(" · ") || "–";
}

/** The engine's summary as a table, the network's counters folded into one row. */
function summaryTable(summary: Record<string, unknown>): HTMLTableElement {
  const table = el("table", "compare mono");
  table.id = "txn-summary";
  for (const [k, v] of Object.entries(summary)) {
    const row = el("tr");
    row.dataset.metric = k;
    const key = `txn.sum.${k}`;
    if (k === "net") {
      const net = v as Record<string, number>;
      const lost = net.dropped_loss + net.dropped_node_down + net.dropped_partition;
      row.append(el("td", "", t("txn.sum.net")), el("td", "", t("txn.netValue", { sent: net.sent, lost, duplicated: net.duplicated })));
    } else {
      row.append(el("td", "", isKey(key) ? t(key) : k), el("td", "", String(v)));
    }
    table.append(row);
  }
  return table;
}

export function mountTransactions(root: HTMLElement, params: URLSearchParams): KeyHandlers {
  const known = new Set(catalog().map((s) => s.name));
  const protocols = PROTOCOLS.filter((p) => known.has(p));
  let protocol = protocols.find((p) => p === params.get("protocol")) ?? protocols[0];
  let failOrder = Math.min(ORDERS, Math.max(0, Math.floor(Number(params.get("fail") ?? 0)) || 0));
  let failStep = Math.min(3, Math.max(1, Math.floor(Number(params.get("step") ?? 3)) || 3));
  let loss = params.has("loss") && LOSSES.includes(Number(params.get("loss"))) ? Number(params.get("loss")) : defaultLoss(protocol);
  let dual = params.get("dual") === "1";
  /** The order the lanes show; 0 follows the latest. */
  let chosen = Math.max(0, Math.floor(Number(params.get("order") ?? 0)) || 0);
  const history = new TxnHistory();
  const twin = new SagaTwin();

  root.innerHTML = "";
  root.append(el("h2", "", t("txn.title")), el("p", "intro", t("txn.intro")), el("p", "wrong", t("txn.wrong")));
  const protocolSelect = select("txn-protocol", protocols.map((p) => [p, t(`txn.protocol.${p}` as "txn.protocol.2pc")]), protocol);
  const failInput = el("input");
  failInput.type = "number";
  failInput.id = "txn-fail-order";
  failInput.min = "0";
  failInput.max = String(ORDERS);
  failInput.value = String(failOrder);
  failInput.style.width = "4rem";
  const stepSelect = select("txn-fail-step", STEPS.map((s, i) => [String(i + 1), `${i + 1}. ${nodeLabel(s)}`]), String(failStep));
  const lossSelect = select("txn-loss", LOSSES.map((l) => [String(l), `${l}%`]), String(loss));
  const dualBox = el("input");
  dualBox.type = "checkbox";
  dualBox.id = "txn-dual";
  dualBox.checked = dual;
  const dualLabel = el("label");
  dualLabel.append(dualBox, ` ${t("txn.dual")}`);
  const failLabel = labelled(t("txn.failOrder"), failInput);
  const stepLabel = labelled(t("txn.failStep"), stepSelect);
  const lossLabel = labelled(t("txn.loss"), lossSelect);
  const note = el("span", "muted");
  note.id = "txn-note";
  const options = el("div", "row panel");
  options.append(labelled(t("txn.protocol"), protocolSelect), failLabel, stepLabel, lossLabel, dualLabel, note);

  const parts = { controls: el("div"), faults: el("div"), verdicts: el("div"), timeline: el("div") };
  parts.verdicts.id = "txn-verdict-list";
  const cards = el("div", "cards");
  const gridBox = el("div", "panel");
  gridBox.id = "txn-grid-box";
  const status = el("div", "panel");
  status.id = "txn-verdicts";
  /** 2PC only: the blocked participants beside the saga twin. */
  const blockedBox = el("div", "txn-versus");
  const stage = el("div", "txn-stage");
  stage.append(gridBox, status);
  status.append(parts.verdicts);
  const summaryBox = el("div");
  status.append(summaryBox);
  const orderSelect = el("select");
  orderSelect.id = "txn-order";
  const lanesBox = el("div", "panel chart");
  lanesBox.id = "txn-lanes";
  const eventsBox = el("div", "txn-events mono");
  eventsBox.id = "txn-events";
  const lanesHead = el("div", "row");
  lanesHead.append(el("h3", "", t("txn.lanesTitle")), labelled(t("txn.order"), orderSelect), el("span", "muted", t("txn.clickHint")));
  root.append(options, parts.controls, cards, parts.faults, stage, blockedBox, lanesHead, lanesBox, el("p", "muted", t("txn.legend")), el("h3", "", t("txn.eventsTitle")), eventsBox, parts.timeline);

  /** The scenario's configuration: a dozen orders, and the options the protocol has. */
  function config(): Record<string, unknown> {
    const c: Record<string, unknown> = { orders: ORDERS, interval_ms: INTERVAL_MS };
    if (protocol === "outbox") c.dual_write = dual;
    else c.stock = STOCK;
    if (protocol !== "2pc") c.loss_percent = loss;
    if (failOrder > 0 && protocol !== "outbox") Object.assign(c, { fail_order: failOrder, fail_step: failStep });
    return c;
  }

  const controls = mountScenario(parts, params, {
    view: "transactions",
    get scenario() {
      return protocol;
    },
    config,
    params: () => {
      const p = new URLSearchParams({ protocol });
      if (failOrder > 0 && protocol !== "outbox") {
        p.set("fail", String(failOrder));
        p.set("step", String(failStep));
      }
      if (loss !== defaultLoss(protocol) && protocol !== "2pc") p.set("loss", String(loss));
      if (dual && protocol === "outbox") p.set("dual", "1");
      if (chosen) p.set("order", String(chosen));
      return p;
    },
    draw: (lab, snap) => render(lab, snap as Snapshot),
    faults: (snap): FaultButton[] => lanesOf(snap as Snapshot).map((name) => {
      const crashed = snap.nodes.find((n) => n.name === name)?.status === "crashed";
      const action = crashed ? "restart" : "crash";
      return { id: `${action}-${name}`, label: t(crashed ? "election.restart" : "election.crash", { node: nodeLabel(name) }), faults: [{ fault: action, node: name }] };
    }),
  });

  function syncOptions(): void {
    const outbox = protocol === "outbox";
    failLabel.hidden = outbox;
    stepLabel.hidden = outbox;
    lossLabel.hidden = protocol === "2pc";
    dualLabel.hidden = !outbox;
    note.textContent = outbox ? t("txn.noteOutbox") : protocol === "2pc" ? t("txn.note2pc") : "";
  }
  const rebuild = () => {
    syncOptions();
    controls.reset();
  };
  protocolSelect.addEventListener("change", () => {
    protocol = protocolSelect.value;
    loss = defaultLoss(protocol);
    lossSelect.value = String(loss);
    chosen = 0;
    rebuild();
  });
  failInput.addEventListener("change", () => {
    failOrder = Math.min(ORDERS, Math.max(0, Math.floor(Number(failInput.value)) || 0));
    failInput.value = String(failOrder);
    if (failOrder > 0) chosen = failOrder;
    rebuild();
  });
  stepSelect.addEventListener("change", () => {
    failStep = Number(stepSelect.value);
    rebuild();
  });
  lossSelect.addEventListener("change", () => {
    loss = Number(lossSelect.value);
    rebuild();
  });
  dualBox.addEventListener("change", () => {
    dual = dualBox.checked;
    rebuild();
  });
  // Clicks are taken on the stable containers: what a playing run redraws is updated in place
  // (dom.show), and one listener each keeps working whatever the frame drew inside. A click, not a
  // press: a touch that starts a scroll crashes nothing, and the ✕ buttons answer the keyboard.
  gridBox.addEventListener("click", (ev) => {
    const row = (ev.target as Element).closest<HTMLElement>("tr[data-order]");
    if (row) choose(Number(row.dataset.order));
  });
  lanesBox.addEventListener("click", (ev) => {
    const drawing = lanesBox.querySelector("svg");
    const hit = drawing && laneAt(drawing, ev.clientX, ev.clientY);
    if (hit) crashAt(hit.node, history.indexAt(hit.timeUs));
  });
  eventsBox.addEventListener("click", (ev) => {
    const line = (ev.target as Element).closest<HTMLElement>("button.crash-here")?.closest<HTMLElement>(".txn-event");
    if (line?.dataset.node && line.dataset.index) crashAt(line.dataset.node, Number(line.dataset.index));
  });
  const choose = (order: number) => {
    chosen = order;
    controls.save();
    controls.refresh();
  };
  orderSelect.addEventListener("change", () => choose(Number(orderSelect.value)));

  /**
   * Crashes `node` right after trace record `index` — or restarts it, if it was down then. The run
   * is rebuilt up to that record with the faults injected before it (later ones belonged to a
   * future that no longer happens), through the controls, so the share link records it all.
   */
  function crashAt(node: string, index: number): void {
    controls.seek(index);
    const down = (controls.lab.snapshot() as Snapshot).nodes.some((n) => n.name === node && n.status === "crashed");
    controls.inject([{ fault: down ? "restart" : "crash", node }]);
  }

  function renderCards(snap: Snapshot, lanes: string[]): void {
    show(cards, ...lanes.map((name) => {
      const n = snap.nodes.find((x) => x.name === name)!;
      const card = el("div", `card txn-card ${n.status}`);
      card.dataset.node = name;
      card.append(el("div", "muted", `${nodeLabel(name)} · ${t(`counter.status.${n.status}`)}`), el("div", "mono muted", describeState(n.state)));
      return card;
    }));
  }

  /** The orders the select offers: rebuilt only when they change, so an open list stays open while the run plays. */
  let offered = "";
  function renderOrderSelect(logs: OrderLog[]): void {
    const key = `${lang()} ${logs.map((l) => l.order).join()}`;
    if (key === offered) {
      orderSelect.value = String(history.orders.has(chosen) ? chosen : 0);
      return;
    }
    offered = key;
    orderSelect.innerHTML = "";
    const follow = el("option", "", t("txn.followLatest"));
    follow.value = "0";
    orderSelect.append(follow);
    for (const log of logs) {
      const o = el("option", "", `#${log.order}`);
      o.value = String(log.order);
      orderSelect.append(o);
    }
    orderSelect.value = String(history.orders.has(chosen) ? chosen : 0);
  }

  /** A line of the event list for `i`, with a button crashing its actor right after it. */
  function itemLine(i: Item, log: OrderLog): HTMLDivElement {
    const line = el("div", "txn-event");
    Object.assign(line.dataset, { index: String(i.index), kind: i.kind, node: i.node, type: i.type });
    const crash = el("button", "crash-here", "✕");
    crash.title = t("txn.crashHere", { node: nodeLabel(i.node) });
    line.append(crash, ` ${(i.time / 1e6).toFixed(6)} s  ${describeItem(i, log)}`);
    return line;
  }

  function faultLine(f: FaultMark): HTMLDivElement {
    const fault = isKey(`common.fault.${f.fault}`) ? t(`common.fault.${f.fault}` as "common.fault.crash") : f.fault;
    const line = el("div", "txn-event fault", `${(f.time / 1e6).toFixed(6)} s  ${fault} ${nodeLabel(f.node)}`);
    Object.assign(line.dataset, { index: String(f.index), kind: "fault", node: f.node, type: f.fault });
    return line;
  }

  /** The order's own events, and the faults that fell within its time, in trace order. */
  function renderEvents(log: OrderLog | undefined): void {
    if (!log) return show(eventsBox);
    const open = isOpen(log);
    const faults = history.faults.filter((f) => f.index >= log.items[0].index && (open || f.time <= log.last));
    const lines = [...log.items.map((i) => itemLine(i, log)), ...faults.map(faultLine)];
    show(eventsBox, ...lines.sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index)));
  }

  function renderSummary(summary: Record<string, unknown>): void {
    summaryBox.innerHTML = "";
    summaryBox.append(el("p", "muted", t("txn.soFar")), summaryTable(summary));
  }

  function renderBlocking(lab: Lab, snap: Snapshot, summary: Record<string, unknown>, logs: OrderLog[], shown: number): void {
    blockedBox.innerHTML = "";
    if (protocol !== "2pc") return;
    const blocked = inDoubt(logs);
    blockedBox.append(blockedPanel(blocked, snap.nodes, snap.time, summary));
    const orders = blocked.length ? [...new Set(blocked.map((b) => b.order))] : shown ? [shown] : [];
    const sagaConfig = { orders: ORDERS, interval_ms: INTERVAL_MS, stock: STOCK, ...(failOrder > 0 ? { fail_order: failOrder, fail_step: failStep } : {}) };
    const sagaLab = twin.update(lab.seed(), sagaConfig, history.faults, snap.time);
    blockedBox.append(twinPanel(twin, sagaLab, orders));
  }

  function lanesOf(snap: Snapshot): string[] {
    const names = snap.nodes.map((n) => n.name);
    return [...LANE_ORDER.filter((n) => names.includes(n)), ...names.filter((n) => !LANE_ORDER.includes(n))];
  }

  function render(lab: Lab, snap: Snapshot): void {
    history.update(lab, snap.nodes);
    const lanes = lanesOf(snap);
    const logs = [...history.orders.values()].sort((a, b) => a.order - b.order);
    const shown = history.orders.has(chosen) ? chosen : history.latest();
    const log = history.orders.get(shown);
    renderCards(snap, lanes);
    show(gridBox, el("h3", "", t("txn.gridTitle")), logs.length ? drawGrid(logs, lanes, shown) : el("p", "muted", t("txn.noOrders")));
    renderOrderSelect(logs);
    show(lanesBox, log ? drawLanes(history, log, lanes, snap.time, snap.in_flight) : el("p", "muted", t("txn.noOrders")));
    renderEvents(log);
    const summary = lab.summary() as Record<string, unknown>;
    renderSummary(summary);
    renderBlocking(lab, snap, summary, logs, shown);
  }

  syncOptions();
  controls.refresh();
  return controls;
}

