// The orders × actors grid (46.7.3): each cell the state of one order's step at one actor, in the
// state's colour, with the states it went through on hover. A click on a row chooses the order
// the swimlanes show.

import { el } from "../dom";
import { t } from "../i18n";
import { nodeLabel, stateLabel } from "./txnLanes";
import { stateOf, type OrderLog } from "./txnHistory";

/** A table of `logs` over `lanes`; `selected` is outlined. Each row carries its order
 * (`data-order`): the view takes presses on its stable container. */
export function drawGrid(logs: OrderLog[], lanes: string[], selected: number): HTMLTableElement {
  const table = el("table", "txn-grid");
  const head = el("tr");
  head.append(el("th", "", t("txn.order")), ...lanes.map((n) => el("th", "", nodeLabel(n))));
  table.append(head);
  for (const log of logs) {
    const row = el("tr", log.order === selected ? "selected" : "");
    row.dataset.order = String(log.order);
    row.append(el("td", "mono", `#${log.order}`));
    for (const node of lanes) {
      const state = stateOf(log, node);
      const cell = el("td", state ? `cell s-${state}` : "cell", state ? stateLabel(state) : "");
      cell.dataset.node = node;
      if (state) cell.dataset.state = state;
      cell.title = (log.cells.get(node) ?? []).map((s) => `${(s.time / 1e6).toFixed(6)} s ${stateLabel(s.state)}`).join("\n");
      row.append(cell);
    }
    table.append(row);
  }
  return table;
}
