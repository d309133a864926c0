// What every page worker does, once: load the engine, answer each request by posting messages
// (progress, results, a last "done"), and turn anything thrown into one `error` message, so the
// page never waits on a worker that died silently.

import init from "./pkg/distlab_wasm.js";

export type ErrorMessage = { kind: "error"; message: string };

/** Answers each request with `work`, which posts its messages through `post`. */
export function serve<Request, Message>(work: (request: Request, post: (m: Message) => void) => void): void {
  self.onmessage = async (ev: MessageEvent<Request>) => {
    const post = (m: Message | ErrorMessage) => (self as unknown as Worker).postMessage(m);
    try {
      await init();
      work(ev.data, post);
    } catch (e) {
      post({ kind: "error", message: e instanceof Error ? e.message : String(e) });
    }
  };
}
