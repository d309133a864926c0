//! `distlab mq` on a real redis-server and a real Redis Cluster (46.2): consumers killed
//! mid-batch by the command itself, and the whole process killed with SIGKILL mid-run and started
//! again; every message ends applied or dead-lettered, exactly once — checked by the command's
//! own audit and, independently, by reading Redis here.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use distlab::server::{LocalCluster, LocalRedis};
use redis::Commands;

fn mq(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_distlab"));
    cmd.arg("mq").args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

fn report(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

/// The effects hash and the dead-letter stream, read with Redis's own commands: each message id
/// 1..=messages applied once or dead-lettered once, never both.
fn check_redis(con: &mut redis::Connection, prefix: &str, messages: u64, poison_every: u64) {
    let effects: std::collections::BTreeMap<u64, u64> =
        con.hgetall(format!("{prefix}{{mq}}:workers:db:effects")).unwrap();
    let dead: Vec<redis::Value> =
        redis::cmd("XRANGE").arg(format!("{prefix}{{mq}}:workers:dead")).arg("-").arg("+").query(con).unwrap();
    let dead_ids: Vec<u64> = dead
        .iter()
        .filter_map(|entry| {
            let redis::Value::Array(pair) = entry else { return None };
            let redis::Value::Array(fields) = &pair[1] else { return None };
            let fields: Vec<String> = fields.iter().map(|f| redis::from_redis_value(f.clone()).unwrap()).collect();
            // `id` as published, or `msg` = `id|body` as promoted from the delayed set.
            let value = |name: &str| fields.chunks(2).find(|kv| kv[0] == name).map(|kv| kv[1].clone());
            let id =
                value("id").or_else(|| value("msg").and_then(|m| m.split_once('|').map(|(id, _)| id.to_owned())))?;
            id.parse().ok()
        })
        .collect();
    for id in 1..=messages {
        let applied = effects.get(&id).copied().unwrap_or(0);
        let buried = dead_ids.iter().filter(|d| **d == id).count() as u64;
        assert_eq!(applied + buried, 1, "message {id}: applied {applied}, dead-lettered {buried}");
        if poison_every > 0 && id % poison_every == 0 {
            assert_eq!(buried, 1, "poison message {id} is dead-lettered");
        }
    }
    let pending: Vec<redis::Value> =
        redis::cmd("XPENDING").arg(format!("{prefix}{{mq}}:stream")).arg("workers").query(con).unwrap();
    assert_eq!(pending[0], redis::Value::Int(0), "nothing pending");
}

#[test]
fn consumers_killed_mid_batch_lose_nothing_and_apply_nothing_twice() {
    let server = LocalRedis::start().unwrap();
    let out = mq(&[
        "--redis",
        &server.url(),
        "--name",
        "kills",
        "--messages",
        "3000",
        "--consumers",
        "4",
        "--kill-consumers",
        "6",
        "--kill-every-ms",
        "150",
        "--visibility-ms",
        "300",
        "--poison-every",
        "100",
        "--fail-percent",
        "10",
        // Ten deliveries before a dead letter: with the default five, an ordinary message failing
        // five times at 10% (or losing some to kills) was dead-lettered beside the poison in about
        // one run in thirty, a 31st that this test counted as wrong.
        "--max-deliveries",
        "10",
        "--json",
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&out);
    assert_eq!(r["holds"], true, "{r}");
    assert_eq!(r["kills"], 6, "{r}");
    assert!(r["claimed"].as_u64().unwrap() > 0, "a killed consumer's entries were claimed by others: {r}");
    assert!(r["redelivered"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["audit"]["dead_lettered"], 30, "the 30 poison messages: {r}");
    // Every 50th message was delayed; a promotion whose reply a kill cut off is not observed,
    // but the audit found the delayed set empty and every message settled.
    assert!(r["promoted"].as_u64().unwrap() > 0, "{r}");
    let mut con = redis::Client::open(server.url()).unwrap().get_connection().unwrap();
    check_redis(&mut con, "distlab:mq-kills:", 3000, 100);
}

#[test]
fn a_run_killed_with_sigkill_resumes_and_settles_every_message_once() {
    let server = LocalRedis::start().unwrap();
    let url = server.url();
    let mut con = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
    let args = ["--redis", &url, "--name", "sigkill", "--messages", "20000", "--consumers", "4", "--json"];
    let mut child = mq(&args).spawn().unwrap();
    let effects = "distlab:mq-sigkill:{mq}:workers:db:effects";
    let started = Instant::now();
    while con.hlen::<_, u64>(effects).unwrap() < 2_000 {
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no cleanup, no goodbye
    child.wait().unwrap();
    let applied: u64 = con.hlen(effects).unwrap();
    assert!(applied < 20_000, "killed mid-run: {applied} applied");
    let pending: Vec<redis::Value> =
        redis::cmd("XPENDING").arg("distlab:mq-sigkill:{mq}:stream").arg("workers").query(&mut con).unwrap();
    assert_ne!(pending[0], redis::Value::Int(0), "the kill left deliveries unacked");

    let out = mq(&args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&out);
    assert_eq!(r["holds"], true, "{r}");
    assert!(r["published"].as_u64().unwrap() < 20_000, "the first run's publishes were not repeated: {r}");
    check_redis(&mut con, "distlab:mq-sigkill:", 20_000, 1_000);

    // Resuming with other options would judge the queue by the wrong plan: refused.
    let other = mq(&["--redis", &url, "--name", "sigkill", "--messages", "20001"]).output().unwrap();
    assert_eq!(other.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("this run was started with --producers 2 --messages 20000")
    );
}

#[test]
fn the_queue_runs_on_a_redis_cluster_in_one_slot() {
    let cluster = LocalCluster::start(3).unwrap();
    let out =
        mq(&["--cluster", &cluster.url(), "--messages", "2000", "--kill-consumers", "2", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&out);
    assert_eq!(r["holds"], true, "{r}");
    assert_eq!(r["audit"]["applied"].as_u64().unwrap() + r["audit"]["dead_lettered"].as_u64().unwrap(), 2000, "{r}");
}

/// Consumers of a standalone Redis with nothing to read wait at the server (`XREADGROUP … BLOCK`
/// on a connection each of their own) instead of polling it: while every message is still
/// delayed, every consumer is seen blocked there, and each is handed its messages once due.
#[test]
fn idle_consumers_wait_at_the_server_on_connections_of_their_own() {
    let server = LocalRedis::start().unwrap();
    let child = mq(&[
        "--redis",
        &server.url(),
        "--messages",
        "30",
        "--consumers",
        "3",
        "--delay-every",
        "1",
        "--delay-ms",
        "1500",
        "--kill-consumers",
        "0",
        "--poison-every",
        "0",
        "--fail-percent",
        "0",
        "--json",
    ])
    .spawn()
    .unwrap();
    let mut con = redis::Client::open(server.url()).unwrap().get_connection().unwrap();
    let started = Instant::now();
    let mut most_blocked = 0;
    while started.elapsed() < Duration::from_millis(1_200) {
        let clients: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
        let blocked = clients
            .lines()
            .filter(|l| {
                let field = |name: &str| l.split(' ').find_map(|kv| kv.strip_prefix(name)).unwrap_or("");
                field("cmd=") == "xreadgroup" && field("flags=").contains('b')
            })
            .count();
        most_blocked = most_blocked.max(blocked);
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(most_blocked, 3, "every idle consumer blocked at the server at once");
    let r = report(&out);
    assert_eq!(r["holds"], true, "{r}");
    assert_eq!(r["audit"]["applied"], 30, "{r}");
}

#[test]
fn without_dedup_redeliveries_apply_effects_twice_and_the_report_says_so() {
    let server = LocalRedis::start().unwrap();
    let out = mq(&[
        "--redis",
        &server.url(),
        "--messages",
        "3000",
        "--no-dedup",
        "--kill-consumers",
        "6",
        "--kill-every-ms",
        "100",
        "--visibility-ms",
        "200",
        "--work-us",
        "2000",
    ])
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "applying twice is shown, not promised, without dedup: {text}");
    assert!(text.contains("SHOW effectively_once (not promised without dedup)"), "{text}");
    let mut con = redis::Client::open(server.url()).unwrap().get_connection().unwrap();
    let keys: Vec<String> = con.keys("*").unwrap();
    assert!(keys.is_empty(), "nothing left behind: {keys:?}");
}

#[test]
fn bad_targets_and_names_are_refused() {
    let out = mq(&["--name", "x", "--messages", "10"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give --redis or --cluster"));
    let out = mq(&["--redis-nodes", "redis://127.0.0.1:1,redis://127.0.0.1:2"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a queue's keys live on one store"));
}
