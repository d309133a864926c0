// Small DOM helpers every view shares.

import morphdom from "morphdom";

const SVG_NS = "http://www.w3.org/2000/svg";

/** An HTML element with a class and text. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls = "", text = ""): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}

/** `input` after its label's text, in one label. */
export function labelled(text: string, input: HTMLElement): HTMLLabelElement {
  const l = el("label", "", `${text} `);
  l.append(input);
  return l;
}

/** A select of `options` (`[value, label]`), with `value` chosen. */
export function select(id: string, options: [string, string][], value: string): HTMLSelectElement {
  const s = el("select");
  s.id = id;
  for (const [v, label] of options) {
    const o = el("option", "", label);
    o.value = v;
    s.append(o);
  }
  s.value = value;
  return s;
}

/** A checkbox and its label. */
export function checkbox(id: string, label: string, value: boolean): [HTMLLabelElement, HTMLInputElement] {
  const box = el("input");
  box.type = "checkbox";
  box.id = id;
  box.checked = value;
  const l = el("label");
  l.append(box, ` ${label}`);
  return [l, box];
}

/** An SVG element with attributes and text; a root `<svg>` is made [`legible`]. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text = ""): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text) e.textContent = text;
  if (e instanceof SVGSVGElement) legible(e);
  return e;
}

/** Keeps a drawing's text readable however small the drawing is shown (a phone, a projector):
 * `--text-k` is how many of the drawing's units one screen pixel takes, and the stylesheet sizes
 * `svg.legible` text by it, so text never shows below its size in CSS pixels. */
const scaler = typeof ResizeObserver === "undefined" ? null : new ResizeObserver((entries) => {
  for (const e of entries) {
    const s = e.target as SVGSVGElement;
    if (!s.isConnected) {
      scaler?.unobserve(s);
      continue;
    }
    const units = s.viewBox.baseVal?.width ?? 0;
    const shown = e.contentRect.width;
    if (units > 0 && shown > 0) s.style.setProperty("--text-k", String(Math.max(1, units / shown)));
  }
});

export function legible<T extends SVGSVGElement>(s: T): T {
  s.classList.add("legible");
  // Observed once it is on the page: a drawing that `show` merges into one already there, and so
  // discards, is never observed, and nothing keeps it alive.
  requestAnimationFrame(() => {
    if (s.isConnected) scaler?.observe(s);
  });
  return s;
}

/** Shows `nodes` in `container` by updating what is already there in place (morphdom) instead of
 * replacing it: an element drawn again the same is the same element, so a press, a hover or a
 * keyboard focus on it survives the next frame of a playing run. Elements are matched by
 * `data-key` or `id`, then by position. A drawing's text scale (`legible`) is kept across it. */
export function show(container: Element, ...nodes: (Node | string)[]): void {
  const next = container.cloneNode(false) as Element;
  next.append(...nodes);
  morphdom(container, next, {
    childrenOnly: true,
    getNodeKey: (n) => (n instanceof Element ? n.getAttribute("data-key") || n.id || undefined : undefined),
    onBeforeElUpdated: (from, to) => {
      if (from instanceof SVGSVGElement && to instanceof SVGSVGElement && from.classList.contains("legible")) {
        const k = from.style.getPropertyValue("--text-k");
        if (k) to.style.setProperty("--text-k", k);
      }
      return !from.isEqualNode(to);
    },
  });
}
