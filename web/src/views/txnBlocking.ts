// 2PC's price and the saga's answer (46.7.3). The blocked panel lists every participant that voted
// yes and has not learnt the decision — in doubt, holding its lock — with how long it has held
// it, counted on the simulated clock so that it grows as the run goes on. Beside it, the saga
// twin: the same orders run as an orchestrated saga with the same seed, the same failure and the
// same crashes and restarts at the same times (the coordinator's become the orchestrator's). It
// holds no lock between steps, so nothing waits in doubt: what it gives up instead is isolation.

import { newLab, type Lab } from "../modules";
import { el } from "../dom";
import { t } from "../i18n";
import { drawGrid } from "./txnGrid";
import { nodeLabel } from "./txnLanes";
import { TxnHistory, type FaultMark, type OrderLog } from "./txnHistory";

interface NodeSnap { id: number; name: string; status: string; state: Record<string, unknown> | null }
interface Snapshot { nodes: NodeSnap[] }

/** A participant in doubt about an order since `since` (its yes vote). */
export interface InDoubt { node: string; order: number; since: number }

export function inDoubt(logs: OrderLog[]): InDoubt[] {
  const out: InDoubt[] = [];
  for (const log of logs) {
    for (const [node, steps] of log.cells) {
      const last = steps.at(-1)!;
      if (last.state === "prepared") out.push({ node, order: log.order, since: last.time });
    }
  }
  return out;
}

/** The participants in doubt now, with live clocks, and the engine's blocking measurements. */
export function blockedPanel(blocked: InDoubt[], nodes: NodeSnap[], now: number, summary: Record<string, unknown>): HTMLElement {
  const panel = el("div", "panel");
  panel.id = "txn-blocked";
  panel.append(el("h3", "", t("txn.blocked.title")));
  if (blocked.length === 0) panel.append(el("p", "muted", t("txn.blocked.none")));
  for (const b of blocked) {
    const line = el("div", "blocked mono");
    line.dataset.node = b.node;
    line.dataset.order = String(b.order);
    line.dataset.blockedUs = String(now - b.since);
    const clock = el("span", "clock", `${((now - b.since) / 1e6).toFixed(3)} s`);
    line.append(`${t("txn.blocked.line", { node: nodeLabel(b.node), order: b.order })} `, clock);
    if (nodes.find((n) => n.name === b.node)?.status === "crashed") line.append(` (${t("counter.status.crashed")})`);
    panel.append(line);
  }
  const measured = el("p", "muted", t("txn.blocked.measured", { max: String(summary.blocked_max_ms ?? 0), total: String(summary.blocked_total_ms ?? 0) }));
  measured.id = "txn-blocked-measured";
  panel.append(measured);
  return panel;
}

/** The saga run beside a 2PC run, advanced with it. */
export class SagaTwin {
  readonly history = new TxnHistory();
  private lab: Lab | null = null;
  private key = "";
  private applied = 0;

  /**
   * Brings the twin to `now`: rebuilt when the seed, the configuration or the crashes changed (or
   * time went back), else only run on, each fault injected when its time comes.
   */
  update(seed: number, config: Record<string, unknown>, faults: FaultMark[], now: number): Lab {
    const mapped = faults.map((f) => ({ time: f.time, fault: { ...f.spec, node: f.node === "coordinator" ? "orchestrator" : f.node } }));
    const key = JSON.stringify([seed, config, mapped]);
    if (!this.lab || key !== this.key || now < this.lab.now_us()) {
      this.lab?.free();
      this.lab = newLab("saga", config, seed);
      this.key = key;
      this.applied = 0;
    }
    for (; this.applied < mapped.length && mapped[this.applied].time <= now; this.applied++) {
      this.lab.run_until(mapped[this.applied].time);
      this.lab.inject(mapped[this.applied].fault);
    }
    this.lab.run_until(now);
    this.history.update(this.lab, (this.lab.snapshot() as Snapshot).nodes);
    return this.lab;
  }
}

/** The twin's rows for `orders`, its orchestrator's status and what it holds. */
export function twinPanel(twin: SagaTwin, lab: Lab, orders: number[]): HTMLElement {
  const panel = el("div", "panel");
  panel.id = "txn-twin";
  panel.append(el("h3", "", t("txn.twin.title")), el("p", "muted", t("txn.twin.explain")));
  const nodes = (lab.snapshot() as Snapshot).nodes;
  const orchestrator = nodes.find((n) => n.name === "orchestrator");
  const status = el("div", "mono", `${nodeLabel("orchestrator")}: ${t(`counter.status.${orchestrator?.status === "crashed" ? "crashed" : "up"}`)} · ${t("txn.twin.locks")}`);
  status.id = "txn-twin-status";
  panel.append(status);
  const logs = orders.map((o) => twin.history.orders.get(o)).filter((l): l is OrderLog => l !== undefined);
  if (logs.length === 0) panel.append(el("p", "muted", t("txn.twin.notBegun", { orders: orders.map((o) => `#${o}`).join(", ") })));
  else {
    const grid = drawGrid(logs, nodes.map((n) => n.name), -1);
    grid.id = "txn-twin-grid";
    panel.append(grid);
  }
  return panel;
}
