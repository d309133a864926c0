//! The engine's balancer as a real HTTP reverse proxy (46.4): requests go through it to backends
//! this test starts on 127.0.0.1; one is killed mid-run, and the requests that fail before it
//! leaves rotation are counted, under the chapter's sequential health checker and under passive
//! checks. Also the command's bad inputs.

use std::cell::{Cell, RefCell};
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};

use distlab::http_backend::{HttpBackend, HttpBackendConfig};
use distlab::proxy::{Event, Proxy, Target};
use distlab_engine::balance::balancer::{BalancerConfig, ProbeMode};
use distlab_engine::balance::health::{HealthConfig, PassiveConfig};
use distlab_engine::balance::{AlgorithmKind, Transition};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// What one run saw: requests sent, failed, failed after the killed backend left rotation, and
/// what each backend answered.
#[derive(Debug)]
struct Seen {
    sent: u64,
    failed: u64,
    failed_after_out: u64,
    out_after: Option<Duration>,
}

const FAST: HttpBackendConfig =
    HttpBackendConfig { latency_min_ms: 1, latency_max_ms: 2, tail_percent: 0, tail_factor: 1, fail_percent: 0 };

/// Sends a request every 5 ms for `run` through a proxy over three backends, kills `b` at
/// `kill_at`, and counts.
fn run_proxy(cfg: BalancerConfig, kill_at: Duration, run: Duration) -> Seen {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let backends: Vec<HttpBackend> = ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(i, n)| HttpBackend::start(n, FAST, i as u64 + 1).unwrap())
            .collect();
        let targets: Vec<Target> =
            backends.iter().map(|b| Target { name: b.name().to_owned(), url: b.url(), weight: 1 }).collect();
        let out: Rc<Cell<Option<Instant>>> = Rc::default();
        let heard = Rc::clone(&out);
        let report = Rc::new(move |e: Event| {
            let Event::Health { backend, to, .. } = e;
            if backend == "b" && to == Transition::Down && heard.get().is_none() {
                heard.set(Some(Instant::now()));
            }
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = Proxy::start(listener, &targets, cfg, 1, report, None).unwrap();
        let url = format!("http://{}/", proxy.addr());
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let results: Rc<RefCell<Vec<(Instant, bool)>>> = Rc::default();
        let mut calls = tokio::task::JoinSet::new();
        let start = Instant::now();
        let mut killed = false;
        while start.elapsed() < run {
            if !killed && start.elapsed() >= kill_at {
                backends[1].kill();
                killed = true;
            }
            let (client, url, results) = (client.clone(), url.clone(), Rc::clone(&results));
            calls.spawn_local(async move {
                let ok = match client.get(url.parse().unwrap()).await {
                    Ok(r) => {
                        let ok = r.status().is_success();
                        let _ = r.into_body().collect().await;
                        ok
                    }
                    Err(_) => false,
                };
                results.borrow_mut().push((Instant::now(), ok));
            });
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        while calls.join_next().await.is_some() {}
        let results = results.borrow();
        let out_at = out.get();
        let failed_after_out =
            results.iter().filter(|(t, ok)| !ok && out_at.is_some_and(|o| *t > o + Duration::from_millis(50))).count();
        Seen {
            sent: results.len() as u64,
            failed: results.iter().filter(|(_, ok)| !ok).count() as u64,
            failed_after_out: failed_after_out as u64,
            out_after: out_at.map(|o| o.saturating_duration_since(start + kill_at)),
        }
    })
}

fn config(probe_mode: ProbeMode, passive: Option<PassiveConfig>) -> BalancerConfig {
    BalancerConfig {
        algorithm: AlgorithmKind::RoundRobin,
        health: Some(HealthConfig { interval_ms: 500, timeout_ms: 250, jitter_ms: 0, ..HealthConfig::default() }),
        probe_mode,
        passive,
        slow_start: None,
        request_timeout_ms: 1_000,
        in_flight_max: 10_000,
    }
}

#[test]
fn a_killed_backend_fails_requests_for_seconds_under_the_chapters_checker_and_once_under_passive_checks() {
    let chapter = run_proxy(config(ProbeMode::Chapter, None), Duration::from_millis(500), Duration::from_millis(3_500));
    let passive = run_proxy(
        config(ProbeMode::Concurrent, Some(PassiveConfig::Nginx { max_fails: 1, fail_timeout_ms: 10_000 })),
        Duration::from_millis(500),
        Duration::from_millis(3_500),
    );
    eprintln!("chapter's checker: {chapter:?}\npassive checks: {passive:?}");
    for seen in [&chapter, &passive] {
        assert!(seen.sent > 300, "the load ran: {seen:?}");
        assert!(seen.out_after.is_some(), "b left rotation: {seen:?}");
        assert_eq!(seen.failed_after_out, 0, "nothing failed once b was out: {seen:?}");
    }
    // Three failed probes, each waiting out its 250 ms timeout, half a second apart: over a
    // second in rotation, a third of the requests failing meanwhile.
    assert!(chapter.out_after.unwrap() >= Duration::from_millis(1_000), "{chapter:?}");
    assert!(chapter.failed >= 40, "{chapter:?}");
    // nginx's max_fails 1: the first refused request ejects b.
    assert!(passive.out_after.unwrap() < Duration::from_millis(300), "{passive:?}");
    assert!(passive.failed <= 3, "{passive:?}");
}

#[test]
fn the_proxy_returns_the_backends_answers_in_turn_and_the_command_refuses_bad_input() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let backends: Vec<HttpBackend> =
            ["a", "b", "c"].iter().enumerate().map(|(i, n)| HttpBackend::start(n, FAST, i as u64).unwrap()).collect();
        let targets: Vec<Target> = backends
            .iter()
            .zip([5, 1, 1])
            .map(|(b, w)| Target { name: b.name().to_owned(), url: b.url(), weight: w })
            .collect();
        let mut cfg = config(ProbeMode::Concurrent, None);
        cfg.algorithm = AlgorithmKind::SmoothWrr;
        let proxy =
            Proxy::start(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), &targets, cfg, 1, Rc::new(|_| {}), None)
                .unwrap();
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let mut seen = String::new();
        for _ in 0..7 {
            let r = client.get(format!("http://{}/any", proxy.addr()).parse().unwrap()).await.unwrap();
            seen.push_str(std::str::from_utf8(&r.into_body().collect().await.unwrap().to_bytes()).unwrap());
        }
        assert_eq!(seen, "a\na\nb\na\nc\na\na\n", "nginx's smooth sequence for 5, 1, 1, through real HTTP");
        assert_eq!(backends.iter().map(HttpBackend::served).collect::<Vec<_>>(), [5, 1, 1]);
    });

    let distlab = env!("CARGO_BIN_EXE_distlab");
    for (args, says) in [
        (&["--algorithm", "fastest"][..], "--algorithm \"fastest\": the algorithms are round_robin"),
        (&["--backends", "ftp://x:1"][..], "a base URL like http://127.0.0.1:9001"),
        (&["--spawn", "3", "--weights", "1,2"][..], "--weights: 2 weights for 3 backends"),
        (&["--health", "sometimes"][..], "--health \"sometimes\": one of concurrent, chapter, off"),
        (&["--latency-ms", "9-2"][..], "MIN-MAX milliseconds"),
    ] {
        let out =
            Command::new(distlab).args(["lb", "serve", "--port", "0", "--duration", "1"]).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let out =
        Command::new(distlab).args(["lb", "serve", "--port", "0", "--duration", "1", "--spawn", "2"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("distlab lb: http://127.0.0.1:") && stdout.contains("requests 0, failed 0"), "{stdout}");
}
