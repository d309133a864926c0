//! The distributed rate limiters on Redis (the chapter's fifth learning goal): a benchmark row
//! per algorithm, checks per second through the `rate_limit` script next to the same run's
//! `EVALSHA` baseline (one round trip per check, each client on a key of its own), and the
//! accuracy audit of `distlab bench limit-audit`: many clients hammering one key at ten times
//! its rate, every admission's time read back from the script's reply (the server's clock), and
//! the algorithm's promise checked on them.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use distlab_engine::check::rate::{RateAudit, audit};
use distlab_engine::resilience::limit::{Algorithm, Rate};
use distlab_engine::store::{Cmd, Reply, ScriptName};

use super::{BenchError, BenchOptions, Progress, Sample, commands};
use crate::backend::{Backend, BackendError};
use crate::target::Target;

/// The rows' rate: 1,000 a second with a burst of 100 (what each client's own key allows).
const ROW_RATE: (u64, u64, u64) = (1_000, 1_000_000, 100);

/// The script's call: `key`, the algorithm and the rate, on the server's clock.
pub fn check_cmd(key: String, algorithm: Algorithm, rate: Rate) -> Cmd {
    let args = vec![
        algorithm.name().to_owned(),
        rate.limit.to_string(),
        rate.period.as_micros().to_string(),
        rate.burst.to_string(),
        String::new(),
    ];
    Cmd::Script { script: ScriptName::RateLimit, keys: vec![key], args }
}

/// One benchmark row: `--clients` clients, each checking its own key, one check per round trip.
pub async fn row(
    target: &Target,
    opts: &BenchOptions,
    progress: Progress,
    algorithm: Algorithm,
) -> Result<Sample, BenchError> {
    let (limit, period, burst) = ROW_RATE;
    let rate = Rate::new(limit, distlab_engine::sim::SimDuration::from_micros(period), burst).expect("a valid rate");
    let make = move |c: usize, _| check_cmd(format!("{{bench-limit}}:{}:{c}", algorithm.name()), algorithm, rate);
    commands(target.primary(), opts, 1, progress, make)
        .await
        .map_err(|source| BenchError::Backend { measurement: format!("limit-{}", algorithm.name()), source })
}

/// What one audit of one algorithm saw.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AuditRow {
    pub algorithm: &'static str,
    pub checks: u64,
    pub admitted: u64,
    pub audit: RateAudit,
}

/// `clients` clients sending `checks_per_second` checks in all to one key for `duration`, then
/// the promise checked on the admissions' server times.
pub async fn audit_one(
    backend: &Backend,
    algorithm: Algorithm,
    rate: Rate,
    clients: usize,
    checks_per_second: u64,
    duration: Duration,
) -> Result<AuditRow, BackendError> {
    let key = format!("{{limit-audit}}:{}", algorithm.name());
    let admitted: Rc<RefCell<Vec<u64>>> = Rc::new(RefCell::new(Vec::new()));
    let checks = Rc::new(std::cell::Cell::new(0u64));
    let started = Instant::now();
    // Each client paces itself to its share of the rate, from its own start.
    let every = Duration::from_secs_f64(clients as f64 / checks_per_second.max(1) as f64);
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let (backend, key, admitted, checks) = (backend.clone(), key.clone(), Rc::clone(&admitted), Rc::clone(&checks));
        tasks.spawn_local(async move {
            let mut next = started + every.mul_f64(c as f64 / clients as f64);
            while started.elapsed() < duration {
                tokio::time::sleep_until(tokio::time::Instant::from_std(next)).await;
                next += every;
                let reply = backend.exec(&check_cmd(key.clone(), algorithm, rate)).await?;
                checks.set(checks.get() + 1);
                match reply {
                    Reply::Array(items) => {
                        if let [Reply::Int(code), Reply::Int(wait), Reply::Int(now)] = items.as_slice()
                            && *code != 0
                        {
                            // The leaky bucket's promise is about departures: now + wait.
                            let at = if *code == 2 { now + wait } else { *now };
                            admitted.borrow_mut().push(u64::try_from(at).unwrap_or(0));
                        }
                    }
                    Reply::Error(e) => return Err(BackendError(format!("rate_limit answered {e}"))),
                    other => return Err(BackendError(format!("rate_limit answered {other:?}"))),
                }
            }
            Ok::<_, BackendError>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|e| BackendError(e.to_string()))??;
    }
    let mut times = admitted.take();
    times.sort_unstable();
    Ok(AuditRow {
        algorithm: algorithm.name(),
        checks: checks.get(),
        admitted: times.len() as u64,
        audit: audit(algorithm, rate, &times),
    })
}
