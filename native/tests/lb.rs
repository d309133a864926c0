//! `distlab lb picks` (46.4.1, exercise 4): the chapter's algorithms beside the fixed ones from
//! the shell, and every bad input refused with one line and exit 2.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn lb(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_distlab"))
        .args(["lb", "picks"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn clients(n: usize) -> String {
    (0..n).map(|i| format!("10.1.{}.{}\n", i / 256, i % 256)).collect()
}

#[test]
fn smooth_wrr_prints_nginxs_sequence_and_skips_a_backend_that_is_down() {
    let o = lb(&["--algorithm", "smooth_wrr", "--backends", "a=5,b=1,c=1", "--count", "14"], "");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o).0.split_whitespace().collect::<Vec<_>>().join(" "), "a a b a c a a a a b a c a a");
    let o = lb(&["--algorithm", "smooth_wrr", "--backends", "a=5,b=1,c=1", "--count", "6", "--down", "c"], "");
    assert_eq!(text(&o).0.split_whitespace().collect::<Vec<_>>().join(" "), "a a a b a a");
    let o = lb(&["--algorithm", "round_robin", "--backends", "a,b", "--count", "3", "--json"], "");
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(v["picks"], serde_json::json!(["a", "b", "a"]));
}

#[test]
fn hashing_algorithms_print_a_backend_per_key_and_what_a_backend_going_down_moves() {
    let keys = clients(5_000);
    let o = lb(&["--algorithm", "ip_hash", "--backends", "a,b,c,d,e"], &keys);
    let (out, _) = text(&o);
    assert_eq!(out.lines().count(), 5_000);
    assert!(out.lines().all(|l| l.split('\t').count() == 2), "key<TAB>backend");
    let again = lb(&["--algorithm", "ip_hash", "--backends", "a,b,c,d,e"], &keys);
    assert_eq!(text(&again).0, out, "the same keys, the same backends");
    let ours = lb(&["--algorithm", "ip_hash", "--backends", "a,b,c,d,e", "--down", "c", "--json"], &keys);
    let v: serde_json::Value = serde_json::from_str(&text(&ours).0).unwrap();
    assert_eq!(v["moved"], v["forced"], "only c's clients move: {}", v["moved"]);
    let theirs = lb(&["--algorithm", "chapter_ip_hash", "--backends", "a,b,c,d,e", "--down", "c"], &keys);
    let (out, err) = text(&theirs);
    assert!(out.lines().all(|l| l.split('\t').count() == 3), "key<TAB>before<TAB>after");
    let moved: u64 = err.split_whitespace().next().unwrap().parse().unwrap();
    assert!(moved > 3_500, "hash % healthy moves most clients: {err}");
}

#[test]
fn bad_inputs_are_refused_with_one_line() {
    let cases: [(&[&str], &str); 8] = [
        (&["--algorithm", "nope", "--backends", "a"], "unknown algorithm \"nope\": the algorithms are round_robin"),
        (&["--algorithm", "random", "--backends", "a,a"], "\"a\" is given twice"),
        (&["--algorithm", "random", "--backends", "a=1.5"], "the weight must be an integer"),
        (&["--algorithm", "random", "--backends", "=3"], "a backend needs a name"),
        (&["--algorithm", "random", "--backends", "a", "--down", "b"], "--down \"b\" is not one of --backends"),
        (&["--algorithm", "random", "--backends", "a", "--down", "a"], "no backend is left in rotation"),
        (&["--algorithm", "maglev", "--backends", "a", "--count", "3"], "maglev hashes keys"),
        (&["--algorithm", "random", "--backends", "a", "--keys", "k.txt"], "random takes turns and reads no keys"),
    ];
    for (args, expected) in cases {
        let o = lb(args, "");
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected) && err.lines().count() == 1, "{args:?}: {err}");
    }
    let o = lb(&["--algorithm", "maglev", "--backends", "a", "--keys", "/nonexistent/keys"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("--keys /nonexistent/keys"), "{}", text(&o).1);
}
