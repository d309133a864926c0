// Branch and compare, off the main thread: the page's run and the same run with one fault more
// or less, both run to their end by the engine and read side by side for the first record where
// they part. The page plays on meanwhile, and stops a comparison by terminating the worker.

import type { Action, Change, Comparison } from "./engine";
import type { Part } from "./modules";
import { serve, type ErrorMessage } from "./worker";

export interface BranchRequest { part: Part; scenario: string; config: Record<string, unknown>; seed: number; actions: Action[]; change: Change }
export type BranchMessage = { kind: "progress"; done: number } | { kind: "done"; result: Comparison } | ErrorMessage;

serve((r: BranchRequest) => r.part, (engine, { scenario, config, seed, actions, change }, post: (m: BranchMessage) => void) => {
  const result = engine.branch_run(scenario, config, seed, actions, change, (p: { a_us: number; b_us: number; until_us: number }) =>
    post({ kind: "progress", done: Math.min(p.a_us, p.b_us) / Math.max(1, p.until_us) })) as Comparison;
  post({ kind: "done", result });
});
