//! The distributed rate limiter (the `rate_limit` script's Rust twin, run by the simulated
//! store) decides exactly as the engine's local limiters do, over random arrivals, for every
//! algorithm; the differential tests then hold the twin to the Lua that Redis runs. Together:
//! one EVALSHA on Redis admits what the local limiter would. Shared by clients whose clocks
//! disagree, it keeps its promise in true time only on the store's clock.

use distlab_engine::resilience::limit::{Algorithm, Decision, Limiter, Rate};
use distlab_engine::sim::{SimDuration, SimTime};
use distlab_engine::store::{Cmd, Keyspace, Reply, ScriptName};
use proptest::prelude::*;

/// One check through the store, at `now` µs; the store's own clock stays at 0 so that nothing
/// expires (expiry is the differential tests' business).
fn check(ks: &mut Keyspace, algorithm: Algorithm, rate: Rate, now: u64) -> Reply {
    let args = vec![
        algorithm.name().to_owned(),
        rate.limit.to_string(),
        rate.period.as_micros().to_string(),
        rate.burst.to_string(),
        now.to_string(),
    ];
    ks.apply(0, &Cmd::Script { script: ScriptName::RateLimit, keys: vec!["limiter".into()], args })
}

/// The script's reply for a local decision at `now`.
fn as_reply(d: Decision, now: u64) -> Reply {
    let (code, value) = match d {
        Decision::Admit { remaining } => (1, remaining),
        Decision::Delay { wait } => (2, wait.as_micros()),
        Decision::Deny { retry_after } => (0, retry_after.as_micros()),
    };
    let int = |v: u64| Reply::Int(i64::try_from(v).unwrap());
    Reply::Array(vec![Reply::Int(code), int(value), int(now)])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_store_script_decides_as_the_local_limiter(
        limit in 1u64..=12,
        period in 1u64..=5_000,
        burst in 1u64..=12,
        gaps in proptest::collection::vec(prop_oneof![3 => Just(0u64), 7 => 0u64..=10_000], 1..120),
        start in prop_oneof![Just(0u64), Just(1_765_000_000_000_000u64)],
    ) {
        let rate = Rate::new(limit, SimDuration::from_micros(period), burst).unwrap();
        for algorithm in Algorithm::ALL {
            let mut local = Limiter::new(algorithm, rate);
            let mut ks = Keyspace::new();
            let mut now = start;
            for gap in &gaps {
                now += gap;
                let want = as_reply(local.check(SimTime::from_micros(now)), now);
                prop_assert_eq!(check(&mut ks, algorithm, rate, now), want, "{:?} at {}", algorithm, now);
            }
        }
    }
}

#[test]
fn bad_arguments_and_a_key_of_another_limiter_are_refused() {
    let mut ks = Keyspace::new();
    let rate = Rate::new(2, SimDuration::from_secs(1), 2).unwrap();
    assert!(matches!(check(&mut ks, Algorithm::Gcra, rate, 5), Reply::Array(_)));
    let err = |reply: Reply| match reply {
        Reply::Error(e) => e,
        other => panic!("not an error: {other:?}"),
    };
    assert_eq!(
        err(check(&mut ks, Algorithm::TokenBucket, rate, 6)),
        "ERR rate_limit: limiter holds a gcra limiter, not token_bucket"
    );
    let script = |args: [&str; 5]| {
        let args = args.map(str::to_owned).to_vec();
        Keyspace::new().apply(0, &Cmd::Script { script: ScriptName::RateLimit, keys: vec!["k".into()], args })
    };
    assert_eq!(err(script(["gcra", "0", "1000", "1", "0"])), "ERR rate_limit: limit must be an integer >= 1");
    assert_eq!(err(script(["gcra", "1", "1000", "1", "-1"])), "ERR rate_limit: now must be an integer >= 0");
    assert_eq!(
        err(script(["gcra", "1000000", "1000000000000", "1", "0"])),
        "ERR rate_limit: limit × period and burst × period must be at most 2^52"
    );
    assert_eq!(
        err(script(["leaky", "1", "1000", "1", "0"])),
        "ERR rate_limit: unknown algorithm leaky (fixed_window, sliding_log, sliding_window, token_bucket, leaky_bucket, gcra)"
    );
    // "" is the server's clock: the simulated store's, in ms.
    let mut ks = Keyspace::new();
    let args = ["fixed_window", "1", "1000000", "1", ""].map(str::to_owned).to_vec();
    let cmd = Cmd::Script { script: ScriptName::RateLimit, keys: vec!["k".into()], args };
    assert_eq!(ks.apply(1_500, &cmd), Reply::Array(vec![Reply::Int(1), Reply::Int(0), Reply::Int(1_500_000)]));
    let denied = Reply::Array(vec![Reply::Int(0), Reply::Int(300_000), Reply::Int(1_700_000)]);
    assert_eq!(ks.apply(1_700, &cmd), denied, "window [1 s, 2 s)");
}

/// Eight clients share one limiter on the store, together at ten times its rate for five seconds,
/// in true time order (the store runs one script at a time, as Redis does). Client 0's clock
/// steps 400 ms ahead at 2 s (an NTP correction), client 1's runs 300 ms behind. Audited in true
/// time: with the store's clock (`now` = "") every algorithm keeps its promise; with each client
/// passing its own clock, the step hands out time that has not passed, and the promises break.
/// The script's `max(now, latest)` only keeps time from going backwards.
fn skewed_run(algorithm: Algorithm, server_clock: bool) -> distlab_engine::check::rate::RateAudit {
    let rate = Rate::new(50, SimDuration::from_secs(1), 10).unwrap();
    let mut rng = distlab_engine::sim::Rng::new(11);
    let mut arrivals: Vec<(u64, usize)> = Vec::new();
    for client in 0..8 {
        // Whole milliseconds: the simulated store's clock has millisecond resolution.
        let mut t = 0u64;
        loop {
            t += rng.between(1, 31) * 1_000;
            if t >= 5_000_000 {
                break;
            }
            arrivals.push((t, client));
        }
    }
    arrivals.sort_unstable();
    let skew = |client: usize, t: u64| match client {
        0 if t >= 2_000_000 => t + 400_000,
        1 => t.saturating_sub(300_000),
        _ => t,
    };
    let mut ks = Keyspace::new();
    let mut admitted = Vec::new();
    for (t, client) in arrivals {
        let now = if server_clock { String::new() } else { skew(client, t).to_string() };
        let args = vec![
            algorithm.name().to_owned(),
            rate.limit.to_string(),
            rate.period.as_micros().to_string(),
            rate.burst.to_string(),
            now,
        ];
        let cmd = Cmd::Script { script: ScriptName::RateLimit, keys: vec!["limiter".into()], args };
        let reply = ks.apply(i64::try_from(t / 1_000).unwrap(), &cmd);
        let Reply::Array(items) = reply else { panic!("{reply:?}") };
        match (&items[0], &items[1]) {
            (Reply::Int(1), _) => admitted.push(t),
            // The leaky bucket's departure, in true time.
            (Reply::Int(2), Reply::Int(wait)) => admitted.push(t + u64::try_from(*wait).unwrap()),
            _ => {}
        }
    }
    admitted.sort_unstable();
    distlab_engine::check::rate::audit(algorithm, rate, &admitted)
}

#[test]
fn shared_by_clients_with_skewed_clocks_the_limiter_keeps_its_promise_only_on_the_store_clock() {
    let mut broken = Vec::new();
    for algorithm in Algorithm::ALL {
        let store = skewed_run(algorithm, true);
        assert!(store.holds(), "{algorithm:?} on the store's clock: {store:?}");
        let clients = skewed_run(algorithm, false);
        broken.push((algorithm.name(), clients.worst, clients.bound));
    }
    // Worst against bound: the 400 ms step opens a fixed window early (twice the limit in one
    // true window) and refills the buckets with time that has not passed (twice the burst).
    assert_eq!(
        broken,
        vec![
            ("fixed_window", 100, 50),
            ("sliding_log", 63, 50),
            ("sliding_window", 69, 50),
            ("token_bucket", 20, 10),
            ("leaky_bucket", 61, 51),
            ("gcra", 20, 10),
        ]
    );
}
