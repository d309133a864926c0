//! The `distlab sim` command line as a user meets it: output, exit codes and error messages.

use std::process::{Command, Output};

fn distlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_distlab")).args(args).output().expect("the distlab binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn list_names_the_scenarios_in_both_languages() {
    let en = distlab(&["sim", "list"]);
    assert!(en.status.success());
    let lines: Vec<String> = stdout(&en).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 23, "{lines:?}");
    assert!(lines[0].starts_with("pn-counter        46.1    PN-Counter CRDT"), "{lines:?}");
    assert!(lines[1].starts_with("cap               46.1    A replicated key-value store"), "{lines:?}");
    assert!(lines[2].starts_with("failure-detector  46.1.2  Heartbeats with jitter"), "{lines:?}");
    assert!(lines[3].starts_with("election          46.1.2  Raft-style leader election"), "{lines:?}");
    assert!(lines[4].starts_with("mq                46.2    A broker with acks, visibility timeouts"), "{lines:?}");
    assert!(lines[5].starts_with("mq-streams        46.2    The reliable queue on Redis Streams"), "{lines:?}");
    assert!(
        lines[6].starts_with("cache             46.3    Application servers, a cache and a slow database"),
        "{lines:?}"
    );
    assert!(lines[7].starts_with("lb                46.4    Clients, balancers and backends"), "{lines:?}");
    assert!(lines[8].starts_with("ha                46.5    Callers, a service and its dependency"), "{lines:?}");
    assert!(lines[9].starts_with("failover          46.5    An active–passive pair"), "{lines:?}");
    assert!(lines[10].starts_with("lock              46.7.1  Clients sharing a lock"), "{lines:?}");
    assert!(lines[11].starts_with("lock-kleppmann    46.7.1  Kleppmann's scenario"), "{lines:?}");
    assert!(lines[12].starts_with("redlock           46.7.1  Redlock over 5 independent stores"), "{lines:?}");
    assert!(lines[13].starts_with("zk-lock           46.7.1  The ZooKeeper lock recipe"), "{lines:?}");
    assert!(lines[14].starts_with("rw-lock           46.7.1  Redisson's reentrant read-write lock"), "{lines:?}");
    assert!(lines[15].starts_with("exercise-1        46.7.1  Exercise 1 step by step"), "{lines:?}");
    assert!(lines[16].starts_with("ids               46.7.2  ID generator nodes and their store"), "{lines:?}");
    assert!(lines[17].starts_with("2pc               46.7.3  Two-phase commit of orders"), "{lines:?}");
    assert!(lines[18].starts_with("tcc               46.7.3  Try-confirm-cancel of the same orders"), "{lines:?}");
    assert!(lines[19].starts_with("saga              46.7.3  Orchestrated sagas of the same orders"), "{lines:?}");
    assert!(lines[20].starts_with("saga-choreo       46.7.3  The same orders as a choreographed saga"), "{lines:?}");
    assert!(lines[21].starts_with("saga-store        46.7.3  The saga with everything in the store"), "{lines:?}");
    assert!(lines[22].starts_with("outbox            46.7.3  The transactional outbox"), "{lines:?}");
    let zh = distlab(&["sim", "list", "--lang", "zh"]);
    assert!(stdout(&zh).contains("三副本"), "{}", stdout(&zh));
    let json: serde_json::Value = serde_json::from_slice(&distlab(&["sim", "list", "--json"]).stdout).unwrap();
    assert_eq!(json[0]["name"], "pn-counter");
    assert_eq!(json[0]["properties"][0], "convergence");
}

#[test]
fn run_prints_summary_verdicts_and_the_trace_hash() {
    let o = distlab(&["sim", "run", "pn-counter", "--seed", "7"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("scenario: pn-counter (46.1), seed 7, run to t = 10.000 s\n"), "{text}");
    assert!(text.contains("  PASS convergence: all 3 replicas hold the exact total"), "{text}");
    let hash_line = text.lines().last().unwrap();
    assert!(hash_line.starts_with("trace hash: 0x") && hash_line.len() == "trace hash: 0x".len() + 16, "{hash_line}");
    let again = distlab(&["sim", "run", "pn-counter", "--seed", "7"]);
    assert_eq!(stdout(&again), text, "one seed, one run");
    let other = distlab(&["sim", "run", "pn-counter", "--seed", "8"]);
    assert_ne!(stdout(&other).lines().last(), Some(hash_line));
}

#[test]
fn json_output_and_trace_file_agree_with_the_text() {
    let dir = std::env::temp_dir().join(format!("distlab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("trace.jsonl");
    let trace_arg = trace.to_str().unwrap();
    let args = ["sim", "run", "pn-counter", "--seed", "3", "--until", "2s", "--json", "--trace", trace_arg];
    let o = distlab(&args);
    assert_eq!(o.status.code(), Some(0), "2 s is inside the chaos: not converged yet, which is not a violation");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["until_us"], 2_000_000);
    assert_eq!(json["verdicts"][0]["holds"], false);
    assert_eq!(json["verdicts"][0]["status"], "pending");
    assert_eq!(json["verdicts"][0]["final"], false);
    let lines = std::fs::read_to_string(&trace).unwrap();
    assert_eq!(lines.lines().count() as u64, json["trace_records"].as_u64().unwrap());
    let last: serde_json::Value = serde_json::from_str(lines.lines().last().unwrap()).unwrap();
    assert!(last["time"].as_u64().unwrap() <= 2_000_000);
    let text = distlab(&["sim", "run", "pn-counter", "--seed", "3", "--until", "2s"]);
    assert!(stdout(&text).ends_with(&format!("trace hash: {}\n", json["trace_hash"].as_str().unwrap())));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_chapters_merge_fails_its_check_with_exit_code_1() {
    let o = distlab(&["sim", "run", "pn-counter", "--config", r#"{"merge":"chapter"}"#]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("  FAIL convergence: the replicas do not all hold the exact total"), "{}", stdout(&o));
}

#[test]
fn bad_input_exits_2_with_a_message_naming_the_problem() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["sim", "run", "nope"],
            r#"error: unknown scenario "nope": the scenarios are pn-counter, cap, failure-detector, election, mq, mq-streams, cache, lb, ha, failover, lock, lock-kleppmann, redlock, zk-lock, rw-lock, exercise-1, ids, 2pc, tcc, saga, saga-choreo, saga-store, outbox"#,
        ),
        (
            &["sim", "run", "pn-counter", "--config", r#"{"replicas":9}"#],
            "error: replicas = 9 is out of range: allowed 2..=7",
        ),
        (&["sim", "run", "pn-counter", "--config", "{oops"], "error: --config is not valid JSON: {oops"),
        (&["sim", "run", "pn-counter", "--config", "[1]"], "error: --config must be a JSON object, got [1]"),
        (
            &["sim", "run", "pn-counter", "--until", "10"],
            "invalid duration \"10\": expected a whole number followed by us, ms, s or m",
        ),
    ];
    for (args, want) in cases {
        let o = distlab(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty());
    }
}

#[test]
fn shrink_prints_a_minimal_schedule_that_replays_and_a_link_that_carries_it() {
    let o = distlab(&["sim", "shrink", "lock", "--seed", "1", "--config", r#"{"fencing":false}"#]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("scenario: lock, seed 1: mutual_exclusion still broken\nfaults: 59 -> 1 ("), "{text}");
    assert!(text.contains("\nclients: 3 -> 2\n"), "{text}");
    let replay = text.lines().find_map(|l| l.strip_prefix("replay: distlab sim run lock --seed 1 --config '")).unwrap();
    let config = replay.strip_suffix('\'').unwrap();
    let again = distlab(&["sim", "run", "lock", "--seed", "1", "--config", config]);
    assert_eq!(again.status.code(), Some(1), "the replayed run fails its promise again");
    assert!(
        stdout(&again).contains("  FAIL mutual_exclusion: a stale holder's write was accepted"),
        "{}",
        stdout(&again)
    );
    let link = text.lines().find_map(|l| l.strip_prefix("link: ")).unwrap();
    assert!(
        link.starts_with("http://127.0.0.1:8080/#/locks?kind=single&sim.seed=1&sim.config=%7B%22clients%22%3A2"),
        "{link}"
    );

    let o = distlab(&[
        "sim",
        "shrink",
        "cap",
        "--seed",
        "18",
        "--keep-workload",
        "--json",
        "--page",
        "https://lab.example/",
        "--config",
        r#"{"consistency":"quorum","keys":1,"clients":5,"op_interval_ms":20}"#,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!((out["faults_before"].as_u64(), out["faults_after"].as_u64()), (Some(2), Some(0)));
    assert_eq!(out["workload"], serde_json::json!([]));
    assert_eq!(out["config"]["schedule"], serde_json::json!([]));
    assert!(out["link"].as_str().unwrap().starts_with("https://lab.example/#/cap?sim.seed=18&sim.config="), "{out}");

    let o = distlab(&["sim", "shrink", "lock-kleppmann"]);
    assert!(stdout(&o).contains("link: no view of the page shows lock-kleppmann"), "{}", stdout(&o));
}

#[test]
fn shrink_refuses_a_run_with_nothing_to_shrink() {
    let cases: [(&[&str], &str); 4] = [
        (&["sim", "shrink", "pn-counter"], "error: nothing to shrink: pn-counter with seed 1 breaks no property ("),
        (
            &["sim", "shrink", "lock", "--property", "mutual_exclusion"],
            "error: nothing to shrink: lock with seed 1 keeps mutual_exclusion",
        ),
        (
            &["sim", "shrink", "lock", "--property", "safety"],
            "error: lock has no property \"safety\": its properties are mutual_exclusion, lock_belief",
        ),
        (&["sim", "shrink", "lock", "--max-runs", "0"], "error: max_runs = 0 is out of range: allowed 1.."),
    ];
    for (args, want) in cases {
        let o = distlab(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).starts_with(want), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn branch_shows_where_two_branches_part_and_both_verdicts() {
    let o = distlab(&["sim", "branch", "lock", "--seed", "1", "--config", r#"{"fencing":false}"#, "--remove", "3"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.starts_with(
            "scenario: lock, seed 1\nB = A - {\"fault\":\"clock_jump\",\"node\":\"redis\",\"delta_us\":1978000} (t = 1.743 s)\n"
        ),
        "{text}"
    );
    assert!(text.contains("\nfirst divergence at t = 1.868 797 s:\n  A {\"index\":211,"), "{text}");
    assert!(text.contains("\n  mutual_exclusion         FAIL        PASS  <- differs\n"), "{text}");
    let link = text.lines().find_map(|l| l.strip_prefix("link: ")).unwrap();
    assert!(link.starts_with("http://127.0.0.1:8080/#/locks?kind=single&sim.seed=1&sim.config=%7B%22fencing%22%3Afalse%7D&sim.branch=%7B%22remove%22"), "{link}");

    let o = distlab(&[
        "sim",
        "branch",
        "lock",
        "--add",
        r#"{"fault":"crash","node":"redis"}"#,
        "--at",
        "5s",
        "--json",
        "--faults",
        r#"[{"after":100,"at":0,"fault":{"fault":"pause","node":"c1","duration_us":300000}}]"#,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(out["change"]["add"]["at"], 5_000_000);
    assert_eq!(out["change_record"]["kind"], "fault");
    assert!(out["divergence"]["at_us"].as_u64().unwrap() >= 5_000_000, "{out}");
    assert_ne!(out["a"]["trace_hash"], out["b"]["trace_hash"]);
    assert!(out["link"].as_str().unwrap().contains("&sim.faults=%5B%7B%22after%22%3A100"), "{out}");
}

#[test]
fn branch_refuses_what_it_cannot_compare_and_lists_the_runs_faults() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["sim", "branch", "cap", "--seed", "18"],
            "error: say what the second branch changes: --add FAULT (with --at or --after-events) or --remove N; the run's faults:\n  1. t = 2.000 s: {\"fault\":\"partition\"",
        ),
        (
            &["sim", "branch", "cap", "--seed", "18", "--remove", "3"],
            "error: --remove 3 is out of range: allowed 1..=2; the run's faults:",
        ),
        (
            &["sim", "branch", "pn-counter", "--config", r#"{"schedule":[]}"#, "--remove", "1"],
            "error: --remove 1 is out of range: allowed 1..=0; the run has no faults",
        ),
        (
            &["sim", "branch", "lock", "--add", r#"{"fault":"crash","node":"c0"}"#],
            "error: --add needs where the fault goes in: --at TIME",
        ),
        (
            &["sim", "branch", "lock", "--add", r#"{"fault":"melt"}"#, "--at", "1s"],
            "error: --add = {\"fault\":\"melt\"} is not allowed: expected \"fault\" as one of partition,",
        ),
        (
            &["sim", "branch", "lock", "--add", r#"{"fault":"crash","node":"store"}"#, "--at", "1s"],
            "error: unknown node \"store\"",
        ),
    ];
    for (args, want) in cases {
        let o = distlab(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).starts_with(want), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn a_run_that_hits_its_event_bound_exits_3() {
    let o = distlab(&["sim", "run", "pn-counter", "--events-max", "100"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("error: the run stopped at t = "), "{}", stderr(&o));
    assert!(stderr(&o).contains(": the run reached events_max = 100 at t = "), "{}", stderr(&o));
}

#[test]
fn check_linearizability_reads_a_history_file_and_exits_0_1_or_2() {
    let dir = std::env::temp_dir().join(format!("distlab-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let good = write(
        "good.json",
        r#"[{"client":0,"call":0,"return":10,"key":"x","op":"put","value":"1"},
            {"client":1,"call":5,"return":20,"key":"x","op":"get","output":"1"},
            {"client":2,"call":30,"return":null,"key":"x","op":"put","value":"2"},
            {"client":3,"call":40,"return":45,"key":"x","op":"cas","expected":"1","value":"3","output":true}]"#,
    );
    let o = distlab(&["check", "linearizability", "--model", "kv", &good]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("linearizable: 3 operations on 1 keys ("),
        "the unread write of unknown fate is left out: {}",
        stdout(&o)
    );
    let stale = write(
        "stale.json",
        r#"[{"client":0,"call":0,"return":10,"key":"x","op":"put","value":"1"},
            {"client":0,"call":20,"return":30,"key":"x","op":"put","value":"2"},
            {"client":1,"call":40,"return":50,"key":"x","op":"get","output":"1"},
            {"client":1,"call":60,"return":70,"key":"y","op":"get","output":null}]"#,
    );
    let o = distlab(&["check", "linearizability", &stale]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        "not linearizable: key x; these 3 operations cannot be ordered:\n  #0 client 0 put(x, 1) [0 .. 10]\n  \
         #1 client 0 put(x, 2) [20 .. 30]\n  #2 client 1 get(x) -> 1 [40 .. 50]\n"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&distlab(&["check", "linearizability", "--json", &stale]).stdout).unwrap();
    assert_eq!((json["linearizable"].as_bool(), json["culprits"].clone()), (Some(false), serde_json::json!([0, 1, 2])));
    // Unshrunk, the culprits are every operation called before the return no order gets past:
    // the early read of nothing too.
    let early = write(
        "early.json",
        r#"[{"client":2,"call":1,"return":5,"key":"x","op":"get","output":null},
            {"client":0,"call":0,"return":10,"key":"x","op":"put","value":"1"},
            {"client":0,"call":20,"return":30,"key":"x","op":"put","value":"2"},
            {"client":1,"call":40,"return":50,"key":"x","op":"get","output":"1"}]"#,
    );
    let culprits = |extra: &[&str]| {
        let o = distlab(&[&["check", "linearizability", "--json"], extra, &[early.as_str()]].concat());
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["culprits"].clone()
    };
    assert_eq!(culprits(&["--no-shrink"]), serde_json::json!([0, 1, 2, 3]));
    assert_eq!(culprits(&[]), serde_json::json!([1, 2, 3]));
    let backwards = write("backwards.json", r#"[{"client":0,"call":10,"return":5,"key":"x","op":"put","value":"1"}]"#);
    let o = distlab(&["check", "linearizability", &backwards]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "error: operation 0: returns at 5 before its invocation at 10\n");
    let o = distlab(&["check", "linearizability", &write("bad.json", r#"{"not": "a list"}"#)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.json (see `distlab check linearizability --help` for the format): not a history: expected a JSON array of operations"), "{}", stderr(&o));
    // A misspelt field, a missing return and one client doing two things at once are bad input.
    for (name, json, says) in [
        (
            "misspelt.json",
            r#"[{"client":0,"call":0,"return":5,"key":"x","op":"get","ouput":"1"}]"#,
            "operation 0: unknown field \"ouput\"",
        ),
        (
            "no-return.json",
            r#"[{"client":0,"call":0,"key":"x","op":"put","value":"1"}]"#,
            "operation 0: missing field \"return\"",
        ),
        (
            "overlap.json",
            r#"[{"client":0,"call":0,"return":9,"key":"x","op":"put","value":"1"},{"client":0,"call":4,"return":12,"key":"x","op":"get","output":"1"}]"#,
            "operations 0 and 1 of client 0 overlap",
        ),
    ] {
        let o = distlab(&["check", "linearizability", &write(name, json)]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{name}: {}", stderr(&o));
    }
    let o = distlab(&["check", "linearizability", "/nonexistent/history.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error: cannot read /nonexistent/history.json"), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_linearizability_reads_stdin() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_distlab"))
        .args(["check", "linearizability", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"[{"client":0,"call":0,"return":1,"key":"k","op":"get","output":null}]"#)
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("linearizable: 1 operations on 1 keys"));
}

#[test]
fn sweep_cap_tabulates_every_quorum_pair_or_one_parameter() {
    let config = r#"{"keys":1,"clients":5,"op_interval_ms":20,"consistency":"quorum","duration_ms":4000,"partition_at_ms":1000,"heal_at_ms":2500,"quiet_ms":1000}"#;
    let o = distlab(&["sweep", "cap", "--seeds", "3", "--config", config, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 9, "every (R, W) in 1..=3");
    assert_eq!(points[0]["point"], "R=1 W=1 R+W<=N");
    assert_eq!(points[0]["result"]["runs"], 3);
    assert!(
        points[0]["result"]["violation_rate"].as_f64().unwrap() > 0.5,
        "R=1, W=1 is not linearizable: {}",
        points[0]
    );
    assert_eq!(points[4]["point"], "R=2 W=2 R+W>N");
    assert!(stderr(&o).contains("[9/9] R=3 W=3 R+W>N: 3 seeds..."), "progress on stderr: {}", stderr(&o));
    // The seeds run on threads; how many does not change a figure.
    for jobs in ["1", "2", "5"] {
        let o = distlab(&["sweep", "cap", "--seeds", "3", "--config", config, "--json", "--jobs", jobs]);
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap(), json, "--jobs {jobs}");
    }
    let o = distlab(&["sweep", "cap", "--seeds", "2", "--param", "consistency", "--values", "strong,eventual"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    assert!(
        table.starts_with("point                    violated  availability      minority    stale/run\n"),
        "{table}"
    );
    assert!(table.contains("consistency=strong") && table.contains("consistency=eventual"), "{table}");
    let bad = distlab(&["sweep", "cap", "--seeds", "1", "--param", "read_quorum", "--values", "9"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("read_quorum=9: read_quorum = 9 is out of range: allowed 1..=3"), "{}", stderr(&bad));
    assert_eq!(distlab(&["sweep", "cap", "--param", "replicas"]).status.code(), Some(2), "values are needed");
}

#[test]
fn cache_compare_ranks_the_policies_under_the_optimum() {
    let o = distlab(&[
        "cache",
        "compare",
        "--workload",
        "zipf-scan",
        "--keys",
        "2000",
        "--length",
        "50000",
        "--capacity",
        "200",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ratio = |name: &str| {
        json["results"].as_array().unwrap().iter().find(|r| r["policy"] == name).unwrap()["hit_ratio"].as_f64().unwrap()
    };
    assert_eq!(json["accesses"], 50_000);
    for p in ["lru", "fifo", "lfu", "w-tinylfu"] {
        assert!(ratio(p) <= ratio("opt"), "{p} above OPT");
    }
    assert!(ratio("w-tinylfu") > ratio("lru"), "scan pollution hurts LRU more");
    let dir = std::env::temp_dir().join(format!("distlab-cache-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keys.txt");
    std::fs::write(&file, "a\nb\na\nc\na\nb\n").unwrap();
    let o = distlab(&["cache", "compare", "--capacity", "2", "--trace", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    assert!(
        table.starts_with("6 accesses, capacity 2\npolicy             hits  hit ratio   vs OPT  weight held\n"),
        "{table}"
    );
    assert!(table.contains("\nlru                   2     33.33%    0.667            2\n"), "{table}");
    assert!(table.contains("\nopt                   3     50.00%    1.000\n"), "{table}");
    // Bounded by weight: a (weight 1..=3 by hash) and b, c; no optimum shown.
    let o = distlab(&[
        "cache",
        "compare",
        "--capacity",
        "2",
        "--max-weight",
        "3",
        "--key-weight-max",
        "3",
        "--trace",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["weights"], serde_json::json!({ "key_weight_max": 3, "max_weight": 3 }));
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "no OPT row with weights");
    assert!(results.iter().all(|r| r["weight"].as_u64().unwrap() <= 3), "{results:?}");
    let o = distlab(&["cache", "compare", "--key-weight-max", "3"]);
    assert_eq!(o.status.code(), Some(2), "--key-weight-max needs --max-weight");
    std::fs::write(&file, "\n\n").unwrap();
    let o = distlab(&["cache", "compare", "--trace", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).ends_with("has no keys (one per line)\n"), "{}", stderr(&o));
    let o = distlab(&["cache", "compare", "--s", "9"]);
    assert_eq!((o.status.code(), stderr(&o)), (Some(2), "error: s = 9 is out of range: allowed 0..=5\n".to_owned()));
    assert_eq!(distlab(&["cache", "compare", "--capacity", "0"]).status.code(), Some(2));
    // One range for each option, checked before any work: the command line's is the engine's.
    let o = distlab(&["cache", "compare", "--length", "5000001"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("5000001 is not in 1..=5000000"), "{}", stderr(&o));
    assert_eq!(distlab(&["cache", "compare", "--length", "10", "--capacity", "10000001"]).status.code(), Some(2));
    let o = distlab(&["cache", "compare", "--keys", "20000000", "--length", "5000000"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("keys = 20000000 is out of range: allowed 1..=10000000"), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_reader_that_goes_away_ends_the_run_quietly() {
    // The reader is gone before distlab starts: `println!` meets a closed pipe. (Closing it after
    // the spawn raced with the output: a short listing could fit the pipe's buffer first, and the
    // run then ended 0 — seen once in a clean-clone CI run.)
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = Command::new(env!("CARGO_BIN_EXE_distlab"))
        .args(["sim", "list"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "no panic message, no error line");
}

#[test]
fn an_overflowing_duration_and_a_huge_config_get_short_exact_errors() {
    let o = distlab(&["sim", "run", "lock", "--until", "18446744073709551615ms"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is too long: at most 18446744073709551615us"), "{}", stderr(&o));
    let deep = "[".repeat(5_000);
    let o = distlab(&["sim", "run", "lock", "--config", &deep]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).len() < 300 && stderr(&o).contains("… (5000 bytes)"),
        "the input is not echoed whole: {}",
        stderr(&o)
    );
}

#[test]
fn a_field_given_twice_is_refused_and_a_sweep_checks_every_value_before_any_work() {
    let o = distlab(&["sim", "run", "lock", "--config", r#"{"clients":3,"clients":5}"#]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the field \"clients\" is given twice"), "{}", stderr(&o));
    let o = distlab(&["sweep", "cap", "--config", r#"{"replicas":5,"replicas":3}"#]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the field \"replicas\" is given twice"), "{}", stderr(&o));
    let o = distlab(&["sweep", "cap", "--seeds", "50", "--param", "replicas", "--values", "3,5,99"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("replicas=99: replicas = 99 is out of range"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("[1/3]"), "no point ran before the bad one was found: {}", stderr(&o));
    // A replica count that would make a million million quorum pairs is refused before any is made.
    let started = std::time::Instant::now();
    let o = distlab(&["sweep", "cap", "--seeds", "1", "--config", r#"{"replicas":1000000}"#]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "error: replicas = 1000000 is out of range: allowed 1..=7\n");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "refused at once, not after building the points");
}

#[test]
fn a_full_disk_ends_every_command_with_one_line_and_exit_1() {
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    for args in [
        &["sim", "run", "lock", "--seed", "1"][..],
        &["sim", "list", "--json"],
        &["lb", "picks", "--algorithm", "round_robin", "--backends", "a,b"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_distlab")).args(args).stdout(full()).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: ") && err.contains("No space left on device"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn a_run_holds_its_trace_only_when_it_writes_one_and_stops_at_its_memory_bound_with_exit_3() {
    // About 200,000 events: held, their records take some 50 MB more (a held record keeps its
    // payload's JSON, not a `serde_json::Value`); the checkers need a few.
    let config = r#"{"duration_ms":3600000}"#;
    let lean = distlab(&["sim", "run", "lock", "--config", config, "--memory-max", "56MiB", "--json"]);
    assert_eq!(lean.status.code(), Some(0), "{}", stderr(&lean));
    let json: serde_json::Value = serde_json::from_slice(&lean.stdout).unwrap();
    assert!(
        json["trace_records"].as_u64().unwrap() > 200_000,
        "every record counted and hashed: {}",
        json["trace_records"]
    );
    let dir = std::env::temp_dir().join(format!("distlab-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("trace.jsonl");
    let held = distlab(&[
        "sim",
        "run",
        "lock",
        "--config",
        config,
        "--memory-max",
        "56MiB",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(held.status.code(), Some(3), "{}", stderr(&held));
    let err = stderr(&held);
    assert!(err.starts_with("error: the run stopped at t = "), "{err}");
    assert!(err.contains(", past --memory-max 56.0 MiB, after "), "{err}");
    assert!(err.trim_end().ends_with("events (raise --memory-max, shorten --until, or leave out --trace)"), "{err}");
    assert!(!trace.exists(), "no partial trace is written");
    // A bound below what the process holds at the start ends even a run too short to be looked
    // at every 4,096 events.
    for args in [&["sim", "run", "pn-counter", "--until", "1s"][..], &["sweep", "cap", "--seeds", "1"][..]] {
        let o = distlab(&[args, &["--memory-max", "1KiB"]].concat());
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("past --memory-max 1.0 KiB, after 0 events"), "{args:?}: {}", stderr(&o));
    }
    let o = distlab(&["sim", "run", "lock", "--memory-max", "4GB"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("\"4GB\" is not a size: expected a whole number with a unit (B, KiB, MiB, GiB)"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_linearizability_says_unknown_with_exit_4_when_its_budget_runs_out() {
    // One client, 40 sequential writes and reads: a few dozen cache entries, more than 1 KiB.
    let history: Vec<serde_json::Value> = (0..40u64)
        .map(|i| {
            let (call, ret) = (i * 10, i * 10 + 5);
            if i % 2 == 0 {
                serde_json::json!({"client": 0, "call": call, "return": ret, "key": "x", "op": "put", "value": i.to_string()})
            } else {
                serde_json::json!({"client": 0, "call": call, "return": ret, "key": "x", "op": "get", "output": (i - 1).to_string()})
            }
        })
        .collect();
    let path = std::env::temp_dir().join(format!("distlab-budget-{}.json", std::process::id()));
    std::fs::write(&path, serde_json::to_string(&history).unwrap()).unwrap();
    let file = path.to_str().unwrap();
    let o = distlab(&["check", "linearizability", file]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = distlab(&["check", "linearizability", "--memory-max", "1KiB", file]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("unknown: the search on key x ran out of --memory-max 1.0 KiB after "),
        "{}",
        stdout(&o)
    );
    let o = distlab(&["check", "linearizability", "--memory-max", "1KiB", "--json", file]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (json["linearizable"].clone(), json["unknown"].clone(), json["keys_decided"].clone()),
        (serde_json::Value::Null, true.into(), 0.into())
    );
    for (bad, says) in [("--timeout", "5"), ("--memory-max", "lots")] {
        let o = distlab(&["check", "linearizability", bad, says, file]);
        assert_eq!(o.status.code(), Some(2), "{bad} {says}");
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
    }
    std::fs::remove_file(&path).unwrap();
}
