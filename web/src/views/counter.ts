// The CRDT counter view (46.1.1): the `pn-counter` scenario with the shared controls, one card
// per replica, fault buttons, the convergence verdict and the trace hash.

import type { Lab } from "../pkg/distlab_wasm.js";
import { SimControls, type KeyHandlers } from "../controls";
import { t } from "../i18n";
import { el } from "../dom";

interface NodeSnapshot { id: number; name: string; status: "up" | "paused" | "crashed"; clock: number; state: { value?: number; vclock?: number[] } | null }
interface Snapshot { time: number; nodes: NodeSnapshot[]; in_flight: unknown[]; cuts: [number, number][] }
interface Verdict { property: string; holds: boolean; detail: string }

export function mountCounter(root: HTMLElement, params: URLSearchParams): KeyHandlers {
  let merge = params.get("merge") === "chapter" ? "chapter" : "crdt";
  root.innerHTML = "";
  root.append(el("h2", "", t("counter.title")), el("p", "intro", t("counter.intro")), el("p", "wrong", t("counter.wrong")));
  const mergeRow = el("div", "row");
  const mergeSelect = el("select");
  mergeSelect.id = "merge";
  for (const [value, label] of [["crdt", t("counter.mergeCrdt")], ["chapter", t("counter.mergeChapter")]]) {
    const o = el("option", "", label);
    o.value = value;
    mergeSelect.append(o);
  }
  mergeSelect.value = merge;
  mergeRow.append(el("label", "", `${t("counter.merge")}: `), mergeSelect);
  const cards = el("div", "cards");
  const faults = el("div", "row");
  const status = el("div", "panel");
  const controlsRoot = el("div");
  const timelineRoot = el("div");
  root.append(mergeRow, controlsRoot, cards, faults, status, timelineRoot);

  const controls = new SimControls(controlsRoot, timelineRoot, params, {
    view: "counter",
    scenario: "pn-counter",
    config: () => ({ merge }),
    params: () => new URLSearchParams(merge === "chapter" ? { merge } : {}),
    render: (lab) => render(lab),
  });
  mergeSelect.addEventListener("change", () => {
    merge = mergeSelect.value;
    controls.reset();
  });

  const faultButton = (label: string, fault: Record<string, unknown>) => controls.faultButton(label, [fault], status);

  function render(lab: Lab): void {
    const snap = lab.snapshot() as Snapshot;
    cards.innerHTML = "";
    faults.innerHTML = "";
    for (const n of snap.nodes) {
      const card = el("div", `card ${n.status}`);
      card.dataset.node = n.name;
      card.append(
        el("div", "muted", `${t("counter.replica")} ${n.name} · ${t(`counter.status.${n.status}`)}`),
        el("div", "value", n.state?.value === undefined ? "–" : String(n.state.value)),
        el("div", "mono muted", n.state?.vclock ? `vclock [${n.state.vclock.join(", ")}]` : ""),
      );
      const actions = el("div", "row");
      actions.append(
        n.status === "crashed" ? faultButton(t("counter.restart"), { fault: "restart", node: n.name }) : faultButton(t("counter.crash"), { fault: "crash", node: n.name }),
        faultButton(t("counter.pause"), { fault: "pause", node: n.name, duration_us: 500_000 }),
      );
      card.append(actions);
      cards.append(card);
    }
    const others = snap.nodes.map((n) => n.name);
    faults.append(
      faultButton(t("counter.partition", { node: others[0] }), { fault: "partition", groups: [[others[0]], others.slice(1)] }),
      faultButton(t("counter.heal"), { fault: "heal" }),
    );
    const verdicts = lab.verdicts() as Verdict[];
    status.innerHTML = "";
    status.append(el("div", "", `${t("counter.inFlight")}: ${snap.in_flight.length}`));
    for (const v of verdicts) {
      const property = v.property === "convergence" ? t("prop.convergence") : v.property;
      const label = t("counter.detailLabel");
      const line = el("div", v.holds ? "good" : "bad", `${t("counter.verdict")} — ${property}: ${v.holds ? t("counter.holds") : t("counter.fails")}. ${label}${v.detail}`);
      line.id = `verdict-${v.property}`;
      status.append(line);
    }
    const hash = el("div", "mono", `${t("counter.hash")}: `);
    const value = el("span", "", lab.trace_hash());
    value.id = "trace-hash";
    hash.append(value);
    status.append(hash);
  }

  controls.refresh();
  return controls;
}
