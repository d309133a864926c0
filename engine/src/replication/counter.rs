//! A PN-Counter replicated over N nodes with anti-entropy gossip (46.1).
//!
//! Each replica applies local updates (a workload drawn from the seed) to its own entries, and
//! every gossip interval pushes its whole state to one peer chosen at random. Under partitions,
//! loss, duplication, reordering and crashes the replicas diverge; once the network heals, gossip
//! carries every entry everywhere and the replicas converge to the exact total.
//!
//! Durability: a replica persists its *own* entries before applying an update (they are the only
//! copy of its updates until gossip spreads them); the entries it learned from others are
//! volatile and relearned after a crash. The chapter's `DistributedCounter` merges only vector
//! clocks; [`MergeRule::Chapter`] reproduces that so the lab can show it never converges.

use serde::{Deserialize, Serialize};

use super::crdt::PnCounter;
use crate::actor::{Actor, Ctx, NodeId, Protocol};
use crate::sim::{SimDuration, SimTime};

/// How a replica merges a peer's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeRule {
    /// Entry-wise maximum of the counts: a correct CRDT.
    #[default]
    Crdt,
    /// The chapter's rule: merge the vector clock, keep the counts as they are.
    Chapter,
}

/// The counter world's protocol.
#[derive(Debug)]
pub struct CounterProtocol;

impl Protocol for CounterProtocol {
    type Msg = CounterMsg;
    type Obs = CounterObs;
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CounterMsg {
    /// A replica's whole state, pushed to a peer.
    Gossip { counter: PnCounter, vclock: Vec<u64> },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CounterObs {
    /// A local update was applied (and persisted).
    Applied { delta: i64 },
    /// The replica's value changed (or was reloaded at start).
    Value { value: i64 },
}

/// What a replica keeps across a crash: its own entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnEntries {
    pub increments: u64,
    pub decrements: u64,
    pub updates: u64,
}

/// Tunables shared by every replica of one world.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaConfig {
    pub gossip_interval: SimDuration,
    /// Local updates come at random intervals in `1 ms..=workload_interval_max`.
    pub workload_interval_max: SimDuration,
    /// Local updates stop at this time on the replica's own clock.
    pub workload_until: SimTime,
    /// Each update adds a non-zero delta in `-delta_max..=delta_max`.
    pub delta_max: i64,
    pub merge: MergeRule,
}

crate::timers! {
    /// A counter replica's timers.
    pub enum CounterTimer {
        /// The next local update of the workload.
        Work = 1,
        /// The next anti-entropy push of the whole counter to a random peer.
        Gossip = 2,
    }
}

/// One replica of the counter.
#[derive(Clone, Debug)]
pub struct CounterReplica {
    index: usize,
    peers: Vec<NodeId>,
    config: ReplicaConfig,
    counter: PnCounter,
    /// Updates seen per replica: what the chapter's version merges instead of the counts.
    vclock: Vec<u64>,
}

impl CounterReplica {
    /// Replica `index` of `replicas`, talking to `peers`, restored from `own` after a crash.
    pub fn new(
        index: usize,
        replicas: usize,
        peers: Vec<NodeId>,
        config: ReplicaConfig,
        own: Option<OwnEntries>,
    ) -> Self {
        let own = own.unwrap_or_default();
        let mut counter = PnCounter::new(replicas);
        counter.p.increment(index, own.increments);
        counter.n.increment(index, own.decrements);
        let mut vclock = vec![0; replicas];
        vclock[index] = own.updates;
        CounterReplica { index, peers, config, counter, vclock }
    }

    /// The value this replica reports: the merged total for a CRDT, only its own updates for the
    /// chapter's version.
    pub fn value(&self) -> i64 {
        match self.config.merge {
            MergeRule::Crdt => self.counter.value(),
            MergeRule::Chapter => {
                let own = i128::from(self.counter.p.entry(self.index)) - i128::from(self.counter.n.entry(self.index));
                i64::try_from(own).unwrap_or(0)
            }
        }
    }

    fn apply_update(&mut self, ctx: &mut Ctx<'_, CounterProtocol>) {
        let max = self.config.delta_max.max(1);
        let magnitude = ctx.rng().between_i64(1, max);
        let delta = if ctx.rng().chance(crate::sim::Ratio::percent(30)) { -magnitude } else { magnitude };
        self.counter.add(self.index, delta);
        self.vclock[self.index] += 1;
        ctx.observe(CounterObs::Applied { delta });
        ctx.observe(CounterObs::Value { value: self.value() });
    }

    fn schedule_work(&self, ctx: &mut Ctx<'_, CounterProtocol>) {
        if ctx.now() < self.config.workload_until {
            let max = self.config.workload_interval_max.as_micros().max(1_000);
            let after = ctx.rng().between(1_000, max);
            ctx.set_timer(CounterTimer::Work, SimDuration::from_micros(after));
        }
    }
}

impl Actor<CounterProtocol> for CounterReplica {
    type Durable = OwnEntries;
    type Timer = CounterTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, CounterProtocol>) {
        ctx.observe(CounterObs::Value { value: self.value() });
        self.schedule_work(ctx);
        ctx.set_timer(CounterTimer::Gossip, self.config.gossip_interval);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, CounterProtocol>, _from: NodeId, msg: CounterMsg) {
        let CounterMsg::Gossip { counter, vclock } = msg;
        let before = self.value();
        for (mine, theirs) in self.vclock.iter_mut().zip(&vclock) {
            *mine = (*mine).max(*theirs);
        }
        if self.config.merge == MergeRule::Crdt {
            self.counter.merge(&counter);
        }
        if self.value() != before {
            ctx.observe(CounterObs::Value { value: self.value() });
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, CounterProtocol>, timer: CounterTimer) {
        match timer {
            CounterTimer::Work => {
                if ctx.now() < self.config.workload_until {
                    self.apply_update(ctx);
                }
                self.schedule_work(ctx);
            }
            CounterTimer::Gossip => {
                if let Some(&peer) = ctx.rng().pick(&self.peers) {
                    let msg = CounterMsg::Gossip { counter: self.counter.clone(), vclock: self.vclock.clone() };
                    ctx.send(peer, msg);
                }
                ctx.set_timer(CounterTimer::Gossip, self.config.gossip_interval);
            }
        }
    }

    fn durable(&self) -> OwnEntries {
        OwnEntries {
            increments: self.counter.p.entry(self.index),
            decrements: self.counter.n.entry(self.index),
            updates: self.vclock[self.index],
        }
    }

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "value": self.value(),
            "increments": self.counter.p,
            "decrements": self.counter.n,
            "vclock": self.vclock,
            "merge": self.config.merge,
        })
    }
}
