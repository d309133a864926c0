//! The balancer (46.4): it routes each client request to a backend with its [`Picker`], counts
//! the connections and requests it has open to each backend itself (the view every algorithm
//! reads), measures response times, times requests out, and keeps backends in or out of
//! rotation by active probes ([`HealthConfig`]) and passive checks on real requests
//! ([`PassiveConfig`]), with slow start for a backend that comes back.
//!
//! Probes run concurrently, each backend on its own jittered schedule and each probe with its
//! own timeout: a transition happens at the exact simulated millisecond its threshold is
//! reached. [`ProbeMode::Chapter`] is the chapter's `HealthChecker` instead: one probe after
//! another, each waiting for its answer or its timeout, then a sleep of the interval.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::health::{ActiveHealth, HealthConfig, PassiveConfig, PassiveHealth, ProbeSchedule, SlowStart};
use super::{Algorithm, AlgorithmKind, Cause, LbMsg, LbObs, LbProtocol, Picker, Transition, View};
use crate::actor::{Actor, Ctx, NodeId, Timer, TimerId};
use crate::sim::SimDuration;

/// How probes are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeMode {
    /// Every backend on its own schedule, probes concurrent.
    Concurrent,
    /// The chapter's loop: each backend in turn, awaiting each probe, then the interval.
    Chapter,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BalancerConfig {
    pub algorithm: AlgorithmKind,
    /// Active checks, if any, and how they are sent.
    pub health: Option<HealthConfig>,
    pub probe_mode: ProbeMode,
    pub passive: Option<PassiveConfig>,
    pub slow_start: Option<SlowStart>,
    /// A request unanswered this long fails (and counts as a failure for passive checks).
    pub request_timeout_ms: u64,
    /// Requests in flight at once; beyond it a request is refused at the balancer.
    pub in_flight_max: usize,
}

/// The balancer's timers: a backend's next probe, a probe's timeout, a request's timeout, the
/// end of a passive ejection. The kind is in the top byte of the id, the number below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BalancerTimer {
    /// Concurrent mode: backend n's next probe; chapter mode: the next probe of the loop.
    Probe(u64),
    ProbeTimeout(u64),
    RequestTimeout(u64),
    EjectionEnds(u64),
}

/// Below 2^53 whatever the kind, so that the page reads every timer id exactly.
const KIND_SHIFT: u32 = 40;

impl Timer for BalancerTimer {
    fn id(self) -> TimerId {
        let (kind, n) = match self {
            BalancerTimer::Probe(n) => (1, n),
            BalancerTimer::ProbeTimeout(n) => (2, n),
            BalancerTimer::RequestTimeout(n) => (3, n),
            BalancerTimer::EjectionEnds(n) => (4, n),
        };
        TimerId((kind << KIND_SHIFT) | (n & ((1 << KIND_SHIFT) - 1)))
    }
    fn from_id(id: TimerId) -> Option<Self> {
        let n = id.0 & ((1 << KIND_SHIFT) - 1);
        match id.0 >> KIND_SHIFT {
            1 => Some(BalancerTimer::Probe(n)),
            2 => Some(BalancerTimer::ProbeTimeout(n)),
            3 => Some(BalancerTimer::RequestTimeout(n)),
            4 => Some(BalancerTimer::EjectionEnds(n)),
            _ => None,
        }
    }
}

/// A backend's index as observations carry it (a balancer has at most a few backends).
fn number(index: usize) -> u32 {
    u32::try_from(index).expect("fewer than 2^32 backends")
}

/// A request sent to a backend and not answered yet.
#[derive(Clone, Debug)]
struct InFlight {
    client: NodeId,
    id: u64,
    backend: usize,
    sent_us: u64,
}

#[derive(Clone, Debug)]
pub struct Balancer {
    cfg: BalancerConfig,
    backends: Vec<NodeId>,
    view: View,
    picker: Picker,
    active: Vec<ActiveHealth>,
    schedules: Vec<ProbeSchedule>,
    passive: Vec<PassiveHealth>,
    /// Configured weights, and when each backend came back (for slow start).
    weights: Vec<u32>,
    /// Each backend's active health as the last refresh saw it (to tell which check moved it).
    was_active: Vec<bool>,
    back_since_ms: Vec<Option<u64>>,
    in_flight: BTreeMap<u64, InFlight>,
    next_req: u64,
    /// Probes awaited: their backend.
    probes: BTreeMap<u64, usize>,
    next_probe: u64,
    /// Chapter mode: the backend the loop probes next.
    chapter_next: usize,
}

impl Balancer {
    /// `backends`: each backend's node, name and weight, in configured order.
    pub fn new(cfg: BalancerConfig, backends: &[(NodeId, String, u32)]) -> Self {
        let pairs: Vec<(&str, u32)> = backends.iter().map(|(_, n, w)| (n.as_str(), *w)).collect();
        let view = View::new(&pairs);
        let picker = cfg.algorithm.build(&view);
        let n = backends.len();
        Balancer {
            backends: backends.iter().map(|(id, _, _)| *id).collect(),
            weights: backends.iter().map(|(_, _, w)| *w).collect(),
            picker,
            view,
            active: vec![ActiveHealth::default(); n],
            schedules: Vec::new(),
            passive: vec![PassiveHealth::default(); n],
            back_since_ms: vec![None; n],
            was_active: vec![true; n],
            in_flight: BTreeMap::new(),
            next_req: 0,
            probes: BTreeMap::new(),
            next_probe: 0,
            chapter_next: 0,
            cfg,
        }
    }

    fn now_ms(ctx: &Ctx<'_, LbProtocol>) -> u64 {
        ctx.now().as_micros() / 1_000
    }

    /// Brings the view up to now: rotation from both checks, weights from slow start. Every
    /// change of rotation is observed here, whichever check caused it (a passive ejection that
    /// ran out ends at the first moment the balancer looks, before it routes anything), and the
    /// algorithm is rebuilt when the rotation or a weight changed.
    fn refresh(&mut self, ctx: &mut Ctx<'_, LbProtocol>) {
        let now_ms = Self::now_ms(ctx);
        self.view.now_us = ctx.now().as_micros();
        let mut changed = false;
        for i in 0..self.view.backends.len() {
            let active = self.active[i].healthy;
            let passive = self.passive[i].available(now_ms);
            let up = active && passive;
            if up != self.view.backends[i].up {
                let cause = if active == self.was_active[i] { Cause::Requests } else { Cause::Probes };
                let to = if up { Transition::Up } else { Transition::Down };
                if up {
                    self.back_since_ms[i] = Some(now_ms);
                }
                ctx.observe(LbObs::Health { backend: number(i), to, cause });
            }
            self.was_active[i] = active;
            let weight = match (self.cfg.slow_start, self.back_since_ms[i]) {
                (Some(s), Some(since)) => s.weight(self.weights[i], since, now_ms),
                _ => self.weights[i],
            };
            let b = &mut self.view.backends[i];
            changed |= b.up != up || b.weight != weight;
            b.up = up;
            b.weight = weight;
        }
        if changed {
            self.picker.rebuild(&self.view);
        }
    }

    fn send_probe(&mut self, ctx: &mut Ctx<'_, LbProtocol>, backend: usize, timeout_ms: u64) {
        self.next_probe += 1;
        self.probes.insert(self.next_probe, backend);
        ctx.send(self.backends[backend], LbMsg::Probe { seq: self.next_probe });
        ctx.set_timer(BalancerTimer::ProbeTimeout(self.next_probe), SimDuration::from_millis(timeout_ms));
    }

    fn probed(&mut self, ctx: &mut Ctx<'_, LbProtocol>, seq: u64, ok: bool) {
        let Some(backend) = self.probes.remove(&seq) else { return };
        if ok {
            ctx.cancel_timer(BalancerTimer::ProbeTimeout(seq));
        }
        ctx.observe(LbObs::Probed { backend: number(backend), ok });
        let Some(cfg) = self.cfg.health else { return };
        if self.active[backend].record(ok, &cfg).is_some() {
            self.refresh(ctx);
        }
        if self.cfg.probe_mode == ProbeMode::Chapter {
            self.chapter_step(ctx, cfg);
        }
    }

    /// The chapter's loop: the next backend's probe right after this one's answer; after the
    /// last, the interval's sleep.
    fn chapter_step(&mut self, ctx: &mut Ctx<'_, LbProtocol>, cfg: HealthConfig) {
        self.chapter_next += 1;
        if self.chapter_next >= self.backends.len() {
            self.chapter_next = 0;
            ctx.set_timer(BalancerTimer::Probe(0), SimDuration::from_millis(cfg.interval_ms));
        } else {
            self.send_probe(ctx, self.chapter_next, cfg.timeout_ms);
        }
    }

    /// A request's end at the balancer: answered by its backend, or timed out.
    fn finished(&mut self, ctx: &mut Ctx<'_, LbProtocol>, req: u64, ok: bool) {
        let Some(f) = self.in_flight.remove(&req) else { return };
        let now_us = ctx.now().as_micros();
        let b = &mut self.view.backends[f.backend];
        b.outstanding = b.outstanding.saturating_sub(1);
        b.connections = b.connections.saturating_sub(1);
        b.latency.observe(now_us.saturating_sub(f.sent_us), now_us);
        ctx.send(f.client, LbMsg::Answer { id: f.id, ok });
        if let Some(passive) = self.cfg.passive {
            let now_ms = Self::now_ms(ctx);
            if self.passive[f.backend].record(ok, now_ms, &passive).is_some() {
                if let Some(until) = self.passive[f.backend].ejected_until_ms() {
                    let after = SimDuration::from_millis(until.saturating_sub(now_ms));
                    ctx.set_timer(BalancerTimer::EjectionEnds(f.backend as u64), after);
                }
                self.refresh(ctx);
            }
        }
    }

    fn route(&mut self, ctx: &mut Ctx<'_, LbProtocol>, client: NodeId, id: u64, key: &str) {
        self.refresh(ctx);
        let pick = if self.in_flight.len() >= self.cfg.in_flight_max {
            None
        } else {
            self.picker.pick(key, &self.view, ctx.rng())
        };
        let Some(backend) = pick else {
            ctx.observe(LbObs::NoBackend { client: client.0, id });
            ctx.send(client, LbMsg::Answer { id, ok: false });
            return;
        };
        self.next_req += 1;
        let b = &mut self.view.backends[backend];
        b.outstanding += 1;
        b.connections += 1;
        self.in_flight.insert(self.next_req, InFlight { client, id, backend, sent_us: ctx.now().as_micros() });
        ctx.observe(LbObs::Routed { client: client.0, id, backend: number(backend) });
        ctx.send(self.backends[backend], LbMsg::Forward { id: self.next_req, request: id });
        ctx.set_timer(
            BalancerTimer::RequestTimeout(self.next_req),
            SimDuration::from_millis(self.cfg.request_timeout_ms),
        );
    }
}

impl Actor<LbProtocol> for Balancer {
    type Durable = ();
    type Timer = BalancerTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, LbProtocol>) {
        let Some(cfg) = self.cfg.health else { return };
        match self.cfg.probe_mode {
            ProbeMode::Concurrent => {
                let start = Self::now_ms(ctx);
                self.schedules = (0..self.backends.len()).map(|_| ProbeSchedule::new(&cfg, start, ctx.rng())).collect();
                for (i, s) in self.schedules.iter().enumerate() {
                    ctx.set_timer(BalancerTimer::Probe(i as u64), SimDuration::from_millis(s.next_ms() - start));
                }
            }
            // The chapter's `start` probes at once, all at the same instant on every balancer.
            ProbeMode::Chapter => ctx.set_timer(BalancerTimer::Probe(0), SimDuration::ZERO),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, LbProtocol>, from: NodeId, msg: LbMsg) {
        match msg {
            LbMsg::Request { id, key } => self.route(ctx, from, id, &key),
            LbMsg::Done { id, ok } if self.in_flight.contains_key(&id) => {
                ctx.cancel_timer(BalancerTimer::RequestTimeout(id));
                self.finished(ctx, id, ok);
            }
            LbMsg::ProbeOk { seq } => self.probed(ctx, seq, true),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, LbProtocol>, timer: BalancerTimer) {
        match timer {
            BalancerTimer::Probe(n) => {
                let Some(cfg) = self.cfg.health else { return };
                let i = usize::try_from(n).unwrap_or(0);
                match self.cfg.probe_mode {
                    ProbeMode::Concurrent => {
                        self.send_probe(ctx, i, cfg.timeout_ms);
                        let now = Self::now_ms(ctx);
                        let next = self.schedules[i].advance(&cfg, ctx.rng());
                        ctx.set_timer(BalancerTimer::Probe(n), SimDuration::from_millis(next.saturating_sub(now)));
                    }
                    ProbeMode::Chapter => {
                        self.chapter_next = 0;
                        self.send_probe(ctx, 0, cfg.timeout_ms);
                    }
                }
            }
            BalancerTimer::ProbeTimeout(seq) => self.probed(ctx, seq, false),
            BalancerTimer::RequestTimeout(req) => self.finished(ctx, req, false),
            BalancerTimer::EjectionEnds(_) => self.refresh(ctx),
        }
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({ "view": self.view, "in_flight": self.in_flight.len() })
    }
}
