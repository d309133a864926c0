// The lab's shell: header, the chapter's sections, the language toggle, keyboard shortcuts, and
// the view for the section in the URL.

import init from "./pkg/distlab_wasm.js";
import wasmUrl from "./pkg/distlab_wasm_bg.wasm?url";
import "./style.css";
import { lang, setLang, t, type Key, type Lang } from "./i18n";
import { readRoute, writeParams } from "./url";
import type { KeyHandlers } from "./frame";
import { mountCache } from "./views/cache";
import { mountCacheWalk } from "./views/cacheWalk";
import { mountCap } from "./views/cap";
import { mountCounter } from "./views/counter";
import { mountDetector } from "./views/detector";
import { mountElection } from "./views/election";
import { mountLocks } from "./views/locks";
import { mountWalkthrough } from "./views/walkthrough";
import { mountRing } from "./views/ring";
import { mountSoon } from "./views/soon";
import { mountHome } from "./views/home";
import { mountTransactions } from "./views/txn";
import { mountMq } from "./views/mq";
import { mountMqWalk } from "./views/mqWalk";
import { mountLb } from "./views/lb";
import { mountLbWalk } from "./views/lbWalk";
import { mountHa } from "./views/ha";
import { mountIds } from "./views/ids";
import { mountIdsWalk } from "./views/idsWalk";

interface Section { id: string; title: Key; mount?: (root: HTMLElement, params: URLSearchParams) => KeyHandlers | void }
/** A part of the chapter: its number and name, and its views. Each view's nav label is its page title. */
interface Group { title: Key; sections: Section[] }

const CHAPTER: Group[] = [
  { title: "common.s.46.1", sections: [
    { id: "cap", title: "cap.title", mount: mountCap },
    { id: "ring", title: "ring.title", mount: mountRing },
    { id: "counter", title: "counter.title", mount: mountCounter },
    { id: "coordination", title: "election.title", mount: mountElection },
    { id: "failure-detector", title: "detector.title", mount: mountDetector },
  ] },
  { title: "common.s.46.2", sections: [{ id: "queues", title: "mq.title", mount: mountMq }] },
  { title: "common.s.46.3", sections: [{ id: "caching", title: "cache.title", mount: mountCache }] },
  { title: "common.s.46.4", sections: [{ id: "balancing", title: "lb.title", mount: mountLb }] },
  { title: "common.s.46.5", sections: [{ id: "availability", title: "ha.title", mount: mountHa }, { id: "map", title: "common.nav.map" }] },
  { title: "common.s.46.6", sections: [{ id: "choosing", title: "common.s.46.6" }] },
  { title: "common.s.46.7", sections: [
    { id: "locks", title: "locks.title", mount: mountLocks },
    { id: "ids", title: "ids.title", mount: mountIds },
    { id: "transactions", title: "txn.title", mount: mountTransactions },
  ] },
];
const EXERCISES: Section[] = [
  { id: "exercise-1", title: "walk.title", mount: mountWalkthrough },
  { id: "exercise-2", title: "walk2.title", mount: mountMqWalk },
  { id: "exercise-3", title: "walk3.title", mount: mountCacheWalk },
  { id: "exercise-4", title: "walk4.title", mount: mountLbWalk },
  { id: "exercise-5", title: "walk5.title", mount: mountIdsWalk },
];
const SECTIONS: Section[] = [...CHAPTER.flatMap((g) => g.sections), ...EXERCISES];

let keys: KeyHandlers | null = null;
const app = document.getElementById("app")!;

function navLink(s: Section, active: string): HTMLAnchorElement {
  const a = document.createElement("a");
  a.href = `#/${s.id}`;
  a.textContent = t(s.title);
  a.dataset.section = s.id;
  if (s.id === active) a.className = "active";
  if (!s.mount) {
    const soon = document.createElement("span");
    soon.className = "soon";
    soon.textContent = t("common.nav.soon");
    a.append(soon);
  }
  return a;
}

function render(): void {
  const route = readRoute();
  const chosen = route.params.get("lang");
  if (chosen === "zh" || chosen === "en") setLang(chosen as Lang);
  app.innerHTML = "";
  const header = document.createElement("header");
  const h1 = document.createElement("h1");
  h1.textContent = t("common.app.title");
  const tagline = document.createElement("span");
  tagline.className = "tagline";
  tagline.textContent = t("common.app.tagline");
  const toggle = document.createElement("button");
  toggle.id = "lang";
  toggle.textContent = t("common.app.language");
  toggle.setAttribute("aria-label", t("common.app.languageLabel"));
  toggle.addEventListener("click", () => {
    const next: Lang = lang() === "en" ? "zh" : "en";
    const r = readRoute();
    r.params.set("lang", next);
    writeParams(r.view, r.params);
    render();
  });
  header.append(h1, tagline, toggle);
  const layout = document.createElement("div");
  layout.className = "layout";
  const nav = document.createElement("nav");
  nav.id = "nav";
  const home = navLink({ id: "home", title: "common.nav.home", mount: () => undefined }, route.view);
  home.href = "#/";
  const title = document.createElement("h2");
  title.textContent = t("common.nav.title");
  nav.append(home, title);
  for (const g of CHAPTER) {
    const single = g.sections.length === 1 && g.sections[0].title === g.title;
    if (!single) {
      const h = document.createElement("h3");
      h.textContent = t(g.title);
      nav.append(h);
    }
    nav.append(...g.sections.map((s) => navLink(s, route.view)));
  }
  const exercises = document.createElement("h2");
  exercises.textContent = t("common.nav.exercises");
  nav.append(exercises, ...EXERCISES.map((s) => navLink(s, route.view)));
  const menu = document.createElement("button");
  menu.id = "menu";
  menu.className = "menu";
  menu.textContent = `☰ ${t("common.nav.menu")}`;
  menu.setAttribute("aria-controls", "nav");
  menu.setAttribute("aria-expanded", "false");
  menu.addEventListener("click", () => {
    const open = nav.classList.toggle("open");
    menu.setAttribute("aria-expanded", String(open));
  });
  header.prepend(menu);
  const main = document.createElement("main");
  main.id = "view";
  layout.append(nav, main);
  app.append(header, layout);
  const section = SECTIONS.find((s) => s.id === route.view);
  keys = null;
  try {
    if (!section) mountHome(main, SECTIONS.map((s) => ({ id: s.id, title: s.title, built: s.mount !== undefined })));
    else keys = (section.mount ? section.mount(main, route.params) : mountSoon(main, section.title)) ?? null;
  } catch (e) {
    main.innerHTML = "";
    const h = document.createElement("h2");
    h.textContent = t("common.error.title");
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = e instanceof Error ? e.message : String(e);
    main.append(h, p);
  }
}

document.addEventListener("keydown", (ev) => {
  const target = ev.target as HTMLElement | null;
  if (!keys || (target && ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName))) return;
  if (ev.key === " ") {
    ev.preventDefault();
    keys.toggle();
  } else if (ev.key === "ArrowRight") {
    ev.preventDefault();
    keys.step();
  } else if (ev.key === "r" && !ev.ctrlKey && !ev.metaKey) {
    keys.reset();
  }
});

/// Downloads the engine, showing progress on the loading screen of index.html: the bar fills
/// against the decoded size (`X-Decoded-Length`, sent by `cargo xtask lab` with a precompressed
/// file) or `Content-Length` (an uncompressed one); otherwise it only counts the bytes.
async function fetchEngine(): Promise<ArrayBuffer> {
  const response = await fetch(wasmUrl);
  if (!response.ok || !response.body) throw new Error(`the engine did not load: HTTP ${response.status}`);
  const encoded = response.headers.get("Content-Encoding");
  const total = Number(response.headers.get("X-Decoded-Length") ?? (encoded ? 0 : response.headers.get("Content-Length") ?? 0));
  const bar = document.getElementById("loading-progress") as HTMLProgressElement | null;
  const bytes = document.getElementById("loading-bytes");
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    if (bar && total > 0) {
      bar.max = total;
      bar.value = Math.min(received, total);
    }
    if (bytes) bytes.textContent = total > 0 ? `${mb(received)} / ${mb(total)} MB` : `${mb(received)} MB`;
  }
  const all = new Uint8Array(received);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all.buffer;
}

function mb(n: number): string {
  return (n / 1_048_576).toFixed(1);
}

async function start(): Promise<void> {
  const saved = readRoute().params.get("lang");
  setLang(saved === "zh" ? "zh" : navigator.language.startsWith("zh") && saved !== "en" ? "zh" : "en");
  await init({ module_or_path: await fetchEngine() });
  window.addEventListener("hashchange", render);
  render();
}

start().catch((e: unknown) => {
  const bytes = document.getElementById("loading-bytes");
  if (bytes) bytes.textContent = `The engine could not load / 引擎加载失败：${String(e)}`;
  throw e;
});
