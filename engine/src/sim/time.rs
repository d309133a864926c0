//! Simulated time. Every instant and duration in the engine is an explicit count of
//! microseconds; nothing here reads a wall clock (Architecture Invariant: no ambient world).

use std::fmt;
use std::ops::{Add, Sub};

use serde::{Deserialize, Serialize};

/// An instant on a clock, in microseconds since the start of the run.
///
/// The simulator's true time and each node's (possibly skewed) local clock are both `SimTime`s;
/// which one a value is depends on where it came from (`Sim::now` vs `Ctx::now`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SimTime(u64);

/// A span of simulated time, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SimDuration(u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// The latest representable instant; used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);

    pub const fn from_micros(us: u64) -> Self {
        SimTime(us)
    }
    pub const fn from_millis(ms: u64) -> Self {
        SimTime(ms.saturating_mul(1_000))
    }
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    /// Whole milliseconds, rounded down: the resolution at which Redis keeps expiry times.
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000
    }
    /// The span from `earlier` to `self`, or zero when `earlier` is later.
    pub const fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
    pub const fn saturating_add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);

    pub const fn from_micros(us: u64) -> Self {
        SimDuration(us)
    }
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms.saturating_mul(1_000))
    }
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s.saturating_mul(1_000_000))
    }
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    /// Saturates at `SimTime::MAX` ("never") instead of wrapping.
    fn add(self, d: SimDuration) -> SimTime {
        self.saturating_add(d)
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    fn sub(self, earlier: SimTime) -> SimDuration {
        self.saturating_since(earlier)
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(other.0))
    }
}

/// Formats as seconds with millisecond precision and the exact remainder when sub-millisecond,
/// e.g. `1.250 s` or `0.000 250 s`.
impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_micros(self.0, f)
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_micros(self.0, f)
    }
}

fn fmt_micros(us: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let secs = us / 1_000_000;
    let ms = (us / 1_000) % 1_000;
    let rest = us % 1_000;
    if rest == 0 { write!(f, "{secs}.{ms:03} s") } else { write!(f, "{secs}.{ms:03} {rest:03} s") }
}

/// Why a duration string could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseDurationError {
    #[error("invalid duration {input:?}: expected a whole number followed by us, ms, s or m (e.g. 500ms, 10s)")]
    Invalid { input: String },
    /// Well formed, but more microseconds than a `u64` holds (about 584,942 years).
    #[error("duration {input:?} is too long: at most 18446744073709551615us (about 584,942 years)")]
    TooLong { input: String },
}

impl std::str::FromStr for SimDuration {
    type Err = ParseDurationError;

    /// Reads `250us`, `500ms`, `10s` or `2m`. A unit is required: a bare number is ambiguous.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseDurationError::Invalid { input: s.to_owned() };
        let too_long = || ParseDurationError::TooLong { input: s.to_owned() };
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (digits, unit) = t.split_at(split);
        if digits.is_empty() {
            return Err(err());
        }
        // Only digits here: a parse can fail only by overflowing.
        let n: u64 = digits.parse().map_err(|_| too_long())?;
        let per_unit_us: u64 = match unit.trim() {
            "us" | "µs" => 1,
            "ms" => 1_000,
            "s" => 1_000_000,
            "m" | "min" => 60_000_000,
            _ => return Err(err()),
        };
        n.checked_mul(per_unit_us).map(SimDuration).ok_or_else(too_long)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_too_long_for_the_clock_says_so() {
        for s in ["18446744073709551615ms", "99999999999999999999999s", "18446744073709551616us"] {
            let e = s.parse::<SimDuration>().unwrap_err();
            assert!(matches!(e, ParseDurationError::TooLong { .. }), "{s}: {e}");
            assert!(e.to_string().contains("is too long"), "{e}");
        }
        assert_eq!("18446744073709551615us".parse::<SimDuration>().unwrap().as_micros(), u64::MAX);
    }

    #[test]
    fn parses_durations_with_units() {
        assert_eq!("250us".parse::<SimDuration>().unwrap().as_micros(), 250);
        assert_eq!("500ms".parse::<SimDuration>().unwrap().as_micros(), 500_000);
        assert_eq!("10s".parse::<SimDuration>().unwrap().as_micros(), 10_000_000);
        assert_eq!("2m".parse::<SimDuration>().unwrap().as_micros(), 120_000_000);
        for bad in ["", "10", "s", "1.5s", "-1s", "10h", "99999999999999999999s"] {
            assert!(bad.parse::<SimDuration>().is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn displays_seconds_with_millis() {
        assert_eq!(SimTime::from_millis(1250).to_string(), "1.250 s");
        assert_eq!(SimTime::from_micros(250).to_string(), "0.000 250 s");
        assert_eq!(SimDuration::from_secs(3).to_string(), "3.000 s");
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(SimTime::MAX + SimDuration::from_secs(1), SimTime::MAX);
        assert_eq!(SimTime::ZERO - SimTime::from_millis(5), SimDuration::ZERO);
    }
}
