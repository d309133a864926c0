//! Segment allocation (46.7.2, Meituan's Leaf): a generator claims a range of `step` IDs from a
//! shared counter in the store and hands them out locally, one store round trip per segment.
//!
//! What the chapter's `LeafIDGenerator` gets wrong, and the fix:
//! - It claims with two statements, `UPDATE max_id = max_id + step` and then `SELECT max_id`. Two
//!   instances interleaving (A's update, B's update, A's select, B's select) both read the
//!   same `max_id` and hand out the same segment. One `INCRBY` claims and answers in one atomic
//!   step ([`SegmentMode::Atomic`]); the chapter's two steps are [`SegmentMode::ChapterRace`]
//!   (`INCRBY`, its answer ignored, then `GET`).
//! - It refills only when the segment is empty, under the lock, so every refill stalls every
//!   caller for a store round trip (and for as long as the store is slow or unreachable). Leaf's
//!   double buffer fetches the next segment when the current one is `prefetch_percent` used, so
//!   callers never wait while the store answers within the rest of the segment.
//! - A fixed step is too small under a burst (refills too often) and too large when idle (IDs
//!   lost at every restart). Leaf's adaptive step doubles when a segment lasted less than
//!   `target_ms` and halves when it lasted more than twice that, within `min_step..=max_step`.

use serde::{Deserialize, Serialize};

use super::IdError;
use crate::store::{Cmd, Reply};

/// How a segment is claimed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentMode {
    /// One `INCRBY key step`: its answer is the segment's end.
    Atomic,
    /// The chapter's: `INCRBY key step` (answer ignored), then `GET key` for the end.
    ChapterRace,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentConfig {
    pub key: String,
    pub mode: SegmentMode,
    pub step: u64,
    /// Fetch the next segment when this share of the current one is used; `None` refills only
    /// when empty (the chapter's).
    pub prefetch_percent: Option<u64>,
    /// Leaf's adaptive step: a segment's intended lifetime; `None` keeps `step` fixed.
    pub target_ms: Option<u64>,
    pub min_step: u64,
    pub max_step: u64,
}

impl SegmentConfig {
    /// The chapter's generator: racing claims, no double buffer, a fixed step.
    pub fn chapter(key: impl Into<String>, step: u64) -> Self {
        SegmentConfig {
            key: key.into(),
            mode: SegmentMode::ChapterRace,
            step,
            prefetch_percent: None,
            target_ms: None,
            min_step: step,
            max_step: step,
        }
    }

    /// Leaf's: atomic claims, the next segment fetched at 10%, the step adapting to a 1 s
    /// segment lifetime between `step` and 64 × `step`.
    pub fn leaf(key: impl Into<String>, step: u64) -> Self {
        SegmentConfig {
            key: key.into(),
            mode: SegmentMode::Atomic,
            step,
            prefetch_percent: Some(10),
            target_ms: Some(1_000),
            min_step: step,
            max_step: step.saturating_mul(64),
        }
    }

    pub fn check(&self) -> Result<(), IdError> {
        const MAX_STEP: u64 = 1 << 40;
        if !(1..=MAX_STEP).contains(&self.step) {
            return Err(IdError::layout("step", self.step, format!("1 to {MAX_STEP}")));
        }
        if let Some(p) = self.prefetch_percent.filter(|p| !(1..=99).contains(p)) {
            return Err(IdError::layout("prefetch_percent", p, "1 to 99"));
        }
        if self.min_step == 0 || self.min_step > self.step || self.max_step < self.step || self.max_step > MAX_STEP {
            return Err(IdError::layout(
                "min_step/max_step",
                format!("{}/{}", self.min_step, self.max_step),
                format!("1 <= min_step <= step ({}) <= max_step <= {MAX_STEP}", self.step),
            ));
        }
        Ok(())
    }
}

/// IDs `next..=end` still to hand out of a segment that began after `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub start: u64,
    pub next: u64,
    pub end: u64,
}

impl Segment {
    /// The segment `(end - step, end]`.
    fn ending_at(end: u64, step: u64) -> Segment {
        let start = end.saturating_sub(step);
        Segment { start, next: start + 1, end }
    }
    fn left(&self) -> u64 {
        (self.end + 1).saturating_sub(self.next)
    }
    fn size(&self) -> u64 {
        self.end - self.start
    }
}

/// Where a claim stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fetch", rename_all = "snake_case")]
pub enum Fetch {
    Idle,
    /// `INCRBY` sent for `step`.
    Claiming {
        step: u64,
    },
    /// The chapter's second statement: `GET` sent after its `INCRBY` for `step`.
    Reading {
        step: u64,
    },
}

/// A generator's segments: the one in use and, with the double buffer, the next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segments {
    cfg: SegmentConfig,
    current: Option<Segment>,
    spare: Option<Segment>,
    fetch: Fetch,
    step: u64,
    /// When the last claim started (the caller's clock, ms): the step adapts to the time
    /// between claims, a segment's lifetime.
    claimed_at_ms: Option<u64>,
    claims: u64,
}

impl Segments {
    pub fn new(cfg: SegmentConfig) -> Result<Self, IdError> {
        cfg.check()?;
        let step = cfg.step;
        Ok(Segments { cfg, current: None, spare: None, fetch: Fetch::Idle, step, claimed_at_ms: None, claims: 0 })
    }

    pub fn config(&self) -> &SegmentConfig {
        &self.cfg
    }
    pub fn current(&self) -> Option<Segment> {
        self.current
    }
    pub fn spare(&self) -> Option<Segment> {
        self.spare
    }
    pub fn fetch(&self) -> Fetch {
        self.fetch
    }
    /// The step the next claim asks for.
    pub fn step(&self) -> u64 {
        self.step
    }
    /// Claims completed.
    pub fn claims(&self) -> u64 {
        self.claims
    }

    /// The next ID, or `None` when both buffers are empty (the caller waits for a claim).
    pub fn take(&mut self) -> Option<u64> {
        if self.current.is_none_or(|c| c.left() == 0) {
            self.current = self.spare.take();
        }
        let c = self.current.as_mut()?;
        let id = c.next;
        c.next += 1;
        Some(id)
    }

    /// The command that starts a claim, if one is due now: when both buffers are empty, or with
    /// the double buffer when the current segment is `prefetch_percent` used and no spare waits.
    pub fn due(&mut self, now_ms: u64) -> Option<Cmd> {
        if self.fetch != Fetch::Idle || self.spare.is_some() {
            return None;
        }
        let due = match (self.current, self.cfg.prefetch_percent) {
            (None, _) => true,
            (Some(c), _) if c.left() == 0 => true,
            (Some(c), Some(p)) => (c.size() - c.left()) * 100 >= c.size() * p,
            (Some(_), None) => false,
        };
        if !due {
            return None;
        }
        if let (Some(target), Some(at)) = (self.cfg.target_ms, self.claimed_at_ms) {
            let lasted = now_ms.saturating_sub(at);
            if lasted < target {
                self.step = (self.step * 2).min(self.cfg.max_step);
            } else if lasted > target * 2 {
                self.step = (self.step / 2).max(self.cfg.min_step);
            }
        }
        self.fetch = Fetch::Claiming { step: self.step };
        self.claimed_at_ms = Some(now_ms);
        Some(Cmd::IncrBy { key: self.cfg.key.clone(), delta: i64::try_from(self.step).unwrap_or(i64::MAX) })
    }

    /// The store's answer to the last command: the chapter's mode follows its `INCRBY` with a
    /// `GET` (returned); a completed claim fills the empty buffer.
    pub fn on_reply(&mut self, reply: &Reply) -> Result<Option<Cmd>, IdError> {
        let (step, end) = match (self.fetch, self.cfg.mode, reply) {
            (Fetch::Claiming { step }, SegmentMode::Atomic, Reply::Int(end)) => (step, *end),
            (Fetch::Claiming { step }, SegmentMode::ChapterRace, Reply::Int(_)) => {
                self.fetch = Fetch::Reading { step };
                return Ok(Some(Cmd::Get { key: self.cfg.key.clone() }));
            }
            (Fetch::Reading { step }, _, Reply::Bulk(text)) => (step, text.parse::<i64>().unwrap_or(-1)),
            (Fetch::Idle, ..) => return Ok(None),
            (_, _, other) => {
                self.fetch = Fetch::Idle;
                return Err(IdError::Store(format!("{other:?}")));
            }
        };
        self.fetch = Fetch::Idle;
        let end = u64::try_from(end).map_err(|_| IdError::Store(format!("a segment ending at {end}")))?;
        let segment = Segment::ending_at(end, step);
        self.claims += 1;
        if self.current.is_none_or(|c| c.left() == 0) {
            self.current = Some(segment);
        } else {
            self.spare = Some(segment);
        }
        Ok(None)
    }

    /// The claim's answer will not come (a timeout): a new one may start. A claim the store did
    /// make is a gap in the IDs, never a duplicate.
    pub fn abandon(&mut self) {
        self.fetch = Fetch::Idle;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Keyspace;

    /// Runs `cmd` on `ks`.
    fn run(ks: &mut Keyspace, cmd: &Cmd) -> Reply {
        ks.apply(0, cmd)
    }

    #[test]
    fn an_atomic_claim_takes_one_incrby_and_hands_out_its_range() {
        let mut ks = Keyspace::new();
        let mut s = Segments::new(SegmentConfig { target_ms: None, ..SegmentConfig::leaf("ids", 10) }).unwrap();
        assert_eq!(s.take(), None);
        let cmd = s.due(0).unwrap();
        assert_eq!(s.due(0), None, "one claim at a time");
        assert_eq!(s.on_reply(&run(&mut ks, &cmd)).unwrap(), None);
        assert_eq!((1..=10).map(|_| s.take().unwrap()).collect::<Vec<_>>(), (1..=10).collect::<Vec<_>>());
        assert_eq!(s.take(), None);
    }

    #[test]
    fn the_double_buffer_fetches_at_ten_percent_so_takers_never_wait() {
        let mut ks = Keyspace::new();
        let mut s = Segments::new(SegmentConfig { target_ms: None, ..SegmentConfig::leaf("ids", 10) }).unwrap();
        let cmd = s.due(0).unwrap();
        s.on_reply(&run(&mut ks, &cmd)).unwrap();
        assert_eq!(s.take(), Some(1));
        let next = s.due(0).expect("10% used: the next segment is fetched");
        s.on_reply(&run(&mut ks, &next)).unwrap();
        assert_eq!(s.spare(), Some(Segment { start: 10, next: 11, end: 20 }));
        let ids: Vec<u64> = (0..19).map(|_| s.take().unwrap()).collect();
        assert_eq!(ids, (2..=20).collect::<Vec<_>>(), "no wait at the switch");
        // The chapter's refills only when empty.
        let mut c = Segments::new(SegmentConfig::chapter("c", 10)).unwrap();
        let incr = c.due(0).unwrap();
        let get = c.on_reply(&run(&mut ks, &incr)).unwrap().unwrap();
        c.on_reply(&run(&mut ks, &get)).unwrap();
        c.take();
        assert_eq!(c.due(0), None);
    }

    #[test]
    fn the_chapters_two_statements_race_into_one_segment_for_two_generators() {
        let mut ks = Keyspace::new();
        let mut a = Segments::new(SegmentConfig::chapter("ids", 100)).unwrap();
        let mut b = Segments::new(SegmentConfig::chapter("ids", 100)).unwrap();
        let (ia, ib) = (a.due(0).unwrap(), b.due(0).unwrap());
        let ga = a.on_reply(&run(&mut ks, &ia)).unwrap().unwrap();
        let gb = b.on_reply(&run(&mut ks, &ib)).unwrap().unwrap();
        a.on_reply(&run(&mut ks, &ga)).unwrap();
        b.on_reply(&run(&mut ks, &gb)).unwrap();
        assert_eq!(a.current(), b.current(), "both read max_id = 200");
        assert_eq!(a.take(), b.take());
        // Atomic claims interleaved the same way stay apart.
        let mut a = Segments::new(SegmentConfig::leaf("atomic", 100)).unwrap();
        let mut b = Segments::new(SegmentConfig::leaf("atomic", 100)).unwrap();
        let (ia, ib) = (a.due(0).unwrap(), b.due(0).unwrap());
        let (ra, rb) = (run(&mut ks, &ia), run(&mut ks, &ib));
        a.on_reply(&ra).unwrap();
        b.on_reply(&rb).unwrap();
        assert_eq!((a.take(), b.take()), (Some(1), Some(101)));
    }

    #[test]
    fn the_step_doubles_for_short_lived_segments_and_halves_for_long_ones() {
        let mut ks = Keyspace::new();
        let mut s = Segments::new(SegmentConfig { prefetch_percent: None, ..SegmentConfig::leaf("ids", 100) }).unwrap();
        let mut claim = |s: &mut Segments, now: u64| {
            let cmd = s.due(now).unwrap();
            s.on_reply(&run(&mut ks, &cmd)).unwrap();
            while s.take().is_some() {}
        };
        claim(&mut s, 0);
        claim(&mut s, 500);
        assert_eq!(s.step(), 200, "lasted 0.5 s of a 1 s target");
        claim(&mut s, 3_000);
        assert_eq!(s.step(), 100, "lasted 2.5 s");
        claim(&mut s, 9_000);
        assert_eq!(s.step(), 100, "never below min_step");
    }

    #[test]
    fn errors_and_bad_configurations_are_reported() {
        let mut s = Segments::new(SegmentConfig::leaf("ids", 10)).unwrap();
        s.due(0).unwrap();
        assert!(s.on_reply(&Reply::Error("OOM".into())).is_err());
        assert_eq!(s.fetch(), Fetch::Idle, "a failed claim may be retried");
        let bad = SegmentConfig { prefetch_percent: Some(0), ..SegmentConfig::leaf("ids", 10) };
        assert_eq!(
            Segments::new(bad).unwrap_err().to_string(),
            "prefetch_percent = 0 is out of range: allowed 1 to 99"
        );
        assert!(Segments::new(SegmentConfig::leaf("ids", 0)).is_err());
    }
}
