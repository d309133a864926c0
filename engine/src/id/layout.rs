//! A Snowflake-family ID's bit layout (46.7.2): 63 bits (the sign bit stays 0 so the ID is a
//! positive `i64` in every language) split into a time in ticks since an epoch, a datacenter, a
//! worker and a per-tick sequence.
//!
//! The chapter's layout is Twitter's: 41 bits of milliseconds since 2024-01-01, 5 of datacenter,
//! 5 of worker, 12 of sequence (4,096 IDs per millisecond per worker, for 69 years). Sonyflake
//! trades throughput for lifetime and machines: 39 bits of 10 ms ticks (174 years), then 8 of
//! sequence, then 16 of machine id (no datacenter), so its sequence sits *above* the machine.
//!
//! What the chapter gets wrong: its `parse_id` hard-codes 41/5/5/12 and the 2024 epoch whatever
//! the generator was configured with, so an ID from a generator with other bits is read as
//! nonsense without any error. [`Layout::parse`] reads an ID with the layout that made it;
//! [`chapter_parse_id`] is the chapter's, kept to show the difference.

use serde::{Deserialize, Serialize};

use super::IdError;

/// 2024-01-01T00:00:00Z in Unix milliseconds: the chapter's epoch.
pub const CHAPTER_EPOCH_MS: u64 = 1_704_067_200_000;
/// 2014-09-01T00:00:00Z: Sonyflake's default start time.
pub const SONYFLAKE_EPOCH_MS: u64 = 1_409_529_600_000;
/// The bits an ID may use: 64 less the sign bit.
pub const ID_BITS: u32 = 63;

/// Where the sequence sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// time | datacenter | worker | sequence (Twitter's Snowflake, the chapter's).
    Snowflake,
    /// time | sequence | machine (Sonyflake: the worker is the machine id, no datacenter).
    Sonyflake,
}

/// The fields of one ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parts {
    /// Ticks since the epoch.
    pub tick: u64,
    pub datacenter: u64,
    pub worker: u64,
    pub sequence: u64,
}

/// An ID read back: its fields and its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parsed {
    #[serde(flatten)]
    pub parts: Parts,
    /// The tick's start as Unix milliseconds.
    pub unix_ms: u64,
}

/// A layout: the width of each field, the tick and the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub time_bits: u32,
    pub datacenter_bits: u32,
    pub worker_bits: u32,
    pub sequence_bits: u32,
    /// Milliseconds per tick: 1 for Snowflake, 10 for Sonyflake.
    pub tick_ms: u64,
    pub epoch_ms: u64,
    pub order: Order,
}

impl Default for Layout {
    fn default() -> Self {
        Layout::CHAPTER
    }
}

impl Layout {
    /// The chapter's `SnowflakeConfig`: 41/5/5/12 in milliseconds since 2024-01-01.
    pub const CHAPTER: Layout = Layout {
        time_bits: 41,
        datacenter_bits: 5,
        worker_bits: 5,
        sequence_bits: 12,
        tick_ms: 1,
        epoch_ms: CHAPTER_EPOCH_MS,
        order: Order::Snowflake,
    };

    /// Sonyflake's: 39 bits of 10 ms, 8 of sequence, 16 of machine id.
    pub const SONYFLAKE: Layout = Layout {
        time_bits: 39,
        datacenter_bits: 0,
        worker_bits: 16,
        sequence_bits: 8,
        tick_ms: 10,
        epoch_ms: SONYFLAKE_EPOCH_MS,
        order: Order::Sonyflake,
    };

    /// A Snowflake-ordered layout from `time/datacenter/worker/sequence` bits (e.g. `41/5/5/12`),
    /// checked.
    pub fn from_bits_text(text: &str, tick_ms: u64, epoch_ms: u64) -> Result<Layout, IdError> {
        let fields: Vec<&str> = text.split('/').collect();
        let [time, datacenter, worker, sequence] = fields[..] else {
            return Err(IdError::layout(
                "layout",
                text,
                "four bit counts time/datacenter/worker/sequence, e.g. 41/5/5/12",
            ));
        };
        let bits = |field: &'static str, s: &str| {
            s.trim().parse::<u32>().ok().filter(|b| *b <= ID_BITS).ok_or_else(|| IdError::layout(field, s, "0 to 63"))
        };
        let layout = Layout {
            time_bits: bits("time bits", time)?,
            datacenter_bits: bits("datacenter bits", datacenter)?,
            worker_bits: bits("worker bits", worker)?,
            sequence_bits: bits("sequence bits", sequence)?,
            tick_ms,
            epoch_ms,
            order: Order::Snowflake,
        };
        layout.check()?;
        Ok(layout)
    }

    /// The rules every layout keeps: 63 bits in all, a time of at least 30 bits (a year of
    /// milliseconds needs 35; 30 bits of 10 ms is four months), a tick of 1 ms to 1 s.
    pub fn check(&self) -> Result<(), IdError> {
        let sum = self.time_bits + self.datacenter_bits + self.worker_bits + self.sequence_bits;
        if sum != ID_BITS {
            return Err(IdError::layout(
                "layout",
                format!(
                    "{}/{}/{}/{} (sums to {sum})",
                    self.time_bits, self.datacenter_bits, self.worker_bits, self.sequence_bits
                ),
                "bits summing to 63 (the sign bit stays 0)",
            ));
        }
        if self.time_bits < 30 {
            return Err(IdError::layout("time bits", self.time_bits, "30 to 63"));
        }
        if !(1..=1_000).contains(&self.tick_ms) {
            return Err(IdError::layout("tick_ms", self.tick_ms, "1 to 1000"));
        }
        Ok(())
    }

    /// The text form `time/datacenter/worker/sequence`.
    pub fn bits_text(&self) -> String {
        format!("{}/{}/{}/{}", self.time_bits, self.datacenter_bits, self.worker_bits, self.sequence_bits)
    }

    fn mask(bits: u32) -> u64 {
        if bits == 0 { 0 } else { u64::MAX >> (64 - bits) }
    }

    pub fn max_tick(&self) -> u64 {
        Self::mask(self.time_bits)
    }
    pub fn max_datacenter(&self) -> u64 {
        Self::mask(self.datacenter_bits)
    }
    pub fn max_worker(&self) -> u64 {
        Self::mask(self.worker_bits)
    }
    pub fn max_sequence(&self) -> u64 {
        Self::mask(self.sequence_bits)
    }

    /// IDs one worker can mint per second: the sequence's size per tick.
    pub fn per_second(&self) -> u64 {
        (self.max_sequence() + 1) * 1_000 / self.tick_ms
    }

    /// Each field's shift, most significant first: (time, datacenter, worker, sequence).
    fn shifts(&self) -> (u32, u32, u32, u32) {
        match self.order {
            Order::Snowflake => {
                let worker = self.sequence_bits;
                let datacenter = worker + self.worker_bits;
                (datacenter + self.datacenter_bits, datacenter, worker, 0)
            }
            Order::Sonyflake => {
                let sequence = self.worker_bits + self.datacenter_bits;
                (sequence + self.sequence_bits, self.worker_bits, 0, sequence)
            }
        }
    }

    /// The tick a Unix time in milliseconds falls in, or `None` before the epoch.
    pub fn tick_of(&self, unix_ms: u64) -> Option<u64> {
        unix_ms.checked_sub(self.epoch_ms).map(|ms| if self.tick_ms == 1 { ms } else { ms / self.tick_ms })
    }

    /// The ID of `parts`, each field checked against its width.
    pub fn compose(&self, parts: Parts) -> Result<u64, IdError> {
        let fit = |field: &'static str, value: u64, max: u64| {
            if value > max { Err(IdError::layout(field, value, format!("0 to {max}"))) } else { Ok(value) }
        };
        fit("time", parts.tick, self.max_tick())?;
        fit("datacenter", parts.datacenter, self.max_datacenter())?;
        fit("worker", parts.worker, self.max_worker())?;
        fit("sequence", parts.sequence, self.max_sequence())?;
        Ok(self.pack(parts))
    }

    /// The ID of `parts` known to fit (a generator's own, checked when it was configured): the
    /// hot path, four shifts.
    pub(crate) fn pack(&self, parts: Parts) -> u64 {
        let (t, d, w, s) = self.shifts();
        parts.tick << t | parts.datacenter << d | parts.worker << w | parts.sequence << s
    }

    /// Reads an ID with this layout. An ID with the sign bit set was not made by any layout.
    pub fn parse(&self, id: u64) -> Result<Parsed, IdError> {
        if id >> ID_BITS != 0 {
            return Err(IdError::layout("id", id, format!("0 to {} (the sign bit is never set)", i64::MAX)));
        }
        let (t, d, w, s) = self.shifts();
        let parts = Parts {
            tick: id >> t & self.max_tick(),
            datacenter: id >> d & self.max_datacenter(),
            worker: id >> w & self.max_worker(),
            sequence: id >> s & self.max_sequence(),
        };
        Ok(Parsed { parts, unix_ms: self.epoch_ms + parts.tick * self.tick_ms })
    }
}

/// The chapter's `parse_id`, as written: 41/5/5/12 and the 2024 epoch, whatever made the ID.
pub fn chapter_parse_id(id: u64) -> Parsed {
    let parts = Parts { tick: id >> 22, datacenter: id >> 17 & 0x1f, worker: id >> 12 & 0x1f, sequence: id & 0xfff };
    Parsed { parts, unix_ms: parts.tick + CHAPTER_EPOCH_MS }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chapters_layout_places_fields_as_its_generator_does() {
        // The chapter's generate(): (ts - epoch) << 22 | dc << 17 | worker << 12 | sequence.
        let parts = Parts { tick: 1_000, datacenter: 3, worker: 7, sequence: 9 };
        let id = Layout::CHAPTER.compose(parts).unwrap();
        assert_eq!(id, 1_000 << 22 | 3 << 17 | 7 << 12 | 9);
        assert_eq!(Layout::CHAPTER.parse(id).unwrap().parts, parts);
        assert_eq!(chapter_parse_id(id), Layout::CHAPTER.parse(id).unwrap());
        assert_eq!(Layout::CHAPTER.per_second(), 4_096_000);
    }

    #[test]
    fn sonyflake_puts_its_sequence_above_the_machine() {
        let parts = Parts { tick: 5, datacenter: 0, worker: 0xabcd, sequence: 2 };
        let id = Layout::SONYFLAKE.compose(parts).unwrap();
        assert_eq!(id, 5 << 24 | 2 << 16 | 0xabcd);
        let parsed = Layout::SONYFLAKE.parse(id).unwrap();
        assert_eq!((parsed.parts, parsed.unix_ms), (parts, SONYFLAKE_EPOCH_MS + 50));
        // The chapter's parse reads the same number as a 2024 ID of another worker.
        assert_ne!(chapter_parse_id(id).parts, parts);
        assert_eq!(Layout::SONYFLAKE.per_second(), 25_600);
    }

    #[test]
    fn bad_layouts_name_their_field() {
        let err = |t: &str| Layout::from_bits_text(t, 1, 0).unwrap_err().to_string();
        assert_eq!(
            err("41/5/5/13"),
            "layout = 41/5/5/13 (sums to 64) is out of range: allowed bits summing to 63 (the sign bit stays 0)"
        );
        assert_eq!(
            err("41/5/5"),
            "layout = 41/5/5 is out of range: allowed four bit counts time/datacenter/worker/sequence, e.g. 41/5/5/12"
        );
        assert_eq!(err("41/x/5/12"), "datacenter bits = x is out of range: allowed 0 to 63");
        assert_eq!(err("20/20/11/12"), "time bits = 20 is out of range: allowed 30 to 63");
        assert_eq!(Layout::from_bits_text("41/5/5/12", 1, CHAPTER_EPOCH_MS).unwrap(), Layout::CHAPTER);
        let wide = Layout::CHAPTER.compose(Parts { tick: 0, datacenter: 32, worker: 0, sequence: 0 });
        assert_eq!(wide.unwrap_err().to_string(), "datacenter = 32 is out of range: allowed 0 to 31");
        assert!(Layout::CHAPTER.parse(1 << 63).is_err());
    }

    #[test]
    fn every_field_round_trips_at_its_limits() {
        for layout in [Layout::CHAPTER, Layout::SONYFLAKE, Layout::from_bits_text("43/0/8/12", 1, 0).unwrap()] {
            let max = Parts {
                tick: layout.max_tick(),
                datacenter: layout.max_datacenter(),
                worker: layout.max_worker(),
                sequence: layout.max_sequence(),
            };
            let id = layout.compose(max).unwrap();
            assert_eq!(id, i64::MAX as u64, "{layout:?} uses every bit");
            assert_eq!(layout.parse(id).unwrap().parts, max);
            let zero = Parts { tick: 0, datacenter: 0, worker: 0, sequence: 0 };
            assert_eq!(layout.compose(zero).unwrap(), 0);
        }
    }
}
