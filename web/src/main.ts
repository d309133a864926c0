// The lab's shell: header, the chapter's sections, the language toggle, keyboard shortcuts, and
// the view for the section in the URL.

import "./style.css";
import { lang, setLang, t, type Key, type Lang } from "./i18n";
import { readRoute, writeParams } from "./url";
import type { KeyHandlers } from "./frame";
import { loadPart, type Part } from "./modules";
import { mountSoon } from "./views/soon";
import { mountHome } from "./views/home";

type Mount = (root: HTMLElement, params: URLSearchParams) => KeyHandlers | void;
/** A view: its code (a chunk of its own, loaded when first opened) and its part's engine module. */
interface Section { id: string; title: Key; part?: Part; mount?: () => Promise<Mount> }
/** A part of the chapter: its number and name, and its views. Each view's nav label is its page title. */
interface Group { title: Key; sections: Section[] }

const CHAPTER: Group[] = [
  { title: "common.s.46.1", sections: [
    { id: "cap", title: "cap.title", part: "foundations", mount: () => import("./views/cap").then((m) => m.mountCap) },
    { id: "ring", title: "ring.title", part: "foundations", mount: () => import("./views/ring").then((m) => m.mountRing) },
    { id: "counter", title: "counter.title", part: "foundations", mount: () => import("./views/counter").then((m) => m.mountCounter) },
    { id: "coordination", title: "election.title", part: "foundations", mount: () => import("./views/election").then((m) => m.mountElection) },
    { id: "failure-detector", title: "detector.title", part: "foundations", mount: () => import("./views/detector").then((m) => m.mountDetector) },
  ] },
  { title: "common.s.46.2", sections: [{ id: "queues", title: "mq.title", part: "queues", mount: () => import("./views/mq").then((m) => m.mountMq) }] },
  { title: "common.s.46.3", sections: [{ id: "caching", title: "cache.title", part: "caching", mount: () => import("./views/cache").then((m) => m.mountCache) }] },
  { title: "common.s.46.4", sections: [{ id: "balancing", title: "lb.title", part: "balancing", mount: () => import("./views/lb").then((m) => m.mountLb) }] },
  { title: "common.s.46.5", sections: [{ id: "availability", title: "ha.title", part: "availability", mount: () => import("./views/ha").then((m) => m.mountHa) }, { id: "map", title: "common.nav.map" }] },
  { title: "common.s.46.6", sections: [{ id: "choosing", title: "common.s.46.6" }] },
  { title: "common.s.46.7", sections: [
    { id: "locks", title: "locks.title", part: "locks", mount: () => import("./views/locks").then((m) => m.mountLocks) },
    { id: "ids", title: "ids.title", part: "ids", mount: () => import("./views/ids").then((m) => m.mountIds) },
    { id: "transactions", title: "txn.title", part: "transactions", mount: () => import("./views/txn").then((m) => m.mountTransactions) },
  ] },
];
const EXERCISES: Section[] = [
  { id: "exercise-1", title: "walk.title", part: "locks", mount: () => import("./views/walkthrough").then((m) => m.mountWalkthrough) },
  { id: "exercise-2", title: "walk2.title", part: "queues", mount: () => import("./views/mqWalk").then((m) => m.mountMqWalk) },
  { id: "exercise-3", title: "walk3.title", part: "caching", mount: () => import("./views/cacheWalk").then((m) => m.mountCacheWalk) },
  { id: "exercise-4", title: "walk4.title", part: "balancing", mount: () => import("./views/lbWalk").then((m) => m.mountLbWalk) },
  { id: "exercise-5", title: "walk5.title", part: "ids", mount: () => import("./views/idsWalk").then((m) => m.mountIdsWalk) },
];
const SECTIONS: Section[] = [...CHAPTER.flatMap((g) => g.sections), ...EXERCISES];

let keys: KeyHandlers | null = null;
const app = document.getElementById("app")!;

function navLink(s: Section, active: string, built = s.mount !== undefined): HTMLAnchorElement {
  const a = document.createElement("a");
  a.href = `#/${s.id}`;
  a.textContent = t(s.title);
  a.dataset.section = s.id;
  if (s.id === active) a.className = "active";
  if (!built) {
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
  const home = navLink({ id: "home", title: "common.nav.home" }, route.view, true);
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
  const shown = ++renders;
  if (!section) mountHome(main, SECTIONS.map((s) => ({ id: s.id, title: s.title, built: s.mount !== undefined })));
  else if (!section.mount) mountSoon(main, section.title);
  else void mountView(section, section.mount, main, route.params, shown);
}

/** Counts renders, so that a view whose code arrives after the learner has moved on is not mounted. */
let renders = 0;

/** Mounts a view once its code and its part's engine module are here, with the module's
 * download progress meanwhile; a failure to load or to mount is shown in the view's place. */
async function mountView(section: Section, load: () => Promise<Mount>, main: HTMLElement, params: URLSearchParams, shown: number): Promise<void> {
  const screen = loadingScreen();
  main.append(screen.root);
  try {
    const [mount] = await Promise.all([load(), section.part ? loadPart(section.part, screen.progress) : null]);
    if (shown !== renders) return;
    screen.root.remove();
    keys = mount(main, params) ?? null;
  } catch (e) {
    if (shown !== renders) return;
    main.innerHTML = "";
    const h = document.createElement("h2");
    h.textContent = t("common.error.title");
    const p = document.createElement("p");
    p.textContent = e instanceof Error ? e.message : String(e);
    main.append(h, p);
  }
}

/** The view's place while its engine module downloads: a bar against the decoded size, or the
 * bytes so far when the server does not say it. */
function loadingScreen(): { root: HTMLElement; progress: (received: number, total: number) => void } {
  const root = document.createElement("div");
  root.id = "loading";
  root.className = "view-loading";
  root.setAttribute("role", "status");
  root.setAttribute("aria-live", "polite");
  const what = document.createElement("div");
  what.className = "what";
  what.textContent = t("common.loading.engine");
  const bar = document.createElement("progress");
  bar.id = "loading-progress";
  bar.setAttribute("aria-label", t("common.loading.engine"));
  const bytes = document.createElement("div");
  bytes.className = "bytes";
  bytes.id = "loading-bytes";
  root.append(what, bar, bytes);
  const progress = (received: number, total: number): void => {
    if (total > 0) {
      bar.max = total;
      bar.value = Math.min(received, total);
    }
    bytes.textContent = total > 0 ? `${mb(received)} / ${mb(total)} MB` : `${mb(received)} MB`;
  };
  return { root, progress };
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

function mb(n: number): string {
  return (n / 1_048_576).toFixed(1);
}

function start(): void {
  const saved = readRoute().params.get("lang");
  setLang(saved === "zh" ? "zh" : navigator.language.startsWith("zh") && saved !== "en" ? "zh" : "en");
  window.addEventListener("hashchange", render);
  render();
}

start();
