// The engine's modules, one per part of the chapter (wasm/parts/*.rs). A view loads its own
// part's module, once, when it is first opened: the first view downloads one part of the
// chapter, not all of it, and stays that size however many patterns the other parts gain.
// Every module holds the whole catalogue (names, parts, titles), `Lab`, the shrink and the
// branch comparison; a part's own extras (the ring's model, the cache policies, the ID decoder)
// are only in its module.

import type * as Foundations from "./pkg/foundations.js";
import type * as Queues from "./pkg/queues.js";
import type * as Caching from "./pkg/caching.js";
import type * as Balancing from "./pkg/balancing.js";
import type * as Availability from "./pkg/availability.js";
import type * as Locks from "./pkg/locks.js";
import type * as Ids from "./pkg/ids.js";
import type * as Transactions from "./pkg/transactions.js";

export interface Modules {
  foundations: typeof Foundations; queues: typeof Queues; caching: typeof Caching; balancing: typeof Balancing;
  availability: typeof Availability; locks: typeof Locks; ids: typeof Ids; transactions: typeof Transactions;
}
export type Part = keyof Modules;

/** A run of any scenario: the same class in every module. */
export type Lab = Locks.Lab;

/** One scenario of the catalogue (engine/src/scenario/mod.rs `ScenarioSpec`). */
export interface ScenarioSpec { name: string; part: Part; section: string; title_en: string; title_zh: string; properties: string[]; workload: string[] }

/** Each part's glue and the address of its WebAssembly, as separate chunks of the build. */
const SOURCES: { [P in Part]: () => Promise<[Modules[P], string]> } = {
  foundations: () => Promise.all([import("./pkg/foundations.js"), import("./pkg/foundations_bg.wasm?url").then((m) => m.default)]),
  queues: () => Promise.all([import("./pkg/queues.js"), import("./pkg/queues_bg.wasm?url").then((m) => m.default)]),
  caching: () => Promise.all([import("./pkg/caching.js"), import("./pkg/caching_bg.wasm?url").then((m) => m.default)]),
  balancing: () => Promise.all([import("./pkg/balancing.js"), import("./pkg/balancing_bg.wasm?url").then((m) => m.default)]),
  availability: () => Promise.all([import("./pkg/availability.js"), import("./pkg/availability_bg.wasm?url").then((m) => m.default)]),
  locks: () => Promise.all([import("./pkg/locks.js"), import("./pkg/locks_bg.wasm?url").then((m) => m.default)]),
  ids: () => Promise.all([import("./pkg/ids.js"), import("./pkg/ids_bg.wasm?url").then((m) => m.default)]),
  transactions: () => Promise.all([import("./pkg/transactions.js"), import("./pkg/transactions_bg.wasm?url").then((m) => m.default)]),
};

export const PARTS = Object.keys(SOURCES) as Part[];

/** Bytes received so far, and the module's decoded size when the server says it (else 0). */
export type OnProgress = (received: number, total: number) => void;

const ready = new Map<Part, Modules[Part]>();
const pending = new Map<Part, Promise<Modules[Part]>>();
let specs: ScenarioSpec[] | null = null;

/** Loads `part`'s module (once; a second call waits for the first), reporting the download's progress. */
export function loadPart<P extends Part>(part: P, onProgress?: OnProgress): Promise<Modules[P]> {
  const done = ready.get(part);
  if (done) return Promise.resolve(done as Modules[P]);
  let loading = pending.get(part);
  if (!loading) {
    loading = (async () => {
      const [glue, url] = await SOURCES[part]();
      await glue.default({ module_or_path: await download(url, onProgress) });
      ready.set(part, glue);
      specs ??= glue.catalog() as ScenarioSpec[];
      return glue;
    })();
    loading.catch(() => pending.delete(part));
    pending.set(part, loading);
  }
  return loading as Promise<Modules[P]>;
}

/** `part`'s module, which must have been loaded (a view is mounted once its part is). */
export function loaded<P extends Part>(part: P): Modules[P] {
  const m = ready.get(part);
  if (!m) throw new Error(`the engine's module "${part}" is not loaded`);
  return m as Modules[P];
}

/** Every scenario, whichever module answered first. */
export function catalog(): ScenarioSpec[] {
  if (!specs) throw new Error("no engine module is loaded yet");
  return specs;
}

/** The part whose module builds `scenario`. */
export function partOf(scenario: string): Part {
  const spec = catalog().find((s) => s.name === scenario);
  if (!spec) throw new Error(`unknown scenario "${scenario}"`);
  return spec.part;
}

/** A run of `scenario`, built by its part's module. */
export function newLab(scenario: string, config: unknown, seed: number): Lab {
  return new (loaded(partOf(scenario)).Lab)(scenario, config, seed);
}

/** Downloads a module, reporting progress against the decoded size (`X-Decoded-Length`, sent by
 * `cargo xtask lab` with a precompressed file) or `Content-Length` (an uncompressed one). */
async function download(url: string, onProgress?: OnProgress): Promise<ArrayBuffer> {
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`the engine did not load: HTTP ${response.status}`);
  const encoded = response.headers.get("Content-Encoding");
  const total = Number(response.headers.get("X-Decoded-Length") ?? (encoded ? 0 : response.headers.get("Content-Length") ?? 0));
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  onProgress?.(0, total);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onProgress?.(received, total);
  }
  const all = new Uint8Array(received);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all.buffer;
}
