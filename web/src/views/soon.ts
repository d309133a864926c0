import { t, type Key } from "../i18n";
import { el } from "../dom";

/** A section of the chapter whose view comes in a later release. */
export function mountSoon(root: HTMLElement, title: Key): void {
  root.innerHTML = "";
  const back = el("a", "", t("common.soon.back"));
  back.href = "#/";
  const p = el("p");
  p.append(back);
  root.append(el("h2", "", t(title)), el("p", "intro", t("common.soon.title")), el("p", "intro", t("common.soon.body")), p);
}
