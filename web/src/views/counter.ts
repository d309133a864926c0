// The CRDT counter view (46.1.1): the `pn-counter` scenario with the shared controls, one card
// per replica, fault buttons, the convergence verdict and the trace hash.

import { mountScenario, type KeyHandlers } from "../frame";
import type { Snapshot } from "../engine";
import { t } from "../i18n";
import { el, show } from "../dom";

type CounterState = { value?: number; vclock?: number[] };

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
  const inFlight = el("div", "muted");
  const parts = { controls: el("div"), faults: el("div"), verdicts: el("div"), timeline: el("div") };
  root.append(mergeRow, parts.controls, cards, inFlight, parts.faults, parts.verdicts, parts.timeline);

  const frame = mountScenario(parts, params, {
    view: "counter",
    scenario: "pn-counter",
    config: () => ({ merge }),
    params: () => new URLSearchParams(merge === "chapter" ? { merge } : {}),
    draw: (_lab, snap) => draw(snap as Snapshot<CounterState>),
    faults: (snap) => {
      const names = snap.nodes.map((n) => n.name);
      return [
        ...snap.nodes.flatMap((n) => [
          n.status === "crashed"
            ? { id: `restart-${n.name}`, label: t("election.restart", { node: n.name }), faults: [{ fault: "restart", node: n.name }] }
            : { id: `crash-${n.name}`, label: t("election.crash", { node: n.name }), faults: [{ fault: "crash", node: n.name }] },
          { id: `pause-${n.name}`, label: `${t("counter.pause")} ${n.name}`, faults: [{ fault: "pause", node: n.name, duration_us: 500_000 }], disabled: n.status !== "up" },
        ]),
        { id: "partition", label: t("counter.partition", { node: names[0] }), faults: [{ fault: "partition", groups: [[names[0]], names.slice(1)] }] },
        { id: "heal", label: t("counter.heal"), faults: [{ fault: "heal" }] },
      ];
    },
  });
  mergeSelect.addEventListener("change", () => {
    merge = mergeSelect.value;
    frame.reset();
  });

  function draw(snap: Snapshot<CounterState>): void {
    const nextCards = cards.cloneNode(false) as HTMLElement;
    for (const n of snap.nodes) {
      const card = el("div", `card ${n.status}`);
      card.dataset.node = n.name;
      card.append(
        el("div", "muted", `${t("counter.replica")} ${n.name} · ${t(`counter.status.${n.status}`)}`),
        el("div", "value", n.state?.value === undefined ? "–" : String(n.state.value)),
        el("div", "mono muted", n.state?.vclock ? `${t("counter.vclock")} [${n.state.vclock.join(", ")}]` : ""),
      );
      nextCards.append(card);
    }
    show(cards, ...nextCards.childNodes);
    inFlight.textContent = `${t("counter.inFlight")}: ${snap.in_flight.length}`;
  }

  frame.refresh();
  return frame;
}
