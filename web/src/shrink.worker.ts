// The shrink, off the main thread: the page's run cut down by the engine's delta debugging to
// the fewest faults that still break a property, with a progress message after each run. The
// page stays responsive and stops a shrink by terminating the worker.

import type { Action, Shrunk } from "./engine";
import type { Part } from "./modules";
import { serve, type ErrorMessage } from "./worker";

export interface ShrinkRequest { part: Part; scenario: string; config: Record<string, unknown>; seed: number; actions: Action[]; property: string }
export type ShrinkMessage =
  | { kind: "progress"; runs: number; max_runs: number; faults: number }
  | { kind: "done"; result: Shrunk }
  | ErrorMessage;

serve((r: ShrinkRequest) => r.part, (engine, { scenario, config, seed, actions, property }, post: (m: ShrinkMessage) => void) => {
  const result = engine.shrink_run(scenario, config, seed, actions, property, (p: { runs: number; max_runs: number; faults: number }) =>
    post({ kind: "progress", runs: p.runs, max_runs: p.max_runs, faults: p.faults })) as Shrunk;
  post({ kind: "done", result });
});
