//! UUIDs (46.7.2): version 4 (random) and version 7 (RFC 9562: 48 bits of Unix milliseconds,
//! then a counter and random bits), built by the `uuid` crate from bytes the caller supplies, so
//! the simulation stays deterministic (its seeded randomness) while the version and variant bits
//! are the crate's.
//!
//! The v7 counter follows the crate's own `ContextV7` (what `Uuid::now_v7` uses): a 42-bit
//! counter, reseeded with 41 random bits (top bit clear, so that it has room to count) whenever
//! the millisecond advances, incremented by one within a millisecond, and, in the unlikely case
//! it overflows, carried into the timestamp (the millisecond is advanced by one and the counter
//! reseeded). A clock that steps back keeps the last millisecond and counts on. So every UUID one
//! generator makes sorts after the one before: RFC 9562's "fixed bit-length dedicated counter"
//! (method 1, section 6.2), 12 bits in `rand_a` and 30 in `rand_b`, then 32 random bits.
//!
//! The chapter's `UUIDGenerator.v7` glues six bytes of milliseconds onto bytes 6.. of a fresh v4:
//! the version nibble it keeps is the v4's (4), and within one millisecond its order is random.
//! [`chapter_v7`] is that, kept to show it.

use uuid::{Builder, Uuid};

/// The counter's width and its reseed mask (41 bits).
const COUNTER_BITS: u32 = 42;
const RESEED_MASK: u64 = (1 << (COUNTER_BITS - 1)) - 1;
const COUNTER_MAX: u64 = (1 << COUNTER_BITS) - 1;

/// A version-4 UUID from 16 random bytes (the crate sets the version and variant bits).
pub fn v4(random: u128) -> Uuid {
    Builder::from_random_bytes(random.to_be_bytes()).into_uuid()
}

/// The chapter's `v7`: a millisecond timestamp in bytes 0..6, then bytes 6.. of a v4.
pub fn chapter_v7(unix_ms: u64, v4_random: u128) -> Uuid {
    let tail = v4(v4_random);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&unix_ms.to_be_bytes()[2..]);
    bytes[6..].copy_from_slice(&tail.as_bytes()[6..]);
    Uuid::from_bytes(bytes)
}

/// A version-7 generator with the crate's counter behaviour, on the caller's clock and random
/// numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct V7 {
    /// The millisecond of the last UUID (may run ahead of the clock after a step back or an
    /// overflow).
    last_ms: u64,
    counter: u64,
}

impl V7 {
    pub fn new() -> Self {
        V7::default()
    }

    /// The next UUID at `unix_ms`, drawing random numbers from `random` (two per reseed, one
    /// otherwise).
    pub fn next(&mut self, unix_ms: u64, mut random: impl FnMut() -> u64) -> Uuid {
        if unix_ms > self.last_ms || (self.last_ms == 0 && self.counter == 0) {
            self.last_ms = self.last_ms.max(unix_ms);
            self.counter = random() & RESEED_MASK;
        } else {
            self.counter += 1;
            if self.counter > COUNTER_MAX {
                self.last_ms += 1;
                self.counter = random() & RESEED_MASK;
            }
        }
        let tail = random().to_be_bytes();
        Self::encode(self.last_ms, self.counter, u32::from_be_bytes([tail[4], tail[5], tail[6], tail[7]]))
    }

    /// A v7 UUID of `unix_ms` with a 42-bit `counter` in `rand_a` and the top of `rand_b`, and
    /// `tail` in the last 32 bits.
    pub fn encode(unix_ms: u64, counter: u64, tail: u32) -> Uuid {
        // `from_unix_timestamp_millis` keeps the low 12 bits of bytes 0..2 (rand_a) and the low
        // 6 bits of byte 2 onwards (rand_b), setting the version and variant over the rest.
        let high = (counter >> 30).to_be_bytes(); // 12 bits
        let low = (counter & ((1 << 30) - 1)).to_be_bytes(); // 30 bits
        let mut bytes = [0u8; 10];
        bytes[..2].copy_from_slice(&high[6..]);
        bytes[2..6].copy_from_slice(&low[4..]);
        bytes[6..].copy_from_slice(&tail.to_be_bytes());
        Builder::from_unix_timestamp_millis(unix_ms, &bytes).into_uuid()
    }

    /// The counter a UUID made by [`V7::encode`] carries.
    pub fn counter_of(uuid: &Uuid) -> u64 {
        let b = uuid.as_bytes();
        let high = u64::from(u16::from_be_bytes([b[6], b[7]]) & 0x0fff);
        let low = u64::from(u32::from_be_bytes([b[8], b[9], b[10], b[11]]) & 0x3fff_ffff);
        high << 30 | low
    }
}

/// A UUID's millisecond timestamp, if it has one (versions 6 and 7 read by the crate; the
/// chapter's v7 claims version 4, so it has none).
pub fn unix_ms_of(uuid: &Uuid) -> Option<u64> {
    uuid.get_timestamp().map(|t| {
        let (secs, nanos) = t.to_unix();
        secs * 1_000 + u64::from(nanos) / 1_000_000
    })
}

#[cfg(test)]
mod tests {
    use uuid::{Variant, Version};

    use super::*;
    use crate::sim::Rng;

    #[test]
    fn v7s_carry_version_7_and_sort_in_the_order_made_even_within_a_millisecond() {
        let mut rng = Rng::new(7);
        let mut g = V7::new();
        let mut last = Uuid::nil();
        for i in 0..3_000u64 {
            let ms = 1_700_000_000_000 + i / 1_000;
            let u = g.next(ms, || rng.next_u64());
            assert_eq!(u.get_version(), Some(Version::SortRand));
            assert_eq!(u.get_variant(), Variant::RFC4122);
            assert_eq!(unix_ms_of(&u), Some(ms));
            assert!(u > last, "{u} after {last}");
            last = u;
        }
    }

    #[test]
    fn a_clock_stepping_back_keeps_the_last_millisecond_and_counts_on() {
        let mut rng = Rng::new(1);
        let mut g = V7::new();
        let a = g.next(1_000_000, || rng.next_u64());
        let b = g.next(999_000, || rng.next_u64());
        assert!(b > a);
        assert_eq!(unix_ms_of(&b), Some(1_000_000));
        assert_eq!(V7::counter_of(&b), V7::counter_of(&a) + 1);
    }

    #[test]
    fn a_full_counter_carries_into_the_millisecond() {
        let mut g = V7 { last_ms: 5_000, counter: COUNTER_MAX };
        let u = g.next(5_000, || 0);
        assert_eq!((unix_ms_of(&u), V7::counter_of(&u)), (Some(5_001), 0));
    }

    #[test]
    fn the_counter_round_trips_through_the_crates_layout() {
        for counter in [0, 1, 0xfff, 1 << 30, (1 << 30) - 1, COUNTER_MAX, 0x2aa_aaaa_aaaa] {
            let u = V7::encode(42, counter, u32::MAX);
            assert_eq!(V7::counter_of(&u), counter);
            assert_eq!(u.get_version_num(), 7);
        }
    }

    #[test]
    fn the_chapters_v7_says_version_4_and_is_unordered_within_a_millisecond() {
        let mut rng = Rng::new(3);
        let made: Vec<Uuid> = (0..100)
            .map(|_| chapter_v7(1_700_000_000_000, u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())))
            .collect();
        assert!(made.iter().all(|u| u.get_version_num() == 4 && unix_ms_of(u).is_none()));
        assert!(made.windows(2).any(|w| w[1] < w[0]), "not monotonic within the millisecond");
        assert_eq!(&made[0].as_bytes()[..6], &1_700_000_000_000u64.to_be_bytes()[2..]);
        assert_eq!(v4(0).get_version(), Some(Version::Random));
    }
}
