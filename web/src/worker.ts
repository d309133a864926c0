// What every page worker does, once: load its part's engine module, answer each request by
// posting messages (progress, results, a last "done"), and turn anything thrown into one `error`
// message, so the page never waits on a worker that died silently.

import { loadPart, type Modules, type Part } from "./modules";

export type ErrorMessage = { kind: "error"; message: string };

/** Answers each request with `work`, given the module of the request's `part`; `work` posts its
 * messages through `post`. */
export function serve<P extends Part, Request, Message>(
  part: (request: Request) => P,
  work: (engine: Modules[P], request: Request, post: (m: Message) => void) => void,
): void {
  self.onmessage = async (ev: MessageEvent<Request>) => {
    const post = (m: Message | ErrorMessage) => (self as unknown as Worker).postMessage(m);
    try {
      work(await loadPart(part(ev.data)), ev.data, post);
    } catch (e) {
      post({ kind: "error", message: e instanceof Error ? e.message : String(e) });
    }
  };
}
