// The simulator's throughput workloads in WebAssembly, timed the way the native benchmark times
// them (tests/benches/engine_throughput.rs, `simulator_rows`): five rounds, each timing the held
// run, the hash-only run and the bare queue for 0.4 s apiece in turn, and each row's best round
// (the first rounds also cover the engine's tier-up from baseline code). Run by
// `cargo xtask speed`, which builds the module and passes its glue; prints `name events/s` lines.

import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const glue = process.argv[2];
if (!glue) throw new Error("usage: node web/tests/speed.mjs <target/wasm-speed/speed.js>");
const engine = await import(pathToFileURL(glue).href);
engine.initSync({ module: readFileSync(glue.replace(/\.js$/, "_bg.wasm")) });

function measure(f, ms) {
  const start = performance.now();
  let units = 0;
  let runs = 0;
  while (performance.now() - start < ms || runs < 3) {
    units += f();
    runs++;
  }
  return units / ((performance.now() - start) / 1000);
}

const perRun = engine.pn_counter_events(20, true);
let [held, hashOnly, queue] = [0, 0, 0];
for (let round = 0; round < 5; round++) {
  held = Math.max(held, measure(() => engine.pn_counter_events(20, true), 400));
  hashOnly = Math.max(hashOnly, measure(() => engine.pn_counter_events(20, false), 400));
  queue = Math.max(queue, measure(() => engine.bare_queue_events(perRun), 400));
}
console.log(`queue ${queue.toFixed(0)}\nheld ${held.toFixed(0)}\nhash_only ${hashOnly.toFixed(0)}`);
