// The guided walkthrough every exercise uses: numbered pages, each with a setup, a question with
// three choices, and a reveal that shows what happened and explains it; a last page to finish.
// The page's number lives in the URL. Each exercise supplies its pages' content.

import { t, type Key } from "../i18n";
import { writeParams } from "../url";
import { el } from "../dom";

export interface GuidedPage {
  /** The i18n key stem: `${prefix}.${key}.title`, `.setup`, `.question`, `.choice0`…, `.explain`. */
  key: string;
  /** The right choice (0-based). */
  answer: number;
  /** Content above the question (for instance the run up to the fault, or all of it once revealed). */
  body?(page: HTMLElement, revealed: boolean): void;
  /** Content after the explanation, once revealed. */
  after?(page: HTMLElement): void;
}

export interface Guided {
  /** The view's route, e.g. `exercise-1`. */
  view: string;
  /** The i18n prefix of the pages' keys, e.g. `walk`. */
  prefix: string;
  title: Key;
  intro: Key;
  done: Key;
  openLab: Key;
  labHref: string;
  pages: GuidedPage[];
}

const CHOICES = 3;

/**
 * The order the choices are shown in: a permutation chosen by the page's key (FNV-1a), the same
 * on every visit, so that the right answer is not always in one place (the texts are written in
 * the order that reads best, with the answer anywhere).
 */
function shown(key: string): number[] {
  let h = 0x811c9dc5;
  for (const c of key) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  const orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
  return orders[h % orders.length];
}

export function mountGuided(root: HTMLElement, params: URLSearchParams, g: Guided): void {
  let index = Math.min(g.pages.length, Math.max(0, Number(params.get("page") ?? 0) || 0));
  let revealed = false;
  let chosen: number | null = null;

  function go(next: number): void {
    index = next;
    revealed = false;
    chosen = null;
    writeParams(g.view, new URLSearchParams({ page: String(index) }));
    render();
  }

  function render(): void {
    root.innerHTML = "";
    root.append(el("h2", "", t(g.title)), el("p", "intro", t(g.intro)));
    const progress = el("div", "row");
    progress.id = "walk-progress";
    g.pages.forEach((_, i) => {
      const dot = el("button", i === index ? "step-dot current" : "step-dot", String(i + 1));
      dot.addEventListener("click", () => go(i));
      progress.append(dot);
    });
    root.append(progress);
    if (index >= g.pages.length) {
      const done = el("div", "panel");
      done.id = "walkthrough-done";
      done.append(el("h3", "", t("walk.done.title")), el("p", "", t(g.done)));
      const again = el("button", "", t("walk.again"));
      again.id = "walk-again";
      again.addEventListener("click", () => go(0));
      const lab = el("a", "", t(g.openLab));
      lab.href = g.labHref;
      done.append(again, " ", lab);
      root.append(done);
      return;
    }
    const p = g.pages[index];
    const k = (suffix: string) => `${g.prefix}.${p.key}.${suffix}` as Key;
    const page = el("div", "panel");
    page.id = "walk-step";
    page.dataset.page = String(index);
    page.append(el("h3", "", t("common.frame.labelled", { label: t("walk.step", { n: index + 1, total: g.pages.length }), value: t(k("title")) })), el("p", "", t(k("setup"))));
    p.body?.(page, revealed);

    const question = el("fieldset", "question");
    question.append(el("legend", "", t(k("question"))));
    const buttons = el("div", "row");
    const reveal = el("button", "", t("walk.reveal"));
    reveal.id = "reveal";
    reveal.disabled = revealed || chosen === null;
    for (const i of shown(`${g.prefix}.${p.key}`).slice(0, CHOICES)) {
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
      if (revealed && i === p.answer) label.classList.add("right");
      question.append(label);
    }
    page.append(question);
    const show = () => {
      revealed = true;
      render();
    };
    reveal.addEventListener("click", show);
    const skip = el("button", "", t("walk.skip"));
    skip.id = "reveal-skip";
    skip.hidden = revealed;
    skip.addEventListener("click", show);
    buttons.append(reveal, skip);
    if (revealed) {
      const verdict = el("p", chosen === p.answer ? "good" : "bad", chosen === null ? "" : chosen === p.answer ? t("walk.right") : t("walk.wrongAnswer"));
      verdict.id = "walk-answer";
      const explain = el("p", "explain", t(k("explain")));
      explain.id = "walk-explain";
      page.append(verdict, explain);
      p.after?.(page);
      const next = el("button", "", index + 1 < g.pages.length ? t("walk.next") : t("walk.finish"));
      next.id = "next";
      next.addEventListener("click", () => go(index + 1));
      buttons.append(next);
    }
    page.append(buttons);
    root.append(page);
  }

  render();
}
