//! A Bloom filter (46.3, cache penetration): answers "certainly absent" or "maybe present" in
//! fixed memory, so that requests for keys that exist nowhere stop at the cache instead of
//! hammering the database. The chapter's "Bloom filter" is a `set` of every key, which grows
//! without bound and is not a Bloom filter at all.
//!
//! Sized from the expected number of keys n and the target false-positive rate p: m = −n·ln p /
//! (ln 2)² bits and k = (m / n)·ln 2 hash functions (double hashing of the key). `libm` gives the
//! same sizes natively and in WebAssembly.

use super::index::{GAMMA, mix64};
use crate::config::ConfigError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BloomFilter {
    words: Vec<u64>,
    bits: u64,
    hashes: u32,
    inserted: u64,
}

/// The most bits a filter may take (128 MiB).
const BITS_MAX: u64 = 1 << 30;

impl BloomFilter {
    /// A filter for `expected` keys at false-positive rate `fp_rate` (0 < p < 1).
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "sizes are positive and bounded (checked) before the cast"
    )]
    pub fn new(expected: u64, fp_rate: f64) -> Result<Self, ConfigError> {
        ConfigError::check_range("expected", expected, 1, 1_000_000_000)?;
        if !(fp_rate > 0.0 && fp_rate < 1.0) {
            return Err(ConfigError::out_of_range("fp_rate", fp_rate, "0 < fp_rate < 1"));
        }
        let ln2 = core::f64::consts::LN_2;
        let bits = (-(expected as f64) * libm::log(fp_rate) / (ln2 * ln2)).ceil();
        if bits > BITS_MAX as f64 {
            return Err(ConfigError::out_of_range(
                "expected",
                expected,
                format!("a filter of at most {BITS_MAX} bits at this fp_rate"),
            ));
        }
        let bits = (bits as u64).max(64);
        let hashes = ((bits as f64 / expected as f64) * ln2).round().clamp(1.0, 30.0) as u32;
        Ok(BloomFilter { words: vec![0; bits.div_ceil(64) as usize], bits, hashes, inserted: 0 })
    }

    pub fn bits(&self) -> u64 {
        self.bits
    }

    pub fn hashes(&self) -> u32 {
        self.hashes
    }

    /// The bit positions of `key` (Kirsch–Mitzenmacher double hashing).
    fn positions(&self, key: u64) -> impl Iterator<Item = u64> + '_ {
        let (h1, h2) = (mix64(key.wrapping_add(GAMMA)), mix64((key ^ 0x5851_f42d_4c95_7f2d).wrapping_add(GAMMA)) | 1);
        (0..u64::from(self.hashes)).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % self.bits)
    }

    pub fn insert(&mut self, key: u64) {
        let positions: Vec<u64> = self.positions(key).collect();
        for p in positions {
            self.words[(p / 64) as usize] |= 1 << (p % 64);
        }
        self.inserted += 1;
    }

    /// False: certainly never inserted. True: inserted, or a false positive.
    pub fn might_contain(&self, key: u64) -> bool {
        self.positions(key).all(|p| self.words[(p / 64) as usize] & (1 << (p % 64)) != 0)
    }

    /// The false-positive rate theory expects now: (1 − e^(−k·n/m))^k.
    pub fn expected_fp_rate(&self) -> f64 {
        let k = f64::from(self.hashes);
        let fill = 1.0 - libm::exp(-k * self.inserted as f64 / self.bits as f64);
        libm::pow(fill, k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sized_from_n_and_p_with_no_false_negatives_and_the_promised_false_positives() {
        let mut f = BloomFilter::new(100_000, 0.01).unwrap();
        assert_eq!((f.bits(), f.hashes()), (958_506, 7), "m = 9.59 bits per key, k = 7");
        for k in 0..100_000 {
            f.insert(k);
        }
        assert!((0..100_000).all(|k| f.might_contain(k)), "never a false negative");
        let fp = (1_000_000..1_100_000).filter(|&k| f.might_contain(k)).count() as f64 / 100_000.0;
        assert!((fp - 0.01).abs() <= 0.001, "measured {fp}, within 10% of 1%");
        assert!((f.expected_fp_rate() - 0.01).abs() < 0.0005, "{}", f.expected_fp_rate());
    }

    #[test]
    fn bad_sizes_are_refused() {
        assert_eq!(
            BloomFilter::new(0, 0.01).unwrap_err().to_string(),
            "expected = 0 is out of range: allowed 1..=1000000000"
        );
        assert_eq!(
            BloomFilter::new(10, 1.0).unwrap_err().to_string(),
            "fp_rate = 1 is out of range: allowed 0 < fp_rate < 1"
        );
        assert!(BloomFilter::new(1_000_000_000, 1e-9).is_err(), "more than 128 MiB");
    }
}
