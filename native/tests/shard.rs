//! `distlab bench shard` (46.1.1 on real Redis): keys placed by the ring, jump hash and
//! `hash % N` on servers the test starts, counted by scanning them; the moves a joining server
//! forces, next to the ideal; Redis Cluster's own placement; foreign keys untouched.

use std::process::{Command, Output};

use distlab::server::{LocalCluster, LocalRedis};

fn distlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_distlab")).args(args).output().expect("the distlab binary runs")
}

fn report(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn placement<'a>(r: &'a serde_json::Value, method: &str) -> &'a serde_json::Value {
    r["placements"].as_array().unwrap().iter().find(|p| p["method"] == method).unwrap()
}

fn counts(p: &serde_json::Value) -> Vec<u64> {
    p["keys_per_node"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect()
}

#[test]
fn keys_placed_on_independent_servers_move_as_each_method_promises_and_foreign_keys_stay() {
    let servers: Vec<LocalRedis> = (0..4).map(|_| LocalRedis::start().unwrap()).collect();
    let mut con = redis::Client::open(servers[0].url()).unwrap().get_connection().unwrap();
    let _: () = redis::cmd("SET").arg("shard:ring:key:1").arg("not distlab's").query(&mut con).unwrap();
    let urls: Vec<String> = servers.iter().map(LocalRedis::url).collect();
    let r = report(&distlab(&["bench", "shard", "--redis-nodes", &urls.join(","), "--keys", "20000", "--json"]));
    assert_eq!(r["keys"], 20_000);
    for method in ["ring", "jump", "hash % N"] {
        let p = placement(&r, method);
        let c = counts(p);
        assert_eq!(c.iter().sum::<u64>(), 20_000, "{method}: every key on exactly one server, as scanned: {c:?}");
        assert_eq!(c[3], 0, "{method}: the joining server holds nothing yet");
        assert_eq!(p["ideal_moved"], 5_000);
    }
    let moved = |m: &str| placement(&r, m)["moved"].as_u64().unwrap();
    // Jump hash moves exactly the joining server's share (within sampling); the ring about it,
    // with its 150 virtual nodes' unevenness; hash % N three quarters.
    assert!((4_700..=5_300).contains(&moved("jump")), "{r}");
    assert!((3_500..=6_500).contains(&moved("ring")), "{r}");
    assert!(moved("hash % N") >= 14_000, "{r}");
    for s in &servers {
        let mut c = redis::Client::open(s.url()).unwrap().get_connection().unwrap();
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
        assert!(keys.iter().all(|k| !k.starts_with("distlab:")), "no key of the run is left: {keys:?}");
    }
    let kept: String = redis::cmd("GET").arg("shard:ring:key:1").query(&mut con).unwrap();
    assert_eq!(kept, "not distlab's");
}

#[test]
fn a_cluster_is_counted_by_its_own_slots_and_a_single_server_is_refused() {
    let cluster = LocalCluster::start(3).unwrap();
    let r = report(&distlab(&["bench", "shard", "--cluster", &cluster.url(), "--keys", "3000", "--json"]));
    let p = placement(&r, "Redis Cluster slots");
    let c = counts(p);
    assert_eq!(c.len(), 3, "{r}");
    assert_eq!(c.iter().sum::<u64>(), 3_000, "{r}");
    assert!(c.iter().all(|n| (800..=1_200).contains(n)), "CRC16 slots split evenly over three masters: {c:?}");
    assert!(p["moved"].is_null());

    let single = LocalRedis::start().unwrap();
    let o = distlab(&["bench", "shard", "--redis", &single.url()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("give --redis-nodes (at least 2) or --cluster"));
}
