//! A latency histogram with bounded memory: exact below 1024 µs, then 64 buckets per power of
//! two (under 1.6% error), up to about 35 minutes. Percentiles report a bucket's upper bound, so
//! they never understate a latency.

const LINEAR: u64 = 1_024;
const SUB_BUCKETS: u64 = 64;
const OCTAVES: u64 = 31; // 2^10 µs .. 2^41 µs

#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max_us: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: vec![0; usize::try_from(LINEAR + OCTAVES * SUB_BUCKETS).unwrap_or(0)], total: 0, max_us: 0 }
    }
}

impl Histogram {
    pub fn record(&mut self, us: u64) {
        let i = bucket(us).min(self.counts.len() - 1);
        self.counts[i] += 1;
        self.total += 1;
        self.max_us = self.max_us.max(us);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max_us = self.max_us.max(other.max_us);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The latency (µs) that `per_mille`/1000 of the samples do not exceed (500 = p50,
    /// 999 = p99.9); 0 when empty.
    pub fn percentile(&self, per_mille: u64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = (u128::from(self.total) * u128::from(per_mille.min(1_000))).div_ceil(1_000);
        let rank = u64::try_from(rank).unwrap_or(self.total).max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return upper_bound(i).min(self.max_us);
            }
        }
        self.max_us
    }
}

fn bucket(us: u64) -> usize {
    if us < LINEAR {
        return usize::try_from(us).unwrap_or(0);
    }
    let octave = u64::from(63 - us.leading_zeros()) - 10; // 2^(10+octave) <= us
    let sub = (us >> (octave + 10 - 6)) & (SUB_BUCKETS - 1);
    usize::try_from(LINEAR + octave * SUB_BUCKETS + sub).unwrap_or(usize::MAX)
}

fn upper_bound(i: usize) -> u64 {
    let i = i as u64;
    if i < LINEAR {
        return i;
    }
    let octave = (i - LINEAR) / SUB_BUCKETS;
    let sub = (i - LINEAR) % SUB_BUCKETS;
    let width = 1u64 << (octave + 10 - 6);
    (1u64 << (octave + 10)) + (sub + 1) * width - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_exact_below_a_millisecond_and_close_above() {
        let mut h = Histogram::default();
        for us in 1..=1_000 {
            h.record(us);
        }
        assert_eq!(h.percentile(500), 500);
        assert_eq!(h.percentile(990), 990);
        assert_eq!(h.percentile(1_000), 1_000);
        let mut big = Histogram::default();
        for us in [10_000u64, 20_000, 1_000_000] {
            big.record(us);
        }
        let p50 = big.percentile(500);
        assert!((20_000..=20_320).contains(&p50), "{p50}");
        assert_eq!(big.percentile(1_000), 1_000_000, "never above the maximum seen");
        h.merge(&big);
        assert_eq!(h.count(), 1_003);
        assert_eq!(Histogram::default().percentile(500), 0);
    }

    #[test]
    fn every_value_lands_in_a_bucket_whose_bound_covers_it() {
        for us in [0u64, 1, 1_023, 1_024, 1_025, 5_000, 65_535, 1 << 30, u64::MAX >> 22] {
            let b = bucket(us);
            assert!(upper_bound(b) >= us, "{us}");
            assert!(b == 0 || upper_bound(b - 1) < us, "{us}");
        }
    }
}
