// The simulator's throughput workloads in WebAssembly, timed the way the native benchmark times
// them (tests/benches/engine_throughput.rs): each repeated for at least 2 s and 3 runs. Run by
// `cargo xtask speed`, which builds the module and passes its glue; prints `name events/s` lines.

import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const glue = process.argv[2];
if (!glue) throw new Error("usage: node web/tests/speed.mjs <target/wasm-speed/speed.js>");
const engine = await import(pathToFileURL(glue).href);
engine.initSync({ module: readFileSync(glue.replace(/\.js$/, "_bg.wasm")) });

function measure(f) {
  const start = performance.now();
  let units = 0;
  let runs = 0;
  while (performance.now() - start < 2000 || runs < 3) {
    units += f();
    runs++;
  }
  return units / ((performance.now() - start) / 1000);
}

const held = measure(() => engine.pn_counter_events(20, true));
const hashOnly = measure(() => engine.pn_counter_events(20, false));
const perRun = engine.pn_counter_events(20, true);
const queue = measure(() => engine.bare_queue_events(perRun));
console.log(`queue ${queue.toFixed(0)}\nheld ${held.toFixed(0)}\nhash_only ${hashOnly.toFixed(0)}`);
