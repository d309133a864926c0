//! Failover (the chapter's fifth learning goal, "故障转移"): an active–passive pair as keepalived
//! runs one. The primary sends the standby a heartbeat every `heartbeat`; each heartbeat is a
//! lease, the standby's promise not to take over for `lease` after it. A standby that hears
//! nothing for `lease` promotes itself with the next epoch and tells the writers and its peer; a
//! primary that hears of a newer epoch steps down. Writers send their writes to the node they
//! believe is primary, which does the write's work and stores it.
//!
//! The split brain: a primary that is only paused (a GC pause, a stalled VM) cannot tell. When
//! it resumes it handles what queued up meanwhile in order: writes that arrived before the news
//! of the promotion are taken as the primary's, and stored after the new primary's. Two primaries
//! have written. A lease check on the primary's side would not close this (the check and the
//! store are not one step, and a pause can fall between them), and a pair without a third party
//! cannot hold one without losing its failover when the primary dies. Fencing closes it where
//! the write lands: the storage keeps the highest epoch it has seen and refuses an older one (the
//! old primary, told so, steps down).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Ctx, NodeId, Protocol, Timer, TimerId};
use crate::sim::SimDuration;

/// An active–passive pair, its writers and the storage they write to.
#[derive(Debug)]
pub struct FailoverProtocol;

impl Protocol for FailoverProtocol {
    type Msg = FailoverMsg;
    type Obs = FailoverObs;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FailoverMsg {
    Heartbeat {
        epoch: u64,
    },
    /// A standby took over with `epoch`.
    Promoted {
        epoch: u64,
    },
    Write {
        id: u64,
    },
    /// Not (or no longer) the primary: try the other node.
    NotPrimary {
        id: u64,
    },
    Written {
        id: u64,
    },
    /// A primary's write to the storage, under its epoch.
    Store {
        id: u64,
        epoch: u64,
    },
    Stored {
        id: u64,
    },
    /// The storage refused a write from an older epoch than it has seen.
    Fenced {
        id: u64,
        epoch: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Primary,
    Standby,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FailoverObs {
    /// A node became primary with `epoch` (at the start, or promoted).
    Primary { epoch: u64 },
    /// A primary stepped down, having learnt of `epoch`.
    SteppedDown { epoch: u64 },
    /// A primary took a write, its lease valid.
    Accepted { id: u64, epoch: u64 },
    /// The storage stored a write from `primary` (a node name) under `epoch`.
    Stored { id: u64, epoch: u64, primary: String },
    /// The storage refused it.
    Fenced { id: u64, epoch: u64, primary: String, highest: u64 },
    /// A writer's write was acknowledged, `latency_us` after it was first sent.
    Acked { id: u64, latency_us: u64 },
}

/// How the pair keeps time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairConfig {
    pub heartbeat: SimDuration,
    /// How long after a heartbeat the standby waits before taking over.
    pub lease: SimDuration,
    /// The work of a write between taking it and storing it.
    pub work: SimDuration,
}

/// A node's timers: its heartbeat (primary) or lease watch (standby), and each write's work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeTimer {
    Tick,
    Work { id: u64 },
}

impl Timer for NodeTimer {
    /// Tick is 0; a write's work is its id + 1 (ids count from 1, writers apart).
    fn id(self) -> TimerId {
        TimerId(match self {
            NodeTimer::Tick => 0,
            NodeTimer::Work { id } => id.saturating_add(1),
        })
    }
    fn from_id(id: TimerId) -> Option<Self> {
        Some(if id.0 == 0 { NodeTimer::Tick } else { NodeTimer::Work { id: id.0 - 1 } })
    }
}

/// One of the pair.
#[derive(Clone, Debug)]
pub struct PairNode {
    cfg: PairConfig,
    peer: NodeId,
    storage: NodeId,
    writers: Vec<NodeId>,
    role: Role,
    epoch: u64,
    /// Standby: when it last heard the primary (µs of its clock).
    heard: u64,
    /// Writes at work: who asked, and the epoch they were accepted under (what the store
    /// carries, whatever the node learns meanwhile).
    working: BTreeMap<u64, (NodeId, u64)>,
}

impl PairNode {
    pub fn new(cfg: PairConfig, role: Role, peer: NodeId, storage: NodeId, writers: Vec<NodeId>) -> Self {
        PairNode { cfg, peer, storage, writers, role, epoch: 1, heard: 0, working: BTreeMap::new() }
    }

    fn step_down(&mut self, ctx: &mut Ctx<'_, FailoverProtocol>, epoch: u64) {
        self.epoch = self.epoch.max(epoch);
        if self.role == Role::Primary {
            self.role = Role::Standby;
            self.heard = ctx.now().as_micros();
            ctx.observe(FailoverObs::SteppedDown { epoch });
        }
    }
}

impl Actor<FailoverProtocol> for PairNode {
    type Durable = ();
    type Timer = NodeTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, FailoverProtocol>) {
        self.heard = ctx.now().as_micros();
        if self.role == Role::Primary {
            ctx.observe(FailoverObs::Primary { epoch: self.epoch });
        }
        ctx.set_timer(NodeTimer::Tick, self.cfg.heartbeat);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, FailoverProtocol>, from: NodeId, msg: FailoverMsg) {
        let now = ctx.now().as_micros();
        match msg {
            FailoverMsg::Heartbeat { epoch } => {
                if epoch > self.epoch {
                    self.step_down(ctx, epoch);
                }
                if self.role == Role::Standby && epoch == self.epoch {
                    self.heard = now;
                }
            }
            FailoverMsg::Promoted { epoch } if epoch > self.epoch => self.step_down(ctx, epoch),
            FailoverMsg::Fenced { id, epoch } => {
                self.working.remove(&id);
                if epoch > self.epoch {
                    self.step_down(ctx, epoch);
                }
            }
            FailoverMsg::Write { id } => {
                if self.role == Role::Primary {
                    ctx.observe(FailoverObs::Accepted { id, epoch: self.epoch });
                    self.working.insert(id, (from, self.epoch));
                    ctx.set_timer(NodeTimer::Work { id }, self.cfg.work);
                } else {
                    ctx.send(from, FailoverMsg::NotPrimary { id });
                }
            }
            FailoverMsg::Stored { id } => {
                if let Some((writer, _)) = self.working.remove(&id) {
                    ctx.send(writer, FailoverMsg::Written { id });
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, FailoverProtocol>, timer: NodeTimer) {
        let now = ctx.now().as_micros();
        match timer {
            NodeTimer::Tick => {
                match self.role {
                    Role::Primary => ctx.send(self.peer, FailoverMsg::Heartbeat { epoch: self.epoch }),
                    Role::Standby if now.saturating_sub(self.heard) >= self.cfg.lease.as_micros() => {
                        self.epoch += 1;
                        self.role = Role::Primary;
                        ctx.observe(FailoverObs::Primary { epoch: self.epoch });
                        for w in self.writers.clone() {
                            ctx.send(w, FailoverMsg::Promoted { epoch: self.epoch });
                        }
                        ctx.send(self.peer, FailoverMsg::Promoted { epoch: self.epoch });
                    }
                    Role::Standby => {}
                }
                ctx.set_timer(NodeTimer::Tick, self.cfg.heartbeat);
            }
            NodeTimer::Work { id } => {
                // The write was taken as primary: this store goes out under that epoch whatever
                // happened since (a pause, news of a promotion).
                if let Some((_, epoch)) = self.working.get(&id) {
                    ctx.send(self.storage, FailoverMsg::Store { id, epoch: *epoch });
                }
            }
        }
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "role": self.role,
            "epoch": self.epoch,
            "working": self.working.len(),
        })
    }
}

/// The storage: keeps every write, and with fencing the highest epoch it has seen.
#[derive(Clone, Debug)]
pub struct Storage {
    fencing: bool,
    highest: u64,
    names: BTreeMap<NodeId, String>,
    stored: u64,
    fenced: u64,
}

impl Storage {
    /// `names`: the pair's node names, for the observations.
    pub fn new(fencing: bool, names: BTreeMap<NodeId, String>) -> Self {
        Storage { fencing, highest: 0, names, stored: 0, fenced: 0 }
    }
}

impl Actor<FailoverProtocol> for Storage {
    type Durable = ();
    type Timer = crate::actor::NoTimer;

    fn on_start(&mut self, _ctx: &mut Ctx<'_, FailoverProtocol>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, FailoverProtocol>, from: NodeId, msg: FailoverMsg) {
        let FailoverMsg::Store { id, epoch } = msg else { return };
        let primary = self.names.get(&from).cloned().unwrap_or_default();
        if self.fencing && epoch < self.highest {
            self.fenced += 1;
            ctx.observe(FailoverObs::Fenced { id, epoch, primary, highest: self.highest });
            ctx.send(from, FailoverMsg::Fenced { id, epoch: self.highest });
            return;
        }
        self.highest = self.highest.max(epoch);
        self.stored += 1;
        ctx.observe(FailoverObs::Stored { id, epoch, primary });
        ctx.send(from, FailoverMsg::Stored { id });
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<'_, FailoverProtocol>, timer: crate::actor::NoTimer) {
        match timer {}
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({ "highest_epoch": self.highest, "stored": self.stored, "fenced": self.fenced })
    }
}

/// A writer's timers: the next write, and a write's timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriterTimer {
    Next,
    Timeout { id: u64 },
}

impl Timer for WriterTimer {
    /// Next is 0; a timeout is its id + 1.
    fn id(self) -> TimerId {
        TimerId(match self {
            WriterTimer::Next => 0,
            WriterTimer::Timeout { id } => id.saturating_add(1),
        })
    }
    fn from_id(id: TimerId) -> Option<Self> {
        Some(if id.0 == 0 { WriterTimer::Next } else { WriterTimer::Timeout { id: id.0 - 1 } })
    }
}

/// A writer: one write at a time, every `every`, to the node it believes is primary; a write
/// refused or unanswered within `timeout` goes to the other node.
#[derive(Clone, Debug)]
pub struct Writer {
    pair: [NodeId; 2],
    /// Which of the pair it writes to.
    target: usize,
    every: SimDuration,
    timeout: SimDuration,
    until_us: u64,
    /// Ids are `base + n`, so writers never share one.
    base: u64,
    n: u64,
    /// The write out: its id and when it was first sent.
    out: Option<(u64, u64)>,
    acked: u64,
}

impl Writer {
    pub fn new(pair: [NodeId; 2], every: SimDuration, timeout: SimDuration, until: SimDuration, base: u64) -> Self {
        Writer { pair, target: 0, every, timeout, until_us: until.as_micros(), base, n: 0, out: None, acked: 0 }
    }

    /// The wait before the next write: `every` ± half, so that writers drift apart.
    fn gap(&self, ctx: &mut Ctx<'_, FailoverProtocol>) -> SimDuration {
        let every = self.every.as_micros();
        SimDuration::from_micros(ctx.rng().between(every / 2, every + every / 2))
    }

    fn send(&mut self, ctx: &mut Ctx<'_, FailoverProtocol>, id: u64) {
        ctx.send(self.pair[self.target], FailoverMsg::Write { id });
        ctx.set_timer(WriterTimer::Timeout { id }, self.timeout);
    }

    fn other(&mut self, ctx: &mut Ctx<'_, FailoverProtocol>, id: u64) {
        self.target = 1 - self.target;
        self.send(ctx, id);
    }
}

impl Actor<FailoverProtocol> for Writer {
    type Durable = ();
    type Timer = WriterTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, FailoverProtocol>) {
        let gap = self.gap(ctx);
        ctx.set_timer(WriterTimer::Next, gap);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, FailoverProtocol>, from: NodeId, msg: FailoverMsg) {
        match msg {
            FailoverMsg::Promoted { .. } => {
                if let Some(i) = self.pair.iter().position(|n| *n == from) {
                    self.target = i;
                }
            }
            FailoverMsg::NotPrimary { id } if self.out.is_some_and(|(o, _)| o == id) => {
                ctx.cancel_timer(WriterTimer::Timeout { id });
                self.other(ctx, id);
            }
            FailoverMsg::Written { id } => {
                if let Some((o, at)) = self.out
                    && o == id
                {
                    ctx.cancel_timer(WriterTimer::Timeout { id });
                    self.out = None;
                    self.acked += 1;
                    ctx.observe(FailoverObs::Acked { id, latency_us: ctx.now().as_micros().saturating_sub(at) });
                    let gap = self.gap(ctx);
                    ctx.set_timer(WriterTimer::Next, gap);
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, FailoverProtocol>, timer: WriterTimer) {
        match timer {
            WriterTimer::Next => {
                if ctx.now().as_micros() >= self.until_us {
                    return;
                }
                self.n += 1;
                let id = self.base + self.n;
                self.out = Some((id, ctx.now().as_micros()));
                self.send(ctx, id);
            }
            WriterTimer::Timeout { id } => {
                if self.out.is_some_and(|(o, _)| o == id) {
                    self.other(ctx, id);
                }
            }
        }
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({ "target": self.target, "acked": self.acked, "waiting": self.out.is_some() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_numbers_round_trip() {
        for t in [NodeTimer::Tick, NodeTimer::Work { id: 1 }, NodeTimer::Work { id: 1_000_001 }] {
            assert_eq!(NodeTimer::from_id(t.id()), Some(t));
        }
        for t in [WriterTimer::Next, WriterTimer::Timeout { id: 7 }] {
            assert_eq!(WriterTimer::from_id(t.id()), Some(t));
        }
    }
}
