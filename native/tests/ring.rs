//! `distlab ring` against an independent implementation: a few lines of Python using `hashlib`
//! directly, placing nodes exactly as the chapter's `ConsistentHashing` does. Every owner and
//! replica list must agree, key by key.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// The chapter's placement, written from its description (not from distlab's code): virtual node
/// `i` of node `n` at int(md5("n#i")), a key at int(md5(key)), the first point >= it, wrapping;
/// replicas are the next distinct nodes clockwise.
const PYTHON_REFERENCE: &str = r#"
import hashlib, sys
def h(s): return int(hashlib.md5(s.encode("utf-8")).hexdigest(), 16)
nodes, vnodes, count = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3])
points = sorted((h(f"{n}#{i}"), n) for n in nodes for i in range(vnodes))
for key in sys.stdin.read().split("\n"):
    if not key:
        continue
    hk = h(key)
    start = next((i for i, (p, _) in enumerate(points) if hk <= p), 0)
    owners = []
    for j in range(len(points)):
        n = points[(start + j) % len(points)][1]
        if n not in owners:
            owners.append(n)
        if len(owners) == count:
            break
    print(key + "\t" + ",".join(owners))
"#;

fn with_stdin(mut cmd: Command, input: &str) -> Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn keys() -> String {
    let mut keys: Vec<String> = (0..400).map(|i| format!("user:{i}")).collect();
    keys.extend(["用户:1", "a key with spaces", "#", "node-0#3"].map(str::to_owned));
    keys.join("\n") + "\n"
}

#[test]
fn owners_and_replicas_match_an_independent_python_implementation() {
    let python = distlab::server::find_on_path("python3").expect("python3 is needed for this cross-check");
    for (nodes, vnodes, replicas) in
        [("a,b,c", "150", "1"), ("node-0,node-1,node-2,node-3,node-4", "20", "3"), ("x,y", "1", "2")]
    {
        let mut reference = Command::new(&python);
        reference.args(["-c", PYTHON_REFERENCE, nodes, vnodes, replicas]);
        let want = with_stdin(reference, &keys());
        assert!(want.status.success(), "{}", String::from_utf8_lossy(&want.stderr));
        let mut ours = Command::new(env!("CARGO_BIN_EXE_distlab"));
        ours.args(["ring", "locate", "--nodes", nodes, "--vnodes", vnodes, "--replicas", replicas]);
        let got = with_stdin(ours, &keys());
        assert!(got.status.success(), "{}", String::from_utf8_lossy(&got.stderr));
        let (want, got) = (String::from_utf8(want.stdout).unwrap(), String::from_utf8(got.stdout).unwrap());
        assert_eq!(got.lines().count(), 404);
        for (g, w) in got.lines().zip(want.lines()) {
            assert_eq!(g, w, "nodes {nodes}, {vnodes} vnodes, {replicas} replicas");
        }
    }
}

#[test]
fn stats_compare_the_methods_on_the_same_keys() {
    let o = Command::new(env!("CARGO_BIN_EXE_distlab"))
        .args(["ring", "stats", "--nodes", "a,b,c,d", "--add", "e", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["keys"], 10_000);
    assert_eq!(v["movement"]["ideal"], 0.2);
    let moved = |m: &str| v["movement"]["moved"][m].as_f64().unwrap();
    assert!(moved("ring") < 0.25 && moved("modulo") > 0.7, "{v}");
    let per_node = v["load"]["ring"]["keys_per_node"].as_object().unwrap();
    assert_eq!(per_node.values().map(|c| c.as_u64().unwrap()).sum::<u64>(), 10_000);
    let text =
        Command::new(env!("CARGO_BIN_EXE_distlab")).args(["ring", "stats", "--nodes", "a,b,c"]).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("keys moved by \"add new\" (ideal 25.0%):"), "{text}");
}

#[test]
fn bad_ring_input_exits_2_naming_the_problem() {
    let cases: [(&[&str], &str); 8] = [
        (&["ring", "stats", "--nodes", "a,a"], "--nodes: node \"a\" is already on the ring"),
        (&["ring", "stats", "--nodes", "a", "--remove", "a"], "--remove \"a\": it is the only node"),
        (&["ring", "stats", "--nodes", "a,b", "--weights", "a=2,a=3"], "--weights: \"a\" is given twice"),
        (&["ring", "stats", "--nodes", "a,b", "--weights", "a=0"], "--weights: "),
        (&["ring", "stats", "--nodes", "a", "--vnodes", "0"], "--vnodes: virtual_nodes = 0 is out of range"),
        (&["ring", "stats", "--nodes", "a,b", "--remove", "z"], "--remove: node \"z\" is not on the ring"),
        (&["ring", "stats", "--nodes", "a", "--weights", "b=2"], "\"b\" is not one of --nodes"),
        (&["ring", "locate", "--nodes", "a,b", "--replicas", "3"], "--replicas 3 is out of range: allowed 1..=2"),
    ];
    for (args, want) in cases {
        let o = Command::new(env!("CARGO_BIN_EXE_distlab")).args(args).stdin(Stdio::null()).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
}
