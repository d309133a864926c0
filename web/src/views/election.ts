// The leader-election view (46.1.2): five nodes on a circle with their term and role, the vote
// requests and votes in flight, and each node's election timer as a ring that empties as the
// timeout nears. Crash the leader and watch a new one win.

import type { Lab } from "../modules";
import { mountScenario, type KeyHandlers } from "../frame";
import type { Snapshot as World } from "../engine";
import { t } from "../i18n";
import { el, show, svg } from "../dom";

interface ElectionState { term: number; role: "follower" | "candidate" | "leader"; voted_for: number | null; votes: number; leader: number | null; timer_deadline_us: number | null; timer_span_us: number | null }
type Snapshot = World<ElectionState, { type: string; term: number; granted?: boolean }>;

const LATENCY_MAX_US = 10_000;

export function mountElection(root: HTMLElement, params: URLSearchParams): KeyHandlers {
  let votes = params.get("votes") === "chapter" ? "chapter" : "raft";
  root.innerHTML = "";
  root.append(el("h2", "", t("election.title")), el("p", "intro", t("election.intro")), el("p", "wrong", t("election.wrong")));
  const options = el("div", "row");
  const voteSelect = el("select");
  voteSelect.id = "votes";
  for (const v of ["raft", "chapter"]) {
    const o = el("option", "", t(`election.votes.${v}` as "election.votes.raft"));
    o.value = v;
    voteSelect.append(o);
  }
  voteSelect.value = votes;
  const voteLabel = el("label", "", `${t("election.voteRule")} `);
  voteLabel.append(voteSelect);
  options.append(voteLabel);
  const picture = el("div", "panel chart");
  picture.id = "election-ring";
  const facts = el("div", "muted");
  facts.id = "election-facts";
  const parts = { controls: el("div"), faults: el("div"), verdicts: el("div"), timeline: el("div") };
  parts.verdicts.id = "election-verdicts";
  root.append(options, parts.controls, picture, parts.faults, parts.verdicts, facts, parts.timeline);

  const frame = mountScenario(parts, params, {
    view: "coordination",
    scenario: "election",
    config: () => ({ votes, crashes: false, partitions: false, pauses: false, loss_percent: 0, duration_ms: 60000, timeout_min_ms: 150, timeout_max_ms: 160 }),
    params: () => new URLSearchParams(votes === "chapter" ? { votes } : {}),
    draw: (lab, snap) => render(lab, snap as Snapshot),
    faults: (world) => {
      const snap = world as Snapshot;
      const leader = snap.nodes.find((n) => n.status !== "crashed" && n.state?.role === "leader");
      return [
        { id: "crash-leader", label: t("election.crashLeader"), faults: [{ fault: "crash", node: leader?.name ?? "" }], disabled: !leader },
        ...snap.nodes.map((n) => n.status === "crashed"
          ? { id: `restart-${n.name}`, label: t("election.restart", { node: n.name }), faults: [{ fault: "restart", node: n.name }] }
          : { id: `crash-${n.name}`, label: t("election.crash", { node: n.name }), faults: [{ fault: "crash", node: n.name }] }),
        { id: "heal", label: t("counter.heal"), faults: [{ fault: "heal" }] },
      ];
    },
  });
  voteSelect.addEventListener("change", () => {
    votes = voteSelect.value;
    frame.reset();
  });

  function render(lab: Lab, snap: Snapshot): void {
    const size = 420;
    const center = size / 2;
    const radius = 150;
    const pos = new Map<number, [number, number]>();
    snap.nodes.forEach((n, i) => {
      const a = (2 * Math.PI * i) / snap.nodes.length - Math.PI / 2;
      pos.set(n.id, [center + radius * Math.cos(a), center + radius * Math.sin(a)]);
    });
    const pic = svg("svg", { viewBox: `0 0 ${size} ${size}`, class: "election", role: "img" });
    pic.setAttribute("aria-label", t("election.title"));
    for (const m of snap.in_flight) {
      if (m.msg.type !== "request_vote" && m.msg.type !== "vote") continue;
      const [x1, y1] = pos.get(m.from) ?? [0, 0];
      const [x2, y2] = pos.get(m.to) ?? [0, 0];
      const left = Math.max(0, Math.min(1, (m.deliver_at - snap.time) / LATENCY_MAX_US));
      const p = 1 - left;
      const cls = m.msg.type === "request_vote" ? "vote-request" : m.msg.granted ? "vote granted" : "vote refused";
      pic.append(svg("line", { x1, y1, x2, y2, class: `msg-line ${cls}` }));
      const dot = svg("circle", { cx: x1 + (x2 - x1) * p, cy: y1 + (y2 - y1) * p, r: 5, class: `msg ${cls}` });
      dot.append(svg("title", {}, `${m.msg.type} term ${m.msg.term}`));
      pic.append(dot);
    }
    for (const n of snap.nodes) {
      const [x, y] = pos.get(n.id) ?? [0, 0];
      const s = n.state;
      const role = n.status === "crashed" || !s ? "down" : s.role;
      const g = svg("g", { class: `enode ${role} ${n.status}`, "data-node": n.name });
      if (s && s.timer_deadline_us !== null && s.timer_span_us && n.status !== "crashed") {
        const left = Math.max(0, Math.min(1, (s.timer_deadline_us - n.clock) / s.timer_span_us));
        const r = 38;
        const circumference = 2 * Math.PI * r;
        g.append(svg("circle", { cx: x, cy: y, r, class: "timer-track" }));
        g.append(svg("circle", { cx: x, cy: y, r, class: "timer", "stroke-dasharray": `${circumference * left} ${circumference}`, transform: `rotate(-90 ${x} ${y})` }));
      }
      g.append(svg("circle", { cx: x, cy: y, r: 30, class: "body" }));
      g.append(svg("text", { x, y: y - 6, "text-anchor": "middle", class: "name" }, n.name));
      g.append(svg("text", { x, y: y + 10, "text-anchor": "middle", class: "term" }, s ? `${t("election.term")} ${s.term}` : "✕"));
      g.append(svg("title", {}, `${n.name}: ${t(`election.role.${role}` as "election.role.leader")}`));
      pic.append(g);
    }
    const legend = el("div", "muted", t("election.legend"));
    const roles = el("div", "mono");
    roles.id = "election-roles";
    roles.textContent = snap.nodes.map((n) => `${n.name}: ${n.state && n.status !== "crashed" ? `${t(`election.role.${n.state.role}` as "election.role.leader")} (${t("election.term")} ${n.state.term})` : t("election.role.down")}`).join(" · ");
    show(picture, pic, roles, legend);

    const summary = lab.summary() as Record<string, unknown>;
    const measured = ["terms_with_a_leader", "candidacies", "leader_crashes", "failover_ms_median", "failover_ms_max"] as const;
    facts.textContent = measured
      .map((k) => {
        const v = summary[k];
        const value = typeof v === "number" ? (k.startsWith("failover") ? `${v} ms` : String(v)) : t("election.m.none");
        return t("common.frame.labelled", { label: t(`election.m.${k}`), value });
      })
      .join(" · ");
  }

  frame.refresh();
  return frame;
}
