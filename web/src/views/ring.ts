// The consistent-hashing view (46.1.1): an SVG ring of virtual nodes and keys, node controls,
// the load per node, and how many keys the last change moved next to the ideal and to hash % N.

import { loaded, type Modules } from "../modules";
import { t } from "../i18n";
import { writeParams } from "../url";

interface NodeView { name: string; weight: number; points: number; keys: number }
interface Load { keys_per_node: Record<string, number>; mean: number; std_dev: number; max_over_mean: number }
interface View { nodes: NodeView[]; points: [number, number][]; keys: [number, number][]; load: Load; virtual_nodes: number }
interface Movement { change: string; ideal: number; moved: Record<string, number> }

const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#ea580c", "#4f46e5", "#0d9488", "#be123c"];
const SIZE = 400;
const CENTER = SIZE / 2;
const KEYS_DEFAULT = 10_000;

/** What survives a language switch: the ring, the last movement, and each node's colour. */
let kept: { signature: string; lab: InstanceType<Modules["foundations"]["RingLab"]>; movement: Movement | null; colors: Map<string, number> } | null = null;

function xy(fraction: number, radius: number): [number, number] {
  const angle = fraction * 2 * Math.PI - Math.PI / 2;
  return [CENTER + radius * Math.cos(angle), CENTER + radius * Math.sin(angle)];
}

function pct(x: number): string {
  return (x * 100).toFixed(1);
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text = ""): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

/** The view's own parameters: the language is not part of the ring. */
function withoutLang(params: URLSearchParams): string {
  const p = new URLSearchParams(params);
  p.delete("lang");
  return p.toString();
}

function parseParams(params: URLSearchParams): { nodes: string[]; weights: Map<string, number>; vnodes: number; replicas: number; keys: number } {
  const nodes = (params.get("nodes") ?? "node-1,node-2,node-3").split(",").filter((n) => n.length > 0);
  const weights = new Map<string, number>();
  for (const pair of (params.get("w") ?? "").split(",").filter((p) => p.includes(":"))) {
    const i = pair.lastIndexOf(":");
    weights.set(pair.slice(0, i), Number(pair.slice(i + 1)));
  }
  const vnodes = Math.min(500, Math.max(1, Number(params.get("vnodes") ?? 150) || 150));
  const replicas = Math.min(3, Math.max(1, Number(params.get("replicas") ?? 1) || 1));
  const keys = Math.min(20_000, Math.max(100, Number(params.get("keys") ?? KEYS_DEFAULT) || KEYS_DEFAULT));
  return { nodes, weights, vnodes, replicas, keys };
}

export function mountRing(root: HTMLElement, params: URLSearchParams): void {
  const state = parseParams(params);
  const signature = withoutLang(params);
  if (!kept || kept.signature !== signature) {
    // Nodes join in URL order, each with its weight: jump hash and hash % N number them that way.
    const lab = new (loaded("foundations").RingLab)(state.vnodes, [], state.keys);
    for (const n of state.nodes) lab.add_node(n, state.weights.get(n) ?? 1);
    kept = { signature, lab, movement: null, colors: new Map() };
  }
  const model = kept;

  /** A node keeps its colour for as long as it is on the ring: the lowest one not in use. */
  function color(node: number): string {
    const name = view.nodes[node]?.name ?? "";
    const live = new Set(view.nodes.map((n) => n.name));
    for (const old of [...model.colors.keys()]) if (!live.has(old)) model.colors.delete(old);
    if (!model.colors.has(name)) {
      const used = new Set(model.colors.values());
      let c = 0;
      while (used.has(c)) c++;
      model.colors.set(name, c);
    }
    return COLORS[model.colors.get(name)! % COLORS.length];
  }
  let replicas = state.replicas;

  root.innerHTML = "";
  root.append(el("h2", {}, t("ring.title")), el("p", { class: "intro" }, t("ring.intro")), el("p", { class: "wrong" }, t("ring.wrong")));
  const grid = el("div", { class: "grid2" });
  const left = el("div");
  const right = el("div");
  grid.append(left, right);
  root.append(grid);

  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${SIZE} ${SIZE}`);
  svg.setAttribute("class", "ring");
  svg.setAttribute("role", "img");
  const hover = el("p", { class: "mono", id: "hover" }, t("ring.hover"));
  left.append(svg, hover);

  const controls = el("div", { class: "panel" });
  const vnodeLabel = el("label", {}, `${t("ring.vnodes")}: `);
  const vnodeValue = el("span", { id: "vnodes-value" });
  const slider = el("input", { type: "range", min: "1", max: "500", id: "vnodes" });
  vnodeLabel.append(vnodeValue);
  const replicaSelect = el("select", { id: "replicas" });
  for (const r of [1, 2, 3]) replicaSelect.append(el("option", { value: String(r) }, String(r)));
  const nodeList = el("div", { class: "nodes" });
  const addButton = el("button", { id: "add-node" }, t("ring.add"));
  const error = el("p", { class: "error", id: "ring-error" });
  controls.append(
    el("div", { class: "row" }), vnodeLabel, slider,
    el("div", { class: "row" }, `${t("ring.replicas")}: `), replicaSelect,
    el("h3", {}, t("ring.nodes")), nodeList, addButton, error,
  );
  const moved = el("p", { id: "moved", class: "panel" });
  const loadPanel = el("div", { class: "panel" });
  right.append(controls, moved, loadPanel);

  let view: View = model.lab.view() as View;
  let keyOrder: number[] = [];

  function save(): void {
    const p = new URLSearchParams();
    p.set("nodes", view.nodes.map((n) => n.name).join(","));
    const weighted = view.nodes.filter((n) => n.weight !== 1).map((n) => `${n.name}:${n.weight}`);
    if (weighted.length) p.set("w", weighted.join(","));
    p.set("vnodes", String(view.virtual_nodes));
    p.set("replicas", String(replicas));
    if (state.keys !== KEYS_DEFAULT) p.set("keys", String(state.keys));
    writeParams("ring", p);
    model.signature = withoutLang(p);
  }

  function apply(change: () => Movement): void {
    try {
      model.movement = change();
      error.textContent = "";
    } catch (e) {
      error.textContent = e instanceof Error ? e.message : String(e);
    }
    view = model.lab.view() as View;
    save();
    render();
  }

  function renderRing(): void {
    view.nodes.forEach((_, i) => color(i)); // colours follow node order, not drawing order
    const parts: string[] = [`<circle cx="${CENTER}" cy="${CENTER}" r="180" fill="none" stroke="var(--border)" stroke-width="1"/>`];
    for (const [pos, node] of view.points) {
      const [x1, y1] = xy(pos, 172);
      const [x2, y2] = xy(pos, 188);
      parts.push(`<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${color(node)}" stroke-width="1.2"/>`);
    }
    const byOwner = new Map<number, string[]>();
    view.keys.forEach(([pos, owner], i) => {
      const [x, y] = xy(pos, 150 - (i % 6) * 9);
      const d = byOwner.get(owner) ?? [];
      d.push(`M${x.toFixed(1)} ${y.toFixed(1)}h0.01`);
      byOwner.set(owner, d);
    });
    for (const [owner, d] of byOwner) {
      parts.push(`<path d="${d.join("")}" stroke="${color(owner)}" stroke-width="2.2" stroke-linecap="round" data-owner="${owner}"/>`);
    }
    parts.push(`<circle id="hover-mark" r="0" fill="none" stroke="var(--fg)" stroke-width="1.5"/>`);
    svg.innerHTML = parts.join("");
    keyOrder = view.keys.map((_, i) => i).sort((a, b) => view.keys[a][0] - view.keys[b][0]);
  }

  function renderControls(): void {
    slider.value = String(view.virtual_nodes);
    vnodeValue.textContent = String(view.virtual_nodes);
    replicaSelect.value = String(replicas);
    nodeList.innerHTML = "";
    view.nodes.forEach((n, i) => {
      const row = el("div", { class: "node" });
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = color(i);
      const weight = el("input", { type: "number", min: "0.1", max: "10", step: "0.5", value: String(n.weight), "aria-label": `${n.name} ${t("ring.weight")}`, style: "width:4.5rem" });
      weight.addEventListener("change", () => apply(() => model.lab.set_weight(n.name, Number(weight.value)) as Movement));
      const remove = el("button", { "data-remove": n.name }, t("ring.remove"));
      remove.addEventListener("click", () => apply(() => model.lab.remove_node(n.name) as Movement));
      row.append(swatch, el("span", { class: "mono" }, n.name), el("span", { class: "muted" }, `${t("ring.weight")}`), weight,
        el("span", { class: "muted" }, `${n.points} ${t("ring.points")}`), remove);
      nodeList.append(row);
    });
  }

  function renderStats(): void {
    const m = model.movement;
    moved.textContent = m
      ? t("ring.moved", { change: m.change, ring: pct(m.moved.ring), ideal: pct(m.ideal), jump: pct(m.moved.jump), rendezvous: pct(m.moved.rendezvous), modulo: pct(m.moved.modulo) })
      : t("ring.movedNone");
    moved.dataset.ring = m ? String(m.moved.ring) : "";
    loadPanel.innerHTML = "";
    loadPanel.append(el("h3", {}, t("ring.load")));
    const max = Math.max(1, ...view.nodes.map((n) => n.keys));
    view.nodes.forEach((n, i) => {
      const bar = el("div", { class: "bar" });
      const fill = el("div", { class: "fill" });
      fill.style.width = `${(n.keys / max) * 100}%`;
      fill.style.background = color(i);
      bar.append(el("span", { class: "mono" }, n.name), el("div", {}, ""), el("span", { class: "mono" }, String(n.keys)));
      bar.children[1].append(fill);
      loadPanel.append(bar);
    });
    const l = view.load;
    loadPanel.append(el("p", { class: "muted", id: "balance" }, t("ring.balance", { sd: l.std_dev.toFixed(1), pct: (l.mean ? (l.std_dev * 100) / l.mean : 0).toFixed(1), max: l.max_over_mean.toFixed(3) })));
  }

  function render(): void {
    renderRing();
    renderControls();
    renderStats();
  }

  slider.addEventListener("input", () => (vnodeValue.textContent = slider.value));
  slider.addEventListener("change", () => apply(() => model.lab.set_virtual_nodes(Number(slider.value)) as Movement));
  replicaSelect.addEventListener("change", () => {
    replicas = Number(replicaSelect.value);
    save();
  });
  addButton.addEventListener("click", () => {
    const names = new Set(view.nodes.map((n) => n.name));
    let i = view.nodes.length + 1;
    while (names.has(`node-${i}`)) i++;
    apply(() => model.lab.add_node(`node-${i}`, 1) as Movement);
  });
  svg.addEventListener("mousemove", (ev) => {
    const box = svg.getBoundingClientRect();
    const x = ((ev.clientX - box.left) / box.width) * SIZE - CENTER;
    const y = ((ev.clientY - box.top) / box.height) * SIZE - CENTER;
    const fraction = (Math.atan2(y, x) + Math.PI / 2 + 2 * Math.PI) % (2 * Math.PI) / (2 * Math.PI);
    if (keyOrder.length === 0) return;
    let lo = 0, hi = keyOrder.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (view.keys[keyOrder[mid]][0] < fraction) lo = mid + 1; else hi = mid;
    }
    const index = keyOrder[lo];
    const [key, owners] = model.lab.owners(index, replicas) as [string, string[]];
    hover.textContent = t("ring.owner", { key, owners: owners.join(", ") });
    const mark = svg.querySelector("#hover-mark");
    const [mx, my] = xy(view.keys[index][0], 150 - (index % 6) * 9);
    mark?.setAttribute("cx", mx.toFixed(1));
    mark?.setAttribute("cy", my.toFixed(1));
    mark?.setAttribute("r", "5");
  });
  save();
  render();
}
