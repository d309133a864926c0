//! The ID world's generator node (46.7.2): requests for IDs arrive at a steady rate with jitter,
//! and the node mints each with its generator (Snowflake, Leaf segments or UUIDv7, the chapter's
//! or the fixed one), on its own clock, talking to the store for segments and worker-id leases.
//! A request that cannot be served at once waits in a queue (a full tick, a clock behind, a
//! segment not yet claimed, no lease); one the chapter's Snowflake refuses fails.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::segment::Segments;
use super::snowflake::{Mint, Refusal, Snowflake};
use super::uuids::{V7, chapter_v7};
use super::worker::{LeaseState, WorkerLease};
use crate::actor::{Actor, Ctx, NodeId, Protocol};
use crate::sim::SimDuration;
use crate::store::{Reply, StoreMsg};

/// Generators and their store.
#[derive(Debug)]
pub struct IdProtocol;

impl Protocol for IdProtocol {
    type Msg = StoreMsg;
    type Obs = IdObs;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IdObs {
    /// An ID handed out, `waited_us` after its request arrived.
    Minted { id: String, waited_us: u64 },
    /// A request refused (the chapter's Snowflake with its clock behind).
    Refused { why: Refusal },
    /// A segment claimed: IDs `start + 1 ..= end`.
    Claimed { start: u64, end: u64 },
    /// The worker id this node may mint with, or none (lease lost or not yet granted).
    Worker { worker: Option<u64> },
    /// The node restarted and resumed from its high-water mark (`None`: it kept nothing).
    Resumed { high_water: Option<u64> },
}

/// Which generator a node runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenKind {
    Snowflake,
    Segment,
    Uuidv7,
}

/// One node's configuration, its generators already built (and so checked) by the world.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdNodeConfig {
    pub kind: GenKind,
    /// The chapter's v7 rather than RFC 9562's (for [`GenKind::Uuidv7`]).
    pub chapter_v7: bool,
    /// The Snowflake as it starts, its policies chosen (the chapter's or the fixed ones).
    pub snowflake: Snowflake,
    /// Lease the worker id from the store for this long; `None` mints with the configured one
    /// (the chapter's).
    pub lease_ms: Option<u64>,
    pub segments: Segments,
    /// The mean gap between requests; each gap is drawn from ±50% of it.
    pub every_us: u64,
    /// Stop making requests after this (the node's own clock).
    pub until: SimDuration,
    /// Unix milliseconds at the node's clock zero.
    pub unix_base_ms: u64,
    /// How long a store request may take before it is given up and retried.
    pub store_timeout: SimDuration,
}

/// What a node keeps across a crash: the Snowflake's high-water mark and its leased worker id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdDurable {
    pub high_water: Option<u64>,
    pub worker: Option<u64>,
}

crate::timers! {
    /// A generator node's timers.
    pub enum IdTimer {
        /// The next request arrives.
        Demand = 0,
        /// Try the queue again (a tick or the clock came round).
        Retry = 1,
        /// Renew the lease, or claim one again.
        Lease = 2,
        /// A store request went unanswered: give it up.
        StoreTimeout = 3,
    }
}

#[derive(Clone, Debug)]
enum Generator {
    Snowflake(Box<Snowflake>),
    Segments(Box<Segments>),
    V7(V7),
    ChapterV7,
}

/// What a store request was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Claim,
    Lease,
}

/// A generator node.
#[derive(Clone, Debug)]
pub struct IdNode {
    cfg: IdNodeConfig,
    store: NodeId,
    generator: Generator,
    lease: Option<WorkerLease>,
    /// Arrival times (µs of the node's clock) of requests waiting.
    queue: VecDeque<u64>,
    pending: BTreeMap<u64, Purpose>,
    next_req: u64,
    minted: u64,
    refused: u64,
    /// The longest wait so far (µs).
    longest_wait_us: u64,
    last_id: Option<String>,
    resumed: Option<IdDurable>,
    /// The worker id last reported as usable.
    announced: Option<u64>,
}

impl IdNode {
    /// A node built by its world: `owner` names it to the store (the lease's value); `durable`
    /// is what a restarted node kept.
    pub fn new(cfg: IdNodeConfig, store: NodeId, owner: &str, durable: Option<IdDurable>) -> Self {
        let kept = durable.unwrap_or_default();
        let generator = match cfg.kind {
            GenKind::Snowflake => {
                let restarted = cfg.snowflake.restarted(kept.high_water);
                let g = match kept.worker {
                    Some(w) if cfg.lease_ms.is_some() => restarted.with_worker(w).unwrap_or(restarted),
                    _ => restarted,
                };
                Generator::Snowflake(Box::new(g))
            }
            GenKind::Segment => Generator::Segments(Box::new(cfg.segments.clone())),
            GenKind::Uuidv7 if cfg.chapter_v7 => Generator::ChapterV7,
            GenKind::Uuidv7 => Generator::V7(V7::new()),
        };
        let lease = match (cfg.kind, cfg.lease_ms) {
            (GenKind::Snowflake, Some(ttl)) => {
                let max = cfg.snowflake.config().layout.max_worker();
                let first = kept.worker.unwrap_or(cfg.snowflake.config().worker);
                let mut lease = WorkerLease::new("ids:", owner, ttl, max, first);
                if let Some(w) = kept.worker {
                    lease = lease.resuming(w);
                }
                Some(lease)
            }
            _ => None,
        };
        IdNode {
            cfg,
            store,
            generator,
            lease,
            queue: VecDeque::new(),
            pending: BTreeMap::new(),
            next_req: 0,
            minted: 0,
            refused: 0,
            longest_wait_us: 0,
            last_id: None,
            resumed: durable,
            announced: None,
        }
    }

    fn unix_ms(&self, ctx: &Ctx<'_, IdProtocol>) -> u64 {
        self.cfg.unix_base_ms + ctx.now().as_micros() / 1_000
    }

    fn send(&mut self, ctx: &mut Ctx<'_, IdProtocol>, cmd: crate::store::Cmd, purpose: Purpose) {
        self.next_req += 1;
        self.pending.insert(self.next_req, purpose);
        ctx.send(self.store, StoreMsg::Request { req: self.next_req, cmd });
        ctx.set_timer(IdTimer::StoreTimeout, self.cfg.store_timeout);
    }

    fn claim_if_due(&mut self, ctx: &mut Ctx<'_, IdProtocol>) {
        let now_ms = self.unix_ms(ctx);
        if let Generator::Segments(s) = &mut self.generator
            && let Some(cmd) = s.due(now_ms)
        {
            self.send(ctx, cmd, Purpose::Claim);
        }
    }

    fn hand_out(&mut self, ctx: &mut Ctx<'_, IdProtocol>, id: String) {
        let arrived = self.queue.pop_front().unwrap_or(0);
        let waited_us = ctx.now().as_micros().saturating_sub(arrived);
        self.longest_wait_us = self.longest_wait_us.max(waited_us);
        self.minted += 1;
        self.last_id = Some(id.clone());
        ctx.observe(IdObs::Minted { id, waited_us });
    }

    /// Serves the queue in order until it is empty or must wait.
    fn serve(&mut self, ctx: &mut Ctx<'_, IdProtocol>) {
        self.announce(ctx);
        let now_ms = self.unix_ms(ctx);
        while !self.queue.is_empty() {
            match &mut self.generator {
                Generator::Snowflake(g) => {
                    if let Some(lease) = &self.lease {
                        match lease.worker(now_ms) {
                            Some(w) if w == g.config().worker => {}
                            // A lease's ids are the layout's, so the new worker always fits.
                            Some(w) => {
                                if let Ok(fresh) = g.with_worker(w) {
                                    **g = fresh;
                                }
                            }
                            // No lease: nothing may be minted until one is granted.
                            None => return,
                        }
                    }
                    match g.next(now_ms) {
                        Mint::Id { id } => self.hand_out(ctx, id.to_string()),
                        Mint::Wait { until_ms, .. } => {
                            let after = until_ms.saturating_sub(now_ms).max(1);
                            ctx.set_timer(IdTimer::Retry, SimDuration::from_millis(after));
                            return;
                        }
                        Mint::Refused { why } => {
                            self.queue.pop_front();
                            self.refused += 1;
                            ctx.observe(IdObs::Refused { why });
                        }
                    }
                }
                Generator::Segments(s) => match s.take() {
                    Some(id) => {
                        self.hand_out(ctx, id.to_string());
                        self.claim_if_due(ctx);
                    }
                    None => {
                        self.claim_if_due(ctx);
                        return;
                    }
                },
                Generator::V7(g) => {
                    let rng = ctx.rng();
                    let u = g.next(now_ms, || rng.next_u64());
                    self.hand_out(ctx, u.to_string());
                }
                Generator::ChapterV7 => {
                    let rng = ctx.rng();
                    let random = u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64());
                    let u = chapter_v7(now_ms, random);
                    self.hand_out(ctx, u.to_string());
                }
            }
        }
    }

    /// Reports a change in the worker id this node may mint with (granted, moved, lapsed).
    fn announce(&mut self, ctx: &mut Ctx<'_, IdProtocol>) {
        let now_ms = self.unix_ms(ctx);
        let worker = self.lease.as_ref().and_then(|l| l.worker(now_ms));
        if self.lease.is_some() && worker != self.announced {
            self.announced = worker;
            ctx.observe(IdObs::Worker { worker });
        }
    }
}

impl Actor<IdProtocol> for IdNode {
    type Durable = IdDurable;
    type Timer = IdTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, IdProtocol>) {
        if let Some(kept) = self.resumed {
            ctx.observe(IdObs::Resumed { high_water: kept.high_water });
        }
        if let Some(lease) = &mut self.lease {
            let now_ms = self.cfg.unix_base_ms + ctx.now().as_micros() / 1_000;
            let cmd = lease.request(now_ms);
            self.send(ctx, cmd, Purpose::Lease);
        }
        self.claim_if_due(ctx);
        let gap = self.cfg.every_us;
        let first = ctx.rng().between(gap / 2, gap + gap / 2);
        ctx.set_timer(IdTimer::Demand, SimDuration::from_micros(first));
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, IdProtocol>, _from: NodeId, msg: StoreMsg) {
        let StoreMsg::Reply { req, reply } = msg else { return };
        let Some(purpose) = self.pending.remove(&req) else { return };
        let now_ms = self.unix_ms(ctx);
        if self.pending.is_empty() {
            ctx.cancel_timer(IdTimer::StoreTimeout);
        }
        match purpose {
            Purpose::Lease => {
                if let Some(lease) = &mut self.lease {
                    lease.on_reply(&reply);
                    match lease.state() {
                        // Taken: ask for the next id at once.
                        LeaseState::Seeking { tried, .. } if tried > 0 => {
                            let cmd = lease.request(now_ms);
                            self.send(ctx, cmd, Purpose::Lease);
                        }
                        _ => {
                            let every = lease.renew_every_ms();
                            ctx.set_timer(IdTimer::Lease, SimDuration::from_millis(every));
                        }
                    }
                }
            }
            Purpose::Claim => {
                if let Generator::Segments(s) = &mut self.generator {
                    match s.on_reply(&reply) {
                        Ok(Some(next)) => self.send(ctx, next, Purpose::Claim),
                        Ok(None) => {
                            if let Reply::Int(_) | Reply::Bulk(_) = reply
                                && let Some(seg) = s.current().filter(|c| c.next == c.start + 1).or(s.spare())
                            {
                                ctx.observe(IdObs::Claimed { start: seg.start, end: seg.end });
                            }
                        }
                        Err(_) => {}
                    }
                }
            }
        }
        self.serve(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, IdProtocol>, timer: IdTimer) {
        match timer {
            IdTimer::Demand => {
                if ctx.now().as_micros() < self.cfg.until.as_micros() {
                    self.queue.push_back(ctx.now().as_micros());
                    let gap = self.cfg.every_us;
                    let next = ctx.rng().between(gap / 2, gap + gap / 2);
                    ctx.set_timer(IdTimer::Demand, SimDuration::from_micros(next));
                }
            }
            IdTimer::Retry => {}
            IdTimer::Lease => {
                let now_ms = self.unix_ms(ctx);
                if let Some(lease) = &mut self.lease {
                    let cmd = lease.request(now_ms);
                    self.send(ctx, cmd, Purpose::Lease);
                }
            }
            IdTimer::StoreTimeout => {
                let lost: Vec<Purpose> = std::mem::take(&mut self.pending).into_values().collect();
                if lost.contains(&Purpose::Claim)
                    && let Generator::Segments(s) = &mut self.generator
                {
                    s.abandon();
                }
                if lost.contains(&Purpose::Lease) {
                    let every = self.lease.as_ref().map_or(1_000, WorkerLease::renew_every_ms);
                    ctx.set_timer(IdTimer::Lease, SimDuration::from_millis(every.min(100)));
                }
            }
        }
        self.serve(ctx);
    }

    fn durable(&self) -> IdDurable {
        let high_water = match &self.generator {
            Generator::Snowflake(g) => g.high_water(),
            _ => None,
        };
        let worker = self.lease.as_ref().and_then(WorkerLease::held_worker);
        IdDurable { high_water, worker }
    }

    fn public_state(&self) -> serde_json::Value {
        let mut state = serde_json::json!({
            "queue": self.queue.len(),
            "minted": self.minted,
            "refused": self.refused,
            "longest_wait_us": self.longest_wait_us,
            "last_id": self.last_id,
        });
        match &self.generator {
            Generator::Snowflake(g) => {
                state["worker"] = serde_json::json!(g.config().worker);
                state["last_tick"] = serde_json::json!(g.last_tick());
                state["high_water"] = serde_json::json!(g.high_water());
                state["rollback"] = serde_json::json!(g.config().rollback);
            }
            Generator::Segments(s) => {
                state["segment"] = serde_json::json!({
                    "current": s.current(),
                    "spare": s.spare(),
                    "fetch": s.fetch(),
                    "step": s.step(),
                    "claims": s.claims(),
                });
            }
            Generator::V7(_) | Generator::ChapterV7 => {}
        }
        if let Some(lease) = &self.lease {
            state["lease"] = serde_json::json!(lease.state());
        }
        state
    }
}
