// Exercise 1 as a guided walkthrough (46.7.1): five pages, each sets up one fault of the
// `exercise-1` scenario, shows the run up to the fault, asks the learner what will happen, and
// only then runs it to the end and explains the timeline and the verdicts.

import { Lab } from "../pkg/distlab_wasm.js";
import { t, type Key } from "../i18n";
import { writeParams } from "../url";
import { LockHistory, drawTimeline, verdictLine, type Verdict } from "./lockTimeline";
import { el } from "../dom";

interface Step { step: number; fencing: boolean; faultAtUs: number; key: string; answer: number }

/** The pages: step 3 twice, without and then with fencing. `answer` is the right choice (0-based). */
const STEPS: Step[] = [
  { step: 1, fencing: true, faultAtUs: 600_000, key: "crash", answer: 1 },
  { step: 2, fencing: true, faultAtUs: 2_500_000, key: "watchdog", answer: 0 },
  { step: 3, fencing: false, faultAtUs: 200_000, key: "pause", answer: 2 },
  { step: 3, fencing: true, faultAtUs: 200_000, key: "fenced", answer: 1 },
  { step: 4, fencing: true, faultAtUs: 2_150_000, key: "restart", answer: 2 },
];
const CHOICES = 3;
const CLIENTS = ["c0", "c1"];

export function mountWalkthrough(root: HTMLElement, params: URLSearchParams): void {
  let index = Math.min(STEPS.length, Math.max(0, Number(params.get("page") ?? 0) || 0));
  let revealed = false;
  let chosen: number | null = null;

  function go(next: number): void {
    index = next;
    revealed = false;
    chosen = null;
    writeParams("exercise-1", new URLSearchParams({ page: String(index) }));
    render();
  }

  function render(): void {
    root.innerHTML = "";
    root.append(el("h2", "", t("walk.title")), el("p", "intro", t("walk.intro")));
    const progress = el("div", "row");
    progress.id = "walk-progress";
    STEPS.forEach((_, i) => {
      const dot = el("button", i === index ? "step-dot current" : "step-dot", String(i + 1));
      dot.addEventListener("click", () => go(i));
      progress.append(dot);
    });
    root.append(progress);
    if (index >= STEPS.length) {
      const done = el("div", "panel");
      done.id = "walkthrough-done";
      done.append(el("h3", "", t("walk.done.title")), el("p", "", t("walk.done.body")));
      const again = el("button", "", t("walk.again"));
      again.id = "walk-again";
      again.addEventListener("click", () => go(0));
      const lab = el("a", "", t("walk.openLab"));
      lab.href = "#/locks";
      done.append(again, " ", lab);
      root.append(done);
      return;
    }
    const s = STEPS[index];
    const k = (suffix: string) => `walk.${s.key}.${suffix}` as Key;
    const page = el("div", "panel");
    page.id = "walk-step";
    page.dataset.page = String(index);
    page.append(el("h3", "", `${t("walk.step", { n: index + 1, total: STEPS.length })}: ${t(k("title"))}`), el("p", "", t(k("setup"))));

    const lab = new Lab("exercise-1", { step: s.step, fencing: s.fencing }, 1);
    lab.run_until(revealed ? lab.default_until_us() : s.faultAtUs);
    const history = new LockHistory();
    const snap = lab.snapshot() as { time: number; nodes: { id: number; name: string }[] };
    history.update(lab, snap.nodes);
    const verdicts = lab.verdicts() as Verdict[];
    const chart = el("div", "chart");
    chart.id = "walk-timeline";
    chart.append(drawTimeline(history, CLIENTS, snap.time, revealed ? verdicts : [], lab.default_until_us()));
    page.append(chart, el("p", "muted", t("locks.legend")));

    const question = el("fieldset", "question");
    question.append(el("legend", "", t(k("question"))));
    for (let i = 0; i < CHOICES; i++) {
      const label = el("label", "choice");
      const radio = el("input");
      radio.type = "radio";
      radio.name = "choice";
      radio.value = String(i);
      radio.checked = chosen === i;
      radio.disabled = revealed;
      radio.addEventListener("change", () => {
        chosen = i;
        reveal.disabled = false;
      });
      label.append(radio, ` ${t(`${k("choice")}${i}` as Key)}`);
      if (revealed && i === s.answer) label.classList.add("right");
      question.append(label);
    }
    page.append(question);
    const buttons = el("div", "row");
    const reveal = el("button", "", t("walk.reveal"));
    reveal.id = "reveal";
    reveal.disabled = revealed || chosen === null;
    reveal.addEventListener("click", () => {
      revealed = true;
      render();
    });
    const skip = el("button", "", t("walk.skip"));
    skip.id = "reveal-skip";
    skip.hidden = revealed;
    skip.addEventListener("click", () => {
      revealed = true;
      render();
    });
    buttons.append(reveal, skip);
    if (revealed) {
      const verdict = el("p", chosen === s.answer ? "good" : "bad", chosen === null ? "" : chosen === s.answer ? t("walk.right") : t("walk.wrongAnswer"));
      verdict.id = "walk-answer";
      const explain = el("p", "explain", t(k("explain")));
      explain.id = "walk-explain";
      const list = el("div", "panel");
      list.id = "walk-verdicts";
      for (const v of verdicts) list.append(verdictLine(v));
      page.append(verdict, explain, list);
      const next = el("button", "", index + 1 < STEPS.length ? t("walk.next") : t("walk.finish"));
      next.id = "next";
      next.addEventListener("click", () => go(index + 1));
      buttons.append(next);
    }
    page.append(buttons);
    root.append(page);
  }

  render();
}
