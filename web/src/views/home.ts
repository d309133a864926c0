// The start page: the chapter's eight learning goals, each with the views and the exercise that
// teach it and whether they are built, and a path for a first visit.

import { t, type Key } from "../i18n";
import { el } from "../dom";

/** A view of the lab: its route and its nav label, and whether it is built. */
export interface Entry { id: string; title: Key; built: boolean }

/** Which views teach each of the chapter's learning goals (its opening list, in order). */
const GOALS: { goal: Key; views: string[] }[] = [
  { goal: "home.goal.1", views: ["cap", "ring", "counter", "coordination", "failure-detector"] },
  { goal: "home.goal.2", views: ["queues", "exercise-2"] },
  { goal: "home.goal.3", views: ["caching", "exercise-3"] },
  { goal: "home.goal.4", views: ["balancing", "exercise-4"] },
  { goal: "home.goal.5", views: ["availability", "coordination", "failure-detector"] },
  { goal: "home.goal.6", views: ["transactions"] },
  { goal: "home.goal.7", views: ["locks", "exercise-1", "coordination"] },
  { goal: "home.goal.8", views: ["ids", "exercise-5"] },
];

const PATH: [string, Key][] = [
  ["cap", "home.path.1"],
  ["ring", "home.path.2"],
  ["locks", "home.path.3"],
  ["caching", "home.path.4"],
  ["transactions", "home.path.5"],
];

function link(e: Entry): HTMLElement {
  const item = el("li", e.built ? "built" : "soon");
  const a = el("a", "", t(e.title));
  a.href = `#/${e.id}`;
  item.append(a, el("span", "muted", ` · ${e.built ? `✓ ${t("home.built")}` : `○ ${t("home.soon")}`}`));
  return item;
}

export function mountHome(root: HTMLElement, entries: Entry[]): void {
  const byId = new Map(entries.map((e) => [e.id, e]));
  root.innerHTML = "";
  root.append(el("h2", "", t("home.title")), el("p", "intro", t("home.intro")));
  const path = el("ol", "home-path panel");
  path.id = "home-path";
  for (const [id, text] of PATH) {
    const item = el("li");
    const a = el("a", "", t(byId.get(id)?.title ?? "home.path"));
    a.href = `#/${id}`;
    item.append(a, ` — ${t(text)}`);
    path.append(item);
  }
  root.append(el("h3", "", t("home.path")), path, el("h3", "", t("home.goals")));
  const goals = el("ol", "home-goals");
  goals.id = "home-goals";
  for (const g of GOALS) {
    const item = el("li", "panel");
    const views = el("ul");
    for (const id of g.views) {
      const e = byId.get(id);
      if (e) views.append(link(e));
    }
    item.dataset.built = String(g.views.some((id) => byId.get(id)?.built));
    item.append(el("strong", "", t(g.goal)), views);
    goals.append(item);
  }
  root.append(goals);
}
