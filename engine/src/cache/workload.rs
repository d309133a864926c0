//! Key streams for the cache policies (46.3, exercise 3), drawn from the simulation's seeded
//! generator: the same workload and seed give the same trace everywhere.
//!
//! - `zipf`: key k (rank k + 1) with probability ∝ 1 / (k + 1)^s, the skew of real traffic;
//! - `uniform`: every key alike (no policy can beat capacity / keys);
//! - `scan`: keys never seen before, one after another (a backup job, a report);
//! - `loop`: the same `keys` keys in order, again and again (LRU's worst case when the loop is a
//!   little larger than the cache);
//! - `shifting`: Zipf whose popular keys change every `shift_every` accesses;
//! - `zipf-scan`: Zipf with one access in five replaced by a scan key (scan pollution).

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::sim::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Workload {
    Zipf { keys: u64, s: f64 },
    Uniform { keys: u64 },
    Scan,
    Loop { keys: u64 },
    Shifting { keys: u64, s: f64, shift_every: u64 },
    ZipfScan { keys: u64, s: f64 },
}

/// The most distinct keys a Zipf workload may have (its table holds one number per key).
pub const ZIPF_KEYS_MAX: u64 = 10_000_000;

/// Scan keys start here, above any Zipf key.
const SCAN_BASE: u64 = 1 << 40;

impl Workload {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let (keys, s) = match *self {
            Workload::Zipf { keys, s } | Workload::Shifting { keys, s, .. } | Workload::ZipfScan { keys, s } => {
                (keys, Some(s))
            }
            Workload::Uniform { keys } | Workload::Loop { keys } => (keys, None),
            Workload::Scan => (1, None),
        };
        ConfigError::check_range("keys", keys, 1, ZIPF_KEYS_MAX)?;
        if let Some(s) = s
            && !(0.0..=5.0).contains(&s)
        {
            return Err(ConfigError::out_of_range("s", s, "0..=5"));
        }
        if let Workload::Shifting { shift_every, .. } = *self {
            ConfigError::check_range("shift_every", shift_every, 1, u64::MAX)?;
        }
        Ok(())
    }

    /// `len` keys of this workload from `seed`.
    pub fn trace(&self, len: usize, seed: u64) -> Result<Vec<u64>, ConfigError> {
        self.validate()?;
        let mut rng = Rng::new(seed);
        let mut out = Vec::with_capacity(len);
        match *self {
            Workload::Zipf { keys, s } => {
                let z = Zipf::new(keys, s);
                out.extend((0..len).map(|_| z.sample(&mut rng)));
            }
            Workload::Uniform { keys } => out.extend((0..len).map(|_| rng.below(keys))),
            Workload::Scan => out.extend((0..len as u64).map(|i| SCAN_BASE + i)),
            Workload::Loop { keys } => out.extend((0..len as u64).map(|i| i % keys)),
            Workload::Shifting { keys, s, shift_every } => {
                let z = Zipf::new(keys, s);
                for i in 0..len as u64 {
                    // Every shift, the ranks move to other keys: yesterday's favourites go cold.
                    let shift = (i / shift_every).wrapping_mul(keys / 3 + 1);
                    out.push((z.sample(&mut rng) + shift) % keys);
                }
            }
            Workload::ZipfScan { keys, s } => {
                let z = Zipf::new(keys, s);
                let mut next_scan = SCAN_BASE;
                for _ in 0..len {
                    if rng.below(5) == 0 {
                        out.push(next_scan);
                        next_scan += 1;
                    } else {
                        out.push(z.sample(&mut rng));
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Zipf sampling by inverse transform on integer cumulative weights.
#[derive(Clone, Debug)]
pub struct Zipf {
    cumulative: Vec<u64>,
}

impl Zipf {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "weights are positive and scaled below 2^62: the cast keeps their integer part"
    )]
    pub fn new(keys: u64, s: f64) -> Self {
        let weights: Vec<f64> = (1..=keys).map(|k| 1.0 / libm::pow(k as f64, s)).collect();
        let total: f64 = weights.iter().sum();
        // Scaled to 2^62 so that sums fit and draws are integers.
        let scale = (1u64 << 62) as f64 / total;
        let mut acc = 0u64;
        let cumulative = weights
            .iter()
            .map(|w| {
                acc = acc.saturating_add(((w * scale) as u64).max(1));
                acc
            })
            .collect();
        Zipf { cumulative }
    }

    pub fn sample(&self, rng: &mut Rng) -> u64 {
        let total = self.cumulative.last().copied().unwrap_or(1);
        let u = rng.below(total);
        self.cumulative.partition_point(|&c| c <= u) as u64
    }
}
