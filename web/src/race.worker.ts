// The IDs view's throughput race (46.7.2), off the main thread: each mode mints for its budget
// of this browser's clock in the engine (`race_ids`, engine/src/id/race.rs), one after another,
// with a message before each lap and one with each lap's result. A lap holds its thread for the
// whole budget; here that thread is not the page's.

import { serve, type ErrorMessage } from "./worker";

export type RaceMode = "snowflake" | "sonyflake" | "uuid-v4" | "uuid-v7" | "chapter-v7" | "segment";
export interface Lap {
  mode: RaceMode; ids: number; elapsed_ms: number; limit_per_second: number | null; bits: number;
  full_ticks: number; claims: number; out_of_order: number; version: number | null;
}
export interface RaceRequest { modes: RaceMode[]; budget_ms: number; seed: number }
export type RaceMessage =
  | { kind: "running"; mode: RaceMode; index: number }
  | { kind: "lap"; lap: Lap }
  | { kind: "done" }
  | ErrorMessage;

serve(() => "ids" as const, (engine, { modes, budget_ms, seed }: RaceRequest, post: (m: RaceMessage) => void) => {
  for (const [index, mode] of modes.entries()) {
    post({ kind: "running", mode, index });
    post({ kind: "lap", lap: engine.race_ids(mode, budget_ms, seed) as Lap });
  }
  post({ kind: "done" });
});
