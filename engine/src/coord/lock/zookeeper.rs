//! The ZooKeeper lock recipe (46.7.1), against the coordination service of [`crate::coord::zk`]:
//! create an ephemeral sequential node, hold the lock when it is the smallest, otherwise watch
//! only the predecessor (no herd on a release); the session, kept alive by a ping every third of
//! its timeout, is the lease, and the node's sequence number is the fencing token.

use super::{Hold, LockClient, LockTimer, Phase};
use crate::actor::Ctx;
use crate::coord::zk::ZkMsg;
use crate::coord::{LockMsg, LockObs, LockProtocol};
use crate::sim::{SimDuration, SimTime};

impl LockClient {
    /// The recipe's timers; `false` when the timer is not one of its own in this phase.
    pub(super) fn on_zk_timer(&mut self, ctx: &mut Ctx<'_, LockProtocol>, timer: LockTimer) -> bool {
        match (timer, self.phase) {
            (LockTimer::Round, Phase::Idle) => {
                self.grants += 1;
                let now = ctx.now();
                self.phase = Phase::ZkWaiting {
                    grant: self.grants,
                    started: now,
                    deadline: now + self.config.options.wait,
                    seq: None,
                };
                self.zk(ctx, ZkMsg::Create);
                ctx.set_timer(LockTimer::Retry, self.config.options.retry);
            }
            (LockTimer::Retry, Phase::ZkWaiting { deadline, seq, .. }) => {
                if ctx.now() >= deadline {
                    if let Some(seq) = seq {
                        self.zk(ctx, ZkMsg::Delete { seq });
                    }
                    ctx.observe(LockObs::GaveUp);
                    self.next_round(ctx);
                } else {
                    ctx.set_timer(LockTimer::Retry, self.config.options.retry);
                }
            }
            (LockTimer::Ping, _) => {
                self.zk(ctx, ZkMsg::Ping);
                self.arm_ping(ctx);
            }
            _ => return false,
        }
        true
    }

    /// Arms the session heartbeat: a ping every third of the session timeout.
    pub(super) fn arm_ping(&self, ctx: &mut Ctx<'_, LockProtocol>) {
        if let Some(zk) = self.config.zookeeper {
            ctx.set_timer(LockTimer::Ping, SimDuration::from_micros((zk.session_timeout.as_micros() / 3).max(1)));
        }
    }

    pub(super) fn zk(&self, ctx: &mut Ctx<'_, LockProtocol>, msg: ZkMsg) {
        if let Some(zk) = self.config.zookeeper {
            ctx.send(zk.service, LockMsg::Zk { msg });
        }
    }

    /// The ZooKeeper recipe, one answer at a time.
    pub(super) fn on_zk(&mut self, ctx: &mut Ctx<'_, LockProtocol>, msg: ZkMsg) {
        let waiting = match self.phase {
            Phase::ZkWaiting { grant, started, deadline, seq } => Some((grant, started, deadline, seq)),
            _ => None,
        };
        match (msg, waiting) {
            (ZkMsg::Created { seq }, Some((grant, started, deadline, None))) => {
                self.phase = Phase::ZkWaiting { grant, started, deadline, seq: Some(seq) };
                self.zk(ctx, ZkMsg::Children);
            }
            (ZkMsg::Created { seq }, _) => self.zk(ctx, ZkMsg::Delete { seq }), // a node we no longer want
            (ZkMsg::ChildrenAre { seqs }, Some((grant, started, _, Some(mine)))) => {
                if seqs.first() == Some(&mine) {
                    let token = self.config.fencing.then_some(mine);
                    let hold = Hold { grant, token, lease_until: SimTime::MAX, writes_sent: 0, zk_seq: Some(mine) };
                    self.phase = Phase::Holding(hold);
                    ctx.cancel_timer(LockTimer::Retry);
                    let waited_us = ctx.now().saturating_since(started).as_micros();
                    ctx.observe(LockObs::Acquired { grant, token, waited_us, shared: false });
                    ctx.set_timer(LockTimer::Work, SimDuration::ZERO);
                } else if let Some(&predecessor) = seqs.iter().filter(|s| **s < mine).max() {
                    self.zk(ctx, ZkMsg::Watch { seq: predecessor }); // only the predecessor: no herd
                }
            }
            (ZkMsg::Watching { exists: false, .. } | ZkMsg::WatchFired { .. }, Some((_, _, _, Some(_)))) => {
                self.zk(ctx, ZkMsg::Children);
            }
            (ZkMsg::SessionExpired, _) => {
                if let Some(hold) = self.holding() {
                    ctx.observe(LockObs::RenewalFailed { grant: hold.grant }); // the session was the lease
                }
                if !matches!(self.phase, Phase::Idle) {
                    self.next_round(ctx);
                }
            }
            _ => {}
        }
    }
}
