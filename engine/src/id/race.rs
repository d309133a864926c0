//! The throughput race between ID modes (46.7.2): each generator mints as fast as it can for a
//! budget of its own clock's time, and a lap says how many it made, against which limit, and
//! whether they came out in order. What it teaches is where each mode's ceiling comes from:
//! Snowflake's is its sequence (4,096 per millisecond per worker with 12 bits, 25,600 a second
//! for Sonyflake's 8 bits in 10 ms ticks), UUIDs have none but are twice as wide and (v4, and
//! the chapter's v7) unordered, and segments cost one store round trip per segment, amortised
//! over thousands of IDs.
//!
//! The clock is the caller's (the page passes the browser's `Date.now`, tests a synthetic one),
//! so the engine stays free of I/O. A full Snowflake tick is waited out by reading the clock
//! again: in the race nothing else needs the thread. Segments are claimed from the engine's own
//! [`Keyspace`], which answers at once: the native `distlab bench` row `id-segment` measures
//! them against a real Redis.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::IdError;
use super::layout::Layout;
use super::segment::{SegmentConfig, Segments};
use super::snowflake::{Mint, Rollback, Snowflake, SnowflakeConfig};
use super::uuids::{V7, chapter_v7, v4};
use crate::sim::Rng;
use crate::store::Keyspace;

/// The modes that race.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RaceMode {
    /// The chapter's layout, 41/5/5/12 in 1 ms ticks.
    Snowflake,
    /// 39/8/16 in 10 ms ticks.
    Sonyflake,
    UuidV4,
    UuidV7,
    /// The chapter's `v7`: a v4 with a timestamp glued on.
    ChapterV7,
    /// Leaf's segments with the double buffer, from the local store.
    Segment,
}

impl RaceMode {
    pub const ALL: [RaceMode; 6] = [
        RaceMode::Snowflake,
        RaceMode::Sonyflake,
        RaceMode::UuidV4,
        RaceMode::UuidV7,
        RaceMode::ChapterV7,
        RaceMode::Segment,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RaceMode::Snowflake => "snowflake",
            RaceMode::Sonyflake => "sonyflake",
            RaceMode::UuidV4 => "uuid-v4",
            RaceMode::UuidV7 => "uuid-v7",
            RaceMode::ChapterV7 => "chapter-v7",
            RaceMode::Segment => "segment",
        }
    }

    /// The mode named `name`, or an error listing the names.
    pub fn parse(name: &str) -> Result<RaceMode, IdError> {
        RaceMode::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| IdError::layout("mode", name, RaceMode::ALL.map(RaceMode::name).join(", ")))
    }
}

/// One mode's lap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lap {
    pub mode: RaceMode,
    pub ids: u64,
    /// The lap's length by the caller's clock.
    pub elapsed_ms: u64,
    /// IDs a second one generator can mint at most, where the mode has a ceiling.
    pub limit_per_second: Option<u64>,
    /// An ID's width.
    pub bits: u32,
    /// Snowflake ticks whose sequence ran out (the generator waited for the next).
    pub full_ticks: u64,
    /// Segments claimed from the store.
    pub claims: u64,
    /// IDs not above the one before: 0 for the ordered modes.
    pub out_of_order: u64,
    /// The version nibble of a UUID mode's IDs.
    pub version: Option<usize>,
}

/// IDs minted between two looks at the budget by the modes that need no clock per ID.
const BATCH: u64 = 256;

/// Runs `mode` for `budget_ms` of `clock` (Unix milliseconds), its random numbers from `seed`.
pub fn run(mode: RaceMode, budget_ms: u64, mut clock: impl FnMut() -> u64, seed: u64) -> Result<Lap, IdError> {
    const MAX_BUDGET_MS: u64 = 10_000;
    if !(1..=MAX_BUDGET_MS).contains(&budget_ms) {
        return Err(IdError::layout("budget_ms", budget_ms, format!("1 to {MAX_BUDGET_MS}")));
    }
    let mut rng = Rng::new(seed);
    // A lap starts as a tick does (10 ms for Sonyflake, whose epoch is a whole number of them), so
    // it holds whole ticks and never gets a part-used first tick's sequence for nothing.
    let tick_ms = if mode == RaceMode::Sonyflake { Layout::SONYFLAKE.tick_ms } else { 1 };
    let first = clock();
    let started = loop {
        let now = clock();
        if now > first && now.is_multiple_of(tick_ms) {
            break now;
        }
    };
    let deadline = started + budget_ms;
    let mut lap = Lap {
        mode,
        ids: 0,
        elapsed_ms: 0,
        limit_per_second: None,
        bits: 128,
        full_ticks: 0,
        claims: 0,
        out_of_order: 0,
        version: None,
    };
    match mode {
        RaceMode::Snowflake | RaceMode::Sonyflake => {
            let layout = if mode == RaceMode::Snowflake { Layout::CHAPTER } else { Layout::SONYFLAKE };
            // Waiting, not the logical clock: borrowing ticks ahead would beat the limit by
            // minting the future's IDs now.
            let datacenter = layout.max_datacenter().min(1);
            let cfg = SnowflakeConfig {
                layout,
                datacenter,
                worker: 1,
                rollback: Rollback::Wait { max_ms: 1_000 },
                reserve_ms: 0,
            };
            let mut generator = Snowflake::new(cfg)?;
            lap.limit_per_second = Some(layout.per_second());
            lap.bits = 64;
            let mut last = 0u64;
            loop {
                let now = clock();
                if now >= deadline {
                    lap.elapsed_ms = now - started;
                    break;
                }
                match generator.next(now) {
                    Mint::Id { id } => {
                        lap.out_of_order += u64::from(id <= last);
                        last = id;
                        lap.ids += 1;
                    }
                    Mint::Wait { until_ms, .. } => {
                        lap.full_ticks += u64::from(until_ms > now);
                        while clock() < until_ms.min(deadline) {}
                    }
                    Mint::Refused { why } => return Err(IdError::Refused(format!("{why:?}"))),
                }
            }
        }
        RaceMode::UuidV4 | RaceMode::ChapterV7 | RaceMode::UuidV7 => {
            let mut v7 = V7::new();
            let mut last = Uuid::nil();
            let mut next = |rng: &mut Rng, now: u64| match mode {
                RaceMode::UuidV4 => v4(u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())),
                RaceMode::ChapterV7 => chapter_v7(now, u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())),
                _ => v7.next(now, || rng.next_u64()),
            };
            lap.elapsed_ms = batches(&mut clock, started, deadline, |now| {
                let id = next(&mut rng, now);
                lap.out_of_order += u64::from(id <= last);
                last = id;
                lap.ids += 1;
            });
            lap.version = Some(last.get_version_num());
        }
        RaceMode::Segment => {
            let mut store = Keyspace::new();
            let mut segments = Segments::new(SegmentConfig::leaf("race", 1_000))?;
            let mut last = 0u64;
            let mut failed = None;
            lap.bits = 64;
            lap.elapsed_ms = batches(&mut clock, started, deadline, |now| {
                if failed.is_some() {
                    return;
                }
                let mut due = segments.due(now);
                while let Some(cmd) = due {
                    due = match segments.on_reply(&store.apply(0, &cmd)) {
                        Ok(next) => next,
                        Err(e) => {
                            failed = Some(e);
                            return;
                        }
                    };
                }
                if let Some(id) = segments.take() {
                    lap.out_of_order += u64::from(id <= last);
                    last = id;
                    lap.ids += 1;
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
            lap.claims = segments.claims();
        }
    }
    Ok(lap)
}

/// Calls `mint` with the time in batches of [`BATCH`], reading the clock once a batch, until
/// `deadline`; returns the time taken. A mode that needs a time per ID (the UUIDv7s) gets the
/// batch's: within a batch the clock has not moved by more than the batch takes.
fn batches(clock: &mut impl FnMut() -> u64, started: u64, deadline: u64, mut mint: impl FnMut(u64)) -> u64 {
    loop {
        let now = clock();
        if now >= deadline {
            return now - started;
        }
        for _ in 0..BATCH {
            mint(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clock that advances one millisecond every `reads_per_ms` reads, from 2026.
    fn synthetic(reads_per_ms: u64) -> impl FnMut() -> u64 {
        let mut reads = 0u64;
        move || {
            reads += 1;
            1_767_225_600_000 + reads / reads_per_ms
        }
    }

    #[test]
    fn a_snowflake_mints_exactly_its_sequence_per_tick_and_waits_out_the_rest() {
        // 10,000 reads a millisecond: far more than 4,096 IDs need, so every tick fills.
        let lap = run(RaceMode::Snowflake, 50, synthetic(10_000), 1).unwrap();
        assert_eq!((lap.elapsed_ms, lap.ids, lap.full_ticks), (50, 50 * 4_096, 50));
        assert_eq!((lap.out_of_order, lap.limit_per_second, lap.bits), (0, Some(4_096_000), 64));
    }

    #[test]
    fn a_slow_clock_keeps_a_snowflake_under_its_ceiling_without_waiting() {
        // 1,000 reads a millisecond: one ID a read, never a full tick.
        let lap = run(RaceMode::Snowflake, 20, synthetic(1_000), 1).unwrap();
        assert_eq!((lap.full_ticks, lap.out_of_order), (0, 0));
        // Every read but the one that finds the lap over mints.
        assert_eq!(lap.ids, 20 * 1_000 - 1, "{lap:?}");
    }

    #[test]
    fn a_sonyflake_mints_256_per_ten_millisecond_tick() {
        let lap = run(RaceMode::Sonyflake, 100, synthetic(1_000), 1).unwrap();
        // Ten whole ticks from a tick's start: exactly the ceiling, never a part-tick more.
        assert_eq!((lap.ids, lap.full_ticks, lap.out_of_order), (10 * 256, 10, 0), "{lap:?}");
        assert_eq!(lap.limit_per_second, Some(25_600));
    }

    #[test]
    fn uuid_v7_is_ordered_and_version_7_while_v4_and_the_chapters_v7_are_not() {
        let v7 = run(RaceMode::UuidV7, 20, synthetic(10), 1).unwrap();
        assert_eq!((v7.out_of_order, v7.version, v7.bits, v7.limit_per_second), (0, Some(7), 128, None));
        // Ten clock reads a millisecond: 2,560 IDs a millisecond, which the counter orders.
        assert!(v7.ids >= 19 * 10 * BATCH, "{v7:?}");
        let v4 = run(RaceMode::UuidV4, 20, synthetic(10), 1).unwrap();
        assert_eq!(v4.version, Some(4));
        assert!(v4.out_of_order > v4.ids / 3, "{v4:?}");
        let chapter = run(RaceMode::ChapterV7, 20, synthetic(10), 1).unwrap();
        assert_eq!(chapter.version, Some(4));
        assert!(chapter.out_of_order > chapter.ids / 3, "{chapter:?}");
    }

    #[test]
    fn segments_come_in_order_from_few_claims_that_grow() {
        let lap = run(RaceMode::Segment, 50, synthetic(10), 1).unwrap();
        assert_eq!(lap.out_of_order, 0);
        assert!((49 * 10 * BATCH..=50 * 10 * BATCH).contains(&lap.ids), "{lap:?}");
        // Steps double from 1,000 while segments last under a second: far fewer claims than
        // 1,000-ID segments would take.
        assert!(lap.claims >= 2 && lap.claims < lap.ids / 1_000, "{lap:?}");
    }

    #[test]
    fn a_lap_is_seed_stable_on_the_same_clock() {
        for mode in RaceMode::ALL {
            assert_eq!(run(mode, 5, synthetic(100), 7).unwrap(), run(mode, 5, synthetic(100), 7).unwrap());
        }
    }

    #[test]
    fn a_bad_mode_or_budget_is_named() {
        assert_eq!(
            RaceMode::parse("uuid-v8").unwrap_err().to_string(),
            "mode = uuid-v8 is out of range: allowed snowflake, sonyflake, uuid-v4, uuid-v7, chapter-v7, segment"
        );
        assert_eq!(
            run(RaceMode::Snowflake, 0, synthetic(1), 1).unwrap_err().to_string(),
            "budget_ms = 0 is out of range: allowed 1 to 10000"
        );
        for mode in RaceMode::ALL {
            assert_eq!(RaceMode::parse(mode.name()), Ok(mode));
        }
    }
}
