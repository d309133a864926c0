//! `distlab lb picks`: the backends a load-balancing algorithm picks (46.4.1, exercise 4), so a
//! student can set the chapter's algorithms beside the fixed ones from the shell: the sequence
//! for the ones that take turns, and one line per key for the ones that hash. `distlab lb serve`:
//! the engine's balancer as a real HTTP reverse proxy ([`distlab::proxy`]), in front of backends
//! it starts itself ([`distlab::http_backend`]) or of yours, printing every change of rotation.

use std::io::{BufRead, Write};

use anyhow::Context;
use clap::{Args, Subcommand};
use std::rc::Rc;

use distlab::http_backend::{HttpBackend, HttpBackendConfig};
use distlab::proxy::{Admin, Event, Proxy, Stats, Target};
use distlab_engine::balance::balancer::{BalancerConfig, ProbeMode};
use distlab_engine::balance::health::{HealthConfig, PassiveConfig, SlowStart};
use distlab_engine::balance::{Algorithm, AlgorithmKind, Transition, View};
use distlab_engine::sim::Rng;
use serde_json::json;

use crate::{Failure, Outcome};

#[derive(Debug, Subcommand)]
pub enum LbCommand {
    /// Run an HTTP/1.1 reverse proxy on 127.0.0.1 whose backend choice and health checks are the
    /// engine's balancer, in front of backends it starts itself (--spawn) or of yours
    /// (--backends, probed with GET /health). Runs until Ctrl-C or --duration. Its own backends
    /// are controlled at /_distlab/kill/NAME, /_distlab/revive/NAME, /_distlab/slow/NAME/FACTOR;
    /// /_distlab/stats counts what was sent where.
    Serve(ServeArgs),
    /// Print the backends an algorithm picks: one per line for the ones that take turns
    /// (--count of them), `key<TAB>backend` for each key of --keys or stdin for the ones that
    /// hash. No request is in flight here: the load-aware algorithms see idle backends.
    Picks(PicksArgs),
}

#[derive(Debug, Args)]
pub struct PicksArgs {
    /// One of: round_robin, smooth_wrr, least_conn, least_outstanding, ip_hash, bounded_load,
    /// maglev, p2c_ewma, random, and the chapter's chapter_round_robin, chapter_weighted,
    /// chapter_least_conn, chapter_ip_hash, chapter_consistent.
    #[arg(long)]
    algorithm: String,
    /// The backends in order, each NAME or NAME=WEIGHT (an integer, 1 when left out).
    #[arg(long, value_delimiter = ',', required = true, value_name = "NAME[=W],...")]
    backends: Vec<String>,
    /// For the algorithms that hash: read keys (client addresses, or request keys) from this
    /// file, one a line; from stdin when left out.
    #[arg(long, value_name = "FILE")]
    keys: Option<std::path::PathBuf>,
    /// For the algorithms that take turns: how many picks [default: 20].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    count: Option<u64>,
    /// Backends out of rotation, comma-separated. For the algorithms that hash, each key's
    /// backend is printed before and after, and how many keys moved goes to stderr.
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    down: Vec<String>,
    /// The seed of the random algorithms.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The largest weight accepted: enough for any ratio a lab needs, small enough that smooth
/// weighted round robin's running sums never come near overflowing.
const WEIGHT_MAX: u32 = 1_000_000;

fn bad(message: String) -> Failure {
    Failure::bad_input(anyhow::anyhow!(message))
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The balancing algorithm (see `lb picks --help`).
    #[arg(long, default_value = "round_robin")]
    algorithm: String,
    /// The port to listen on, on 127.0.0.1 (0: any free port; the address is printed).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Your backends' base URLs (http://host:port), instead of starting some.
    #[arg(long, value_delimiter = ',', value_name = "URL,...", conflicts_with = "spawn")]
    backends: Vec<String>,
    /// How many backends to start on 127.0.0.1, named a, b, c, … [default: 3].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=8))]
    spawn: Option<u32>,
    /// One weight per backend, in order [default: 1 each].
    #[arg(long, value_delimiter = ',', value_name = "W,...")]
    weights: Vec<u32>,
    /// The started backends' service time, uniform in MIN-MAX milliseconds.
    #[arg(long, default_value = "2-8", value_name = "MIN-MAX")]
    latency_ms: String,
    /// The share of the started backends' requests that take --tail-factor times as long.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=100))]
    tail_percent: u32,
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=1000))]
    tail_factor: u64,
    /// The share of the started backends' requests answered with a 500.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
    fail_percent: u32,
    /// Active checks: concurrent (each backend on its own jittered schedule), chapter (the
    /// chapter's sequential loop) or off.
    #[arg(long, default_value = "concurrent")]
    health: String,
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    interval_ms: u64,
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    timeout_ms: u64,
    /// Passive checks on real requests: nginx (--max-fails in --fail-timeout-ms), envoy (5 in a
    /// row) or off.
    #[arg(long, default_value = "nginx")]
    passive: String,
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    max_fails: u32,
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    fail_timeout_ms: u64,
    /// A recovered backend's weight ramps up over this long (0: at once).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    slow_start_ms: u64,
    /// A request a backend has not answered in this long fails.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    request_timeout_ms: u64,
    /// Stop after this many seconds instead of at Ctrl-C.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    duration: Option<u64>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn run(cmd: LbCommand) -> Result<Outcome, Failure> {
    match cmd {
        LbCommand::Picks(args) => picks(&args),
        LbCommand::Serve(args) => {
            let settings = serve_settings(&args)?;
            crate::on_runtime(|| async move { serve(args, settings).await })
        }
    }
}

/// What `lb serve` runs, checked before anything starts.
struct ServeSettings {
    balancer: BalancerConfig,
    backend: HttpBackendConfig,
}

fn serve_settings(args: &ServeArgs) -> Result<ServeSettings, Failure> {
    let names = AlgorithmKind::ALL.map(AlgorithmKind::as_str).join(", ");
    let algorithm = AlgorithmKind::parse(&args.algorithm)
        .ok_or_else(|| bad(format!("--algorithm {:?}: the algorithms are {names}", args.algorithm)))?;
    let health_cfg =
        HealthConfig { interval_ms: args.interval_ms, timeout_ms: args.timeout_ms, ..HealthConfig::default() };
    let (health, probe_mode) = match args.health.as_str() {
        "concurrent" => (Some(health_cfg), ProbeMode::Concurrent),
        "chapter" => (Some(HealthConfig { jitter_ms: 0, ..health_cfg }), ProbeMode::Chapter),
        "off" => (None, ProbeMode::Concurrent),
        other => return Err(bad(format!("--health {other:?}: one of concurrent, chapter, off"))),
    };
    let passive = match args.passive.as_str() {
        "nginx" => Some(PassiveConfig::Nginx { max_fails: args.max_fails, fail_timeout_ms: args.fail_timeout_ms }),
        "envoy" => Some(PassiveConfig::ENVOY_DEFAULT),
        "off" => None,
        other => return Err(bad(format!("--passive {other:?}: one of nginx, envoy, off"))),
    };
    let (lo, hi) = args
        .latency_ms
        .split_once('-')
        .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
        .filter(|(a, b)| a <= b && *b <= 60_000)
        .ok_or_else(|| bad(format!("--latency-ms {:?}: MIN-MAX milliseconds, MIN <= MAX <= 60000", args.latency_ms)))?;
    Ok(ServeSettings {
        balancer: BalancerConfig {
            algorithm,
            health,
            probe_mode,
            passive,
            slow_start: (args.slow_start_ms > 0).then_some(SlowStart { window_ms: args.slow_start_ms }),
            request_timeout_ms: args.request_timeout_ms,
            in_flight_max: 100_000,
        },
        backend: HttpBackendConfig {
            latency_min_ms: lo,
            latency_max_ms: hi,
            tail_percent: args.tail_percent,
            tail_factor: args.tail_factor,
            fail_percent: args.fail_percent,
        },
    })
}

/// Names for the backends, in order: a, b, c, …
const NAMES: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];

async fn serve(args: ServeArgs, settings: ServeSettings) -> Result<Outcome, Failure> {
    let count = if args.backends.is_empty() { args.spawn.unwrap_or(3) as usize } else { args.backends.len() };
    if count > NAMES.len() {
        return Err(bad(format!("--backends: at most {} backends", NAMES.len())));
    }
    if !args.weights.is_empty() && args.weights.len() != count {
        return Err(bad(format!("--weights: {} weights for {count} backends", args.weights.len())));
    }
    if let Some(w) = args.weights.iter().find(|w| !(1..=WEIGHT_MAX).contains(*w)) {
        return Err(bad(format!("--weights: {w} is out of range 1..={WEIGHT_MAX}")));
    }
    for url in &args.backends {
        let uri: hyper::Uri = url.parse().map_err(|e| bad(format!("--backends {url:?}: {e}")))?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() || uri.path() != "/" {
            return Err(bad(format!("--backends {url:?}: a base URL like http://127.0.0.1:9001")));
        }
    }
    let owned: Rc<Vec<HttpBackend>> = Rc::new(if args.backends.is_empty() {
        (0..count)
            .map(|i| HttpBackend::start(NAMES[i], settings.backend, args.seed ^ (i as u64 + 1)))
            .collect::<std::io::Result<_>>()
            .context("starting the backends")
            .map_err(Failure::runtime)?
    } else {
        Vec::new()
    });
    let targets: Vec<Target> = (0..count)
        .map(|i| Target {
            name: NAMES[i].to_owned(),
            url: owned.get(i).map_or_else(|| args.backends[i].trim_end_matches('/').to_owned(), HttpBackend::url),
            weight: args.weights.get(i).copied().unwrap_or(1),
        })
        .collect();
    let listener = std::net::TcpListener::bind(("127.0.0.1", args.port))
        .with_context(|| format!("--port {}: cannot listen on 127.0.0.1:{}", args.port, args.port))
        .map_err(Failure::bad_input)?;
    let started = std::time::Instant::now();
    let report: Rc<dyn Fn(Event)> = Rc::new(move |e| match e {
        Event::Health { backend, to, by_probes } => println!(
            "{:>8.3} s  {backend} {} ({})",
            started.elapsed().as_secs_f64(),
            if to == Transition::Down { "out of rotation" } else { "back in rotation" },
            if by_probes { "health probes" } else { "failed requests" }
        ),
    });
    let control = Rc::clone(&owned);
    let stats_cell: Rc<std::cell::RefCell<Option<Rc<Stats>>>> = Rc::default();
    let stats_for_admin = Rc::clone(&stats_cell);
    let target_names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
    let admin: Admin =
        Rc::new(move |rest: &str| admin(rest, &control, stats_for_admin.borrow().as_deref(), &target_names));
    let proxy = Proxy::start(listener, &targets, settings.balancer, args.seed, report, Some(admin))
        .context("starting the proxy")
        .map_err(Failure::runtime)?;
    *stats_cell.borrow_mut() = Some(Rc::clone(&proxy.stats));
    println!("distlab lb: http://{}/ ({}, {count} backends)", proxy.addr(), args.algorithm);
    for t in &targets {
        println!("  {} {} weight {}", t.name, t.url, t.weight);
    }
    if !owned.is_empty() {
        println!("  control: /_distlab/kill/NAME, /_distlab/revive/NAME, /_distlab/slow/NAME/FACTOR, /_distlab/stats");
    }
    let stop = async {
        match args.duration {
            Some(s) => tokio::time::sleep(std::time::Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    let outcome = tokio::select! {
        () = stop => Ok(Outcome::Ok),
        stop = crate::signals::stopped() => Err(stop),
    };
    println!("{}", stats_line(&proxy.stats, &targets));
    drop(proxy);
    drop(owned);
    outcome
}

fn stats_line(stats: &Stats, targets: &[Target]) -> String {
    let routed = stats.routed.borrow();
    let per: Vec<String> = targets.iter().zip(routed.iter()).map(|(t, n)| format!("{} {n}", t.name)).collect();
    format!("requests {}, failed {}; sent: {}", stats.requests.get(), stats.failed.get(), per.join(", "))
}

/// `/_distlab/...` on the proxy: the started backends' kill switch and slow-down, and the counts.
fn admin(rest: &str, owned: &[HttpBackend], stats: Option<&Stats>, names: &[String]) -> Option<String> {
    let parts: Vec<&str> = rest.split('/').collect();
    let find = |name: &str| owned.iter().find(|b| b.name() == name);
    match parts.as_slice() {
        ["stats"] => stats.map(|s| {
            let routed = s.routed.borrow();
            let per: serde_json::Map<String, serde_json::Value> =
                names.iter().zip(routed.iter()).map(|(n, c)| (n.clone(), json!(c))).collect();
            format!("{}\n", json!({ "requests": s.requests.get(), "failed": s.failed.get(), "routed": per }))
        }),
        ["kill", name] => find(name).map(|b| {
            b.kill();
            format!("{name} killed\n")
        }),
        ["revive", name] => find(name).map(|b| match b.revive() {
            Ok(()) => format!("{name} running\n"),
            Err(e) => format!("{name} could not listen again: {e}\n"),
        }),
        ["slow", name, factor] => {
            let factor = factor.parse::<u64>().ok().filter(|f| (1..=1_000).contains(f))?;
            find(name).map(|b| {
                b.slow(factor);
                format!("{name} slowed ×{factor}\n")
            })
        }
        _ => None,
    }
}

fn parse_backends(specs: &[String]) -> Result<View, Failure> {
    let mut pairs: Vec<(String, u32)> = Vec::new();
    for spec in specs {
        let (name, weight) = match spec.split_once('=') {
            Some((name, w)) => {
                let weight = w.parse::<u32>().ok().filter(|w| *w <= WEIGHT_MAX).ok_or_else(|| {
                    bad(format!("--backends {spec:?}: the weight must be an integer 0..={WEIGHT_MAX}"))
                })?;
                (name, weight)
            }
            None => (spec.as_str(), 1),
        };
        if name.is_empty() {
            return Err(bad(format!("--backends {spec:?}: a backend needs a name")));
        }
        if pairs.iter().any(|(n, _)| n == name) {
            return Err(bad(format!("--backends: {name:?} is given twice")));
        }
        pairs.push((name.to_owned(), weight));
    }
    let refs: Vec<(&str, u32)> = pairs.iter().map(|(n, w)| (n.as_str(), *w)).collect();
    Ok(View::new(&refs))
}

fn picks(args: &PicksArgs) -> Result<Outcome, Failure> {
    let names = AlgorithmKind::ALL.map(AlgorithmKind::as_str).join(", ");
    let kind = AlgorithmKind::parse(&args.algorithm)
        .ok_or_else(|| bad(format!("unknown algorithm {:?}: the algorithms are {names}", args.algorithm)))?;
    let all = parse_backends(&args.backends)?;
    let mut view = all.clone();
    for name in &args.down {
        if !view.set_up(name, false) {
            return Err(bad(format!("--down {name:?} is not one of --backends")));
        }
    }
    if !view.backends.iter().any(|b| b.up && b.weight > 0) {
        return Err(bad("no backend is left in rotation (every one is --down or weighs 0)".to_owned()));
    }
    if kind.is_keyed() {
        if args.count.is_some() {
            return Err(bad(format!("{} hashes keys: give them with --keys or on stdin, not --count", kind.as_str())));
        }
        return keyed(kind, &all, &view, args);
    }
    if args.keys.is_some() {
        return Err(bad(format!("{} takes turns and reads no keys: give --count instead", kind.as_str())));
    }
    let mut picker = kind.build(&view);
    let mut rng = Rng::new(args.seed);
    let count = args.count.unwrap_or(20);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut picked = Vec::new();
    for _ in 0..count {
        let Some(i) = picker.pick("", &view, &mut rng) else { break };
        let name = &view.backends[i].name;
        if args.json {
            picked.push(name.clone());
        } else {
            writeln!(out, "{name}").map_err(Failure::runtime)?;
        }
    }
    if args.json {
        let report = json!({ "algorithm": kind.as_str(), "backends": backends_json(&view), "picks": picked });
        writeln!(out, "{report}").map_err(Failure::runtime)?;
    }
    out.flush().map_err(Failure::runtime)?;
    Ok(Outcome::Ok)
}

fn backends_json(view: &View) -> serde_json::Value {
    view.backends.iter().map(|b| json!({ "name": b.name, "weight": b.weight, "up": b.up })).collect()
}

fn keyed(kind: AlgorithmKind, all: &View, view: &View, args: &PicksArgs) -> Result<Outcome, Failure> {
    let input: Box<dyn BufRead> = match &args.keys {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path)
                .with_context(|| format!("--keys {}", path.display()))
                .map_err(Failure::bad_input)?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let changed = !args.down.is_empty();
    let (mut before, mut after) = (kind.build(all), kind.build(view));
    let mut rng = Rng::new(args.seed);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut keys, mut moved, mut forced) = (0u64, 0u64, 0u64);
    let mut rows = Vec::new();
    for line in input.lines() {
        let key = line.context("reading keys").map_err(Failure::bad_input)?;
        let key = key.strip_suffix('\r').unwrap_or(&key);
        if key.is_empty() {
            continue;
        }
        let name = |picked: Option<usize>, v: &View| picked.map_or("-", |i| v.backends[i].name.as_str()).to_owned();
        let now = name(after.pick(key, view, &mut rng), view);
        keys += 1;
        if changed {
            let was_index = before.pick(key, all, &mut rng);
            let was = name(was_index, all);
            moved += u64::from(was != now);
            forced += u64::from(was_index.is_some_and(|i| !view.backends[i].up));
            if args.json {
                rows.push(json!({ "key": key, "before": was, "backend": now }));
            } else {
                writeln!(out, "{key}\t{was}\t{now}").map_err(Failure::runtime)?;
            }
        } else if args.json {
            rows.push(json!({ "key": key, "backend": now }));
        } else {
            writeln!(out, "{key}\t{now}").map_err(Failure::runtime)?;
        }
    }
    if args.json {
        let mut report = json!({ "algorithm": kind.as_str(), "backends": backends_json(view), "keys": rows });
        if changed {
            report["moved"] = json!(moved);
            report["forced"] = json!(forced);
        }
        writeln!(out, "{report}").map_err(Failure::runtime)?;
    } else if changed {
        eprintln!(
            "{moved} of {keys} keys moved; {forced} had to (their backend is down), {} more did not",
            moved - forced
        );
    }
    out.flush().map_err(Failure::runtime)?;
    Ok(Outcome::Ok)
}
