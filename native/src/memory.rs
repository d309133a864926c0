//! Memory bounds for long work: a simulated run watches its process's resident memory and
//! stops with exit 3 and a message at its bound (`--memory-max`), rather than being killed by
//! the kernel or aborting on a failed allocation; the linearizability checker gets the same
//! option as a budget for its search.

use std::fmt;
use std::str::FromStr;

/// A number of bytes, as given on the command line (`512MiB`, `4GiB`) or `none` for no bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u64);

impl Bytes {
    /// What `none` means: no bound.
    pub const UNBOUNDED: Bytes = Bytes(u64::MAX);
}

const UNITS: [(&str, u64); 4] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)];

/// Why a size cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SizeError {
    #[error("{0:?} is not a size: expected a whole number with a unit (B, KiB, MiB, GiB), e.g. 512MiB, or none")]
    Invalid(String),
    #[error("{0:?} is too large (at most 16 EiB)")]
    TooLarge(String),
    #[error("{0:?} is zero: nothing could run")]
    Zero(String),
}

impl FromStr for Bytes {
    type Err = SizeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if text == "none" {
            return Ok(Bytes::UNBOUNDED);
        }
        let (number, scale) = UNITS
            .iter()
            .find_map(|(unit, scale)| text.strip_suffix(unit).map(|n| (n.trim(), *scale)))
            .ok_or_else(|| SizeError::Invalid(s.to_owned()))?;
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SizeError::Invalid(s.to_owned()));
        }
        let n: u64 = number.parse().map_err(|_| SizeError::TooLarge(s.to_owned()))?;
        let bytes = n.checked_mul(scale).ok_or_else(|| SizeError::TooLarge(s.to_owned()))?;
        if bytes == 0 {
            return Err(SizeError::Zero(s.to_owned()));
        }
        Ok(Bytes(bytes))
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Bytes::UNBOUNDED {
            return f.write_str("none");
        }
        let (unit, scale) = UNITS.iter().find(|(_, scale)| self.0 >= *scale).copied().unwrap_or(("B", 1));
        if scale == 1 { write!(f, "{} B", self.0) } else { write!(f, "{:.1} {unit}", self.0 as f64 / scale as f64) }
    }
}

/// The process's resident memory, from `/proc/self/status` (`VmRSS`); `None` where there is no
/// such file (not Linux), and then no bound is enforced.
pub fn resident() -> Option<Bytes> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.trim_start_matches("VmRSS:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(Bytes(kib.saturating_mul(1024)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_with_their_unit_and_refuse_everything_else() {
        assert_eq!("512MiB".parse(), Ok(Bytes(512 << 20)));
        assert_eq!("4GiB".parse(), Ok(Bytes(4 << 30)));
        assert_eq!("1 KiB".parse(), Ok(Bytes(1024)));
        assert_eq!("100B".parse(), Ok(Bytes(100)));
        assert_eq!("none".parse(), Ok(Bytes::UNBOUNDED));
        for bad in ["", "4", "4GB", "-1MiB", "1.5GiB", "GiB", "4 gib"] {
            assert_eq!(bad.parse::<Bytes>(), Err(SizeError::Invalid(bad.to_owned())), "{bad}");
        }
        assert_eq!("0MiB".parse::<Bytes>(), Err(SizeError::Zero("0MiB".into())));
        assert_eq!("17179869184GiB".parse::<Bytes>(), Err(SizeError::TooLarge("17179869184GiB".into())));
        assert_eq!("99999999999999999999B".parse::<Bytes>(), Err(SizeError::TooLarge("99999999999999999999B".into())));
        assert_eq!(Bytes(4 << 30).to_string(), "4.0 GiB");
        assert_eq!(Bytes(1536).to_string(), "1.5 KiB");
        assert_eq!(Bytes(12).to_string(), "12 B");
    }

    #[test]
    fn the_resident_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let rss = resident().expect("VmRSS on Linux");
            assert!(rss.0 > 1 << 20 && rss.0 < 1 << 40, "{rss}");
        }
    }
}
