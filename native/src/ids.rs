//! Distributed IDs natively (46.7.2): the engine's generators on the system clock, a lock-free
//! Snowflake for many threads, Leaf segments claimed from Redis while IDs keep flowing, and
//! worker ids leased from Redis. Shared by `distlab id`, `distlab bench` and the tests.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use distlab_engine::id::layout::{Layout, Parts};
use distlab_engine::id::segment::{Fetch, SegmentConfig, Segments};
use distlab_engine::id::worker::WorkerLease;
use distlab_engine::store::{Cmd, Reply, ScriptName};

use crate::backend::{Backend, BackendError};
use crate::bench::Limit;

/// The system clock in Unix milliseconds.
pub fn now_ms() -> u64 {
    // Seconds and subsecond milliseconds: `as_millis` divides a u128.
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() * 1_000 + u64::from(d.subsec_millis()))
}

/// Waits until the system clock reads `until_ms`: sleeps to within [`SLEEP_MARGIN`] of it,
/// then yields the processor until it comes. A full tick's wait is under a millisecond, and a
/// sleep here overshoots by 0.15–0.3 ms on average (measured on the project's VMs): sleeping all
/// of it would miss ticks and cost IDs, and spinning all of it would burn a core as the chapter's
/// `_wait_next_millis` does.
pub fn wait_until_ms(until_ms: u64) {
    let target = UNIX_EPOCH + Duration::from_millis(until_ms);
    loop {
        let Ok(left) = target.duration_since(SystemTime::now()) else { return };
        if left > SLEEP_MARGIN + Duration::from_micros(50) {
            std::thread::sleep(left - SLEEP_MARGIN);
        } else {
            std::thread::yield_now();
        }
    }
}

/// How much of a wait is yielded away rather than slept.
pub const SLEEP_MARGIN: Duration = Duration::from_micros(350);

/// One Snowflake generator shared by many threads without a lock: its state (tick and
/// sequence) is one `AtomicU64`, advanced by compare-and-swap. A clock behind the state keeps
/// the state's tick (a logical clock), so IDs never repeat or go back.
#[derive(Debug)]
pub struct AtomicSnowflake {
    layout: Layout,
    datacenter: u64,
    worker: u64,
    /// tick << sequence_bits | sequence of the last ID.
    state: AtomicU64,
}

impl AtomicSnowflake {
    pub fn new(layout: Layout, datacenter: u64, worker: u64) -> Self {
        AtomicSnowflake { layout, datacenter, worker, state: AtomicU64::new(0) }
    }

    /// The next ID, waiting for the next tick when this one is full.
    pub fn next(&self) -> u64 {
        let bits = self.layout.sequence_bits;
        let max_sequence = self.layout.max_sequence();
        loop {
            let now = now_ms();
            let clock = self.layout.tick_of(now).unwrap_or(0);
            let current = self.state.load(Ordering::Relaxed);
            let (tick, sequence) = (current >> bits, current & max_sequence);
            let next = if clock > tick {
                clock << bits
            } else if sequence < max_sequence {
                current + 1
            } else {
                wait_until_ms(self.layout.epoch_ms + (tick + 1) * self.layout.tick_ms);
                continue;
            };
            if self.state.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
                let parts = Parts {
                    tick: next >> bits,
                    datacenter: self.datacenter,
                    worker: self.worker,
                    sequence: next & max_sequence,
                };
                // The configuration was checked and the tick is the clock's: it fits.
                return self.layout.compose(parts).unwrap_or_default();
            }
        }
    }
}

/// What a stream of segment IDs saw.
#[derive(Clone, Debug, Default)]
pub struct SegmentReport {
    pub ids: u64,
    /// Claims completed (one `INCRBY` each, two commands for the chapter's).
    pub claims: u64,
    /// The longest a caller waited for an ID because both buffers were empty (after the first
    /// claim).
    pub longest_stall: Duration,
    pub duplicates_or_disorder: u64,
}

/// Hands out segment IDs until `limit` (a time or a count), at most `rate` a second (0: as fast as it can), while
/// the claims run beside it on the same thread: the double buffer's claim overlaps the IDs
/// still in the current segment, and a caller waits only when both are empty.
pub async fn segment_stream(
    backend: &Backend,
    cfg: SegmentConfig,
    rate: u64,
    limit: Limit,
    mut on_id: impl FnMut(u64),
) -> Result<SegmentReport, BackendError> {
    let segments = Rc::new(RefCell::new(Segments::new(cfg).map_err(|e| BackendError(e.to_string()))?));
    let failure: Rc<RefCell<Option<BackendError>>> = Rc::default();
    let mut claim: Option<tokio::task::JoinHandle<()>> = None;
    let mut report = SegmentReport::default();
    let started = Instant::now();
    let mut last = 0u64;
    let more = |ids: u64| match limit {
        Limit::Duration(d) => started.elapsed() < d,
        Limit::Ops(n) => ids < n,
    };
    while more(report.ids) {
        if let Some(e) = failure.borrow_mut().take() {
            return Err(e);
        }
        let due = segments.borrow_mut().due(now_ms());
        if let Some(cmd) = due {
            let (segments, failure, backend) = (Rc::clone(&segments), Rc::clone(&failure), backend.clone());
            claim = Some(tokio::task::spawn_local(async move {
                let mut cmd = cmd;
                loop {
                    let reply = match backend.exec(&cmd).await {
                        Ok(Reply::Error(e)) => Err(BackendError(format!("claiming a segment: Redis answered {e}"))),
                        Ok(reply) => Ok(reply),
                        Err(e) => Err(e),
                    };
                    let next =
                        reply.and_then(|r| segments.borrow_mut().on_reply(&r).map_err(|e| BackendError(e.to_string())));
                    match next {
                        Ok(Some(next)) => cmd = next,
                        Ok(None) => return,
                        Err(e) => {
                            segments.borrow_mut().abandon();
                            *failure.borrow_mut() = Some(e);
                            return;
                        }
                    }
                }
            }));
        }
        let taken = segments.borrow_mut().take();
        match taken {
            Some(id) => {
                if id <= last {
                    report.duplicates_or_disorder += 1;
                }
                last = id;
                report.ids += 1;
                on_id(id);
                if rate > 0 {
                    let due = started + Duration::from_secs_f64(report.ids as f64 / rate as f64);
                    tokio::time::sleep_until(due.into()).await;
                } else if report.ids % 1_024 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            None => {
                // Both buffers empty: the caller waits for the claim in flight.
                let waited = Instant::now();
                if let Some(handle) = claim.take() {
                    let _ = handle.await;
                } else {
                    tokio::task::yield_now().await;
                }
                // The first claim is a cold start, not a refill: only waits after it count.
                if report.ids > 0 {
                    report.longest_stall = report.longest_stall.max(waited.elapsed());
                }
            }
        }
        if segments.borrow().fetch() == Fetch::Idle {
            claim = None;
        }
    }
    if let Some(handle) = claim.take() {
        let _ = handle.await;
    }
    report.claims = segments.borrow().claims();
    Ok(report)
}

/// A worker id leased from Redis under `distlab:id-TAG:worker:N` for this process, or `None`
/// when every id is held by others.
pub async fn lease_worker(
    backend: &Backend,
    owner: &str,
    max_worker: u64,
    ttl_ms: u64,
) -> Result<Option<WorkerLease>, BackendError> {
    let first = u64::from(std::process::id()) % (max_worker + 1);
    let mut lease = WorkerLease::new("", owner, ttl_ms, max_worker, first);
    for _ in 0..=max_worker {
        let cmd = lease.request(now_ms());
        let reply = backend.exec(&cmd).await?;
        lease.on_reply(&reply);
        if lease.worker(now_ms()).is_some() {
            return Ok(Some(lease));
        }
    }
    Ok(None)
}

/// Renews `lease` (a third of its TTL after the last grant, or whenever asked).
pub async fn renew(backend: &Backend, lease: &mut WorkerLease) -> Result<(), BackendError> {
    let cmd = lease.request(now_ms());
    let reply = backend.exec(&cmd).await?;
    lease.on_reply(&reply);
    Ok(())
}

/// Gives the worker id back at the end of a run (only while this process still owns it).
pub async fn release(backend: &Backend, lease: &WorkerLease, owner: &str) -> Result<(), BackendError> {
    if let Some(worker) = lease.held_worker() {
        let cmd = Cmd::Script {
            script: ScriptName::CompareAndDelete,
            keys: vec![format!("worker:{worker}")],
            args: vec![owner.to_owned()],
        };
        backend.exec(&cmd).await?;
    }
    Ok(())
}
