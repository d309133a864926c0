//! The simulation's one source of randomness.
//!
//! A small xoshiro256** generator seeded through SplitMix64: value-stable by construction (it is our
//! own code, so no dependency upgrade can change a replay), identical on every target, and cheap.
//! Probabilities are integer ratios so that a draw never depends on floating-point rounding
//! (Architecture Invariant: bit-identical everywhere).

use serde::{Deserialize, Serialize};

/// A seeded, value-stable pseudo-random generator. Not cryptographic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// Seeds the generator; every seed (including 0) gives a full-period state.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let mut next = || {
            sm = sm.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = sm;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng { s: [next(), next(), next(), next()] }
    }

    /// A child generator whose stream is independent of later draws on `self`; used to give a
    /// fault schedule its own stream so that changing the workload does not move the faults.
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniform value in `0..n`, without modulo bias (Lemire's method: the remainder that tells
    /// a biased draw is only computed for the rare draw that might be one). Returns 0 when
    /// `n == 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let (mut high, mut low) = wide_mul(self.next_u64(), n);
        if low < n {
            let threshold = n.wrapping_neg() % n;
            while low < threshold {
                (high, low) = wide_mul(self.next_u64(), n);
            }
        }
        high
    }

    /// A uniform value in `lo..=hi` (the bounds may come in either order).
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// A uniform signed value in `lo..=hi`.
    pub fn between_i64(&mut self, lo: i64, hi: i64) -> i64 {
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        let span = hi.abs_diff(lo);
        let offset = match span.checked_add(1) {
            Some(n) => self.below(n),
            None => self.next_u64(),
        };
        lo.wrapping_add_unsigned(offset)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: Ratio) -> bool {
        p.num != 0 && self.below(u64::from(p.den)) < u64::from(p.num)
    }

    /// A uniformly chosen element, or `None` for an empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let n = u64::try_from(items.len()).ok()?;
        let i = usize::try_from(self.below(n)).ok()?;
        items.get(i)
    }
}

/// A probability as an exact integer ratio `num / den`, `num <= den`, `den > 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RatioRepr", into = "RatioRepr")]
pub struct Ratio {
    num: u32,
    den: u32,
}

#[derive(Serialize, Deserialize)]
struct RatioRepr {
    num: u32,
    den: u32,
}

/// A ratio outside `0 <= num <= den, den > 0`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid probability {num}/{den}: need 0 <= num <= den and den > 0")]
pub struct RatioError {
    pub num: u32,
    pub den: u32,
}

impl Ratio {
    pub const NEVER: Ratio = Ratio { num: 0, den: 1 };
    pub const ALWAYS: Ratio = Ratio { num: 1, den: 1 };

    pub fn new(num: u32, den: u32) -> Result<Ratio, RatioError> {
        if den == 0 || num > den {
            return Err(RatioError { num, den });
        }
        Ok(Ratio { num, den })
    }

    /// `pct` percent; values above 100 are clamped to certainty.
    pub const fn percent(pct: u32) -> Ratio {
        Ratio { num: if pct > 100 { 100 } else { pct }, den: 100 }
    }

    /// `ppm` parts per million; values above a million are clamped to certainty.
    pub const fn per_million(ppm: u32) -> Ratio {
        Ratio { num: if ppm > 1_000_000 { 1_000_000 } else { ppm }, den: 1_000_000 }
    }

    pub const fn num(self) -> u32 {
        self.num
    }
    pub const fn den(self) -> u32 {
        self.den
    }
    pub const fn is_zero(self) -> bool {
        self.num == 0
    }
}

impl TryFrom<RatioRepr> for Ratio {
    type Error = RatioError;
    fn try_from(r: RatioRepr) -> Result<Self, Self::Error> {
        Ratio::new(r.num, r.den)
    }
}

impl From<Ratio> for RatioRepr {
    fn from(r: Ratio) -> Self {
        RatioRepr { num: r.num, den: r.den }
    }
}

impl std::fmt::Display for Ratio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

/// The 128-bit product of `a` and `b`, as its (high, low) halves. WebAssembly has no wide
/// multiply: a `u128` product there is a call to a general 128-bit routine, and four 32-bit
/// products are several times faster. `tests` hold both ways equal.
#[expect(clippy::cast_possible_truncation, reason = "splitting a u128 product into its halves")]
fn wide_mul(a: u64, b: u64) -> (u64, u64) {
    if cfg!(target_arch = "wasm32") {
        (wide_mul_halves(a, b), a.wrapping_mul(b))
    } else {
        let m = u128::from(a) * u128::from(b);
        ((m >> 64) as u64, m as u64)
    }
}

/// The high half of `a * b`, from 32-bit halves.
fn wide_mul_halves(a: u64, b: u64) -> u64 {
    const LOW: u64 = 0xffff_ffff;
    let (a_lo, a_hi, b_lo, b_hi) = (a & LOW, a >> 32, b & LOW, b >> 32);
    let (ll, lh, hl, hh) = (a_lo * b_lo, a_lo * b_hi, a_hi * b_lo, a_hi * b_hi);
    let middle = (ll >> 32) + (lh & LOW) + (hl & LOW);
    hh + (lh >> 32) + (hl >> 32) + (middle >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wide_product_from_halves_is_the_u128_one() {
        let mut rng = Rng::new(7);
        let edges = [0, 1, 2, u64::from(u32::MAX), 1 << 32, u64::MAX - 1, u64::MAX];
        let pairs = edges.iter().flat_map(|&a| edges.iter().map(move |&b| (a, b)));
        let random = (0..10_000).map(|_| (rng.next_u64(), rng.next_u64() >> (rng.next_u64() % 64)));
        for (a, b) in pairs.chain(random) {
            let m = u128::from(a) * u128::from(b);
            assert_eq!(u128::from(wide_mul_halves(a, b)), m >> 64, "{a} * {b}");
            assert_eq!(wide_mul(a, b), (wide_mul_halves(a, b), a.wrapping_mul(b)));
        }
    }

    #[test]
    fn stream_is_value_stable() {
        // Pinned: a change here changes every replay ever recorded.
        let mut r = Rng::new(42);
        let got: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        expect_test::expect![[r#"
            [
                1546998764402558742,
                6990951692964543102,
                12544586762248559009,
            ]
        "#]]
        .assert_debug_eq(&got);
    }

    #[test]
    fn below_and_between_stay_in_range() {
        let mut r = Rng::new(7);
        for n in 1..200u64 {
            assert!(r.below(n) < n);
            let v = r.between(n, 3 * n);
            assert!((n..=3 * n).contains(&v));
            let s = r.between_i64(-(n as i64), n as i64);
            assert!((-(n as i64)..=n as i64).contains(&s));
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.between(5, 5), 5);
    }

    #[test]
    fn chance_matches_its_ratio() {
        let mut r = Rng::new(1);
        let hits = (0..100_000).filter(|_| r.chance(Ratio::percent(10))).count();
        assert!((9_000..11_000).contains(&hits), "10% of 100000 draws gave {hits}");
        assert!(!(0..1000).any(|_| r.chance(Ratio::NEVER)));
        assert!((0..1000).all(|_| r.chance(Ratio::ALWAYS)));
    }

    #[test]
    fn ratio_rejects_impossible_values() {
        assert!(Ratio::new(1, 0).is_err());
        assert!(Ratio::new(3, 2).is_err());
        assert_eq!(Ratio::new(2, 3).unwrap().to_string(), "2/3");
        let bad: Result<Ratio, _> = serde_json::from_str(r#"{"num":5,"den":4}"#);
        assert!(bad.unwrap_err().to_string().contains("invalid probability 5/4"));
    }
}
