//! A Snowflake generator (46.7.2) as a state machine on its own clock: given the time, it mints
//! an ID or says why not. Nothing here sleeps or spins; a caller told to wait sets a timer (the
//! simulator's actor) or sleeps (the native runner).
//!
//! What the chapter's `SnowflakeIDGenerator` gets wrong, and the policy that fixes each:
//! - A clock stepping back (NTP) makes `generate` raise for as long as the clock is behind: every
//!   caller fails, an outage. [`Rollback::Wait`] waits out a small step instead; and
//!   [`Rollback::Logical`] keeps minting on a logical clock (the last tick, then borrowed future
//!   ticks) within a bound, as Baidu's uid-generator and Sonyflake's successors do.
//! - A full sequence busy-spins on the clock until the next millisecond, a core burnt for
//!   nothing. Here it is [`Mint::Wait`] until the next tick.
//! - Nothing survives a restart, so a process restarted with its clock behind the last
//!   timestamp it used mints those IDs again. Here the generator keeps a *high-water mark*
//!   durably: it reserves `reserve_ms` of ticks ahead each time it reaches the mark (one write a
//!   second, not one per ID), and a restart resumes above it.
//! - Nothing assigns worker ids; see [`super::worker`] for leases.

use serde::{Deserialize, Serialize};

use super::IdError;
use super::layout::{Layout, Parts};

/// What a generator does when its clock is behind the last tick it used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum Rollback {
    /// The chapter's: refuse until the clock catches up.
    Refuse,
    /// Wait for the clock to come back, if it is at most `max_ms` behind; refuse a larger step.
    Wait { max_ms: u64 },
    /// Keep minting on the last tick, borrowing ticks ahead of the clock, while the logical
    /// clock is at most `bound_ms` ahead of the real one; beyond that, wait.
    Logical { bound_ms: u64 },
}

/// A generator's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnowflakeConfig {
    pub layout: Layout,
    pub datacenter: u64,
    pub worker: u64,
    pub rollback: Rollback,
    /// Milliseconds of ticks reserved durably ahead of use; 0 keeps nothing (the chapter's).
    pub reserve_ms: u64,
}

impl SnowflakeConfig {
    /// The chapter's generator: refuses on rollback, keeps nothing across a restart.
    pub fn chapter(layout: Layout, datacenter: u64, worker: u64) -> Self {
        SnowflakeConfig { layout, datacenter, worker, rollback: Rollback::Refuse, reserve_ms: 0 }
    }

    /// Checked: the layout, and the ids within their fields.
    pub fn check(&self) -> Result<(), IdError> {
        self.layout.check()?;
        if self.datacenter > self.layout.max_datacenter() {
            return Err(IdError::layout(
                "datacenter",
                self.datacenter,
                format!("0 to {}", self.layout.max_datacenter()),
            ));
        }
        if self.worker > self.layout.max_worker() {
            return Err(IdError::layout("worker", self.worker, format!("0 to {}", self.layout.max_worker())));
        }
        Ok(())
    }
}

/// Why a generator waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum WaitWhy {
    /// The tick's sequence is used up.
    SequenceFull,
    /// The clock is behind the last tick used, by `behind_ms`.
    ClockBehind { behind_ms: u64 },
}

/// Why a generator refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum Refusal {
    /// The clock is `behind_ms` behind the last tick used (the chapter's "Clock moved backwards").
    ClockBehind { behind_ms: u64 },
    /// The clock reads before the layout's epoch.
    BeforeEpoch,
    /// The layout's time bits are used up.
    TimeExhausted,
}

/// One attempt to mint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mint", rename_all = "snake_case")]
pub enum Mint {
    Id {
        id: u64,
    },
    /// Try again when the clock reads `until_ms` (Unix ms).
    Wait {
        until_ms: u64,
        why: WaitWhy,
    },
    Refused {
        why: Refusal,
    },
}

/// One Snowflake generator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snowflake {
    cfg: SnowflakeConfig,
    /// The last tick an ID was minted in (logical: may be ahead of the clock).
    last_tick: Option<u64>,
    sequence: u64,
    /// The durable high-water mark: no ID was minted at or after this tick before a restart.
    high_water: Option<u64>,
}

impl Snowflake {
    pub fn new(cfg: SnowflakeConfig) -> Result<Self, IdError> {
        cfg.check()?;
        Ok(Snowflake { cfg, last_tick: None, sequence: 0, high_water: None })
    }

    /// A generator restarted with what it kept: it mints above the high-water mark, whatever its
    /// clock says. With nothing kept (the chapter's) it starts from scratch.
    pub fn resume(cfg: SnowflakeConfig, high_water: Option<u64>) -> Result<Self, IdError> {
        Ok(Snowflake::new(cfg)?.restarted(high_water))
    }

    /// This generator as it restarts: its configuration, its clock state forgotten, resuming
    /// above `high_water` when it keeps one.
    pub fn restarted(&self, high_water: Option<u64>) -> Snowflake {
        let mut g = Snowflake { cfg: self.cfg, last_tick: None, sequence: 0, high_water: None };
        if let Some(mark) = high_water.filter(|_| self.cfg.reserve_ms > 0) {
            // Everything below the mark may have been used: the next ID is at the mark or later.
            g.last_tick = mark.checked_sub(1);
            g.sequence = self.cfg.layout.max_sequence();
            g.high_water = Some(mark);
        }
        g
    }

    /// The same generator under another worker id (a lease granted a new one), keeping its
    /// high-water mark.
    pub fn with_worker(&self, worker: u64) -> Result<Snowflake, IdError> {
        let cfg = SnowflakeConfig { worker, ..self.cfg };
        cfg.check()?;
        Ok(Snowflake { cfg, ..self.restarted(self.high_water) })
    }

    pub fn config(&self) -> &SnowflakeConfig {
        &self.cfg
    }

    /// What must survive a crash: the high-water mark (`None` when nothing is kept).
    pub fn high_water(&self) -> Option<u64> {
        self.high_water
    }

    pub fn last_tick(&self) -> Option<u64> {
        self.last_tick
    }

    /// How far the logical clock runs ahead of `now_ms`, in milliseconds (0 when it does not).
    pub fn ahead_ms(&self, now_ms: u64) -> u64 {
        let layout = &self.cfg.layout;
        match (self.last_tick, layout.tick_of(now_ms)) {
            (Some(last), Some(tick)) if last > tick => (last - tick) * layout.tick_ms,
            _ => 0,
        }
    }

    fn tick_start_ms(&self, tick: u64) -> u64 {
        self.cfg.layout.epoch_ms + tick * self.cfg.layout.tick_ms
    }

    /// Mints an ID at `now_ms` (the generator's clock, Unix milliseconds), or says when to try
    /// again or why it will not.
    pub fn next(&mut self, now_ms: u64) -> Mint {
        let layout = self.cfg.layout;
        let Some(clock) = layout.tick_of(now_ms) else {
            return Mint::Refused { why: Refusal::BeforeEpoch };
        };
        let tick = match self.last_tick {
            Some(last) if clock < last => {
                let behind_ms = (last - clock) * layout.tick_ms;
                match self.cfg.rollback {
                    Rollback::Refuse => return Mint::Refused { why: Refusal::ClockBehind { behind_ms } },
                    Rollback::Wait { max_ms } if behind_ms <= max_ms => {
                        return Mint::Wait {
                            until_ms: self.tick_start_ms(last),
                            why: WaitWhy::ClockBehind { behind_ms },
                        };
                    }
                    Rollback::Wait { .. } => return Mint::Refused { why: Refusal::ClockBehind { behind_ms } },
                    Rollback::Logical { bound_ms } if behind_ms <= bound_ms => last,
                    Rollback::Logical { bound_ms } => {
                        let until_ms = self.tick_start_ms(last) - bound_ms;
                        return Mint::Wait { until_ms, why: WaitWhy::ClockBehind { behind_ms } };
                    }
                }
            }
            _ => clock,
        };
        let (tick, sequence) = match self.last_tick {
            Some(last) if tick == last && self.sequence < layout.max_sequence() => (tick, self.sequence + 1),
            Some(last) if tick == last => {
                // The tick is full: the next one, now if the logical clock may borrow it.
                let next = last + 1;
                let until_ms = match self.cfg.rollback {
                    Rollback::Logical { bound_ms } if (next - clock) * layout.tick_ms <= bound_ms => None,
                    Rollback::Logical { bound_ms } => Some(self.tick_start_ms(next) - bound_ms),
                    _ => Some(self.tick_start_ms(next.max(clock + 1))),
                };
                if let Some(until_ms) = until_ms {
                    return Mint::Wait { until_ms, why: WaitWhy::SequenceFull };
                }
                (next, 0)
            }
            _ => (tick, 0),
        };
        if tick > layout.max_tick() {
            return Mint::Refused { why: Refusal::TimeExhausted };
        }
        // The ids were checked when configured, the sequence is within its mask and the tick
        // was just checked: every field fits.
        let id = layout.pack(Parts { tick, datacenter: self.cfg.datacenter, worker: self.cfg.worker, sequence });
        self.last_tick = Some(tick);
        self.sequence = sequence;
        if self.cfg.reserve_ms > 0 && self.high_water.is_none_or(|mark| tick >= mark) {
            self.high_water = Some(tick + self.cfg.reserve_ms.div_ceil(layout.tick_ms).max(1));
        }
        Mint::Id { id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::layout::CHAPTER_EPOCH_MS;

    const T0: u64 = CHAPTER_EPOCH_MS + 1_000_000;

    fn generator(rollback: Rollback, reserve_ms: u64) -> Snowflake {
        Snowflake::new(SnowflakeConfig { layout: Layout::CHAPTER, datacenter: 1, worker: 2, rollback, reserve_ms })
            .unwrap()
    }

    fn id(m: Mint) -> u64 {
        match m {
            Mint::Id { id } => id,
            other => panic!("expected an ID, got {other:?}"),
        }
    }

    #[test]
    fn ids_in_one_tick_count_up_then_wait_for_the_next_tick() {
        let mut g = generator(Rollback::Refuse, 0);
        let first = id(g.next(T0));
        assert_eq!(
            Layout::CHAPTER.parse(first).unwrap().parts,
            Parts { tick: 1_000_000, datacenter: 1, worker: 2, sequence: 0 }
        );
        for s in 1..4_096 {
            assert_eq!(id(g.next(T0)), first + s);
        }
        assert_eq!(g.next(T0), Mint::Wait { until_ms: T0 + 1, why: WaitWhy::SequenceFull });
        assert_eq!(Layout::CHAPTER.parse(id(g.next(T0 + 1))).unwrap().parts.sequence, 0);
    }

    #[test]
    fn the_chapters_policy_refuses_for_as_long_as_the_clock_is_behind() {
        let mut g = Snowflake::new(SnowflakeConfig::chapter(Layout::CHAPTER, 0, 0)).unwrap();
        id(g.next(T0 + 500));
        assert_eq!(g.next(T0), Mint::Refused { why: Refusal::ClockBehind { behind_ms: 500 } });
        assert_eq!(g.next(T0 + 499), Mint::Refused { why: Refusal::ClockBehind { behind_ms: 1 } });
        id(g.next(T0 + 500));
    }

    #[test]
    fn waiting_covers_a_small_step_back_and_refuses_a_large_one() {
        let mut g = generator(Rollback::Wait { max_ms: 100 }, 0);
        id(g.next(T0 + 500));
        assert_eq!(g.next(T0 + 450), Mint::Wait { until_ms: T0 + 500, why: WaitWhy::ClockBehind { behind_ms: 50 } });
        assert_eq!(g.next(T0 + 300), Mint::Refused { why: Refusal::ClockBehind { behind_ms: 200 } });
    }

    #[test]
    fn a_logical_clock_keeps_minting_within_its_bound_and_stays_monotonic() {
        let mut g = generator(Rollback::Logical { bound_ms: 5 }, 0);
        let mut last = id(g.next(T0 + 100));
        // The clock steps back 3 ms: the generator goes on from tick 100, borrowing ticks while
        // it stays at most 5 ms ahead of its clock (101 and 102).
        let mut minted = 0u64;
        loop {
            match g.next(T0 + 97) {
                Mint::Id { id } => {
                    assert!(id > last);
                    last = id;
                    minted += 1;
                }
                Mint::Wait { until_ms, why: WaitWhy::SequenceFull } => {
                    assert_eq!(until_ms, T0 + 98, "tick 103 may be borrowed once the clock reads 98");
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(minted, 4_095 + 2 * 4_096, "the rest of tick 100, then ticks 101 and 102");
        assert_eq!(g.ahead_ms(T0 + 97), 5);
        assert!(id(g.next(T0 + 98)) > last);
        // A step back past the bound waits until the clock is within it again.
        let mut g = generator(Rollback::Logical { bound_ms: 5 }, 0);
        id(g.next(T0 + 100));
        assert_eq!(g.next(T0 + 50), Mint::Wait { until_ms: T0 + 95, why: WaitWhy::ClockBehind { behind_ms: 50 } });
    }

    #[test]
    fn a_restart_resumes_above_its_high_water_mark() {
        let mut g = generator(Rollback::Refuse, 1_000);
        let before = id(g.next(T0));
        assert_eq!(g.high_water(), Some(1_000_000 + 1_000));
        id(g.next(T0 + 999));
        assert_eq!(g.high_water(), Some(1_001_000), "one durable write per reserve");
        id(g.next(T0 + 1_000));
        assert_eq!(g.high_water(), Some(1_002_000));
        // Restarted with its clock back at T0: it refuses rather than mint below the mark...
        let mut r = Snowflake::resume(*g.config(), g.high_water()).unwrap();
        assert_eq!(r.next(T0), Mint::Refused { why: Refusal::ClockBehind { behind_ms: 1_999 } });
        // ...and mints above it once the clock passes it.
        assert!(id(r.next(T0 + 2_000)) > before);
        // The chapter's keeps nothing: the same clock mints the same ID again.
        let mut c = Snowflake::new(SnowflakeConfig::chapter(Layout::CHAPTER, 1, 2)).unwrap();
        let dup = id(c.next(T0));
        let mut c2 = Snowflake::resume(*c.config(), c.high_water()).unwrap();
        assert_eq!(id(c2.next(T0)), dup);
    }

    #[test]
    fn the_clock_before_the_epoch_or_past_the_layout_is_refused() {
        let mut g = generator(Rollback::Refuse, 0);
        assert_eq!(g.next(CHAPTER_EPOCH_MS - 1), Mint::Refused { why: Refusal::BeforeEpoch });
        assert_eq!(g.next(CHAPTER_EPOCH_MS + (1 << 41)), Mint::Refused { why: Refusal::TimeExhausted });
        let bad = SnowflakeConfig { worker: 32, ..*g.config() };
        assert_eq!(Snowflake::new(bad).unwrap_err().to_string(), "worker = 32 is out of range: allowed 0 to 31");
    }
}
