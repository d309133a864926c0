//! Load balancing (46.4, exercise 4): which backend serves a request.
//!
//! Every algorithm is one [`Algorithm`]: given the request's key (its client's address, or the
//! key a sticky algorithm hashes) and the balancer's [`View`] of its backends, it picks one of
//! them. The view is the balancer's own bookkeeping: whether a backend is in rotation (health
//! checks and passive ejection say so), its effective weight (slow start ramps it), and the
//! connections and requests the balancer itself has open to it, counted when it sends and when
//! the answer comes back. The chapter's `LeastConnectionsLoadBalancer` reads a `connections`
//! field that nothing ever updates; here the counts are the balancer's, or they do not exist.
//!
//! One file an algorithm: [`round_robin`], [`smooth_wrr`] (nginx), [`least_conn`],
//! [`least_outstanding`], [`ip_hash`] (jump hash, with a rehash past a down backend),
//! [`bounded_load`] (consistent hashing with bounded loads, Google's ε), [`maglev`], [`p2c`]
//! (power of two choices on peak-EWMA latency, as Finagle, linkerd and tower) and [`random`];
//! [`chapter`] keeps the chapter's five, defects and all, so that a run can show each one
//! failing beside its fix. [`health`] has the active and passive checks and slow start.
//! [`AlgorithmKind`] names every algorithm for configurations and the CLI, and
//! [`Picker`] holds any one of them.

pub mod backend;
pub mod balancer;
pub mod bounded_load;
pub mod chapter;
pub mod client;
pub mod health;
pub mod ip_hash;
pub mod least_conn;
pub mod least_outstanding;
pub mod maglev;
pub mod p2c;
pub mod random;
pub mod round_robin;
pub mod smooth_wrr;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::actor::Protocol;
use crate::hashing::md5_u128;
use crate::sim::Rng;

pub use health::Transition;
pub use p2c::PeakEwma;

/// The load-balancing world: clients, balancers and backends.
#[derive(Debug)]
pub struct LbProtocol;

impl Protocol for LbProtocol {
    type Msg = LbMsg;
    type Obs = LbObs;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LbMsg {
    /// A client's request to a balancer; `key` is what the hashing algorithms hash (the
    /// client's address, or the request's key).
    Request {
        id: u64,
        key: String,
    },
    /// The balancer's copy to a backend, under the balancer's own number `id`; `request` is the
    /// client's number for it (what a real proxy's front end needs to hand the backend the
    /// client's request, and the client the backend's answer).
    Forward {
        id: u64,
        request: u64,
    },
    /// A backend's answer; `ok` false for an error (a 5xx, or refused for overload).
    Done {
        id: u64,
        ok: bool,
    },
    /// The balancer's answer to the client.
    Answer {
        id: u64,
        ok: bool,
    },
    /// A health probe (`GET /health`) and its answer.
    Probe {
        seq: u64,
    },
    ProbeOk {
        seq: u64,
    },
}

/// Why a backend left rotation or came back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Active health checks.
    Probes,
    /// Passive checks on real requests.
    Requests,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LbObs {
    /// A balancer sent request `id` (the client's number) of `client` to `backend` (an index
    /// in the configured list).
    Routed { client: u32, id: u64, backend: u32 },
    /// A balancer had no backend in rotation for it.
    NoBackend { client: u32, id: u64 },
    /// The client got its answer, `latency_us` after it sent the request.
    Answered { id: u64, ok: bool, latency_us: u64 },
    /// A balancer took a backend out of rotation or put it back.
    Health { backend: u32, to: Transition, cause: Cause },
    /// A probe's result as the balancer counted it.
    Probed { backend: u32, ok: bool },
    /// A backend's process started (at the beginning, and after each restart).
    Started,
}

/// One backend as a balancer sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackendView {
    pub name: String,
    /// The weight the balancer gives it now (its configured weight, ramped by slow start).
    pub weight: u32,
    /// In rotation: not marked down by active checks, not ejected by passive ones.
    pub up: bool,
    /// Connections this balancer has open to it.
    pub connections: u32,
    /// Requests this balancer has sent it that are not answered yet.
    pub outstanding: u32,
    /// Its response times as this balancer has measured them.
    pub latency: PeakEwma,
}

impl BackendView {
    /// An idle backend in rotation.
    pub fn new(name: &str, weight: u32) -> Self {
        BackendView {
            name: name.to_owned(),
            weight,
            up: true,
            connections: 0,
            outstanding: 0,
            latency: PeakEwma::default(),
        }
    }
}

/// The balancer's view of every backend it may send to, in configuration order (the order hash
/// algorithms number them by), at `now_us`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct View {
    pub backends: Vec<BackendView>,
    pub now_us: u64,
}

impl View {
    /// Idle backends, all in rotation, from `(name, weight)` pairs.
    pub fn new(backends: &[(&str, u32)]) -> Self {
        View { backends: backends.iter().map(|(n, w)| BackendView::new(n, *w)).collect(), now_us: 0 }
    }

    /// The indices of the backends in rotation.
    pub fn up(&self) -> Vec<usize> {
        self.backends.iter().enumerate().filter(|(_, b)| b.up).map(|(i, _)| i).collect()
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.backends.iter().position(|b| b.name == name)
    }

    /// Takes `name` out of rotation or puts it back; false when there is no such backend.
    pub fn set_up(&mut self, name: &str, up: bool) -> bool {
        match self.index_of(name) {
            Some(i) => {
                self.backends[i].up = up;
                true
            }
            None => false,
        }
    }
}

/// A load-balancing algorithm.
pub trait Algorithm {
    /// The backend (an index into `view.backends`) to serve a request with `key`, or `None`
    /// when no backend is in rotation. Algorithms that do not hash ignore the key.
    fn pick(&mut self, key: &str, view: &View, rng: &mut Rng) -> Option<usize>;

    /// The backends, their weights or their rotation changed: rebuild what is derived from them
    /// (a table, a ring). Called once before the first pick, and after every change.
    fn rebuild(&mut self, _view: &View) {}
}

/// Every algorithm by name: the fixed ones, then the chapter's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlgorithmKind {
    RoundRobin,
    SmoothWrr,
    LeastConn,
    LeastOutstanding,
    IpHash,
    BoundedLoad,
    Maglev,
    P2cEwma,
    Random,
    ChapterRoundRobin,
    ChapterWeighted,
    ChapterLeastConn,
    ChapterIpHash,
    ChapterConsistent,
}

impl AlgorithmKind {
    pub const ALL: [AlgorithmKind; 14] = [
        AlgorithmKind::RoundRobin,
        AlgorithmKind::SmoothWrr,
        AlgorithmKind::LeastConn,
        AlgorithmKind::LeastOutstanding,
        AlgorithmKind::IpHash,
        AlgorithmKind::BoundedLoad,
        AlgorithmKind::Maglev,
        AlgorithmKind::P2cEwma,
        AlgorithmKind::Random,
        AlgorithmKind::ChapterRoundRobin,
        AlgorithmKind::ChapterWeighted,
        AlgorithmKind::ChapterLeastConn,
        AlgorithmKind::ChapterIpHash,
        AlgorithmKind::ChapterConsistent,
    ];

    /// Its name in configurations and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            AlgorithmKind::RoundRobin => "round_robin",
            AlgorithmKind::SmoothWrr => "smooth_wrr",
            AlgorithmKind::LeastConn => "least_conn",
            AlgorithmKind::LeastOutstanding => "least_outstanding",
            AlgorithmKind::IpHash => "ip_hash",
            AlgorithmKind::BoundedLoad => "bounded_load",
            AlgorithmKind::Maglev => "maglev",
            AlgorithmKind::P2cEwma => "p2c_ewma",
            AlgorithmKind::Random => "random",
            AlgorithmKind::ChapterRoundRobin => "chapter_round_robin",
            AlgorithmKind::ChapterWeighted => "chapter_weighted",
            AlgorithmKind::ChapterLeastConn => "chapter_least_conn",
            AlgorithmKind::ChapterIpHash => "chapter_ip_hash",
            AlgorithmKind::ChapterConsistent => "chapter_consistent",
        }
    }

    pub fn parse(name: &str) -> Option<AlgorithmKind> {
        AlgorithmKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether it hashes the request's key (the same key goes to the same backend).
    pub fn is_keyed(self) -> bool {
        matches!(
            self,
            AlgorithmKind::IpHash
                | AlgorithmKind::BoundedLoad
                | AlgorithmKind::Maglev
                | AlgorithmKind::ChapterIpHash
                | AlgorithmKind::ChapterConsistent
        )
    }

    /// The algorithm, built for `view`.
    pub fn build(self, view: &View) -> Picker {
        let mut picker = match self {
            AlgorithmKind::RoundRobin => Picker::RoundRobin(round_robin::RoundRobin::default()),
            AlgorithmKind::SmoothWrr => Picker::SmoothWrr(smooth_wrr::SmoothWrr::default()),
            AlgorithmKind::LeastConn => Picker::LeastConn(least_conn::LeastConn::default()),
            AlgorithmKind::LeastOutstanding => Picker::LeastOutstanding(least_outstanding::LeastOutstanding),
            AlgorithmKind::IpHash => Picker::IpHash(ip_hash::IpHash),
            AlgorithmKind::BoundedLoad => Picker::BoundedLoad(bounded_load::BoundedLoad::default()),
            AlgorithmKind::Maglev => Picker::Maglev(maglev::Maglev::default()),
            AlgorithmKind::P2cEwma => Picker::P2c(p2c::P2c),
            AlgorithmKind::Random => Picker::Random(random::Random),
            AlgorithmKind::ChapterRoundRobin => Picker::ChapterRoundRobin(chapter::RoundRobin::default()),
            AlgorithmKind::ChapterWeighted => Picker::ChapterWeighted(chapter::WeightedRandom),
            AlgorithmKind::ChapterLeastConn => Picker::ChapterLeastConn(chapter::LeastConnections),
            AlgorithmKind::ChapterIpHash => Picker::ChapterIpHash(chapter::IpHash),
            AlgorithmKind::ChapterConsistent => Picker::ChapterConsistent(chapter::ConsistentHash::default()),
        };
        picker.rebuild(view);
        picker
    }
}

/// Any one algorithm (an enum rather than a boxed trait object, so that a balancer actor holding
/// it stays `Clone`, as every actor must).
#[derive(Clone, Debug)]
pub enum Picker {
    RoundRobin(round_robin::RoundRobin),
    SmoothWrr(smooth_wrr::SmoothWrr),
    LeastConn(least_conn::LeastConn),
    LeastOutstanding(least_outstanding::LeastOutstanding),
    IpHash(ip_hash::IpHash),
    BoundedLoad(bounded_load::BoundedLoad),
    Maglev(maglev::Maglev),
    P2c(p2c::P2c),
    Random(random::Random),
    ChapterRoundRobin(chapter::RoundRobin),
    ChapterWeighted(chapter::WeightedRandom),
    ChapterLeastConn(chapter::LeastConnections),
    ChapterIpHash(chapter::IpHash),
    ChapterConsistent(chapter::ConsistentHash),
}

impl Picker {
    fn inner(&mut self) -> &mut dyn Algorithm {
        match self {
            Picker::RoundRobin(a) => a,
            Picker::SmoothWrr(a) => a,
            Picker::LeastConn(a) => a,
            Picker::LeastOutstanding(a) => a,
            Picker::IpHash(a) => a,
            Picker::BoundedLoad(a) => a,
            Picker::Maglev(a) => a,
            Picker::P2c(a) => a,
            Picker::Random(a) => a,
            Picker::ChapterRoundRobin(a) => a,
            Picker::ChapterWeighted(a) => a,
            Picker::ChapterLeastConn(a) => a,
            Picker::ChapterIpHash(a) => a,
            Picker::ChapterConsistent(a) => a,
        }
    }
}

impl Algorithm for Picker {
    fn pick(&mut self, key: &str, view: &View, rng: &mut Rng) -> Option<usize> {
        self.inner().pick(key, view, rng)
    }

    fn rebuild(&mut self, view: &View) {
        self.inner().rebuild(view);
    }
}

/// The top 64 bits of MD5(`s`): the key hash every hashing algorithm here starts from (MD5, as
/// the chapter's `IPHashLoadBalancer` and the ring use).
pub fn key_hash(s: &str) -> u64 {
    u64::try_from(md5_u128(s) >> 64).unwrap_or(0)
}

/// How many of `keys` an algorithm sends to a different backend in `after` than in `before`
/// (the same backends, some taken out of rotation or put back): the cost of a membership change,
/// next to the ideal, which moves only the keys of the backends that changed.
pub fn remapped(kind: AlgorithmKind, keys: &[String], before: &View, after: &View, seed: u64) -> Remap {
    let route = |view: &View| {
        let mut picker = kind.build(view);
        let mut rng = Rng::new(seed);
        keys.iter().map(|k| picker.pick(k, view, &mut rng)).collect::<Vec<_>>()
    };
    let (old, new) = (route(before), route(after));
    let moved = old.iter().zip(&new).filter(|(a, b)| a != b).count();
    // Ideally only keys whose backend left rotation move (and, when one comes back, only the
    // keys it takes back: at most its fair share).
    let forced = old.iter().filter(|b| b.is_some_and(|i| !after.backends[i].up)).count();
    Remap { keys: keys.len(), moved, forced }
}

/// The result of [`remapped`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remap {
    pub keys: usize,
    pub moved: usize,
    /// Keys whose backend left rotation: they must move.
    pub forced: usize,
}

/// The largest difference, over every window of `window` consecutive picks, between a backend's
/// picks and its weighted share of the window (`window × weight / total`): how bursty a
/// weighted algorithm is. Smooth weighted round robin stays under one pick.
pub fn worst_window_error(picks: &[usize], weights: &[u32], window: usize) -> f64 {
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    if total == 0 || window == 0 || picks.len() < window {
        return 0.0;
    }
    let mut counts: BTreeMap<usize, u64> = BTreeMap::new();
    for p in &picks[..window] {
        *counts.entry(*p).or_default() += 1;
    }
    let error = |counts: &BTreeMap<usize, u64>| {
        weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let share = window as f64 * f64::from(*w) / total as f64;
                (counts.get(&i).copied().unwrap_or(0) as f64 - share).abs()
            })
            .fold(0.0, f64::max)
    };
    let mut worst = error(&counts);
    for end in window..picks.len() {
        *counts.entry(picks[end]).or_default() += 1;
        if let Some(c) = counts.get_mut(&picks[end - window]) {
            *c -= 1;
        }
        worst = worst.max(error(&counts));
    }
    worst
}

#[cfg(test)]
mod tests;
