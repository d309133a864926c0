//! The key → slot index the policies share: a hash table with a fixed hasher, so that the same
//! trace gives the same table on every run and target (std's `HashMap` is seeded by the OS).

use std::hash::{BuildHasher, Hasher};

/// SplitMix64's increment.
pub(crate) const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's finaliser: every input bit reaches every output bit. The sketch's and the Bloom
/// filter's hashes are this over the key; the index uses the cheaper [`KeyHasher`].
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The index's hash of a `u64` key: one folded multiply (the high and low halves of the 128-bit
/// product, XORed), as foldhash does. Cheaper than [`mix64`] and mixes enough for a table that
/// takes its buckets from the low bits and its tags from the high ones; the sketch and the Bloom
/// filter, whose counters need independent bits, keep `mix64`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    #[expect(clippy::cast_possible_truncation, reason = "the fold keeps both halves of the product")]
    fn finish(&self) -> u64 {
        let product = u128::from(self.0 ^ GAMMA) * u128::from(0x5851_f42d_4c95_7f2d_u64);
        (product as u64) ^ (product >> 64) as u64
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
