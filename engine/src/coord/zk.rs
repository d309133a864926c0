//! A ZooKeeper-style coordination service for the lock recipe of the chapter's
//! `ZookeeperDistributedLock` (46.1.2, 46.7.1): sessions kept alive by the clients' requests,
//! ephemeral sequential nodes under one lock path, and one-shot watches on a node's deletion.
//!
//! The recipe: each contender creates an ephemeral sequential node; the smallest holds the lock;
//! every other one watches only its predecessor, so a release wakes exactly one waiter (no herd
//! effect). When a session expires (its client crashed, or paused past the session timeout), the
//! service deletes the client's node, which wakes the next waiter. The node's sequence number
//! grows with every grant, so it doubles as a fencing token.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{LockMsg, LockProtocol};
use crate::actor::{Actor, Ctx, NodeId};
use crate::sim::{SimDuration, SimTime};

/// Requests to the service and its answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "zk", rename_all = "snake_case")]
pub enum ZkMsg {
    /// Keeps the session alive (any request does).
    Ping,
    /// Create an ephemeral sequential node under the lock path.
    Create,
    Created {
        seq: u64,
    },
    Children,
    ChildrenAre {
        seqs: Vec<u64>,
    },
    /// Watch node `seq` for deletion; the answer says whether it still exists.
    Watch {
        seq: u64,
    },
    Watching {
        seq: u64,
        exists: bool,
    },
    /// The watched node was deleted (sent once).
    WatchFired {
        seq: u64,
    },
    Delete {
        seq: u64,
    },
    /// The client's session expired and its nodes are gone.
    SessionExpired,
}

crate::timers! {
    /// The coordination service's one timer.
    pub enum ServiceTimer {
        /// Time to expire the sessions that went quiet.
        Expire = 1,
    }
}

/// Sessions whose `session_timeout` passed without a request are expired.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoordService {
    session_timeout: SimDuration,
    /// Last request per client, on the service's clock.
    sessions: BTreeMap<NodeId, SimTime>,
    nodes: BTreeMap<u64, NodeId>,
    next_seq: u64,
    watches: BTreeMap<u64, BTreeSet<NodeId>>,
    /// The most watchers one deletion woke: 1 for a recipe without a herd.
    most_woken_by_one_delete: usize,
}

impl CoordService {
    /// A service whose state survived a crash (it stands for a replicated ensemble) or a new one.
    pub fn new(session_timeout: SimDuration, durable: Option<CoordService>) -> Self {
        durable.unwrap_or(CoordService { session_timeout, ..CoordService::default() })
    }

    pub fn most_woken_by_one_delete(&self) -> usize {
        self.most_woken_by_one_delete
    }

    fn delete(&mut self, ctx: &mut Ctx<'_, LockProtocol>, seq: u64) {
        self.nodes.remove(&seq);
        let watchers = self.watches.remove(&seq).unwrap_or_default();
        self.most_woken_by_one_delete = self.most_woken_by_one_delete.max(watchers.len());
        for w in watchers {
            ctx.send(w, LockMsg::Zk { msg: ZkMsg::WatchFired { seq } });
        }
    }

    fn expire_sessions(&mut self, ctx: &mut Ctx<'_, LockProtocol>) {
        let now = ctx.now();
        let expired: Vec<NodeId> = self
            .sessions
            .iter()
            .filter(|(_, last)| now.saturating_since(**last) > self.session_timeout)
            .map(|(c, _)| *c)
            .collect();
        for client in expired {
            self.sessions.remove(&client);
            let owned: Vec<u64> = self.nodes.iter().filter(|(_, o)| **o == client).map(|(s, _)| *s).collect();
            for seq in owned {
                self.delete(ctx, seq);
            }
            for watchers in self.watches.values_mut() {
                watchers.remove(&client);
            }
            ctx.send(client, LockMsg::Zk { msg: ZkMsg::SessionExpired });
        }
    }
}

impl Actor<LockProtocol> for CoordService {
    type Durable = CoordService;
    type Timer = ServiceTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, LockProtocol>) {
        ctx.set_timer(ServiceTimer::Expire, SimDuration::from_micros((self.session_timeout.as_micros() / 4).max(1)));
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, LockProtocol>, from: NodeId, msg: LockMsg) {
        let LockMsg::Zk { msg } = msg else { return };
        self.sessions.insert(from, ctx.now());
        let reply = match msg {
            ZkMsg::Ping => return,
            ZkMsg::Create => {
                self.next_seq += 1;
                self.nodes.insert(self.next_seq, from);
                ZkMsg::Created { seq: self.next_seq }
            }
            ZkMsg::Children => ZkMsg::ChildrenAre { seqs: self.nodes.keys().copied().collect() },
            ZkMsg::Watch { seq } => {
                let exists = self.nodes.contains_key(&seq);
                if exists {
                    self.watches.entry(seq).or_default().insert(from);
                }
                ZkMsg::Watching { seq, exists }
            }
            ZkMsg::Delete { seq } => {
                if self.nodes.get(&seq) == Some(&from) {
                    self.delete(ctx, seq);
                }
                return;
            }
            _ => return, // answers are not requests
        };
        ctx.send(from, LockMsg::Zk { msg: reply });
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, LockProtocol>, _timer: ServiceTimer) {
        self.expire_sessions(ctx);
        ctx.set_timer(ServiceTimer::Expire, SimDuration::from_micros((self.session_timeout.as_micros() / 4).max(1)));
    }

    fn durable(&self) -> CoordService {
        self.clone()
    }

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "sessions": self.sessions.len(),
            "nodes": self.nodes,
            "watches": self.watches.values().map(BTreeSet::len).sum::<usize>(),
            "most_woken_by_one_delete": self.most_woken_by_one_delete,
        })
    }
}
