// The TypeScript types of what the engine returns through `Lab` (wasm/src/lib.rs): one place,
// so that no view re-declares the engine's shapes or decodes its internals.

/** A fault as the engine takes it, e.g. `{ fault: "crash", node: "r1" }` (sim/fault.rs). */
export type Fault = { fault: string; [field: string]: unknown };

/** A fault the learner injected, as a share link carries it. */
export interface Action { after: number; at: number; fault: Fault }

export type NodeStatus = "up" | "paused" | "crashed";

/** One node of `Lab.snapshot()`; `S` is the actor's public state (`null` while crashed). */
/** `slow`: how many times slower its timers run (`Fault::Slow`), absent when 1. */
export interface NodeSnapshot<S = unknown> { id: number; name: string; status: NodeStatus; until?: number; clock: number; timers: number[]; state: S | null; slow?: number }

export interface InFlight<M = unknown> { msg_id: number; from: number; to: number; deliver_at: number; msg: M }

/** `Lab.snapshot()`: the world at the shown moment. */
export interface Snapshot<S = unknown, M = unknown> { time: number; events_processed: number; nodes: NodeSnapshot<S>[]; in_flight: InFlight<M>[]; cuts: [number, number][]; net: Record<string, number> }

/** One record of `Lab.trace_slice()`. */
export interface TraceRecord { index: number; time: number; kind: string; [field: string]: unknown }

/** Holds (so far, or for good once final), violated, or not yet decidable (check/mod.rs). */
export type VerdictStatus = "holds" | "violated" | "pending" | "unknown";

export interface Mark { node: string; from_us: number; to_us: number }

/** A checker's detail as data (check/message.rs): a code and its values, each text that reads
 * the same in every language, another message, or a list of messages. */
export interface Message { code: string; args?: Record<string, string | Message | Message[]> }

/** One of `Lab.verdicts()`; `detail` is `message` in English. */
export interface Verdict { property: string; holds: boolean; detail: string; message: Message; promised: boolean; marks?: Mark[]; status: VerdictStatus; final: boolean; at_us?: number }

/** A fault at its true time, as an explicit `schedule` in a configuration holds it. */
export type ScheduledFault = Fault & { at_us: number };

/** `shrink_run`'s answer: the minimal run's configuration and what it took. */
export interface Shrunk {
  scenario: string; seed: number; property: string; faults_before: number; faults_after: number;
  workload: { knob: string; before: number; after: number }[];
  config: Record<string, unknown> & { schedule: ScheduledFault[] };
  detail: string; at_us?: number; runs: number; minimal: boolean;
}

/** One of `Lab.fault_marks()`: a fault applied (with its trace record) or still to come. */
export interface FaultMark { time: number; index: number | null; fault: Fault; by_learner: boolean }

/** What makes a branch (`branch_run`): one fault more, put in like a learner's, or one of the run's less. */
export type Change = { add: Action } | { remove: { at_us: number; fault: Fault } };

/** One branch of a comparison, run to its end: `window` holds its records around the first divergence. */
export interface BranchSide { verdicts: Verdict[]; summary: Record<string, unknown>; trace_hash: string; records: number; events: number; window: TraceRecord[] }

/** `branch_run`'s answer: the run (A) beside the run with the change made (B), and where they first part. */
export interface Comparison {
  scenario: string; seed: number; change: Change;
  /** How to run B on its own: its configuration and the faults put in by hand. */
  b_branch: { config: Record<string, unknown>; injected: Action[] };
  change_record: TraceRecord | null;
  a: BranchSide; b: BranchSide;
  divergence: { a_index: number | null; b_index: number | null; at_us: number } | null;
}

/** A Redis answer as the engine writes it (store/cmd.rs `Reply`). */
export type StoreReply =
  | { reply: "nil" } | { reply: "status"; value: string } | { reply: "int"; value: number }
  | { reply: "bulk"; value: string } | { reply: "array"; value: StoreReply[] } | { reply: "error"; value: string };

/** One command of a replay: as the simulated store ran and answered it, and as Redis did. */
export interface ReplayedCommand {
  n: number; client: string; store: string; req: number; at_us: number; record: number;
  command: string; reply: StoreReply | null; real: StoreReply; real_at_us: number; same: boolean;
}

/** The file `distlab replay` writes: the report and both histories. */
export interface ReplayFile {
  scenario: string; seed: number; config: Record<string, unknown>; target: string; until_us: number; commands: number;
  store_faults: { at_us: number; fault: Fault }[];
  divergence: { n: number; at_us: number; real_at_us: number; client: string; store: string; command: string; simulated: StoreReply; real: StoreReply; leading: TraceRecord[] } | null;
  flagged_by: string[]; verdicts: Verdict[]; history: ReplayedCommand[];
}
