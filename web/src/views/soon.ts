import { t, type Key } from "../i18n";

/** A section of the chapter whose view comes in a later release. */
export function mountSoon(el: HTMLElement, title: Key): void {
  el.innerHTML = "";
  const h = document.createElement("h2");
  h.textContent = t(title);
  const p = document.createElement("p");
  p.className = "intro";
  p.textContent = `${t("soon.title")}. ${t("soon.body")}`;
  el.append(h, p);
}
