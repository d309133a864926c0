//! Per-node clocks: skew (a fixed offset), drift (a rate error in parts per million) and jumps
//! (an NTP step, a VM resumed on another host). Locks with leases and last-writer-wins registers
//! go wrong exactly when these differ between nodes, so the simulator gives every node its own.
//!
//! Timers are scheduled on the node's *rate* (drift stretches or shrinks them) but are not moved
//! by skew or jumps, like timers on a monotonic clock; `Ctx::now` reads the node's wall clock,
//! which includes all three.

use serde::{Deserialize, Serialize};

use super::{SimDuration, SimTime};

/// Drift beyond ±50% is no longer a clock, it is a bug in the fault schedule.
pub const DRIFT_PPM_MAX: i32 = 500_000;

/// A node's clock relative to true simulated time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    /// Skew plus all jumps so far, in microseconds (signed).
    offset_us: i64,
    /// Current rate error: +1000 ppm gains 1 ms per second.
    drift_ppm: i32,
    /// True time at which the current drift rate took effect.
    drift_since: SimTime,
    /// Drift accumulated before `drift_since`, in microseconds.
    drift_accumulated_us: i64,
}

impl Clock {
    /// The local reading at true time `now`, never below zero.
    pub fn read(&self, now: SimTime) -> SimTime {
        let local = i128::from(now.as_micros())
            + i128::from(self.offset_us)
            + i128::from(self.drift_accumulated_us)
            + self.drift_since_us(now);
        SimTime::from_micros(u64::try_from(local.max(0)).unwrap_or(u64::MAX))
    }

    /// In 64 bits whenever the product fits (any run shorter than some 290 years at the
    /// largest drift): a 128-bit division is a library call, natively and more so in
    /// WebAssembly, and every handler reads its node's clock. Both round toward zero.
    fn drift_since_us(&self, now: SimTime) -> i128 {
        let elapsed = now.saturating_since(self.drift_since).as_micros();
        match i64::try_from(elapsed).ok().and_then(|e| e.checked_mul(i64::from(self.drift_ppm))) {
            Some(product) => i128::from(product / 1_000_000),
            None => i128::from(elapsed) * i128::from(self.drift_ppm) / 1_000_000,
        }
    }

    /// Sets the skew: the local clock reads `offset_us` ahead (or behind, if negative) of true
    /// time, replacing earlier skew and jumps.
    pub fn set_skew(&mut self, offset_us: i64) {
        self.offset_us = offset_us;
    }

    /// Steps the clock by `delta_us` (forward or backward), as an NTP step would.
    pub fn jump(&mut self, delta_us: i64) {
        self.offset_us = self.offset_us.saturating_add(delta_us);
    }

    /// Changes the rate error from `now` on; drift accumulated so far is kept.
    pub fn set_drift(&mut self, now: SimTime, drift_ppm: i32) {
        let so_far = self.drift_since_us(now);
        self.drift_accumulated_us = self.drift_accumulated_us.saturating_add(i64::try_from(so_far).unwrap_or(i64::MAX));
        self.drift_since = now;
        self.drift_ppm = drift_ppm.clamp(-DRIFT_PPM_MAX, DRIFT_PPM_MAX);
    }

    pub fn drift_ppm(&self) -> i32 {
        self.drift_ppm
    }

    /// How much true time passes while this clock advances by `local`: a fast clock fires its
    /// timers early. Rounded up so that a timer never fires before its local deadline.
    /// Without drift, the same length; with it, in 64 bits whenever they suffice.
    pub fn true_duration(&self, local: SimDuration) -> SimDuration {
        if self.drift_ppm == 0 {
            return local;
        }
        let rate = 1_000_000 + i64::from(self.drift_ppm); // > 0 thanks to DRIFT_PPM_MAX
        let fits = local.as_micros().checked_mul(1_000_000).and_then(|scaled| i64::try_from(scaled).ok());
        let us = match fits.and_then(|scaled| scaled.checked_add(rate - 1)) {
            Some(scaled) => i128::from(scaled / rate),
            None => (i128::from(local.as_micros()) * 1_000_000 + i128::from(rate) - 1) / i128::from(rate),
        };
        SimDuration::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_drift_and_jump_compose() {
        let mut c = Clock::default();
        let t = SimTime::from_millis;
        assert_eq!(c.read(t(100)), t(100));
        c.set_skew(250_000);
        assert_eq!(c.read(t(100)), t(350));
        c.set_drift(t(1_000), 1_000); // +1 ms per second from t = 1 s
        assert_eq!(c.read(t(11_000)), t(11_260));
        c.set_drift(t(11_000), 0); // drift stops, the 10 ms gained stay
        assert_eq!(c.read(t(20_000)), t(20_260));
        c.jump(-1_000_000);
        assert_eq!(c.read(t(20_000)), t(19_260));
        c.jump(-100_000_000);
        assert_eq!(c.read(t(20_000)), SimTime::ZERO, "a clock never reads below zero");
    }

    /// The 64-bit paths give what the 128-bit formulas give, near the edges too.
    #[test]
    fn sixty_four_bits_round_as_one_hundred_and_twenty_eight_do() {
        let mut rng = crate::sim::Rng::new(3);
        let edges = [0, 1, 999_999, 1_000_001, 9_223_372_036_854, 9_223_372_036_855, u64::MAX / 2, u64::MAX];
        let random = (0..2_000).map(|_| rng.next_u64() >> (rng.next_u64() % 64));
        for us in edges.into_iter().chain(random) {
            for ppm in [-DRIFT_PPM_MAX, -123_457, -1, 0, 1, 77_777, DRIFT_PPM_MAX] {
                let c = Clock { drift_ppm: ppm, ..Clock::default() };
                let now = SimTime::from_micros(us);
                assert_eq!(c.drift_since_us(now), i128::from(us) * i128::from(ppm) / 1_000_000, "{us} µs at {ppm} ppm");
                let rate = 1_000_000 + i128::from(ppm);
                let expected = (i128::from(us) * 1_000_000 + rate - 1) / rate;
                let expected = SimDuration::from_micros(u64::try_from(expected).unwrap_or(u64::MAX));
                assert_eq!(c.true_duration(SimDuration::from_micros(us)), expected, "{us} µs at {ppm} ppm");
            }
        }
    }

    #[test]
    fn fast_clocks_fire_timers_early() {
        let mut c = Clock::default();
        c.set_drift(SimTime::ZERO, 100_000); // 10% fast
        let d = c.true_duration(SimDuration::from_millis(1_100));
        assert_eq!(d, SimDuration::from_millis(1_000));
        c.set_drift(SimTime::ZERO, -1_000_000);
        assert_eq!(c.drift_ppm(), -DRIFT_PPM_MAX, "drift is clamped");
    }
}
