//! The chapter's five load balancers (46.4.1), kept as written so that a run can show where each
//! goes wrong beside the algorithm that fixes it. Each is a faithful port of its Python class;
//! the defect is in the doc comment and in the tests.

use std::collections::BTreeMap;

use super::{Algorithm, View};
use crate::hashing::md5_u128;
use crate::sim::Rng;

/// `RoundRobinLoadBalancer`: `healthy[index % len(healthy)]`. When the healthy list changes
/// length the same counter lands elsewhere: a backend is skipped or picked twice in a row
/// ([`super::round_robin`] fixes it).
#[derive(Clone, Debug, Default)]
pub struct RoundRobin {
    index: usize,
}

impl Algorithm for RoundRobin {
    fn pick(&mut self, _key: &str, view: &View, _rng: &mut Rng) -> Option<usize> {
        let healthy = view.up();
        if healthy.is_empty() {
            return None;
        }
        let server = healthy[self.index % healthy.len()];
        self.index += 1;
        Some(server)
    }
}

/// `WeightedRoundRobinLoadBalancer`: despite its name, weighted *random*: `randint(1, total)`
/// and a cumulative walk. Right on average, bursty over any short window
/// ([`super::smooth_wrr`] is exact).
#[derive(Clone, Copy, Debug, Default)]
pub struct WeightedRandom;

impl Algorithm for WeightedRandom {
    fn pick(&mut self, _key: &str, view: &View, rng: &mut Rng) -> Option<usize> {
        let healthy = view.up();
        if healthy.is_empty() {
            return None;
        }
        let total: u64 = healthy.iter().map(|&i| u64::from(view.backends[i].weight)).sum();
        if total == 0 {
            return rng.pick(&healthy).copied();
        }
        let r = rng.between(1, total);
        let mut current = 0;
        for &i in &healthy {
            current += u64::from(view.backends[i].weight);
            if r <= current {
                return Some(i);
            }
        }
        Some(healthy[0])
    }
}

/// `LeastConnectionsLoadBalancer`: `min(healthy, key=connections)`, where `connections` is a
/// field of `BackendServer` that no code ever changes. Every count is the 0 it started with, so
/// `min` returns the first healthy server, every time ([`super::least_conn`] counts).
#[derive(Clone, Copy, Debug, Default)]
pub struct LeastConnections;

impl Algorithm for LeastConnections {
    fn pick(&mut self, _key: &str, view: &View, _rng: &mut Rng) -> Option<usize> {
        // The field as the chapter's code leaves it: never updated, so 0 for every server.
        let never_updated = |_: &usize| 0u32;
        view.up().into_iter().min_by_key(never_updated)
    }
}

/// `IPHashLoadBalancer`: `healthy[md5(ip) % len(healthy)]`. One server going down changes the
/// modulus, and most clients of the servers that are still fine move ([`super::ip_hash`]
/// moves only the failed server's).
#[derive(Clone, Copy, Debug, Default)]
pub struct IpHash;

impl Algorithm for IpHash {
    fn pick(&mut self, key: &str, view: &View, _rng: &mut Rng) -> Option<usize> {
        let healthy = view.up();
        let n = u128::try_from(healthy.len()).ok().filter(|n| *n > 0)?;
        let index = usize::try_from(md5_u128(key) % n).ok()?;
        Some(healthy[index])
    }
}

/// `ConsistentHashLoadBalancer`: a ring of `md5("{id}#{i}")` for 150 virtual nodes a server (a
/// later server overwrites an equal position, as the Python dict does), and on every request
/// `sorted(self._ring.keys())` then a walk to the first healthy point at or after the key. Its
/// placement is right; its cost is not: a sort of the whole ring (O(V log V)) per request,
/// where a ring kept sorted answers in O(log V) ([`crate::hashing::HashRing`]). `sorts` counts
/// the points sorted, so that a run can show the cost.
#[derive(Clone, Debug, Default)]
pub struct ConsistentHash {
    ring: BTreeMap<u128, usize>,
    /// Points sorted so far, over all requests.
    pub sorts: u64,
}

/// The chapter's default.
pub const VIRTUAL_NODES: u32 = 150;

impl Algorithm for ConsistentHash {
    fn pick(&mut self, key: &str, view: &View, _rng: &mut Rng) -> Option<usize> {
        if view.up().is_empty() {
            return None;
        }
        let hash = md5_u128(key);
        // The Python re-sorts a dict's keys here; a BTreeMap is sorted already, so only the
        // count is kept, to show what the chapter's version pays.
        self.sorts += self.ring.len() as u64;
        let healthy = |i: &usize| view.backends[*i].up;
        self.ring.range(hash..).map(|(_, i)| *i).find(healthy).or_else(|| self.ring.values().copied().find(healthy))
    }

    fn rebuild(&mut self, view: &View) {
        self.ring.clear();
        for (i, b) in view.backends.iter().enumerate() {
            for v in 0..VIRTUAL_NODES {
                self.ring.insert(md5_u128(&format!("{}#{v}", b.name)), i);
            }
        }
    }
}
