// The sweep, off the main thread (46.1): for each point, every seed of the `cap` scenario run to
// its end by the engine, with a progress message after each seed and the summed-up point at the
// end of each. The page stays responsive and can cancel by terminating the worker.

import { serve, type ErrorMessage } from "./worker";

export interface SweepRequest { points: { label: string; config: Record<string, unknown> }[]; seeds: number }
export type SweepMessage =
  | { kind: "progress"; done: number; total: number }
  | { kind: "point"; label: string; result: { runs: number; violation_rate: number; availability: number; availability_minority: number; stale_reads_per_run: number } }
  | { kind: "done" }
  | ErrorMessage;

serve(() => "foundations" as const, (engine, { points, seeds }: SweepRequest, post: (m: SweepMessage) => void) => {
  const total = points.length * seeds;
  let done = 0;
  for (const p of points) {
    const samples: unknown[] = [];
    for (let seed = 0; seed < seeds; seed++) {
      samples.push(engine.cap_sweep_sample(p.config, seed));
      done++;
      post({ kind: "progress", done, total });
    }
    post({ kind: "point", label: p.label, result: engine.cap_sweep_point(samples) });
  }
  post({ kind: "done" });
});
