//! Consistent hashing (46.1.1): which node owns a key, and how many keys move when nodes come and
//! go.
//!
//! With plain `hash(key) % N`, adding or removing one node remaps about (N-1)/N of all keys: a
//! cache cluster loses nearly everything at once. A consistent-hash ring places every node at many
//! pseudo-random points ("virtual nodes") on a circle of hash values; a key belongs to the first
//! point at or after its own hash. A new node then takes over only the arcs before its own points,
//! about 1/N of the keys, and the virtual nodes even out the arcs' lengths.
//!
//! [`HashRing`] is compatible with the chapter's `ConsistentHashing`: node `n`'s virtual node `i`
//! sits at MD5(`"{n}#{i}"`) read as a 128-bit big-endian integer, and a key belongs to the first
//! virtual node whose position is `>=` MD5(key), wrapping around. What the chapter gets wrong: its
//! `get_node` sorts the whole ring on every lookup (O(V log V) per key); here the positions stay
//! sorted and a lookup is a binary search (O(log V)), and adding or removing a node touches only
//! that node's points.
//!
//! [`jump`] (Lamping and Veach's jump consistent hash) and [`rendezvous`] (highest random
//! weight) are the two classic alternatives, compared in the same statistics ([`stats`]).

pub mod jump;
pub mod rendezvous;
mod ring;
pub mod stats;

pub use ring::{HashRing, RingError, VNODES_DEFAULT, VNODES_MAX};

use md5::{Digest, Md5};

/// MD5 of `s` as a 128-bit big-endian integer: Python's `int(hashlib.md5(s).hexdigest(), 16)`.
pub fn md5_u128(s: &str) -> u128 {
    let digest: [u8; 16] = Md5::digest(s.as_bytes()).into();
    u128::from_be_bytes(digest)
}

#[cfg(test)]
mod tests;
