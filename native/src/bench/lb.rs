//! The load balancer's bench rows (46.4): `lb-<algorithm>` sends the benchmark's load through
//! the HTTP proxy ([`crate::proxy`], the engine's balancer in the real-time driver) to three
//! backends that answer at once, next to the `HTTP` baseline: the same load sent straight to one
//! such backend in the same run, so the ratio is the proxy's own cost. Then, for as long as the
//! row ran (at most two seconds) or as many requests (`--ops`), the same load through the proxy
//! to backends of 2–8 ms with one of them ten times slower:
//! the p99 and the slow backend's share of requests, as details, show what each algorithm does
//! with a slow backend.
//!
//! Everything shares the benchmark's one thread (clients, proxy, backends), so the figures are
//! CPU cost on this machine, not a network's.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use distlab_engine::balance::AlgorithmKind;
use distlab_engine::balance::balancer::{BalancerConfig, ProbeMode};
use distlab_engine::balance::health::{HealthConfig, PassiveConfig};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::{BenchError, BenchOptions, Budget, Histogram, Limit, Progress, Sample};
use crate::http_backend::{HttpBackend, HttpBackendConfig};
use crate::proxy::{Proxy, Target};

/// Backends that answer at once: what is measured is the path, not the work.
const INSTANT: HttpBackendConfig =
    HttpBackendConfig { latency_min_ms: 0, latency_max_ms: 0, tail_percent: 0, tail_factor: 1, fail_percent: 0 };
/// The slow-backend phase: the `lb` scenario's backends, one slowed ten times.
const SLOW_PHASE: Duration = Duration::from_secs(2);
const SLOW_FACTOR: u64 = 10;

fn failed(measurement: &str, e: impl std::fmt::Display) -> BenchError {
    BenchError::Http { measurement: measurement.to_owned(), reason: e.to_string() }
}

/// Distinct paths the load cycles through: the hashing algorithms hash the path, so a single
/// path would put every request on one backend.
const PATHS: u64 = 1_000;

/// `clients` tasks each sending GETs to `base` (`http://host:port`) one after another, each to
/// the next of [`PATHS`] paths, until the budget is spent.
async fn load(base: &str, clients: usize, budget: Budget, progress: &Progress) -> Sample {
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let (client, budget, progress, base) = (client.clone(), budget.clone(), progress.clone(), base.to_owned());
        tasks.spawn_local(async move {
            let (mut hist, mut ops, mut errors) = (Histogram::default(), 0u64, 0u64);
            let mut seq = c as u64;
            while budget.take(1) == 1 {
                let Ok(uri) = format!("{base}/k{}", seq % PATHS).parse::<hyper::Uri>() else { break };
                seq += clients as u64;
                let t = Instant::now();
                let ok = match client.get(uri).await {
                    Ok(r) => r.status().is_success() && r.into_body().collect().await.is_ok(),
                    Err(_) => false,
                };
                hist.record(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
                ops += 1;
                errors += u64::from(!ok);
                progress.add(1);
            }
            (ops, errors, hist)
        });
    }
    let mut sample = Sample {
        ops: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Histogram::default(),
        details: BTreeMap::new(),
        redis_errors: BTreeMap::new(),
    };
    while let Some(Ok((ops, errors, hist))) = tasks.join_next().await {
        sample.ops += ops;
        sample.errors += errors;
        sample.latencies.merge(&hist);
    }
    sample.elapsed = started.elapsed();
    sample
}

/// The `HTTP` baseline: the load straight to one backend that answers at once.
pub(super) async fn baseline(opts: &BenchOptions, progress: Progress) -> Result<Sample, BenchError> {
    let backend = HttpBackend::start("a", INSTANT, 1).map_err(|e| failed("baseline HTTP", e))?;
    Ok(load(&backend.url(), opts.clients, Budget::new(opts.limit), &progress).await)
}

fn balancer(algorithm: AlgorithmKind) -> BalancerConfig {
    BalancerConfig {
        algorithm,
        health: Some(HealthConfig::default()),
        probe_mode: ProbeMode::Concurrent,
        passive: Some(PassiveConfig::NGINX_DEFAULT),
        slow_start: None,
        request_timeout_ms: 10_000,
        in_flight_max: 100_000,
    }
}

/// Three backends of `cfg` and a proxy running `algorithm` in front of them.
fn proxied(
    name: &str,
    algorithm: AlgorithmKind,
    cfg: HttpBackendConfig,
) -> Result<(Vec<HttpBackend>, Proxy), BenchError> {
    let backends: Vec<HttpBackend> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, n)| HttpBackend::start(n, cfg, i as u64 + 1))
        .collect::<std::io::Result<_>>()
        .map_err(|e| failed(name, e))?;
    let targets: Vec<Target> =
        backends.iter().map(|b| Target { name: b.name().to_owned(), url: b.url(), weight: 1 }).collect();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| failed(name, e))?;
    let proxy =
        Proxy::start(listener, &targets, balancer(algorithm), 1, Rc::new(|_| {}), None).map_err(|e| failed(name, e))?;
    Ok((backends, proxy))
}

/// One `lb-<algorithm>` row: the load through the proxy; then the slow-backend phase's p99 and
/// the slowed backend's share, as details.
pub(super) async fn row(
    opts: &BenchOptions,
    progress: Progress,
    algorithm: AlgorithmKind,
) -> Result<Sample, BenchError> {
    let name = format!("lb-{}", algorithm.as_str());
    let (_backends, proxy) = proxied(&name, algorithm, INSTANT)?;
    let mut sample = load(&format!("http://{}", proxy.addr()), opts.clients, Budget::new(opts.limit), &progress).await;
    drop(proxy);
    let (backends, proxy) = proxied(&name, algorithm, HttpBackendConfig::default())?;
    backends[1].slow(SLOW_FACTOR);
    let phase = match opts.limit {
        Limit::Duration(d) => Limit::Duration(d.min(SLOW_PHASE)),
        Limit::Ops(n) => Limit::Ops(n),
    };
    let slow = load(&format!("http://{}", proxy.addr()), opts.clients, Budget::new(phase), &Progress::default()).await;
    let served: Vec<u64> = backends.iter().map(HttpBackend::served).collect();
    let total = served.iter().sum::<u64>().max(1);
    sample.details.insert("slow_p99_ms".into(), slow.latencies.percentile(990) as f64 / 1_000.0);
    sample.details.insert("slow_share_percent".into(), (1_000.0 * served[1] as f64 / total as f64).round() / 10.0);
    sample.details.insert("slow_errors".into(), slow.errors as f64);
    Ok(sample)
}
