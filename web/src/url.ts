// The page's state lives in the URL hash (`#/view?key=value&...`), so that a copied link
// reproduces the same view, parameters and seed.

export interface Route {
  view: string;
  params: URLSearchParams;
}

export function readRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, "");
  const [view, query = ""] = hash.split("?", 2);
  return { view: view || "home", params: new URLSearchParams(query) };
}

/** Replaces the current URL's parameters (no new history entry); the language choice stays. */
export function writeParams(view: string, params: URLSearchParams): void {
  const language = readRoute().params.get("lang");
  if (language && !params.has("lang")) params.set("lang", language);
  const query = params.toString();
  history.replaceState(null, "", `#/${view}${query ? "?" + query : ""}`);
}

export function shareUrl(): string {
  return location.href;
}
