//! Leader election, Raft-style (46.1.2): terms, randomized election timeouts, one vote per term,
//! a majority wins, the leader's heartbeats hold the others back, and anyone who sees a higher
//! term steps down to follower.
//!
//! Safety rests on two things the chapter's `LeaderElection` lacks (its `_request_vote` grants
//! every vote): a node votes at most once per term, and it remembers that vote across a crash
//! (term and vote are durable). Two majorities of the same cluster always share a node, so no term
//! can have two leaders. Liveness rests on randomized timeouts: split votes happen, and the next
//! round, with fresh random timeouts, usually settles them.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Ctx, NodeId, Protocol};
use crate::sim::{SimDuration, SimTime};

#[derive(Debug)]
pub struct ElectionProtocol;

impl Protocol for ElectionProtocol {
    type Msg = ElectionMsg;
    type Obs = ElectionObs;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ElectionMsg {
    RequestVote {
        term: u64,
    },
    Vote {
        term: u64,
        granted: bool,
    },
    /// The leader's heartbeat (Raft's empty AppendEntries).
    Heartbeat {
        term: u64,
    },
    /// A follower's answer, so that a stale leader learns of a higher term.
    HeartbeatReply {
        term: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ElectionObs {
    Candidate {
        term: u64,
    },
    Leader {
        term: u64,
    },
    /// A leader or candidate saw a higher term and became a follower.
    SteppedDown {
        term: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElectionConfig {
    /// Election timeouts are drawn uniformly from `timeout_min..=timeout_max` (Raft: 150–300 ms).
    pub timeout_min: SimDuration,
    pub timeout_max: SimDuration,
    /// The leader's heartbeat interval, well below `timeout_min`.
    pub heartbeat: SimDuration,
    /// The chapter's rule: grant every vote asked for. Two leaders in one term follow.
    pub grant_every_vote: bool,
}

/// What a node keeps on disk: its term and whom it voted for in it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElectionDurable {
    pub term: u64,
    pub voted_for: Option<NodeId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Role {
    Follower,
    Candidate,
    Leader,
}

crate::timers! {
    /// An election node's timers.
    pub enum ElectionTimer {
        /// No leader heard from in time: stand for election (randomised, re-armed by every heartbeat).
        Election = 1,
        /// A leader's next heartbeat to every peer.
        Heartbeat = 2,
    }
}

#[derive(Clone, Debug)]
pub struct ElectionNode {
    config: ElectionConfig,
    peers: Vec<NodeId>,
    durable: ElectionDurable,
    role: Role,
    votes: BTreeSet<NodeId>,
    leader: Option<NodeId>,
    /// The election timer, as (deadline on this node's clock, its length), for the page's rings.
    timer: Option<(SimTime, SimDuration)>,
}

impl ElectionNode {
    pub fn new(config: ElectionConfig, peers: Vec<NodeId>, durable: Option<ElectionDurable>) -> Self {
        ElectionNode {
            config,
            peers,
            durable: durable.unwrap_or_default(),
            role: Role::Follower,
            votes: BTreeSet::new(),
            leader: None,
            timer: None,
        }
    }

    fn cluster_size(&self) -> usize {
        self.peers.len() + 1
    }

    fn reset_election_timer(&mut self, ctx: &mut Ctx<'_, ElectionProtocol>) {
        let (lo, hi) = (self.config.timeout_min.as_micros(), self.config.timeout_max.as_micros());
        let after = SimDuration::from_micros(ctx.rng().between(lo, hi));
        self.timer = Some((ctx.now() + after, after));
        ctx.set_timer(ElectionTimer::Election, after);
    }

    /// Adopts a higher term: follower, no vote yet in it.
    fn observe_term(&mut self, ctx: &mut Ctx<'_, ElectionProtocol>, term: u64) {
        if term > self.durable.term {
            let was_leading = self.role != Role::Follower;
            self.durable = ElectionDurable { term, voted_for: None };
            self.role = Role::Follower;
            self.votes.clear();
            self.leader = None;
            ctx.cancel_timer(ElectionTimer::Heartbeat);
            if was_leading {
                ctx.observe(ElectionObs::SteppedDown { term });
            }
            self.reset_election_timer(ctx);
        }
    }

    fn broadcast(&self, ctx: &mut Ctx<'_, ElectionProtocol>, msg: ElectionMsg) {
        for &p in &self.peers {
            ctx.send(p, msg.clone());
        }
    }

    fn start_election(&mut self, ctx: &mut Ctx<'_, ElectionProtocol>) {
        let me = ctx.me();
        self.durable = ElectionDurable { term: self.durable.term + 1, voted_for: Some(me) };
        self.role = Role::Candidate;
        self.votes = BTreeSet::from([me]);
        self.leader = None;
        ctx.observe(ElectionObs::Candidate { term: self.durable.term });
        self.broadcast(ctx, ElectionMsg::RequestVote { term: self.durable.term });
        self.reset_election_timer(ctx);
        self.maybe_win(ctx); // a cluster of one
    }

    fn maybe_win(&mut self, ctx: &mut Ctx<'_, ElectionProtocol>) {
        if self.role == Role::Candidate && self.votes.len() * 2 > self.cluster_size() {
            self.role = Role::Leader;
            self.leader = Some(ctx.me());
            ctx.cancel_timer(ElectionTimer::Election);
            self.timer = None;
            ctx.observe(ElectionObs::Leader { term: self.durable.term });
            self.broadcast(ctx, ElectionMsg::Heartbeat { term: self.durable.term });
            ctx.set_timer(ElectionTimer::Heartbeat, self.config.heartbeat);
        }
    }
}

impl Actor<ElectionProtocol> for ElectionNode {
    type Durable = ElectionDurable;
    type Timer = ElectionTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, ElectionProtocol>) {
        self.reset_election_timer(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, ElectionProtocol>, from: NodeId, msg: ElectionMsg) {
        match msg {
            ElectionMsg::RequestVote { term } => {
                self.observe_term(ctx, term);
                let granted = self.config.grant_every_vote
                    || (term == self.durable.term && self.durable.voted_for.is_none_or(|v| v == from));
                if granted {
                    self.durable.voted_for = Some(from);
                    self.reset_election_timer(ctx);
                }
                ctx.send(from, ElectionMsg::Vote { term: self.durable.term, granted });
            }
            ElectionMsg::Vote { term, granted } => {
                self.observe_term(ctx, term);
                if granted && term == self.durable.term && self.role == Role::Candidate {
                    self.votes.insert(from);
                    self.maybe_win(ctx);
                }
            }
            ElectionMsg::Heartbeat { term } => {
                self.observe_term(ctx, term);
                if term == self.durable.term {
                    if self.role == Role::Candidate {
                        self.role = Role::Follower; // someone won this term
                        self.votes.clear();
                    }
                    self.leader = Some(from);
                    self.reset_election_timer(ctx);
                }
                ctx.send(from, ElectionMsg::HeartbeatReply { term: self.durable.term });
            }
            ElectionMsg::HeartbeatReply { term } => self.observe_term(ctx, term),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, ElectionProtocol>, timer: ElectionTimer) {
        match (timer, self.role) {
            (ElectionTimer::Election, Role::Follower | Role::Candidate) => self.start_election(ctx),
            (ElectionTimer::Heartbeat, Role::Leader) => {
                self.broadcast(ctx, ElectionMsg::Heartbeat { term: self.durable.term });
                ctx.set_timer(ElectionTimer::Heartbeat, self.config.heartbeat);
            }
            _ => {}
        }
    }

    fn durable(&self) -> ElectionDurable {
        self.durable
    }

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "term": self.durable.term,
            "role": self.role,
            "voted_for": self.durable.voted_for,
            "votes": self.votes.len(),
            "leader": self.leader,
            "timer_deadline_us": self.timer.map(|(at, _)| at.as_micros()),
            "timer_span_us": self.timer.map(|(_, span)| span.as_micros()),
        })
    }
}
