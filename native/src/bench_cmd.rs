//! `distlab bench`: connect to the target, measure, print, clean up after itself.

use std::time::Duration;

use clap::{Args, Subcommand};
use distlab::bench::{self, BenchOptions, Limit};
use distlab::target::{Target, TargetSpec};
use distlab_engine::hashing::VNODES_MAX;

use crate::{Failure, Outcome};

/// Where the store commands go. With none of these, distlab starts its own redis-server.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct TargetArgs {
    /// A standalone Redis: redis://[user:password@]host:port[/db], or rediss:// for TLS.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// Several independent Redis servers, comma-separated (Redlock, client-side sharding).
    #[arg(long, value_name = "URL,URL,...", value_delimiter = ',')]
    redis_nodes: Option<Vec<String>>,
    /// A Redis Cluster, through any one of its nodes.
    #[arg(long, value_name = "URL")]
    cluster: Option<String>,
}

impl TargetArgs {
    pub fn spec(&self) -> TargetSpec {
        match (&self.redis, &self.redis_nodes, &self.cluster) {
            (Some(url), _, _) => TargetSpec::Redis(url.clone()),
            (_, Some(urls), _) => TargetSpec::Nodes(urls.clone()),
            (_, _, Some(url)) => TargetSpec::Cluster(url.clone()),
            _ => TargetSpec::Embedded,
        }
    }
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: Option<BenchCommand>,
    #[command(flatten)]
    target: TargetArgs,
    /// Concurrent clients sharing one connection.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    clients: u32,
    /// Seconds per measurement (e.g. 5, 0.5).
    #[arg(long, value_name = "S", conflicts_with = "ops", value_parser = parse_seconds)]
    duration: Option<Duration>,
    /// Operations per measurement instead of a duration (at most a billion: an hour's worth of
    /// the fastest row, as --duration is at most an hour).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    ops: Option<u64>,
    /// Commands per round trip for the baselines.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pipeline: u32,
    /// Measure only these patterns (the baselines are always measured).
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    only: Vec<String>,
    /// The simulated database's answer time in the cache patterns: milliseconds, or a range
    /// MIN-MAX drawn uniformly per request.
    #[arg(long, value_name = "MS[-MS]", default_value = "1-3", value_parser = parse_latency)]
    db_latency_ms: (u64, u64),
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Spread keys over independent Redis servers by the consistent-hash ring, jump hash and
    /// hash % N (46.1.1): keys per server, counted by scanning each, and the keys that must move
    /// when the last server joins, next to the ideal 1/N; on --cluster, Redis Cluster's own slot
    /// placement over its masters. Without a target, starts 4 private servers.
    Shard(ShardArgs),
    /// The distributed rate limiters' accuracy (the `rate_limit` script): for each algorithm,
    /// --clients clients hammer one key at ten times its rate for --duration seconds; every
    /// admission's time is read back from the script's reply (the server's clock) and the
    /// algorithm's promise checked on them. Exit 1 if any is broken.
    LimitAudit(LimitAuditArgs),
    /// Distributed IDs' uniqueness: --processes `distlab id gen` processes of --threads threads
    /// each mint against one Redis for --duration seconds (Snowflakes under leased worker ids,
    /// or segments from one counter); every ID is collected and checked. Exit 1 on a duplicate.
    IdAudit(IdAuditArgs),
}

#[derive(Debug, Args)]
struct IdAuditArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    processes: u64,
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    threads: u64,
    /// Seconds of minting.
    #[arg(long, value_name = "S", default_value = "3", value_parser = parse_seconds)]
    duration: Duration,
    /// Which generators: snowflake, segment, or both (the default).
    #[arg(long, value_delimiter = ',', default_values_t = [IdAuditKind::Snowflake, IdAuditKind::Segment])]
    kinds: Vec<IdAuditKind>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum IdAuditKind {
    Snowflake,
    Segment,
}

impl std::fmt::Display for IdAuditKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IdAuditKind::Snowflake => "snowflake",
            IdAuditKind::Segment => "segment",
        })
    }
}

/// Runs the audit's processes against `--redis`, `--cluster` or a private server started here.
async fn id_audit(args: &IdAuditArgs) -> Result<Outcome, Failure> {
    use anyhow::anyhow;
    let (server, target_args) = match args.target.spec() {
        TargetSpec::Embedded => {
            let server = distlab::server::LocalRedis::start()
                .map_err(|e| Failure::bad_input(anyhow!("bench id-audit needs a real Redis: {e}")))?;
            let url = server.url();
            (Some(server), vec!["--redis".to_owned(), url])
        }
        TargetSpec::Redis(url) => (None, vec!["--redis".to_owned(), url]),
        TargetSpec::Cluster(url) => (None, vec!["--cluster".to_owned(), url]),
        TargetSpec::Nodes(_) => {
            return Err(Failure::bad_input(anyhow!(
                "bench id-audit mints against one Redis: give --redis or --cluster"
            )));
        }
    };
    let exe = std::env::current_exe()
        .map_err(|e| Failure::runtime(anyhow!("cannot find this program to run it again: {e}")))?;
    let mut rows = Vec::new();
    for kind in &args.kinds {
        let tag = format!("audit-{}-{kind}", std::process::id());
        eprintln!(
            "  {kind}: {} processes × {} threads for {:.1} s",
            args.processes,
            args.threads,
            args.duration.as_secs_f64()
        );
        let started = std::time::Instant::now();
        let children: Vec<std::process::Child> = (0..args.processes)
            .map(|_| {
                let mut cmd = std::process::Command::new(&exe);
                cmd.args(["id", "gen", "--kind", &kind.to_string(), "--tag", &tag])
                    .args([
                        "--threads",
                        &args.threads.to_string(),
                        "--duration",
                        &args.duration.as_secs_f64().to_string(),
                    ])
                    .args(&target_args)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                if *kind == IdAuditKind::Snowflake {
                    cmd.arg("--lease");
                }
                cmd.spawn().map_err(|e| Failure::runtime(anyhow!("cannot start {}: {e}", exe.display())))
            })
            .collect::<Result<_, _>>()?;
        let mut ids: Vec<u64> = Vec::new();
        for child in children {
            let out = child.wait_with_output().map_err(|e| Failure::runtime(anyhow!("{e}")))?;
            if !out.status.success() {
                return Err(Failure::runtime(anyhow!(
                    "a {kind} process failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                ids.push(line.parse().map_err(|_| Failure::runtime(anyhow!("a {kind} process printed {line:?}")))?);
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let minted = ids.len() as u64;
        ids.sort_unstable();
        ids.dedup();
        let duplicates = minted - ids.len() as u64;
        if *kind == IdAuditKind::Segment {
            // The counter is the one key the audit's segments wrote.
            let url = &target_args[1];
            if let Ok(mut con) = redis::Client::open(url.as_str()).and_then(|c| c.get_connection()) {
                let _: Result<i64, _> = redis::cmd("DEL").arg(format!("distlab:id-{tag}:max_id")).query(&mut con);
            }
        }
        rows.push(serde_json::json!({
            "kind": kind.to_string(),
            "processes": args.processes,
            "threads": args.threads,
            "seconds": args.duration.as_secs_f64(),
            "ids": minted,
            "ids_per_s": minted as f64 / args.duration.as_secs_f64(),
            "wall_s": elapsed,
            "duplicates": duplicates,
        }));
    }
    drop(server);
    let broken = rows.iter().any(|r| r["duplicates"].as_u64() != Some(0));
    if args.json {
        println!("{}", serde_json::json!({ "rows": rows, "unique": !broken }));
    } else {
        println!(
            "{:<10} {:>9} {:>7} {:>6} {:>12} {:>12} {:>10}",
            "kind", "processes", "threads", "s", "ids", "ids/s", "duplicates"
        );
        for r in &rows {
            println!(
                "{:<10} {:>9} {:>7} {:>6.1} {:>12} {:>12.0} {:>10}",
                r["kind"].as_str().unwrap_or(""),
                r["processes"].as_u64().unwrap_or(0),
                r["threads"].as_u64().unwrap_or(0),
                r["seconds"].as_f64().unwrap_or(0.0),
                r["ids"].as_u64().unwrap_or(0),
                r["ids_per_s"].as_f64().unwrap_or(0.0),
                r["duplicates"].as_u64().unwrap_or(0)
            );
        }
    }
    Ok(if broken { Outcome::PropertyViolated } else { Outcome::Ok })
}

#[derive(Debug, Args)]
struct LimitAuditArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Concurrent clients sharing one connection, all on the one key.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    clients: u32,
    /// Seconds per algorithm.
    #[arg(long, value_name = "S", default_value = "5", value_parser = parse_seconds)]
    duration: Duration,
    /// The limit, per second; the clients send ten times as many checks.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    limit: u64,
    /// The bucket algorithms' burst.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    burst: u64,
    /// Only these algorithms (fixed_window, sliding_log, sliding_window, token_bucket,
    /// leaky_bucket, gcra).
    #[arg(long, value_delimiter = ',')]
    algorithms: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

async fn limit_audit(args: &LimitAuditArgs) -> Result<Outcome, Failure> {
    use distlab_engine::resilience::limit::{Algorithm, Rate};
    let algorithms: Vec<Algorithm> = if args.algorithms.is_empty() {
        Algorithm::ALL.to_vec()
    } else {
        args.algorithms
            .iter()
            .map(|name| {
                Algorithm::ALL.into_iter().find(|a| a.name() == name).ok_or_else(|| {
                    let known: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
                    Failure::bad_input(anyhow::anyhow!(
                        "--algorithms: unknown {name:?}: the algorithms are {}",
                        known.join(", ")
                    ))
                })
            })
            .collect::<Result<_, _>>()?
    };
    let rate = Rate::new(args.limit, distlab_engine::sim::SimDuration::from_secs(1), args.burst)
        .map_err(Failure::bad_input)?;
    let target = Target::connect(&args.target.spec()).await.map_err(Failure::bad_input)?;
    if target.primary().is_memory() {
        return Err(Failure::bad_input(anyhow::anyhow!(
            "bench limit-audit needs a real Redis: redis-server is not on PATH, and no target was given"
        )));
    }
    eprintln!("{}", target.description);
    let clients = usize::try_from(args.clients).unwrap_or(1);
    let work = async {
        let mut rows = Vec::new();
        for (i, algorithm) in algorithms.iter().enumerate() {
            eprintln!(
                "  [{}/{}] {}: {clients} clients, {} checks/s for {:.1} s",
                i + 1,
                algorithms.len(),
                algorithm.name(),
                10 * args.limit,
                args.duration.as_secs_f64()
            );
            let row =
                bench::limit::audit_one(target.primary(), *algorithm, rate, clients, 10 * args.limit, args.duration)
                    .await
                    .map_err(|e| Failure::runtime(anyhow::anyhow!("{}: {e}", algorithm.name())))?;
            rows.push(row);
        }
        Ok::<_, Failure>(rows)
    };
    let result = tokio::select! {
        r = work => r,
        stop = crate::signals::stopped() => Err(stop),
    };
    clean_up(target).await;
    let rows = result?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "limit_per_second": args.limit, "burst": args.burst, "clients": clients, "rows": rows })
        );
    } else {
        println!(
            "limit {}/s, burst {}, {clients} clients at ten times the limit, {:.1} s each",
            args.limit,
            args.burst,
            args.duration.as_secs_f64()
        );
        println!("{:<15} {:>8} {:>9} {:>7} {:>7}  measure", "algorithm", "checks", "admitted", "worst", "bound");
        for r in &rows {
            println!(
                "{:<15} {:>8} {:>9} {:>7} {:>7}  {}{}",
                r.algorithm,
                r.checks,
                r.admitted,
                r.audit.worst,
                r.audit.bound,
                r.audit.measure,
                if r.audit.holds() { "" } else { "  BROKEN" }
            );
        }
    }
    let broken: Vec<&str> = rows.iter().filter(|r| !r.audit.holds()).map(|r| r.algorithm).collect();
    if broken.is_empty() {
        Ok(Outcome::Ok)
    } else {
        Err(Failure::runtime(anyhow::anyhow!("the limit was broken by {}", broken.join(", "))))
    }
}

#[derive(Debug, Args)]
struct ShardArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Keys to place with each method.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    keys: u64,
    /// Virtual nodes per server on the ring (the chapter's default).
    #[arg(long, default_value_t = 150, value_parser = clap::value_parser!(u32).range(1..=i64::from(VNODES_MAX)))]
    vnodes: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Private servers `bench shard` starts without a target: three to place keys on, one to join.
const SHARD_EMBEDDED: usize = 4;

async fn shard(args: &ShardArgs) -> Result<Outcome, Failure> {
    let spec = args.target.spec();
    if let TargetSpec::Redis(_) = spec {
        return Err(Failure::bad_input(anyhow::anyhow!(
            "bench shard spreads keys over several servers: give --redis-nodes (at least 2) or --cluster, or nothing for {SHARD_EMBEDDED} private servers"
        )));
    }
    if let TargetSpec::Nodes(urls) = &spec
        && urls.len() < 2
    {
        return Err(Failure::bad_input(anyhow::anyhow!("--redis-nodes: bench shard needs at least 2 servers")));
    }
    let target = Target::connect_with(&spec, &distlab::backend::new_prefix(), SHARD_EMBEDDED)
        .await
        .map_err(Failure::bad_input)?;
    if target.primary().is_memory() {
        return Err(Failure::bad_input(anyhow::anyhow!(
            "bench shard needs real Redis servers: redis-server is not on PATH, and no target was given"
        )));
    }
    eprintln!("{}", target.description);
    let work = async {
        if let TargetSpec::Cluster(_) = spec {
            distlab::shard::cluster(target.primary(), args.keys).await
        } else {
            let names: Vec<String> = (1..=target.backends.len()).map(|i| format!("node{i}")).collect();
            distlab::shard::independent(&target.backends, &names, args.keys, args.vnodes).await
        }
    };
    let result = tokio::select! {
        r = work => r.map_err(Failure::runtime),
        stop = crate::signals::stopped() => Err(stop),
    };
    clean_up(target).await;
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        print!("{}", distlab::shard::render(&report));
    }
    Ok(Outcome::Ok)
}

/// Deletes this run's keys (a warning if it cannot) and drops the target, which stops the
/// embedded servers, if any: the end of every bench command, stopped by a signal or not.
pub(crate) async fn clean_up(target: Target) {
    if let Err(e) = target.cleanup().await {
        eprintln!("warning: could not delete this run's keys (under {}): {e}", target.primary().prefix());
    }
}

fn parse_latency(s: &str) -> Result<(u64, u64), String> {
    let number = |t: &str| t.trim().parse::<u64>().map_err(|_| format!("{t:?} is not a whole number of milliseconds"));
    let (lo, hi) = match s.split_once('-') {
        Some((lo, hi)) => (number(lo)?, number(hi)?),
        None => (number(s)?, number(s)?),
    };
    if lo > hi || hi > 60_000 {
        return Err(format!("{s:?} is out of range: allowed MIN-MAX with MIN <= MAX <= 60000"));
    }
    Ok((lo, hi))
}

pub(crate) fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.01..=3_600.0).contains(&secs) {
        return Err(format!("{secs} s is out of range: allowed 0.01..=3600"));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub async fn run(args: &BenchArgs) -> Result<Outcome, Failure> {
    match &args.command {
        Some(BenchCommand::Shard(shard_args)) => return shard(shard_args).await,
        Some(BenchCommand::LimitAudit(audit_args)) => return limit_audit(audit_args).await,
        Some(BenchCommand::IdAudit(audit_args)) => return id_audit(audit_args).await,
        None => {}
    }
    for name in &args.only {
        bench::find_pattern(name).map_err(Failure::bad_input)?;
    }
    let target = Target::connect(&args.target.spec()).await.map_err(Failure::bad_input)?;
    // Under --json, stdout is the one JSON document (it names the target too).
    if args.json {
        eprintln!("{}", target.description);
    } else {
        println!("{}", target.description);
    }
    let opts = BenchOptions {
        clients: usize::try_from(args.clients).unwrap_or(1),
        limit: match (args.ops, args.duration) {
            (Some(n), _) => Limit::Ops(n),
            (None, d) => Limit::Duration(d.unwrap_or(Duration::from_secs(5))),
        },
        pipeline: usize::try_from(args.pipeline).unwrap_or(1),
        only: args.only.clone(),
        db_latency_ms: args.db_latency_ms,
    };
    let result = tokio::select! {
        r = bench::run(&target, &opts) => r.map_err(Failure::runtime),
        stop = crate::signals::stopped() => Err(stop),
    };
    clean_up(target).await;
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        print!("{}", bench::render_table(&report));
    }
    let failed: Vec<&str> = report.results.iter().filter(|m| m.had_errors()).map(|m| m.name.as_str()).collect();
    if !failed.is_empty() {
        // The commonest error names the cause; each row lists its own.
        let mut texts: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for (text, n) in report.results.iter().flat_map(|m| &m.redis_errors) {
            *texts.entry(text).or_default() += n;
        }
        let (text, n) = texts.into_iter().max_by_key(|(_, n)| *n).unwrap_or(("", 0));
        return Err(Failure::runtime(anyhow::anyhow!(
            "Redis refused operations in {} of {} measurements ({}): {n} times \"{text}\"",
            failed.len(),
            report.results.len(),
            failed.join(", ")
        )));
    }
    Ok(Outcome::Ok)
}
