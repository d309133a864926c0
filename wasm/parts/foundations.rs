//! The page's module for 46.1, the foundations: `pn-counter`, `cap`, `failure-detector` and
//! `election`. It adds the hash ring view's model and the CAP sweep.

use distlab_engine::hashing::stats::{self, Method};
use distlab_engine::hashing::{HashRing, md5_u128};
use distlab_engine::scenario;
use distlab_wasm::{from_js, to_js, whole};
use serde::Serialize;
use wasm_bindgen::prelude::*;

distlab_wasm::part!(FOUNDATIONS);

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
