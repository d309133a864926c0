//! The simulator's own invariants (TigerBeetle style: assert what must happen and what must not).
//! A simulator that loses a message, fires a cancelled timer or lets time run backwards would make
//! every checker's verdict meaningless, so it checks itself:
//!
//! - after every event, in debug builds (O(1)): time never goes backwards, no handler runs on a
//!   crashed node, and every copy of every message sent is accounted for — delivered, dropped
//!   (partition, loss, node down) or still in flight;
//! - every 256 events and at the end of each run, when [`SimConfig::check_invariants`] is on, in
//!   debug builds too (O(pending events)): the in-flight count is exactly the deliveries pending in the queue and
//!   the pause buffers, a crashed node has no pending timer and no buffer, and every pending
//!   timer has the event that will fire it. The tests turn this on for a quarter of their seeds.
//!
//! A broken invariant ends the run with [`SimError::Invariant`], naming what broke and when.
//! Release builds (the page's WebAssembly, the native benchmarks) compile the checks out.
//!
//! [`SimConfig::check_invariants`]: super::SimConfig::check_invariants

use std::collections::BTreeSet;

use super::{Event, NodeStatus, Sim, SimError};
use crate::actor::{NodeId, Protocol, TimerId};
use crate::sim::SimTime;

/// How often (in events processed) the full check runs when it is on.
const FULL_CHECK_EVERY: u64 = 256;

impl<P: Protocol> Sim<P> {
    fn broken(&self, what: String) -> SimError {
        SimError::Invariant { what, time: self.now }
    }

    /// Before an event is handled at `at`: the clock moves forward only.
    pub(super) fn check_time(&self, at: SimTime) -> Result<(), SimError> {
        if cfg!(debug_assertions) && at < self.now {
            return Err(self.broken(format!("an event at t = {at} would run after t = {}", self.now)));
        }
        Ok(())
    }

    /// Before a handler runs on `node`: a crashed node runs nothing and receives nothing.
    pub(super) fn check_up(&self, node: NodeId) -> Result<(), SimError> {
        if cfg!(debug_assertions) && self.nodes[node.index()].status == NodeStatus::Crashed {
            let name = &self.nodes[node.index()].name;
            return Err(self.broken(format!("a handler ran on {name}, which is crashed")));
        }
        Ok(())
    }

    /// After an event: the message accounts balance; now and then, everything else.
    pub(super) fn check_after_event(&self) -> Result<(), SimError> {
        if cfg!(debug_assertions) {
            self.check_message_accounts()?;
        }
        if cfg!(debug_assertions)
            && self.config.check_invariants
            && self.events_processed.is_multiple_of(FULL_CHECK_EVERY)
        {
            self.check_invariants()?;
        }
        Ok(())
    }

    /// At the end of a run (`run_until`, `run_until_quiescent`), when the checks are on.
    pub(super) fn check_at_end(&self) -> Result<(), SimError> {
        if cfg!(debug_assertions) && self.config.check_invariants { self.check_invariants() } else { Ok(()) }
    }

    /// Every copy of every message sent (one, two when duplicated, none when dropped at once) is
    /// delivered, dropped or in flight.
    fn check_message_accounts(&self) -> Result<(), SimError> {
        let s = self.network.stats;
        let made = s.sent + s.duplicated;
        let ended = s.delivered + s.dropped_partition + s.dropped_loss + s.dropped_node_down;
        let in_flight = self.in_flight as u64;
        if made != ended + in_flight {
            return Err(self.broken(format!(
                "{made} message copies were made, {ended} delivered or dropped and {in_flight} are in flight"
            )));
        }
        Ok(())
    }

    /// Checks every invariant now (O(pending events + nodes)).
    pub fn check_invariants(&self) -> Result<(), SimError> {
        self.check_message_accounts()?;
        let buffered = self.nodes.iter().flat_map(|n| n.deferred.iter());
        let pending: Vec<&Event<P::Msg>> = self.queue.events().chain(&self.resumed).chain(buffered).collect();
        if let Some(first) = self.queue.next_time()
            && first < self.now
        {
            return Err(self.broken(format!("an event is queued at t = {first}, before now")));
        }
        let deliveries = pending.iter().filter(|e| matches!(e, Event::Deliver { .. })).count();
        if deliveries != self.in_flight {
            return Err(self.broken(format!(
                "{} messages are counted in flight but {deliveries} deliveries are pending",
                self.in_flight
            )));
        }
        let armed: BTreeSet<(NodeId, TimerId, u64)> = pending
            .iter()
            .filter_map(|e| match e {
                Event::Timer { node, timer, generation } => Some((*node, *timer, *generation)),
                _ => None,
            })
            .collect();
        for (i, n) in self.nodes.iter().enumerate() {
            let id = NodeId(u32::try_from(i).expect("node ids are u32 (add_node)"));
            if n.status == NodeStatus::Crashed && !(n.timers.is_empty() && n.deferred.is_empty()) {
                return Err(self.broken(format!("{} is crashed but keeps timers or buffered events", n.name)));
            }
            if let Some((timer, _)) = n.timers.iter().find(|(t, g)| !armed.contains(&(id, **t, **g))) {
                return Err(self.broken(format!("{}'s timer {} is pending but nothing will fire it", n.name, timer.0)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::{Actor, Ctx, NoTimer};
    use crate::sim::{LinkConfig, Ratio, SimConfig, SimDuration};

    #[derive(Debug)]
    struct P;
    impl Protocol for P {
        type Msg = u64;
        type Obs = ();
    }

    crate::timers! {
        /// The chatter's one timer.
        pub enum ChatTimer {
            /// Time to send the next message.
            Next = 1,
        }
    }

    /// Sends a message to the other node every millisecond.
    #[derive(Clone)]
    struct Chatter(NodeId);
    impl Actor<P> for Chatter {
        type Durable = ();
        type Timer = ChatTimer;
        fn on_start(&mut self, ctx: &mut Ctx<'_, P>) {
            ctx.set_timer(ChatTimer::Next, SimDuration::from_millis(1));
        }
        fn on_message(&mut self, _: &mut Ctx<'_, P>, _: NodeId, _: u64) {}
        fn on_timer(&mut self, ctx: &mut Ctx<'_, P>, _: ChatTimer) {
            ctx.send(self.0, 1);
            ctx.set_timer(ChatTimer::Next, SimDuration::from_millis(1));
        }
        fn durable(&self) {}
        fn public_state(&self) -> serde_json::Value {
            serde_json::Value::Null
        }
    }

    /// Never sets a timer.
    #[derive(Clone)]
    struct Quiet;
    impl Actor<P> for Quiet {
        type Durable = ();
        type Timer = NoTimer;
        fn on_start(&mut self, _: &mut Ctx<'_, P>) {}
        fn on_message(&mut self, _: &mut Ctx<'_, P>, _: NodeId, _: u64) {}
        fn on_timer(&mut self, _: &mut Ctx<'_, P>, timer: NoTimer) {
            match timer {}
        }
        fn durable(&self) {}
        fn public_state(&self) -> serde_json::Value {
            serde_json::Value::Null
        }
    }

    /// Two chatters over a link that loses, repeats and reorders, with the checks on.
    fn world() -> Sim<P> {
        let mut config = SimConfig::new(3);
        config.check_invariants = true;
        config.default_link = LinkConfig {
            loss: Ratio::percent(10),
            duplicate: Ratio::percent(10),
            reorder: Ratio::percent(10),
            ..LinkConfig::default()
        };
        let mut sim = Sim::new(config);
        sim.add_node("a", |_| Chatter(NodeId(1))).unwrap();
        sim.add_node("b", |_| Chatter(NodeId(0))).unwrap();
        sim
    }

    #[test]
    fn a_run_with_loss_duplication_reordering_crashes_and_pauses_keeps_every_invariant() {
        use crate::sim::Fault;
        let mut sim = world();
        sim.schedule(SimTime::from_millis(100), Fault::Pause { node: "b".into(), duration_us: 50_000 });
        sim.schedule(SimTime::from_millis(130), Fault::Crash { node: "b".into() });
        sim.schedule(SimTime::from_millis(200), Fault::Restart { node: "b".into() });
        sim.schedule(SimTime::from_millis(250), Fault::Partition { groups: vec![vec!["a".into()], vec!["b".into()]] });
        sim.schedule(SimTime::from_millis(300), Fault::Heal);
        sim.run_until(SimTime::from_millis(400)).unwrap();
        assert!(sim.events_processed() > 1_000);
        assert!(sim.net_stats().duplicated > 0 && sim.net_stats().dropped_loss > 0);
        sim.check_invariants().unwrap();
    }

    #[test]
    fn a_message_the_accounts_lose_is_caught() {
        let mut sim = world();
        sim.run_until(SimTime::from_millis(20)).unwrap();
        sim.in_flight += 1;
        let err = sim.check_invariants().unwrap_err().to_string();
        assert!(err.contains("message copies were made"), "{err}");
        assert!(err.starts_with("simulator invariant broken at t = 0.020 s: "), "{err}");
    }

    #[test]
    fn a_pending_timer_nothing_will_fire_is_caught() {
        let mut sim = world();
        sim.run_until(SimTime::from_millis(5)).unwrap();
        sim.nodes[0].timers.insert(TimerId(9), 1);
        let err = sim.check_invariants().unwrap_err().to_string();
        assert!(err.contains("a's timer 9 is pending but nothing will fire it"), "{err}");
    }

    #[test]
    fn a_crashed_node_that_keeps_a_timer_is_caught() {
        let mut sim = world();
        sim.run_until(SimTime::from_millis(5)).unwrap();
        sim.nodes[1].status = NodeStatus::Crashed;
        let err = sim.check_invariants().unwrap_err().to_string();
        assert!(err.contains("b is crashed but keeps timers"), "{err}");
        assert!(sim.check_up(NodeId(1)).unwrap_err().to_string().contains("a handler ran on b, which is crashed"));
    }

    #[test]
    fn time_running_backwards_is_caught() {
        let mut sim = world();
        sim.add_node("quiet", |_| Quiet).unwrap();
        sim.run_until(SimTime::from_millis(5)).unwrap();
        let err = sim.check_time(SimTime::from_millis(4)).unwrap_err().to_string();
        assert!(err.contains("an event at t = 0.004 s would run after t = 0.005 s"), "{err}");
    }
}
