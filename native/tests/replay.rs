//! `distlab replay`: the simulator's store history sent to a real Redis at the same moments.
//! Scenarios whose store the simulator models as Redis behaves must not diverge; a store clock
//! jump, which the simulator makes and Redis cannot, must, at the command the lease ran out early
//! for, and the divergence is flagged by the checker it breaks. Each run uses the embedded
//! servers `distlab` starts itself.

use std::process::{Command, Output};

fn distlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_distlab")).args(args).output().expect("the distlab binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn out_file(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("distlab-replay-{}-{name}.json", std::process::id()))
}

/// Runs a replay writing its histories to a file of its own; returns the output and the file.
fn replay(name: &str, args: &[&str]) -> (Output, serde_json::Value) {
    let file = out_file(name);
    let out = file.to_str().unwrap().to_owned();
    let o = distlab(&[&["replay"], args, &["--out", out.as_str()]].concat());
    let histories = std::fs::read_to_string(&file).map(|t| serde_json::from_str(&t).unwrap()).unwrap_or_default();
    let _ = std::fs::remove_file(&file);
    (o, histories)
}

const QUIET_LOCK: &str = r#"{"clients":2,"loss_percent":0,"pauses":false,"clock_jumps":false,"partitions":false,"crashes":false,"store_restarts":false,"duration_ms":2000}"#;

#[test]
fn a_lock_without_store_faults_replays_on_redis_without_a_divergence() {
    for seed in ["1", "2"] {
        let (o, h) = replay(&format!("quiet-{seed}"), &["lock", "--seed", seed, "--config", QUIET_LOCK]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let stdout = text(&o.stdout);
        assert!(
            stdout.contains("\nno divergence: Redis answered every command as the simulated store did\n"),
            "{stdout}"
        );
        let history = h["history"].as_array().unwrap();
        assert_eq!(history.len() as u64, h["commands"].as_u64().unwrap());
        assert!(history.len() > 10, "{} commands", history.len());
        assert!(history.iter().all(|e| e["same"] == true && e["real"] == e["reply"]), "seed {seed}");
        assert!(h["divergence"].is_null() && h["store_faults"] == serde_json::json!([]));
        // At the simulator's moments: each command ran no earlier than its simulated time.
        assert!(history.iter().all(|e| e["real_at_us"].as_u64() >= e["at_us"].as_u64()));
    }
}

#[test]
fn a_store_clock_jump_parts_the_simulator_from_redis_where_the_lease_ran_out_early() {
    let config = r#"{"fencing":false,"clients":2,"duration_ms":1975,"schedule":[{"at_us":1743000,"fault":"clock_jump","node":"redis","delta_us":1978000}]}"#;
    let (o, h) = replay("jump", &["lock", "--seed", "1", "--config", config]);
    assert_eq!(o.status.code(), Some(1), "flagged by the checker: {}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("\nfaults of the simulated stores that Redis does not undergo: {\"fault\":\"clock_jump\",\"node\":\"redis\",\"delta_us\":1978000} at 1.743 s\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nfirst divergence: command 14 at t = 1.775 064 s, c0 -> redis: SET {lock} n2.0:3 NX PX 2000\n  simulated:  Status(\"OK\")\n  real Redis: Nil ("),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nthe divergence matters: mutual_exclusion broken in the simulator from there on"),
        "{stdout}"
    );
    let d = &h["divergence"];
    assert_eq!((d["n"].as_u64(), d["at_us"].as_u64()), (Some(14), Some(1_775_064)));
    assert_eq!(
        d["leading"].as_array().unwrap().last().unwrap()["kind"],
        "deliver",
        "the trace up to the store running it"
    );
    assert_eq!(h["flagged_by"], serde_json::json!(["mutual_exclusion"]));
    let history = h["history"].as_array().unwrap();
    assert!(history[..14].iter().all(|e| e["same"] == true), "the same answers up to the jump's consequence");
    assert_eq!(history[14]["same"], false);
}

/// A saga's orchestrator, relay and consumer write logs, outboxes and counters with scripts and
/// read no clock: Redis answers all of it as the simulated store did.
#[test]
fn saga_store_replays_without_a_divergence() {
    let (o, h) = replay("saga-store", &["saga-store", "--until", "2s"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(h["divergence"].is_null(), "{}", h["divergence"]);
    assert!(h["commands"].as_u64() > Some(100), "{}", h["commands"]);
}

#[test]
fn what_cannot_be_replayed_is_refused_with_the_reason() {
    let o = distlab(&["replay", "pn-counter", "--until", "1s"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).starts_with("error: pn-counter sends its stores no commands (up to t = 1.000 s)"),
        "{}",
        text(&o.stderr)
    );
    let server = distlab::server::LocalRedis::start().unwrap();
    let o = distlab(&["replay", "redlock", "--until", "1s", "--redis", &server.url()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("error: redlock has 5 independent stores (redis0, redis1, redis2, redis3, redis4), the target has 1: give --redis-nodes with 5 servers"),
        "{}",
        text(&o.stderr)
    );
}
