//! `distlab bench` as a user meets it, against servers the tests start themselves: the embedded
//! default, the in-memory fallback, explicit standalone, independent nodes and a cluster, the
//! safety of foreign keys, and one clear line (exit 2) for every unusable target.

use std::process::{Command, Output};

use distlab::server::{LocalCluster, LocalRedis, ServerOptions};

fn distlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_distlab")).args(args).output().expect("the distlab binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn sync_con(url: &str) -> redis::Connection {
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

/// Every key on the server with its string value.
fn all_keys(url: &str) -> Vec<(String, String)> {
    let mut con = sync_con(url);
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    keys.sort();
    keys.into_iter()
        .map(|k| {
            let v: String = redis::cmd("GET").arg(&k).query(&mut con).unwrap_or_else(|_| "<not a string>".into());
            (k, v)
        })
        .collect()
}

fn answers(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// The table rows: five measurements, baselines at ratio 1, the pattern against SET.
fn assert_report(stdout: &str) {
    for row in ["baseline SET", "baseline GET", "baseline INCR", "baseline EVALSHA", "actor-kv"] {
        assert!(stdout.lines().any(|l| l.starts_with(row)), "no {row} row in:\n{stdout}");
    }
    assert!(!stdout.contains("Redis error"), "every command succeeded:\n{stdout}");
    let kv = stdout.lines().find(|l| l.starts_with("actor-kv")).unwrap();
    assert!(kv.ends_with("baseline SET"), "{kv}");
    let ratio: f64 = kv.split_whitespace().rev().nth(2).unwrap().parse().unwrap();
    assert!(ratio > 0.0 && ratio < 10.0, "{kv}");
}

#[test]
fn embedded_default_starts_and_stops_its_own_server() {
    let o = distlab(&["bench", "--ops", "300", "--clients", "8"]);
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let first = stdout.lines().next().unwrap();
    assert!(first.starts_with("target: embedded redis-server on 127.0.0.1:"), "{first}");
    let port: u16 = first.split(':').nth(2).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    assert_report(&stdout);
    assert!(!answers(port), "the embedded server on port {port} is still running");
    let others: Vec<u16> = first.rsplit("on ports ").next().unwrap().split(", ").map(|p| p.parse().unwrap()).collect();
    assert_eq!(others.len(), 4, "{first}");
    assert!(others.iter().all(|p| !answers(*p)), "the four Redlock servers are stopped too: {others:?}");
    assert!(stdout.lines().any(|l| l.starts_with("redlock ")), "five servers: Redlock runs by default\n{stdout}");
    let leftovers = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().contains(&format!("-{port}-")));
    assert!(!leftovers, "its temporary directory was not removed");
    // Four baselines, XADD for the queue rows, HTTP for the load balancer's, ID-LIMIT and
    // COUNTER for the ID generators'.
    let total = 8 + distlab::bench::PATTERNS.len();
    assert!(
        text(&o.stderr).contains(&format!("[{total}/{total}] ")),
        "a progress line per measurement: {}",
        text(&o.stderr)
    );
}

#[test]
fn the_load_balancer_rows_go_through_the_proxy_next_to_the_same_load_straight_to_a_backend() {
    let o = distlab(&["bench", "--only", "lb-round-robin,lb-p2c-ewma", "--duration", "1", "--clients", "8", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let report: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    let row = |name: &str| report["results"].as_array().unwrap().iter().find(|r| r["name"] == name).cloned().unwrap();
    let http = row("baseline HTTP");
    assert!(http["ops"].as_u64().unwrap() > 100 && http["errors"] == 0, "{http}");
    let (rr, p2c) = (row("lb-round-robin"), row("lb-p2c-ewma"));
    for r in [&rr, &p2c] {
        assert_eq!(r["baseline"], "baseline HTTP", "{r}");
        let ratio = r["ratio"].as_f64().unwrap();
        assert!(ratio > 0.0 && ratio < 1.0, "two hops cost more than one: {r}");
        assert_eq!(r["errors"], 0, "{r}");
        assert_eq!(r["details"]["slow_errors"], 0.0, "{r}");
    }
    // Round robin gives the slowed backend its third; P2C on peak EWMA a small share.
    let share = |r: &serde_json::Value| r["details"]["slow_share_percent"].as_f64().unwrap();
    assert!((30.0..=36.0).contains(&share(&rr)), "{rr}");
    assert!(share(&p2c) < 15.0, "{p2c}");
}

#[test]
fn without_redis_server_it_runs_on_the_in_memory_store() {
    let o = Command::new(env!("CARGO_BIN_EXE_distlab"))
        .args(["bench", "--ops", "300", "--clients", "4"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.starts_with("target: the engine's in-memory store in real time"), "{stdout}");
    assert_report(&stdout);
}

#[test]
fn foreign_keys_are_untouched_and_no_key_of_ours_remains() {
    let server = LocalRedis::start().unwrap();
    let mut con = sync_con(&server.url());
    let foreign = [("user:1", "alice"), ("bench:0", "not distlab's"), ("distlab:other-run:kv:0", "another run")];
    for (k, v) in foreign {
        let _: () = redis::cmd("SET").arg(k).arg(v).query(&mut con).unwrap();
    }
    let args = ["bench", "--redis", &server.url(), "--ops", "300", "--clients", "4", "--pipeline", "8", "--json"];
    let o = distlab(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // The whole of stdout is one JSON document (`| jq` works); the target line goes to stderr.
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let target = report["target"].as_str().unwrap();
    assert!(target.starts_with(&format!("target: Redis at {}", server.url())), "{target}");
    assert!(text(&o.stderr).starts_with("target: Redis at "), "{}", text(&o.stderr));
    let single_store = distlab::bench::PATTERNS.iter().filter(|p| p.stores_min <= 1).count();
    assert_eq!(
        report["results"].as_array().unwrap().len(),
        8 + single_store,
        "every baseline (XADD for the queue rows, HTTP for the load balancer's, ID-LIMIT and COUNTER for the ID generators') and pattern one store can run"
    );
    assert_eq!(report["skipped"][0], "redlock: needs 3 independent stores, the target has 1 (use --redis-nodes)");
    assert_eq!(report["results"][0]["ratio"], 1.0);
    assert_eq!(report["results"][4]["name"], "baseline XADD");
    assert_eq!(report["results"][5]["name"], "baseline HTTP");
    assert_eq!(report["results"][6]["name"], "baseline ID-LIMIT");
    assert_eq!(report["results"][6]["ops"], 4_096_000);
    assert_eq!(report["results"][7]["name"], "baseline COUNTER");
    assert_eq!(report["results"][8]["baseline"], "baseline SET");
    let row = |name: &str| report["results"].as_array().unwrap().iter().find(|r| r["name"] == name).unwrap().clone();
    for name in ["id-snowflake", "id-uuidv7", "id-segment"] {
        assert_eq!(row(name)["details"]["duplicates_or_disorder"], 0.0, "{name}");
    }
    assert_eq!(row("id-snowflake-threads")["details"]["duplicates"], 0.0);
    // What one script call cost the server, from its own INFO commandstats: a rate limiter's
    // check (a clock, a read, a write and its arithmetic) costs more than the baseline's one GET.
    let per_script = |name: &str| row(name)["details"]["server_us_per_script"].as_f64().unwrap();
    assert!(per_script("baseline EVALSHA") > 0.0);
    for limiter in ["limit-fixed-window", "limit-sliding-log", "limit-token-bucket", "limit-gcra"] {
        assert!(per_script(limiter) > per_script("baseline EVALSHA"), "{limiter}");
    }
    // Never above the layout's ceiling: at most 4,096 IDs in each millisecond it ran, counting a
    // part-used first one.
    let snowflake = row("id-snowflake");
    let ticks = snowflake["details"]["ticks"].as_f64().unwrap() + 1.0;
    assert!(snowflake["ops"].as_f64().unwrap() <= 4_096.0 * ticks, "{snowflake}");
    assert!(snowflake["details"]["full_ticks"].as_f64().unwrap() <= ticks, "{snowflake}");
    assert!(report["results"][0]["ops"].as_u64().unwrap() >= 300);
    for row in report["results"].as_array().unwrap() {
        assert_eq!(row["errors"], 0, "no error replies: {row}");
    }
    let want: Vec<(String, String)> = {
        let mut v: Vec<_> = foreign.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        v.sort();
        v
    };
    assert_eq!(all_keys(&server.url()), want, "exactly the foreign keys remain, unchanged");
}

#[test]
fn independent_nodes_and_a_cluster_are_targets_too() {
    let (a, b) = (LocalRedis::start().unwrap(), LocalRedis::start().unwrap());
    let nodes = format!("{},{}", a.url(), b.url());
    let o = distlab(&["bench", "--redis-nodes", &nodes, "--ops", "500", "--clients", "4"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).starts_with("target: 2 independent Redis nodes: "), "{}", text(&o.stdout));
    assert!(all_keys(&a.url()).is_empty() && all_keys(&b.url()).is_empty());

    let cluster = LocalCluster::start(3).unwrap();
    let o = distlab(&["bench", "--cluster", &cluster.url(), "--ops", "300", "--clients", "8", "--pipeline", "8"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.starts_with("target: Redis Cluster via "), "{stdout}");
    assert_report(&stdout);
    for node in cluster.nodes() {
        let dbsize: u64 = redis::cmd("DBSIZE").query(&mut sync_con(&node.url())).unwrap();
        assert_eq!(dbsize, 0, "keys left on the cluster node {}", node.port());
    }
}

/// Exit code 2, exactly one line on stderr containing `want`, no backtrace, nothing on stdout.
fn assert_one_line_error(args: &[&str], want: &str) {
    let o = distlab(args);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("error: ") && stderr.contains(want), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
    assert!(o.stdout.is_empty(), "{args:?}");
}

#[test]
fn unusable_targets_fail_with_one_line_and_exit_2() {
    assert_one_line_error(&["bench", "--redis", "redis://127.0.0.1:1"], "cannot reach redis://127.0.0.1:1");
    assert_one_line_error(&["bench", "--redis", "nonsense"], "invalid Redis URL \"nonsense\"");
    let locked =
        LocalRedis::start_with(&ServerOptions { password: Some("s3cret".into()), ..Default::default() }).unwrap();
    let wrong = format!("redis://:wrong@127.0.0.1:{}/", locked.port());
    assert_one_line_error(&["bench", "--redis", &wrong], "authentication failed");
    let stderr = text(&distlab(&["bench", "--redis", &wrong]).stderr);
    assert!(!stderr.contains("wrong@"), "the password is not echoed: {stderr}");
    let missing = format!("redis://127.0.0.1:{}/", locked.port());
    assert_one_line_error(&["bench", "--redis", &missing], "authentication failed");
    let primary = LocalRedis::start().unwrap();
    let replica =
        LocalRedis::start_with(&ServerOptions { replica_of: Some(primary.port()), ..Default::default() }).unwrap();
    assert_one_line_error(&["bench", "--redis", &replica.url()], "is a replica (role:slave)");
    let clustered = LocalRedis::start_with(&ServerOptions { cluster: true, ..Default::default() }).unwrap();
    assert_one_line_error(&["bench", "--redis", &clustered.url()], "has cluster mode enabled; use --cluster");
    assert_one_line_error(&["bench", "--cluster", &primary.url()], "is not a cluster (cluster_enabled:0)");
    assert_one_line_error(&["bench", "--redis", &primary.url(), "--only", "nope"], "unknown measurement \"nope\"");
    // A server that is not Redis (it answers HTTP) is named as such, in one line.
    let http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let http_url = format!("redis://127.0.0.1:{}", http.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for stream in http.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 512];
            let _ = std::io::Read::read(&mut stream, &mut buf);
            let _ = std::io::Write::write_all(&mut stream, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    assert_one_line_error(
        &["bench", "--redis", &http_url],
        "is not a Redis server: it answered something other than Redis's protocol",
    );
    // One server named three ways is not three independent nodes.
    let (p, other) = (primary.port(), replica.port());
    let same = format!("redis://127.0.0.1:{other}/,redis://127.0.0.1:{p}/,redis://localhost:{p}/0");
    assert_one_line_error(
        &["bench", "--redis-nodes", &same],
        &format!("redis://127.0.0.1:{p}/ and redis://localhost:{p}/0 are the same server"),
    );
    // Two databases of one server are one server: they crash, pause and restart together.
    let databases = format!("redis://127.0.0.1:{other}/,redis://127.0.0.1:{p}/1,redis://127.0.0.1:{p}/2");
    assert_one_line_error(
        &["bench", "--redis-nodes", &databases],
        &format!("redis://127.0.0.1:{p}/1 and redis://127.0.0.1:{p}/2 are the same server (host and port;"),
    );
    assert_one_line_error(&["bench", "shard", "--redis-nodes", &same], "are the same server");
}

#[test]
fn conflicting_or_out_of_range_options_are_refused() {
    for args in [
        vec!["bench", "--duration", "1", "--ops", "5"],
        vec!["bench", "--clients", "0"],
        vec!["bench", "--duration", "0"],
        vec!["bench", "--redis", "redis://a", "--cluster", "redis://b"],
        vec!["bench", "--db-latency-ms", "5-2"],
        vec!["bench", "--db-latency-ms", "slow"],
    ] {
        let o = distlab(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(text(&o.stderr).starts_with("error: "), "{args:?}: {}", text(&o.stderr));
    }
}

#[test]
fn the_harness_stops_its_server_even_when_a_test_panics() {
    let port = std::panic::catch_unwind(|| {
        let server = LocalRedis::start().unwrap();
        let port = server.port();
        assert!(answers(port));
        std::panic::panic_any(port);
    })
    .unwrap_err()
    .downcast::<u16>()
    .map(|p| *p)
    .unwrap();
    assert!(!answers(port), "the server outlived the panic");
}

#[test]
fn tls_targets_work_through_rediss_urls() {
    let server = LocalRedis::start_with(&ServerOptions { tls: true, ..Default::default() }).unwrap();
    assert!(server.url().starts_with("rediss://"));
    let o = distlab(&["bench", "--redis", &server.url(), "--ops", "300", "--clients", "4"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_report(&text(&o.stdout));
}

/// The signals a run may be stopped by, with the exit code and the last line each gives.
const STOPS: [(&str, i32, &str); 3] = [
    ("INT", 130, "error: interrupted\n"),
    ("TERM", 143, "error: terminated (SIGTERM)\n"),
    ("HUP", 129, "error: hung up (SIGHUP)\n"),
];

/// Whether a temporary directory of a private server on `port` is still there.
fn leftover_dir(port: u16) -> bool {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().contains(&format!("-{port}-")))
}

#[test]
fn every_stop_signal_ends_the_run_promptly_and_stops_every_embedded_server_and_directory() {
    use std::io::{BufRead, BufReader};
    for (signal, code, last) in STOPS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_distlab"))
            .args(["bench", "--duration", "30"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        let port: u16 = first.split(':').nth(2).unwrap().split_whitespace().next().unwrap().parse().unwrap();
        let others: Vec<u16> =
            first.trim_end().rsplit("on ports ").next().unwrap().split(", ").map(|p| p.parse().unwrap()).collect();
        let ports: Vec<u16> = std::iter::once(port).chain(others).collect();
        assert_eq!(ports.len(), 5, "{first}");
        assert!(answers(port), "{first}");
        std::thread::sleep(std::time::Duration::from_millis(300));
        let killed = Command::new("kill").args([format!("-{signal}"), child.id().to_string()]).status().unwrap();
        assert!(killed.success());
        let started = std::time::Instant::now();
        let status = child.wait().unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "SIG{signal} did not stop the run promptly");
        assert_eq!(status.code(), Some(code), "SIG{signal}");
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(stderr.ends_with(last), "SIG{signal}: {stderr}");
        for p in &ports {
            assert!(!answers(*p), "SIG{signal}: the embedded server on {p} survived");
            assert!(!leftover_dir(*p), "SIG{signal}: the directory of the server on {p} was left behind");
        }
    }
}

/// A stop signal while the embedded servers are still starting: whatever had started is stopped
/// and its directory removed (the signal is caught from the runtime's start and seen as soon as
/// the command looks; sent before that, it ends the process before any server starts). Each run
/// gets its own TMPDIR, so a server left behind would be found by its `--dir`.
#[test]
fn a_stop_signal_during_start_up_leaves_no_server_and_no_directory() {
    use std::os::unix::process::ExitStatusExt;
    for (signal, code, _) in STOPS {
        for delay_ms in [10, 40, 80, 160] {
            let tmp = std::env::temp_dir().join(format!("distlab-early-{}-{signal}-{delay_ms}", std::process::id()));
            std::fs::create_dir_all(&tmp).unwrap();
            let mut child = Command::new(env!("CARGO_BIN_EXE_distlab"))
                .args(["bench", "--only", "lock", "--duration", "5"])
                .env("TMPDIR", &tmp)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(delay_ms));
            Command::new("kill").args([format!("-{signal}"), child.id().to_string()]).status().unwrap();
            let status = child.wait().unwrap();
            let by_default = status.signal().is_some_and(|s| code - 128 == s);
            assert!(status.code() == Some(code) || by_default, "SIG{signal} after {delay_ms} ms: {status:?}");
            // redis-server rewrites its command line, but it works in its --dir.
            let left: Vec<_> = std::fs::read_dir("/proc")
                .unwrap()
                .filter_map(|p| std::fs::read_link(p.ok()?.path().join("cwd")).ok())
                .filter(|cwd| cwd.starts_with(&tmp))
                .collect();
            assert!(left.is_empty(), "SIG{signal} after {delay_ms} ms left servers working in {left:?}");
            let entries: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
            assert!(entries.is_empty(), "SIG{signal} after {delay_ms} ms left {entries:?}");
            std::fs::remove_dir(&tmp).unwrap();
        }
    }
}

#[test]
fn a_server_that_dies_midway_ends_the_run_promptly_with_exit_1() {
    use std::io::{BufRead, BufReader};
    let server = LocalRedis::start().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_distlab"))
        .args(["bench", "--redis", &server.url(), "--duration", "30"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("target: Redis at "), "{first}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    drop(server);
    let status = child.wait().unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(15), "the run did not notice the server died");
    assert_eq!(status.code(), Some(1));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let last = stderr.lines().last().unwrap();
    assert!(last.starts_with("error: baseline SET: Redis connection lost ("), "{stderr}");
    assert!(stderr.contains("warning: could not delete this run's keys (under distlab:"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn every_stop_signal_against_an_external_server_leaves_none_of_our_keys() {
    use std::io::{BufRead, BufReader};
    let server = LocalRedis::start().unwrap();
    let mut con = sync_con(&server.url());
    let _: () = redis::cmd("SET").arg("mine").arg("keep me").query(&mut con).unwrap();
    for ((pause_ms, only), (signal, code, _)) in
        [(400, Some("actor-kv")), (300, None), (300, None)].into_iter().zip(STOPS)
    {
        let url = server.url();
        let mut args = vec!["bench", "--redis", url.as_str(), "--duration", "30"];
        if let Some(pattern) = only {
            args.extend(["--only", pattern]);
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_distlab"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(pause_ms));
        Command::new("kill").args([format!("-{signal}"), child.id().to_string()]).status().unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(code), "SIG{signal}");
        std::thread::sleep(std::time::Duration::from_millis(200)); // a task still writing would show now
        assert_eq!(all_keys(&server.url()), vec![("mine".to_owned(), "keep me".to_owned())], "{first}");
    }
}

#[test]
fn lock_cycles_are_measured_against_real_redis_and_leave_no_lock_behind() {
    let server = LocalRedis::start().unwrap();
    let only = "lock,lock-fenced,lock-reentrant";
    let args = ["bench", "--redis", &server.url(), "--ops", "2000", "--clients", "8", "--only", only, "--json"];
    let o = distlab(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = report["results"].as_array().unwrap();
    assert_eq!(rows.len(), 7, "four baselines and the three lock patterns");
    for (row, baseline) in [(&rows[4], "baseline SET"), (&rows[5], "baseline EVALSHA"), (&rows[6], "baseline EVALSHA")]
    {
        assert_eq!(row["baseline"], baseline, "{row}");
        assert!(row["ops"].as_u64().unwrap() >= 2_000, "{row}");
        assert_eq!(row["errors"], 0, "{row}");
        // Measured next to its baseline (how fast is the benchmark's to say: timings are not
        // asserted, a loaded machine can slow either one).
        assert!(row["ratio"].as_f64().unwrap() > 0.0, "{row}");
    }
    assert!(all_keys(&server.url()).is_empty(), "locks and fencing counters are cleaned up");
}

#[test]
fn redlock_runs_over_independent_nodes() {
    let servers: Vec<LocalRedis> = (0..3).map(|_| LocalRedis::start().unwrap()).collect();
    let nodes = servers.iter().map(LocalRedis::url).collect::<Vec<_>>().join(",");
    let o = distlab(&["bench", "--redis-nodes", &nodes, "--ops", "500", "--clients", "4", "--only", "lock,redlock"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    let row = stdout.lines().find(|l| l.starts_with("redlock ")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(row.ends_with("baseline SET"), "{row}");
    assert!(!stdout.contains("skipped"), "{stdout}");
    for s in &servers {
        assert!(all_keys(&s.url()).is_empty(), "nothing left on {}", s.port());
    }
}

#[test]
fn operations_redis_refuses_are_counted_with_its_error_and_exit_1() {
    let server = LocalRedis::start().unwrap();
    let mut con = sync_con(&server.url());
    // Out of memory from the first write on: every write is refused, reads still answer.
    let _: () = redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg("1").query(&mut con).unwrap();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("maxmemory-policy").arg("noeviction").query(&mut con).unwrap();
    let started = std::time::Instant::now();
    let url = server.url();
    let o = distlab(&["bench", "--redis", &url, "--ops", "300", "--clients", "2", "--only", "lock,cache-aside"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "a row of refused operations ends early");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    let oom = "Redis error: OOM command not allowed when used memory > 'maxmemory'.";
    let lines: Vec<&str> = stdout.lines().collect();
    let after =
        |row: &str| lines.iter().position(|l| l.starts_with(row)).map(|i| lines[i + 1].trim_start()).unwrap_or("");
    assert_eq!(after("baseline SET"), format!("! 300 × {oom}"), "{stdout}");
    let rate = |row: &str| {
        let line = lines.iter().find(|l| l.starts_with(row)).unwrap();
        line[row.len()..].split_whitespace().next().unwrap().parse::<f64>().unwrap()
    };
    assert_eq!(rate("baseline SET"), 0.0, "refused commands are no throughput: {stdout}");
    assert!(rate("baseline GET") > 0.0, "{stdout}");
    assert!(!after("baseline GET").starts_with('!'), "reads still answer: {stdout}");
    assert!(after("lock ").starts_with("! ") && after("lock ").ends_with(&format!(" × {oom}")), "{stdout}");
    assert!(stdout.contains(" requests in a row, over 2 s, were answered with an error"), "{stdout}");
    assert!(after("cache-aside").starts_with("db_loads"), "{stdout}");
    assert!(stdout.contains(" × Redis error: OOM command not allowed"), "{stdout}");
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with(
            "error: Redis refused operations in 4 of 6 measurements (baseline SET, baseline INCR, lock, cache-aside): "
        ),
        "{stderr}"
    );
    assert!(last.contains("times \"OOM command not allowed when used memory > 'maxmemory'.\""), "{stderr}");
    let json = distlab(&["bench", "--redis", &url, "--ops", "100", "--clients", "2", "--only", "lock", "--json"]);
    assert_eq!(json.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let lock = report["results"].as_array().unwrap().iter().find(|r| r["name"] == "lock").unwrap();
    assert_eq!(lock["ops"], 0);
    let set = report["results"].as_array().unwrap().iter().find(|r| r["name"] == "baseline SET").unwrap();
    assert_eq!(
        (set["ops"].as_u64(), set["errors"].as_u64(), set["ops_per_sec"].as_f64()),
        (Some(0), Some(100), Some(0.0))
    );
    assert!(
        lock["redis_errors"]["OOM command not allowed when used memory > 'maxmemory'."].as_u64() >= Some(10),
        "{lock}"
    );
}

#[test]
fn the_distributed_rate_limiters_keep_their_promise_under_ten_times_their_rate() {
    let server = LocalRedis::start().unwrap();
    let url = server.url();
    let args = [
        "bench",
        "limit-audit",
        "--redis",
        &url,
        "--duration",
        "1",
        "--clients",
        "10",
        "--limit",
        "200",
        "--burst",
        "20",
        "--json",
    ];
    let o = distlab(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["algorithm"].as_str().unwrap()).collect();
    assert_eq!(names, ["fixed_window", "sliding_log", "sliding_window", "token_bucket", "leaky_bucket", "gcra"]);
    for row in rows {
        let (worst, bound) = (row["audit"]["worst"].as_u64().unwrap(), row["audit"]["bound"].as_u64().unwrap());
        assert!(worst <= bound, "{row}");
        assert!(row["checks"].as_u64().unwrap() > row["admitted"].as_u64().unwrap(), "overloaded: {row}");
    }
    assert!(all_keys(&url).is_empty(), "the limiters' keys are cleaned up");
    let o = distlab(&["bench", "limit-audit", "--redis", &url, "--algorithms", "leaky"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--algorithms: unknown \"leaky\": the algorithms are fixed_window, "),
        "{}",
        text(&o.stderr)
    );
}
