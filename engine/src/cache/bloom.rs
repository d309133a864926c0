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

    /// The fraction of set bits in each of `blocks` equal runs of the bit array, for a bit view
    /// (a full filter is a uniformly dark picture; its false-positive rate is the fill^k).
    #[expect(clippy::cast_precision_loss, clippy::cast_possible_truncation, reason = "bit counts below 2^30")]
    pub fn fill_by_block(&self, blocks: usize) -> Vec<f64> {
        let blocks = blocks.clamp(1, self.bits as usize);
        (0..blocks)
            .map(|b| {
                let (lo, hi) = (self.bits * b as u64 / blocks as u64, self.bits * (b as u64 + 1) / blocks as u64);
                let set = (lo..hi).filter(|&p| self.words[(p / 64) as usize] & (1 << (p % 64)) != 0).count();
                set as f64 / (hi - lo).max(1) as f64
            })
            .collect()
    }

    pub fn inserted(&self) -> u64 {
        self.inserted
    }

    /// The false-positive rate theory expects now: (1 − e^(−k·n/m))^k.
    pub fn expected_fp_rate(&self) -> f64 {
        let k = f64::from(self.hashes);
        let fill = 1.0 - libm::exp(-k * self.inserted as f64 / self.bits as f64);
        libm::pow(fill, k)
    }
}

/// What the page's Bloom-filter view shows: the filter after `inserted` keys, its bits by block,
/// and its false-positive rate measured on `probes` keys never inserted, next to theory's.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BloomView {
    pub bits: u64,
    pub hashes: u32,
    pub inserted: u64,
    pub fill: Vec<f64>,
    pub expected_fp_rate: f64,
    pub measured_fp_rate: f64,
    pub probes: u64,
}

/// Keys probed for false positives start here, far above any inserted key.
const PROBE_BASE: u64 = 1 << 40;

impl BloomView {
    #[expect(clippy::cast_precision_loss, reason = "counts below 2^53")]
    pub fn measure(
        expected: u64,
        fp_rate: f64,
        inserted: u64,
        probes: u64,
        blocks: usize,
    ) -> Result<Self, ConfigError> {
        ConfigError::check_range("inserted", inserted, 0, 10_000_000)?;
        ConfigError::check_range("probes", probes, 1, 10_000_000)?;
        let mut filter = BloomFilter::new(expected, fp_rate)?;
        (0..inserted).for_each(|k| filter.insert(k));
        let false_positives = (PROBE_BASE..PROBE_BASE + probes).filter(|&k| filter.might_contain(k)).count();
        Ok(BloomView {
            bits: filter.bits(),
            hashes: filter.hashes(),
            inserted,
            fill: filter.fill_by_block(blocks),
            expected_fp_rate: filter.expected_fp_rate(),
            measured_fp_rate: false_positives as f64 / probes as f64,
            probes,
        })
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
