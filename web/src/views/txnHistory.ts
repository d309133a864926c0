// Each order of a transaction run (46.7.3): every message of the order with when it was sent and
// delivered or lost, its observations (the trace, read incrementally, as the event list reads
// it), and the state of each step at each actor over time. The states are the engine's: the
// judge's view (txn/view.rs) maps each typed observation to the state it enters; the page adds
// only what a message says before anyone observes anything (a request sent makes its receiver's
// step pending, an undo sent makes it compensating).

import type { Lab } from "../modules";
import type { TraceRecord } from "../engine";

/** The state of one order at one actor. */
export type CellState =
  | "pending" | "running"
  | "executed" | "prepared" | "tried" | "compensating"
  | "done" | "committed" | "confirmed" | "applied" | "completed"
  | "aborted" | "cancelled" | "empty_rollback" | "compensated" | "rolled_back"
  | "refused" | "failed" | "suspended" | "stuck";

/** States an order can still leave without a message from someone else: its lanes run to now. */
const OPEN: ReadonlySet<CellState> = new Set(["pending", "running", "executed", "prepared", "tried", "compensating"]);

export interface Step { time: number; state: CellState }

/** One state change from the judge's view (engine/src/txn/view.rs). */
interface EngineStep { order: number; node: string; time_us: number; state: CellState }

/** A message that changes its receiver's step before any observation: a request or an undo. */
interface MessageMark { order: number; node: string; time: number; state: "pending" | "compensating" }
export interface Delivery { index: number; time: number }
export interface Loss { index: number; time: number; reason: string }

export interface Message {
  id: number;
  from: string;
  to: string;
  type: string;
  payload: Record<string, unknown>;
  index: number;
  sent: number;
  deliveries: Delivery[];
  losses: Loss[];
}

/** A line of an order's event list: a send, a loss or an observation. */
export interface Item { index: number; time: number; kind: "send" | "drop" | "observe"; node: string; to?: string; type: string; payload: Record<string, unknown> }

export interface OrderLog {
  order: number;
  first: number;
  last: number;
  items: Item[];
  messages: Message[];
  /** Actor name → the states it went through for this order. */
  cells: Map<string, Step[]>;
}

export interface FaultMark { index: number; time: number; node: string; fault: string; spec: Record<string, unknown> }

/** The order a message or an observation is about: `tx` in 2PC, TCC and sagas, `order`/`id` in the outbox. */
function orderOf(payload: Record<string, unknown>): number | null {
  for (const field of ["tx", "order", "id"]) if (typeof payload[field] === "number") return payload[field] as number;
  return null;
}

export class TxnHistory {
  orders = new Map<number, OrderLog>();
  faults: FaultMark[] = [];
  /** Each record's time by index: where a click on the timeline falls among the events. */
  times: number[] = [];
  private messages = new Map<number, Message>();
  private marks: MessageMark[] = [];
  private names = new Map<number, string>();
  private lab: Lab | null = null;

  /** Reads the records added since the last call, up to the shown moment (all of them again for a new or rewound lab). */
  update(lab: Lab, nodes: { id: number; name: string }[]): void {
    const len = lab.shown_len();
    if (lab !== this.lab || len < this.times.length) {
      this.lab = lab;
      this.orders = new Map();
      this.faults = [];
      this.times = [];
      this.messages = new Map();
      this.marks = [];
    }
    for (const n of nodes) this.names.set(n.id, n.name);
    const CHUNK = 5000;
    while (this.times.length < len) {
      const records = lab.trace_slice(this.times.length, Math.min(len, this.times.length + CHUNK)) as TraceRecord[];
      if (records.length === 0) break;
      for (const r of records) {
        this.times.push(r.time);
        this.read(r);
      }
    }
    this.states((lab.view() as { steps?: EngineStep[] }).steps ?? []);
  }

  /** Every order's cells from the engine's steps and the message marks, in time order (a mark
   * after an observation at the same moment: the observation happened on delivery, later). */
  private states(steps: EngineStep[]): void {
    const events = [
      ...steps.map((s) => ({ order: s.order, node: s.node, time: s.time_us, state: s.state as CellState, mark: false })),
      ...this.marks.map((m) => ({ ...m, mark: true })),
    ].sort((a, b) => a.time - b.time || Number(a.mark) - Number(b.mark));
    for (const log of this.orders.values()) log.cells = new Map();
    for (const e of events) {
      const log = this.orders.get(e.order) ?? this.log(e.order, e.time);
      const steps = log.cells.get(e.node) ?? [];
      const current = steps.at(-1)?.state;
      if (e.mark && e.state === "pending" && current !== undefined) continue;
      if (e.mark && e.state === "compensating" && current === "compensated") continue;
      if (current !== e.state) steps.push({ time: e.time, state: e.state });
      log.cells.set(e.node, steps);
    }
  }

  /** The latest order begun so far (0 before the first). */
  latest(): number {
    return Math.max(0, ...this.orders.keys());
  }

  /** The index of the last record at or before `time`. */
  indexAt(time: number): number {
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.times[mid] <= time) lo = mid + 1;
      else hi = mid;
    }
    return Math.max(0, lo - 1);
  }

  private name(id: unknown): string {
    return this.names.get(id as number) ?? String(id);
  }

  private log(order: number, time: number): OrderLog {
    let log = this.orders.get(order);
    if (!log) {
      log = { order, first: time, last: time, items: [], messages: [], cells: new Map() };
      this.orders.set(order, log);
    }
    log.last = Math.max(log.last, time);
    return log;
  }

  private read(r: TraceRecord): void {
    switch (r.kind) {
      case "send": {
        const payload = r.msg as Record<string, unknown>;
        const order = orderOf(payload);
        const m: Message = { id: r.msg_id as number, from: this.name(r.from), to: this.name(r.to), type: String(payload.type), payload, index: r.index, sent: r.time, deliveries: [], losses: [] };
        this.messages.set(m.id, m);
        if (order === null) return;
        const log = this.log(order, r.time);
        log.messages.push(m);
        log.items.push({ index: r.index, time: r.time, kind: "send", node: m.from, to: m.to, type: m.type, payload });
        // A request makes its receiver's step pending; an undo makes it compensating.
        if (["execute", "prepare", "try", "do", "publish"].includes(m.type)) this.marks.push({ order, node: m.to, time: r.time, state: "pending" });
        if (m.type === "undo") this.marks.push({ order, node: m.to, time: r.time, state: "compensating" });
        return;
      }
      case "deliver":
      case "drop": {
        const m = this.messages.get(r.msg_id as number);
        const order = m ? orderOf(m.payload) : null;
        if (!m || order === null) return;
        const log = this.log(order, r.time);
        if (r.kind === "deliver") {
          m.deliveries.push({ index: r.index, time: r.time });
        } else {
          m.losses.push({ index: r.index, time: r.time, reason: String(r.reason) });
          log.items.push({ index: r.index, time: r.time, kind: "drop", node: m.from, to: m.to, type: m.type, payload: { reason: r.reason, ...m.payload } });
        }
        return;
      }
      case "observe": {
        const obs = r.obs as Record<string, unknown>;
        const order = orderOf(obs);
        if (order === null) return;
        const node = this.name(r.node);
        const log = this.log(order, r.time);
        log.items.push({ index: r.index, time: r.time, kind: "observe", node, type: String(obs.type), payload: obs });
        return;
      }
      case "fault": {
        const spec = r.fault as Record<string, unknown>;
        if (typeof spec.node === "string") this.faults.push({ index: r.index, time: r.time, node: spec.node, fault: String(spec.fault), spec });
        return;
      }
    }
  }
}

/** The state `node` is in for `log` now (undefined: not involved yet). */
export function stateOf(log: OrderLog, node: string): CellState | undefined {
  return log.cells.get(node)?.at(-1)?.state;
}

/** Whether the order may still change at some actor: its lanes then run to now. */
export function isOpen(log: OrderLog): boolean {
  return [...log.cells.values()].some((steps) => OPEN.has(steps.at(-1)!.state));
}

/** When `node` was down during [from, to]: crash to restart (or to `to`). */
export function downIntervals(faults: FaultMark[], node: string, from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  let since: number | null = null;
  for (const f of faults) {
    if (f.node !== node) continue;
    if (f.fault === "crash" && since === null) since = f.time;
    if (f.fault === "restart" && since !== null) {
      if (f.time >= from && since <= to) out.push([Math.max(since, from), Math.min(f.time, to)]);
      since = null;
    }
  }
  if (since !== null && since <= to) out.push([Math.max(since, from), to]);
  return out;
}

/** The state `node` entered for `log` at `time` (an observation's own), if any. */
export function enteredAt(log: OrderLog, node: string, time: number): CellState | undefined {
  return log.cells.get(node)?.find((s) => s.time === time)?.state;
}
