//! Client affinity by hash, done so that one backend going down moves only its own clients
//! (46.4.1).
//!
//! The chapter's `IPHashLoadBalancer` takes `md5(ip) % len(healthy)`: when one of N servers goes
//! down the modulus changes and about (N-1)/N of *all* clients land on a different server,
//! losing their sessions and caches, though their servers are fine. Here a client's backend is
//! the jump consistent hash of its address over every *configured* backend (so the numbering
//! does not change when one is down), and only a client whose backend is out of rotation is
//! hashed again, with the attempt number mixed in, until it lands on one in rotation: the
//! clients of the other backends do not move, and the displaced ones spread evenly over the
//! rest instead of all falling onto the next backend.

use super::{Algorithm, View, key_hash};
use crate::hashing::jump;
use crate::sim::Rng;

/// Rehashes tried before falling back to the first backend in rotation after the hashed one.
const REHASHES: u64 = 32;

#[derive(Clone, Copy, Debug, Default)]
pub struct IpHash;

impl Algorithm for IpHash {
    fn pick(&mut self, key: &str, view: &View, _rng: &mut Rng) -> Option<usize> {
        let n = u32::try_from(view.backends.len()).ok().filter(|n| *n > 0)?;
        let hash = key_hash(key);
        let first = jump::bucket(hash, n) as usize;
        if view.backends[first].up {
            return Some(first);
        }
        for attempt in 1..=REHASHES {
            let i = jump::bucket(hash ^ attempt.wrapping_mul(0x9E37_79B9_7F4A_7C15), n) as usize;
            if view.backends[i].up {
                return Some(i);
            }
        }
        let n = view.backends.len();
        (1..n).map(|step| (first + step) % n).find(|&i| view.backends[i].up)
    }
}
