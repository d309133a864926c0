//! The key → slot index the policies share: a hash table with a fixed hasher, so that the same
//! trace gives the same table on every run and target (std's `HashMap` is seeded by the OS).

use std::hash::{BuildHasher, Hasher};

/// SplitMix64's increment.
pub(crate) const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's finaliser: every input bit reaches every output bit. The cache's hashes (the
/// index, the sketch, the Bloom filter) are all this over the key.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One SplitMix64 step over the key: keys are `u64`s, so one mix is the whole hash.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        mix64(self.0.wrapping_add(GAMMA))
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BuildKeyHasher;

impl BuildHasher for BuildKeyHasher {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher::default()
    }
}

pub(crate) type Index<V = usize> = hashbrown::HashMap<u64, V, BuildKeyHasher>;

pub(crate) fn index<V>(capacity: usize) -> Index<V> {
    Index::with_capacity_and_hasher(capacity, BuildKeyHasher)
}
