//! `distlab id gen` and `distlab id parse` (46.7.2) as a user meets them: IDs that parse back to
//! what made them, the chapter's `parse_id` shown misreading another layout, UUID versions and
//! variants checked with the `uuid` crate, bad layouts refused naming the field, and Leaf
//! segments from three processes racing on one real Redis, unique.

use std::collections::BTreeSet;
use std::process::{Command, Output};

use distlab::server::LocalRedis;
use uuid::{Uuid, Variant, Version};

fn distlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_distlab")).args(args).output().expect("the distlab binary runs")
}

fn ok(args: &[&str]) -> String {
    let o = distlab(args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(args)).unwrap()
}

fn refused(args: &[&str]) -> String {
    let o = distlab(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&o.stdout));
    String::from_utf8(o.stderr).unwrap()
}

#[test]
fn snowflakes_count_up_and_parse_back_to_their_worker_and_datacenter() {
    let ids: Vec<u64> = ok(&["id", "gen", "--count", "5000", "--worker", "7", "--datacenter", "3"])
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(ids.len(), 5_000);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
    let last = ids[4_999].to_string();
    let parsed = json(&["id", "parse", &last, "--json"]);
    assert_eq!((parsed["worker"].as_u64(), parsed["datacenter"].as_u64()), (Some(7), Some(3)));
    assert_eq!(parsed["layout"]["bits"], "41/5/5/12");
    assert!(parsed.get("chapter_parse_id").is_none(), "the chapter's layout reads the same");
    let now =
        u64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap();
    let at = parsed["unix_ms"].as_u64().unwrap();
    assert!(at <= now && now - at < 60_000, "minted just now: {at} vs {now}");
    // The fields read exactly: the ID is (ms since 2024) << 22 | 3 << 17 | 7 << 12 | sequence.
    let id = ids[4_999];
    assert_eq!(parsed["unix_ms"].as_u64().unwrap(), (id >> 22) + 1_704_067_200_000);
    assert_eq!(parsed["sequence"].as_u64().unwrap(), id & 0xfff);
}

#[test]
fn another_layout_parses_with_its_own_bits_and_the_chapters_parse_id_misreads_it() {
    let id = ok(&["id", "gen", "--layout", "43/0/8/12", "--worker", "255"]).trim().to_owned();
    let parsed = json(&["id", "parse", &id, "--layout", "43/0/8/12", "--json"]);
    assert_eq!((parsed["worker"].as_u64(), parsed["datacenter"].as_u64()), (Some(255), Some(0)));
    let chapter = &parsed["chapter_parse_id"];
    // It reads the worker's low five bits as the worker and the worker's top three bits and the
    // time's low two as the datacenter.
    let n: u64 = id.parse().unwrap();
    assert_eq!((chapter["worker"].as_u64(), chapter["datacenter"].as_u64()), (Some(31), Some(n >> 17 & 31)));
    assert_eq!(n >> 17 & 7, 7);
    assert_ne!(chapter["unix_ms"], parsed["unix_ms"]);
    // Sonyflake: the machine id at the bottom, 10 ms ticks since 2014-09-01.
    let sony = ok(&["id", "gen", "--kind", "sonyflake", "--worker", "40000"]).trim().to_owned();
    let parsed = json(&["id", "parse", &sony, "--kind", "sonyflake", "--json"]);
    assert_eq!(parsed["worker"].as_u64(), Some(40_000));
    assert_eq!(parsed["layout"]["tick_ms"].as_u64(), Some(10));
    assert_eq!(sony.parse::<u64>().unwrap() & 0xffff, 40_000);
}

#[test]
fn uuids_carry_their_version_and_variant_and_v7s_sort_in_the_order_made() {
    let v7: Vec<Uuid> =
        ok(&["id", "gen", "--kind", "uuidv7", "--count", "2000"]).lines().map(|l| l.parse().unwrap()).collect();
    assert!(v7.iter().all(|u| u.get_version() == Some(Version::SortRand) && u.get_variant() == Variant::RFC4122));
    assert!(v7.windows(2).all(|w| w[0] < w[1]), "monotonic, within each millisecond too");
    let v4: Vec<Uuid> =
        ok(&["id", "gen", "--kind", "uuidv4", "--count", "100"]).lines().map(|l| l.parse().unwrap()).collect();
    assert!(v4.iter().all(|u| u.get_version() == Some(Version::Random)));
    assert_eq!(v4.iter().collect::<BTreeSet<_>>().len(), 100);
    let parsed = json(&["id", "parse", &v7[0].to_string(), "--json"]);
    assert_eq!((parsed["version"].as_u64(), parsed["variant"].as_str()), (Some(7), Some("RFC4122")));
    let parsed = json(&["id", "parse", &v4[0].to_string(), "--json"]);
    assert_eq!((parsed["version"].as_u64(), parsed["unix_ms"].is_null()), (Some(4), true));
}

#[test]
fn bad_layouts_ids_and_targets_exit_2_naming_the_field() {
    assert!(refused(&["id", "gen", "--layout", "41/5/5/13"]).contains("layout = 41/5/5/13 (sums to 64)"));
    assert!(refused(&["id", "gen", "--layout", "41/5/x/12"]).contains("worker bits = x"));
    assert!(refused(&["id", "gen", "--worker", "32"]).contains("worker = 32 is out of range: allowed 0 to 31"));
    assert!(refused(&["id", "gen", "--datacenter", "99"]).contains("datacenter = 99"));
    assert!(refused(&["id", "gen", "--kind", "sonyflake", "--worker", "65536"]).contains("worker = 65536"));
    assert!(
        refused(&["id", "gen", "--kind", "sonyflake", "--layout", "41/5/5/12"]).contains("Sonyflake's layout is fixed")
    );
    assert!(refused(&["id", "parse", "12x"]).contains("neither a decimal ID"));
    assert!(refused(&["id", "parse", "9223372036854775808"]).contains("id = 9223372036854775808"));
    assert!(refused(&["id", "parse", "0190-zz"]).contains("is not a UUID"));
    assert!(refused(&["id", "gen", "--kind", "segment"]).contains("must outlive this run"));
    let future = refused(&["id", "gen", "--epoch-ms", "99999999999999", "--duration", "5"]);
    assert!(
        future.starts_with("error: --epoch-ms 99999999999999 (5138-11-16T09:46:39.999Z) is after the clock's now ("),
        "{future}"
    );
    assert!(refused(&["bench", "--ops", "100000000000000"]).contains("100000000000000 is not in 1..=1000000000"));
}

#[test]
fn segments_from_three_racing_processes_on_one_redis_never_overlap() {
    let server = LocalRedis::start().unwrap();
    let url = server.url();
    let children: Vec<_> = (0..3)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_distlab"))
                .args([
                    "id", "gen", "--kind", "segment", "--redis", &url, "--count", "20000", "--step", "50", "--tag",
                    "race",
                ])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut all = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        all.extend(String::from_utf8(out.stdout).unwrap().lines().map(|l| l.parse::<u64>().unwrap()));
    }
    let distinct: BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!((all.len(), distinct.len()), (60_000, 60_000), "no ID twice");
    // The counter is the one key written, and it outlives the run: a fourth run continues above it.
    let mut con = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
    let max: u64 = redis::cmd("GET").arg("distlab:id-race:max_id").query(&mut con).unwrap();
    assert!(max >= *distinct.last().unwrap());
    let next: u64 = ok(&["id", "gen", "--kind", "segment", "--redis", &url, "--tag", "race"]).trim().parse().unwrap();
    assert_eq!(next, max + 1);
}

/// The engine's deterministic v7 (what the simulation mints) places its 42-bit counter exactly
/// where the `uuid` crate's own `new_v7` does, so both read back the same counter and time.
#[test]
fn the_engines_v7_counter_sits_where_the_crate_puts_it() {
    use distlab_engine::id::uuids::{V7, unix_ms_of};
    for counter in [0u64, 1, 0xfff, 1 << 30, (1 << 41) - 1, (1 << 42) - 1, 0x2aa_aaaa_aaaa] {
        let ts = uuid::Timestamp::from_unix_time(1_700_000_000, 123_000_000, u128::from(counter), 42);
        let theirs = Uuid::new_v7(ts);
        let ours = V7::encode(1_700_000_000_123, counter, 0);
        assert_eq!(V7::counter_of(&theirs), counter, "{theirs}");
        assert_eq!(theirs.as_bytes()[..12], ours.as_bytes()[..12], "time, version, counter and variant bits");
        assert_eq!(unix_ms_of(&theirs), unix_ms_of(&ours));
    }
}

/// Two processes leasing worker ids from one Redis at once get different ids, so their IDs never
/// collide; each gives its id back at the end.
#[test]
fn two_processes_lease_different_worker_ids() {
    let server = LocalRedis::start().unwrap();
    let url = server.url();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_distlab"))
            .args(["id", "gen", "--lease", "--redis", &url, "--tag", "lease", "--count", "20000"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let mut workers = BTreeSet::new();
    let mut all = BTreeSet::new();
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let ids: Vec<u64> = String::from_utf8(out.stdout).unwrap().lines().map(|l| l.parse().unwrap()).collect();
        assert_eq!(ids.len(), 20_000);
        let w: BTreeSet<u64> = ids.iter().map(|id| id >> 12 & 0x1f).collect();
        assert_eq!(w.len(), 1, "one worker id per process");
        workers.extend(w);
        all.extend(ids);
    }
    assert_eq!((workers.len(), all.len()), (2, 40_000), "different worker ids, no ID twice");
    let mut con = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
    let left: Vec<String> = redis::cmd("KEYS").arg("distlab:id-lease:*").query(&mut con).unwrap();
    assert!(left.is_empty(), "the leases were given back: {left:?}");
    // Without a target to lease from, it says so.
    assert!(refused(&["id", "gen", "--lease"]).contains("--lease takes the worker id from a key in Redis"));
}

/// Redis paused for writes (`CLIENT PAUSE 200 WRITE`) while segment IDs flow at 20,000 a second:
/// with Leaf's double buffer (and its step grown to the demand) no caller waits; the chapter's
/// refill-when-empty makes callers wait out the pause.
#[test]
fn a_paused_redis_stalls_the_chapters_segments_and_not_the_double_buffer() {
    use distlab::bench::Limit;
    use distlab::target::{Target, TargetSpec};
    use distlab_engine::id::segment::SegmentConfig;
    use std::time::Duration;

    let server = LocalRedis::start().unwrap();
    let url = server.url();
    let stall = |cfg: SegmentConfig| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async {
            let target = Target::connect_with(&TargetSpec::Redis(url.clone()), "distlab:test-pause:", 1).await.unwrap();
            let pauser = url.clone();
            let pause = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(1_200));
                let mut con = redis::Client::open(pauser.as_str()).unwrap().get_connection().unwrap();
                let _: () = redis::cmd("CLIENT").arg("PAUSE").arg(200).arg("WRITE").query(&mut con).unwrap();
            });
            let report = distlab::ids::segment_stream(
                target.primary(),
                cfg,
                20_000,
                Limit::Duration(Duration::from_secs(2)),
                |_| {},
            )
            .await
            .unwrap();
            pause.join().unwrap();
            assert_eq!(report.duplicates_or_disorder, 0);
            target.cleanup().await.unwrap();
            report.longest_stall
        })
    };
    let leaf = stall(SegmentConfig::leaf("max_id", 1_000));
    let chapter = stall(SegmentConfig::chapter("max_id", 1_000));
    assert!(leaf < Duration::from_millis(20), "the double buffer stalled {leaf:?}");
    assert!(chapter > Duration::from_millis(100), "the chapter's refill stalled only {chapter:?}");
}

/// `distlab bench id-audit`: processes × threads minting against one Redis, every ID collected
/// and checked; the counter it wrote is deleted afterwards.
#[test]
fn the_uniqueness_audit_collects_every_id_from_every_process() {
    let server = LocalRedis::start().unwrap();
    let url = server.url();
    let out = ok(&[
        "bench",
        "id-audit",
        "--redis",
        &url,
        "--processes",
        "3",
        "--threads",
        "2",
        "--duration",
        "0.5",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["unique"], true);
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.iter().map(|r| r["kind"].as_str().unwrap()).collect::<Vec<_>>(), ["snowflake", "segment"]);
    for r in rows {
        assert_eq!((r["duplicates"].as_u64(), r["processes"].as_u64()), (Some(0), Some(3)));
        assert!(r["ids"].as_u64().unwrap() > 10_000, "{r}");
    }
    let mut con = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
    let left: Vec<String> = redis::cmd("KEYS").arg("distlab:*").query(&mut con).unwrap();
    assert!(left.is_empty(), "{left:?}");
}

/// Threads mint into batches that are written as they come: twenty million IDs (160 MB if they
/// were held until the end, as they once were, and an hour's worth would not fit in memory) go
/// out with the process holding a few megabytes of them, each ID once.
#[test]
fn threaded_ids_are_written_as_they_come_not_held() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_distlab"))
        .args(["id", "gen", "--threads", "2", "--count", "20000000"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let resident_kib = move || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status.lines().find_map(|l| l.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
    };
    let mut seen = BTreeSet::new();
    let (mut lines, mut most_kib) = (0u64, 0u64);
    let mut last = 0u64;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let id: u64 = line.unwrap().parse().unwrap();
        lines += 1;
        // Every ID is new: checked on a sample (a set of twenty million would measure the test).
        if lines.is_multiple_of(1_000) {
            assert!(seen.insert(id), "{id} came twice");
        }
        if lines.is_multiple_of(500_000) {
            most_kib = most_kib.max(resident_kib().unwrap_or(0));
        }
        last = id;
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(lines, 20_000_000);
    assert!(last > 0);
    assert!(most_kib > 0, "the process was measured while it ran");
    assert!(most_kib < 64 * 1024, "the process held {most_kib} KiB while writing 160 MB of IDs");
}
