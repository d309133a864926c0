//! The WebAssembly face of distlab: a thin handle over the engine for the lab page, with no logic
//! of its own (design.md). Every engine error becomes a JS exception carrying the engine's own
//! message; a Rust panic, which would be a bug, is reported to the console by
//! `console_error_panic_hook` instead of an opaque "unreachable".
//!
//! Three handles: [`Lab`] drives any scenario of the catalogue (step, run, faults, snapshots, trace
//! slices, verdicts), [`RingLab`] is the consistent-hashing view's model and [`CacheLab`] the
//! cache view's policy comparison.

use distlab_engine::cache::bloom::BloomView;
use distlab_engine::cache::compare::{CompareConfig, Comparison};
use distlab_engine::hashing::stats::{self, Method};
use distlab_engine::hashing::{HashRing, md5_u128};
use distlab_engine::scenario::{self, ScenarioRun};
use distlab_engine::sim::{Fault, SimTime, format_hash};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// Installs the panic hook; the page calls it once after loading the module.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Plain JS objects (not `Map`s) and numbers: what the page's TypeScript expects.
fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|e| JsError::new(&e.to_string()))
}

fn from_js<T: serde::de::DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsError> {
    serde_wasm_bindgen::from_value(value).map_err(|e| JsError::new(&format!("invalid {what}: {e}")))
}

/// Seeds and times cross as JS numbers: whole, non-negative, and exact (below 2^53).
#[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "checked whole and in range first")]
fn whole(value: f64, what: &str) -> Result<u64, JsError> {
    const EXACT_MAX: f64 = 9_007_199_254_740_991.0;
    if value.fract() != 0.0 || !(0.0..=EXACT_MAX).contains(&value) {
        return Err(JsError::new(&format!("{what} = {value} is out of range: allowed whole numbers 0..=2^53-1")));
    }
    Ok(value as u64)
}

/// The scenarios, with their sections, titles (EN and 中文) and promised properties.
#[wasm_bindgen]
pub fn catalog() -> Result<JsValue, JsError> {
    to_js(scenario::catalog())
}

/// One running scenario.
#[wasm_bindgen]
pub struct Lab {
    run: Box<dyn ScenarioRun>,
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab").field("scenario", &self.run.spec().name).field("seed", &self.run.seed()).finish()
    }
}

#[wasm_bindgen]
impl Lab {
    /// Builds `scenario` with `config` (an object of overrides, or `{}`) and `seed`.
    #[wasm_bindgen(constructor)]
    pub fn new(scenario: &str, config: JsValue, seed: f64) -> Result<Lab, JsError> {
        let config: serde_json::Value = if config.is_undefined() || config.is_null() {
            serde_json::json!({})
        } else {
            from_js(config, "configuration")?
        };
        let run = scenario::build(scenario, &config, whole(seed, "seed")?).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Lab { run })
    }

    /// Processes one event; returns its time in µs, or `undefined` when nothing is left.
    pub fn step(&mut self) -> Result<Option<f64>, JsError> {
        let t = self.run.step().map_err(|e| JsError::new(&e.to_string()))?;
        Ok(t.map(|t| t.as_micros() as f64))
    }

    /// Runs every event up to `until_us` (µs of simulated time).
    pub fn run_until(&mut self, until_us: f64) -> Result<(), JsError> {
        let until = SimTime::from_micros(whole(until_us, "until_us")?);
        self.run.run_until(until).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Applies a fault now, e.g. `{fault: "crash", node: "r1"}`.
    pub fn inject(&mut self, fault: JsValue) -> Result<(), JsError> {
        let fault: Fault = from_js(fault, "fault")?;
        self.run.inject(fault).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Events processed so far: what a share link counts to replay a run exactly (several events
    /// can share one instant, so a time alone cannot say where a fault went in).
    pub fn events_processed(&self) -> f64 {
        self.run.events_processed() as f64
    }

    /// Steps until `count` events have been processed (or nothing is left).
    pub fn run_to_event(&mut self, count: f64) -> Result<(), JsError> {
        let count = whole(count, "count")?;
        while self.run.events_processed() < count {
            if self.run.step().map_err(|e| JsError::new(&e.to_string()))?.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// The run's seed (below 2^53: the page only ever makes such seeds).
    #[expect(clippy::cast_precision_loss, reason = "seeds from the page are below 2^53")]
    pub fn seed(&self) -> f64 {
        self.run.seed() as f64
    }

    pub fn now_us(&self) -> f64 {
        self.run.now().as_micros() as f64
    }

    pub fn default_until_us(&self) -> f64 {
        self.run.default_until().as_micros() as f64
    }

    pub fn snapshot(&self) -> Result<JsValue, JsError> {
        to_js(&self.run.snapshot())
    }

    pub fn trace_len(&self) -> usize {
        self.run.trace().len()
    }

    /// Trace records `from..to` (clamped to the trace).
    pub fn trace_slice(&self, from: usize, to: usize) -> Result<JsValue, JsError> {
        let records = self.run.trace().records();
        let to = to.min(records.len());
        to_js(&records[from.min(to)..to])
    }

    /// `0x` and 16 hex digits, exactly as `distlab sim run` prints it.
    pub fn trace_hash(&self) -> String {
        format_hash(self.run.trace().hash())
    }

    pub fn verdicts(&self) -> Result<JsValue, JsError> {
        to_js(&self.run.verdicts())
    }

    pub fn summary(&self) -> Result<JsValue, JsError> {
        to_js(&self.run.summary())
    }

    /// The `cap` scenario's client operations so far, for the history timeline.
    pub fn operations(&self) -> Result<JsValue, JsError> {
        to_js(&scenario::cap::operations(self.run.as_ref()))
    }
}

/// One seed of a `cap` sweep (run to its end): what the page's sweep worker calls.
#[wasm_bindgen]
pub fn cap_sweep_sample(config: JsValue, seed: f64) -> Result<JsValue, JsError> {
    let config: serde_json::Value = from_js(config, "configuration")?;
    let sample =
        scenario::cap::sweep_sample(&config, whole(seed, "seed")?).map_err(|e| JsError::new(&e.to_string()))?;
    to_js(&sample)
}

/// The samples of one sweep point, summed up.
#[wasm_bindgen]
pub fn cap_sweep_point(samples: JsValue) -> Result<JsValue, JsError> {
    let samples: Vec<scenario::cap::SweepSample> = from_js(samples, "samples")?;
    to_js(&scenario::cap::SweepPoint::of(&samples))
}

/// The cache view's policy comparison: several policies on one trace, advanced in steps.
#[wasm_bindgen]
#[derive(Debug)]
pub struct CacheLab {
    comparison: Comparison,
}

#[wasm_bindgen]
impl CacheLab {
    /// `config` is a `CompareConfig`: `{ workload, length, capacity, seed, policies }`.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<CacheLab, JsError> {
        let config: CompareConfig = from_js(config, "comparison")?;
        Ok(CacheLab { comparison: Comparison::new(&config).map_err(|e| JsError::new(&e.to_string()))? })
    }

    /// Feeds the next `n` accesses; true once the trace is done.
    pub fn advance(&mut self, n: usize) -> bool {
        self.comparison.advance(n)
    }

    pub fn view(&self) -> Result<JsValue, JsError> {
        to_js(&self.comparison.view())
    }
}

/// A Bloom filter for `expected` keys at `fp_rate` after `inserted` keys: its bits by block and
/// its false-positive rate measured on `probes` absent keys.
#[wasm_bindgen]
pub fn bloom_view(expected: f64, fp_rate: f64, inserted: f64, probes: f64, blocks: usize) -> Result<JsValue, JsError> {
    let view = BloomView::measure(
        whole(expected, "expected")?,
        fp_rate,
        whole(inserted, "inserted")?,
        whole(probes, "probes")?,
        blocks,
    )
    .map_err(|e| JsError::new(&e.to_string()))?;
    to_js(&view)
}

/// The hash-ring view's model: a ring, a fixed set of sample keys, and what each change moved.
#[wasm_bindgen]
#[derive(Debug)]
pub struct RingLab {
    ring: HashRing,
    keys: Vec<String>,
}

#[derive(Serialize)]
struct RingView<'a> {
    nodes: Vec<NodeView<'a>>,
    /// Every virtual node: position on the circle (0..1) and node index.
    points: Vec<(f64, usize)>,
    /// Every key: position on the circle (0..1) and owner index.
    keys: Vec<(f64, usize)>,
    load: stats::Load,
    virtual_nodes: u32,
}

#[derive(Serialize)]
struct NodeView<'a> {
    name: &'a str,
    weight: f64,
    points: usize,
    keys: u64,
}

/// A position on the circle as a fraction of a turn.
fn turn(hash: u128) -> f64 {
    hash as f64 / u128::MAX as f64
}

#[wasm_bindgen]
impl RingLab {
    /// A ring of `nodes` (weight 1 each) with `virtual_nodes` each, and `key_count` sample keys.
    #[wasm_bindgen(constructor)]
    pub fn new(virtual_nodes: u32, nodes: Vec<String>, key_count: usize) -> Result<RingLab, JsError> {
        if key_count > 100_000 {
            return Err(JsError::new(&format!("key_count = {key_count} is out of range: allowed 0..=100000")));
        }
        let ring = HashRing::with_nodes(virtual_nodes, &nodes).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(RingLab { ring, keys: stats::sample_keys(key_count) })
    }

    /// Everything the view draws.
    pub fn view(&self) -> Result<JsValue, JsError> {
        let names = self.ring.nodes();
        let index = |n: &str| names.iter().position(|m| m == n).unwrap_or(0);
        let load = stats::load(&self.ring, Method::Ring, &self.keys);
        let nodes = names
            .iter()
            .map(|n| NodeView {
                name: n,
                weight: self.ring.weight(n).unwrap_or(1.0),
                points: self.ring.points().iter().filter(|(_, m)| m == n).count(),
                keys: load.keys_per_node.get(n).copied().unwrap_or(0),
            })
            .collect();
        let points = self.ring.points().iter().map(|(p, n)| (turn(*p), index(n))).collect();
        let keys =
            self.keys.iter().map(|k| (turn(md5_u128(k)), self.ring.get_node(k).map_or(usize::MAX, index))).collect();
        to_js(&RingView { nodes, points, keys, load, virtual_nodes: self.ring.virtual_nodes() })
    }

    /// The sample key at `index` and its owners (owner first), for hovering.
    pub fn owners(&self, index: usize, replicas: usize) -> Result<JsValue, JsError> {
        let key = self.keys.get(index).ok_or_else(|| JsError::new(&format!("no key number {index}")))?;
        to_js(&(key, self.ring.get_nodes(key, replicas)))
    }

    /// Applies a change and returns what it moved, per method, next to the ideal.
    fn change(
        &mut self,
        what: String,
        f: impl FnOnce(&mut HashRing) -> Result<(), String>,
    ) -> Result<JsValue, JsError> {
        let before = self.ring.clone();
        f(&mut self.ring).map_err(|e| JsError::new(&e))?;
        to_js(&stats::movement(&before, &self.ring, what, &self.keys))
    }

    pub fn add_node(&mut self, name: String, weight: f64) -> Result<JsValue, JsError> {
        self.change(format!("add {name}"), |r| r.add_node(&name, weight).map_err(|e| e.to_string()))
    }

    pub fn remove_node(&mut self, name: String) -> Result<JsValue, JsError> {
        self.change(format!("remove {name}"), |r| r.remove_node(&name).map_err(|e| e.to_string()))
    }

    pub fn set_weight(&mut self, name: String, weight: f64) -> Result<JsValue, JsError> {
        self.change(format!("weight {name} = {weight}"), |r| r.set_weight(&name, weight).map_err(|e| e.to_string()))
    }

    /// Rebuilds the ring with `virtual_nodes` per node, keeping nodes and weights.
    pub fn set_virtual_nodes(&mut self, virtual_nodes: u32) -> Result<JsValue, JsError> {
        self.change(format!("virtual nodes = {virtual_nodes}"), |r| {
            let mut next = HashRing::new(virtual_nodes).map_err(|e| e.to_string())?;
            for n in r.nodes() {
                next.add_node(n, r.weight(n).unwrap_or(1.0)).map_err(|e| e.to_string())?;
            }
            *r = next;
            Ok(())
        })
    }
}
