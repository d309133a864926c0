//! `distlab saga` on a real redis-server (46.7.3): the orchestrator's process is killed with
//! SIGKILL while sagas are half done, started again, and every saga ends completed or
//! compensated — checked by the command's own audit and, independently, by reading Redis here.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use distlab::server::LocalRedis;
use redis::Commands;

const ORDERS: u64 = 20_000;
const WORKERS: u64 = 8;

fn saga(url: &str, name: &str, orders: u64) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_distlab"));
    cmd.args(["saga", "--redis", url, "--name", name, "--json"])
        .args(["--orders", &orders.to_string(), "--workers", &WORKERS.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn log_key(name: &str, w: u64) -> String {
    format!("distlab:saga-{name}:{{saga-{w}}}:log")
}

/// Every worker's saga log entries that are neither completed nor rolled back.
fn unfinished(con: &mut redis::Connection, name: &str) -> Vec<(u64, String, String)> {
    let mut out = Vec::new();
    for w in 0..WORKERS {
        let log: Vec<(String, String)> = con.hgetall(log_key(name, w)).unwrap();
        out.extend(log.into_iter().filter(|(_, s)| s != "completed" && s != "rolled_back").map(|(tx, s)| (w, tx, s)));
    }
    out
}

#[test]
fn a_killed_orchestrator_resumes_and_every_saga_ends_completed_or_compensated() {
    let server = LocalRedis::start().unwrap();
    let url = server.url();
    let mut con = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
    let name = "kill";
    // Kill the process once a few hundred sagas are through; a saga whose first step had not yet
    // run leaves nothing behind, so try again (resuming) until the kill leaves sagas half done.
    let mut half_done = Vec::new();
    for attempt in 0..8 {
        let mut child = saga(&url, name, ORDERS).spawn().unwrap();
        let before: u64 = con.hlen(log_key(name, 0)).unwrap();
        let started = Instant::now();
        while con.hlen::<_, u64>(log_key(name, 0)).unwrap() < before + 100 + 37 * attempt {
            assert!(started.elapsed() < Duration::from_secs(60), "no progress");
            assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL: no cleanup, no goodbye
        child.wait().unwrap();
        half_done = unfinished(&mut con, name);
        if !half_done.is_empty() {
            break;
        }
    }
    assert!(!half_done.is_empty(), "some kill left a saga between its steps");
    assert!(half_done.iter().all(|(_, _, s)| s.starts_with("f:") || s.starts_with("b:")), "{half_done:?}");

    let out = saga(&url, name, ORDERS).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["holds"], true, "{report}");
    assert!(report["resumed"].as_u64().unwrap() >= half_done.len() as u64, "{report}");
    let audit = &report["audit"];
    assert_eq!(audit["completed"].as_u64().unwrap() + audit["rolled_back"].as_u64().unwrap(), ORDERS);
    assert_eq!(audit["rolled_back"].as_u64(), Some(ORDERS / 10), "shipping for 90%: the rest compensated");
    assert_eq!(audit["unfinished"], serde_json::json!([]));

    // Independently of the command's audit: every log entry final, each half-done saga included,
    // the counters conserved and the outboxes empty.
    assert_eq!(unfinished(&mut con, name), []);
    let mut entries = 0;
    for w in 0..WORKERS {
        entries += con.hlen::<_, u64>(log_key(name, w)).unwrap();
        let orders = ORDERS / WORKERS;
        for (service, total) in [("inventory", orders), ("payment", orders * 10), ("shipping", orders * 9 / 10)] {
            let key = format!("distlab:saga-{name}:{{saga-{w}}}:account:{service}");
            let (available, moved): (u64, u64) =
                redis::cmd("HMGET").arg(&key).arg("available").arg("moved").query(&mut con).unwrap();
            assert_eq!(available + moved, total, "{key}");
        }
        let left: u64 = con.zcard(format!("distlab:saga-{name}:{{saga-{w}}}:outbox")).unwrap();
        assert_eq!(left, 0);
    }
    assert_eq!(entries, ORDERS);

    // Resuming with other options would judge the state by the wrong plan: refused.
    let other = saga(&url, name, ORDERS + 1).output().unwrap();
    assert_eq!(other.status.code(), Some(2));
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(err.contains("this run was started with --orders 20000"), "{err}");
}

#[test]
fn a_named_run_needs_a_redis_that_outlives_the_process() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_distlab")).args(["saga", "--name", "x", "--orders", "10"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give --redis or --cluster"));
    let nodes = ["saga", "--redis-nodes", "redis://127.0.0.1:1,redis://127.0.0.1:2"];
    let out = Command::new(env!("CARGO_BIN_EXE_distlab")).args(nodes).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a saga's keys live on one store"));
}

#[test]
fn an_unnamed_run_checks_its_sagas_and_deletes_its_keys() {
    let server = LocalRedis::start().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_distlab"))
        .args(["saga", "--redis", &server.url(), "--orders", "500", "--workers", "4", "--shipping-percent", "50"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    // 50% of all 500 orders ship (not 50% of each worker's 125, rounded down: 248).
    assert!(text.contains("orders: 250 completed, 250 rolled back, 0 unfinished"), "{text}");
    assert!(text.contains("PASS delivered"), "{text}");
    let mut con = redis::Client::open(server.url()).unwrap().get_connection().unwrap();
    let keys: Vec<String> = con.keys("*").unwrap();
    assert_eq!(keys, Vec::<String>::new(), "nothing left behind");
}

/// Out of time, a run says how far it got and gives up with exit 3, rather than judging the sagas
/// still running as dropped; its keys go as an unnamed run's do.
#[test]
fn a_run_out_of_time_gives_up_and_says_how_far_it_got() {
    let server = LocalRedis::start().unwrap();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_distlab"))
        .args(["saga", "--redis", &server.url(), "--orders", "1000000", "--timeout", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains(" of 1000000 sagas finished after 1 s: giving up (raise --timeout;"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("FAIL"), "nothing is judged");
    assert!(started.elapsed() < Duration::from_secs(20), "it gave up promptly");
    let mut con = redis::Client::open(server.url()).unwrap().get_connection().unwrap();
    let keys: Vec<String> = con.keys("*").unwrap();
    assert_eq!(keys, Vec::<String>::new(), "nothing left behind");
}

#[test]
fn a_reader_that_goes_away_ends_nothing_badly() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_distlab"))
        .args(["saga", "--orders", "2000", "--workers", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap(); // then dropped: `| head -1`
    assert!(first.starts_with("target: embedded redis-server"), "{first}");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "as if killed by SIGPIPE: {err}");
    assert!(!err.contains("panicked") && !err.contains("error"), "{err}");
}

#[test]
fn a_json_reader_that_goes_away_leaves_no_keys_behind() {
    let server = LocalRedis::start().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_distlab"))
        .args(["saga", "--redis", &server.url(), "--orders", "500", "--workers", "2", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // `| true`: nobody reads the report
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141), "{}", String::from_utf8_lossy(&out.stderr));
    let mut con = redis::Client::open(server.url()).unwrap().get_connection().unwrap();
    let keys: Vec<String> = con.keys("*").unwrap();
    assert_eq!(keys, Vec::<String>::new(), "cleaned up before the report was printed");
}
