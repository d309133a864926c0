//! Message queues on a real Redis (46.2): the engine's stream actors (`StreamProducer`,
//! `StreamConsumer`), unchanged, run by the real-time driver, for `distlab mq` and `distlab
//! bench`'s `mq` rows.
//!
//! The producers share one world; each consumer runs in a world of its own, a task that can be
//! killed at any moment (mid-batch: its pending entries stay in the group until another consumer,
//! or the same one started again, claims them after the visibility timeout) and started again.
//! All worlds stamp their observations on one clock and send them to one sink, so a killed
//! consumer's deliveries still count in the report.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use distlab_engine::mq::streams::{
    ConsumeConfig, GROUP, PublishPlan, StreamAudit, StreamConsumer, StreamKeys, StreamObs, StreamProducer,
    StreamSnapshot, StreamsProtocol,
};
use distlab_engine::sim::{Observed, Ratio};
use distlab_engine::store::{Cmd, Reply, ScoreBound};
use serde::Serialize;

use crate::backend::{Backend, BackendError};
use crate::driver::{DriverError, LiveWorld, Sink, StopWhen};

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MqRun {
    /// The queue's hash tag: its keys are `{<tag>}:…`.
    pub tag: String,
    pub producers: u64,
    pub consumers: u64,
    pub messages: u64,
    pub fail_percent: u32,
    /// Every n-th message is poison (0: none): it ends in the dead-letter stream.
    pub poison_every: u64,
    /// Every n-th message is delayed by `delay_ms` (0: none), through the sorted set.
    pub delay_every: u64,
    pub delay_ms: u64,
    pub visibility_ms: u64,
    pub max_deliveries: u64,
    /// Messages per publish call, and `COUNT` of each read and claim.
    pub batch: u64,
    /// A handler works from `work_us.0` to `work_us.1` µs.
    pub work_us: (u64, u64),
    pub dedup: bool,
    /// Publish calls in flight per producer.
    pub window: usize,
    /// Publishes per millisecond per producer (0: as fast as the window allows).
    pub per_ms: u64,
}

impl MqRun {
    pub fn keys(&self) -> StreamKeys {
        StreamKeys::new(&self.tag)
    }

    /// Producer `p` publishes the ids `p + 1, p + 1 + P, …`.
    fn plan(&self, p: u64) -> PublishPlan {
        PublishPlan {
            first: p + 1,
            step: self.producers,
            messages: self.messages,
            delay_every: self.delay_every,
            delay_ms: self.delay_ms,
            poison_every: self.poison_every,
            batch: usize::try_from(self.batch).unwrap_or(usize::MAX),
            window: self.window,
            per_ms: self.per_ms,
        }
    }

    pub fn producer_world(
        &self,
        backend: &Backend,
        seed: u64,
        sink: Sink<StreamsProtocol>,
    ) -> LiveWorld<StreamsProtocol> {
        let mut world = LiveWorld::new(seed).with_sink(sink);
        let store = world.add_store("redis", backend.clone());
        for p in 0..self.producers {
            world.add_actor(format!("producer-{}", p + 1), StreamProducer::new(store, self.keys(), self.plan(p)));
        }
        world
    }

    pub fn consumer_name(i: u64) -> String {
        format!("consumer-{}", i + 1)
    }

    /// Consumer `i` of the queue's group.
    pub fn consumer_world(
        &self,
        via: &ConsumerBackend,
        i: u64,
        seed: u64,
        sink: Sink<StreamsProtocol>,
    ) -> LiveWorld<StreamsProtocol> {
        self.member_world(via, GROUP, i, seed, sink)
    }

    /// Consumer `i` of `group` (a subscriber of the stream when it is not the queue's group).
    pub fn member_world(
        &self,
        via: &ConsumerBackend,
        group: &str,
        i: u64,
        seed: u64,
        sink: Sink<StreamsProtocol>,
    ) -> LiveWorld<StreamsProtocol> {
        let mut world = LiveWorld::new(seed).with_sink(sink);
        let store = world.add_store("redis", via.shared.clone());
        let reader = via.own.as_ref().map(|own| world.add_store("redis-reader", own.clone()));
        let cfg = ConsumeConfig {
            group: group.to_owned(),
            name: Self::consumer_name(i),
            batch: self.batch,
            visibility_ms: self.visibility_ms,
            max_deliveries: self.max_deliveries,
            work_min_us: self.work_us.0,
            work_max_us: self.work_us.1,
            fail: Ratio::percent(self.fail_percent),
            dedup: self.dedup,
            poll_ms: if reader.is_some() { 0 } else { POLL_MS },
            block_ms: if reader.is_some() { BLOCK_MS } else { 0 },
        };
        let consumer = StreamConsumer::new(store, self.keys(), cfg);
        world.add_actor(Self::consumer_name(i), reader.map_or(consumer.clone(), |r| consumer.with_reader(r)));
        world
    }

    /// Whether nothing is pending and nothing delayed: two small reads, before the whole
    /// snapshot (which reads every effect) is worth taking.
    async fn quiet(&self, backend: &Backend) -> Result<bool, BackendError> {
        let keys = self.keys();
        let reads = [
            Cmd::XPending { key: keys.stream(), group: GROUP.to_owned(), range: None },
            Cmd::ZRangeByScore {
                key: keys.delayed(),
                min: ScoreBound::NegInf,
                max: ScoreBound::PosInf,
                with_scores: false,
                limit: Some((0, 1)),
            },
        ];
        let replies = backend.exec_pipeline(&reads).await?;
        let none_pending =
            matches!(replies.first(), Some(Reply::Array(summary)) if summary.first() == Some(&Reply::Int(0)));
        let none_delayed = matches!(replies.get(1), Some(Reply::Array(items)) if items.is_empty());
        Ok(none_pending && none_delayed)
    }

    pub async fn snapshot(&self, backend: &Backend) -> Result<StreamSnapshot, BackendError> {
        let replies = backend.exec_pipeline(&StreamSnapshot::commands(&self.keys())).await?;
        Ok(StreamSnapshot::from_replies(&replies))
    }
}

/// A consumer with nothing to do and no connection of its own asks again after this long: the
/// latency of a message that arrives at an idle queue (an empty `XREADGROUP` a millisecond per
/// consumer costs Redis little, but a millisecond timer fires up to two milliseconds later).
const POLL_MS: u64 = 1;
/// A consumer whose queue is empty waits at the server this long for new entries, on a
/// connection of its own, and is handed one the moment it is added; no longer than the sweep for
/// delayed messages (20 ms), so that those are promoted on time.
const BLOCK_MS: u64 = 20;

/// The backends a consumer talks through: the shared connection, where the server takes many
/// clients' requests in one read, and where the target allows one (a standalone Redis) a
/// connection of its own for reads that wait at the server; without it, an idle consumer polls.
#[derive(Clone, Debug)]
pub struct ConsumerBackend {
    shared: Backend,
    own: Option<Backend>,
}

impl ConsumerBackend {
    pub async fn connect(shared: &Backend) -> Result<ConsumerBackend, BackendError> {
        Ok(ConsumerBackend { shared: shared.clone(), own: shared.own_connection().await? })
    }
}
/// How often the run looks at Redis to see whether every message is settled.
const CHECK_EVERY: Duration = Duration::from_millis(100);

/// When consumers are killed: `count` kills, the first after `first`, then one every `every`,
/// each consumer in turn, each started again `down` later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kills {
    pub count: u64,
    pub first: Duration,
    pub every: Duration,
    pub down: Duration,
}

impl Kills {
    pub const NONE: Kills = Kills { count: 0, first: Duration::ZERO, every: Duration::ZERO, down: Duration::ZERO };
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum MqError {
    #[error(transparent)]
    Driver(#[from] DriverError),
    #[error("reading the queue back: {0}")]
    Store(#[from] BackendError),
    #[error("a queue task failed: {0}")]
    Task(String),
    #[error("{settled} of {messages} messages settled after {seconds:.0} s: giving up ({})", .store_error.as_deref().map_or("raise --timeout?".to_owned(), |e| format!("the store answered: {e}")))]
    Timeout { settled: u64, messages: u64, seconds: f64, store_error: Option<String> },
}

/// What a run did, from its observations, and what Redis holds at its end.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MqStats {
    /// Published by this run (an earlier, interrupted run may have published the rest).
    pub published: u64,
    pub delivered: u64,
    pub redelivered: u64,
    pub claimed: u64,
    pub promoted: u64,
    pub applied: u64,
    pub applied_again: u64,
    pub skipped: u64,
    pub acked: u64,
    pub dead_lettered: u64,
    pub failures: u64,
    pub kills: u64,
    pub store_errors: Vec<String>,
    pub seconds: f64,
    /// Publish to ack, of the messages this run published and acked, in µs.
    #[serde(skip)]
    pub latencies_us: Vec<u64>,
}

impl MqStats {
    fn of(observations: &[Observed<StreamObs>]) -> MqStats {
        let mut s = MqStats::default();
        let mut published: BTreeMap<u64, u64> = BTreeMap::new();
        for o in observations {
            match &o.obs {
                StreamObs::Published { id, fresh } => {
                    if *fresh {
                        s.published += 1;
                        published.insert(*id, o.time.as_micros());
                    }
                }
                StreamObs::Delivered { deliveries, .. } => {
                    s.delivered += 1;
                    if *deliveries > 1 {
                        s.redelivered += 1;
                    }
                }
                StreamObs::Claimed { count } => s.claimed += count,
                StreamObs::Promoted { count } => s.promoted += count,
                StreamObs::Applied { first, .. } => {
                    s.applied += 1;
                    if !first {
                        s.applied_again += 1;
                    }
                }
                StreamObs::Skipped { .. } => s.skipped += 1,
                StreamObs::Acked { id } => {
                    s.acked += 1;
                    if let Some(at) = published.remove(id) {
                        s.latencies_us.push(o.time.as_micros().saturating_sub(at));
                    }
                }
                StreamObs::DeadLettered { .. } => s.dead_lettered += 1,
                StreamObs::Failed { .. } => s.failures += 1,
                StreamObs::StoreFailed { error } => s.store_errors.push(error.clone()),
                StreamObs::Done => {}
            }
        }
        s
    }
}

/// Aborts a task when dropped: a run that ends, fails or is interrupted leaves no consumer
/// writing to Redis behind it.
struct Task(tokio::task::JoinHandle<Result<(), DriverError>>);

impl Task {
    fn spawn(world: LiveWorld<StreamsProtocol>, stop: StopWhen) -> Task {
        Task(tokio::task::spawn_local(
            async move { world.run(stop, |o| matches!(o, StreamObs::Done)).await.map(|_| ()) },
        ))
    }

    /// How the world ended, once it has (`None` while it runs).
    async fn ended(&mut self) -> Option<Result<(), MqError>> {
        if !self.0.is_finished() {
            return None;
        }
        Some(match (&mut self.0).await {
            Ok(result) => result.map_err(MqError::from),
            Err(e) => Err(MqError::Task(e.to_string())),
        })
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs the queue until every message is applied or dead-lettered and nothing is pending or
/// delayed (or `timeout`), killing consumers as `kills` says; `settled` counts acks and dead
/// letters as they happen, for a progress line. Must run inside a `LocalSet`.
pub async fn run_queue(
    backend: &Backend,
    run: &MqRun,
    kills: Kills,
    timeout: Duration,
    settled: Rc<Cell<u64>>,
) -> Result<(MqStats, StreamSnapshot), MqError> {
    let started = Instant::now();
    let sink: Sink<StreamsProtocol> = (Rc::new(RefCell::new(Vec::new())), started);
    let counts = |o: &StreamObs| matches!(o, StreamObs::Acked { .. } | StreamObs::DeadLettered { .. });
    let producers = usize::try_from(run.producers).unwrap_or(usize::MAX);
    let mut producing = Some(Task::spawn(
        run.producer_world(backend, 1, sink.clone()),
        StopWhen::Observations { count: producers, at_most: timeout },
    ));
    let mut links = BTreeMap::new();
    for i in 0..run.consumers {
        links.insert(i, ConsumerBackend::connect(backend).await?);
    }
    let consumer = |i: u64, incarnation: u64| {
        let world = run
            .consumer_world(&links[&i], i, 1_000 * (incarnation + 1) + i, sink.clone())
            .with_progress(Rc::clone(&settled), counts);
        Task::spawn(world, StopWhen::After(timeout))
    };
    let mut consumers: Vec<Option<Task>> = (0..run.consumers).map(|i| Some(consumer(i, 0))).collect();
    let mut incarnations = vec![0u64; consumers.len()];
    let mut restarts: Vec<(Instant, usize)> = Vec::new();
    let mut kills_done = 0u64;
    let mut next_kill = started + kills.first;
    let mut next_check = started;
    loop {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let now = Instant::now();
        if kills_done < kills.count && now >= next_kill && run.consumers > 0 {
            let i = usize::try_from(kills_done % run.consumers).unwrap_or(0);
            consumers[i] = None;
            restarts.push((now + kills.down, i));
            kills_done += 1;
            next_kill = now + kills.every;
        }
        for (_, i) in restarts.extract_if(.., |(at, _)| *at <= now) {
            incarnations[i] += 1;
            consumers[i] = Some(consumer(i as u64, incarnations[i]));
        }
        // A world ends early only on a store failure (a full Redis, a dropped connection).
        if let Some(p) = producing.as_mut()
            && let Some(ended) = p.ended().await
        {
            ended?;
            producing = None;
        }
        for c in consumers.iter_mut().flatten() {
            if let Some(Err(e)) = c.ended().await {
                return Err(e);
            }
        }
        if producing.is_none() && restarts.is_empty() && now >= next_check && run.quiet(backend).await? {
            next_check = now + CHECK_EVERY;
            let s = run.snapshot(backend).await?;
            if s.published.len() as u64 == run.messages
                && StreamAudit::settled(&s) >= run.messages
                && s.pending == 0
                && s.delayed == 0
            {
                break;
            }
        }
        if now.duration_since(started) > timeout {
            let s = run.snapshot(backend).await?;
            let store_error = sink.0.borrow().iter().find_map(|o| match &o.obs {
                StreamObs::StoreFailed { error } => Some(error.clone()),
                _ => None,
            });
            return Err(MqError::Timeout {
                settled: StreamAudit::settled(&s),
                messages: run.messages,
                seconds: timeout.as_secs_f64(),
                store_error,
            });
        }
    }
    drop(consumers);
    let snapshot = run.snapshot(backend).await?;
    let mut stats = MqStats::of(&sink.0.borrow());
    stats.kills = kills_done;
    stats.seconds = started.elapsed().as_secs_f64();
    Ok((stats, snapshot))
}
