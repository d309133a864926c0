//! The engine's `LockClient` against a real `redis-server`, through the real-time driver: the
//! same code the simulator judges, now with real time and a real store (46.7.1, exercise 1).

use std::time::Duration;

use distlab::driver::{LiveReport, LiveWorld, StopWhen};
use distlab::server::LocalRedis;
use distlab::target::{Target, TargetSpec};
use distlab_engine::NodeId;
use distlab_engine::coord::lock::{LockClient, LockClientConfig, LockMode, LockOptions};
use distlab_engine::coord::resource::ProtectedResource;
use distlab_engine::coord::{LockObs, LockProtocol};
use distlab_engine::sim::{SimDuration, SimTime};

fn config(
    store: NodeId,
    resource: NodeId,
    lease_ms: u64,
    writes: u32,
    compute_ms: u64,
    watchdog: bool,
) -> LockClientConfig {
    LockClientConfig {
        stores: vec![store],
        resource,
        key: "{lock}".into(),
        options: LockOptions {
            lease: SimDuration::from_millis(lease_ms),
            wait: SimDuration::from_secs(10),
            retry: SimDuration::from_millis(20),
        },
        watchdog,
        fencing: true,
        writes,
        compute: SimDuration::from_millis(compute_ms),
        think: SimDuration::from_secs(600), // one round each
        first_round_after: Some(SimDuration::ZERO),
        zookeeper: None,
        mode: LockMode::Plain,
        reentry: 0,
    }
}

/// Runs `clients` (each: name, config, first round delay) against `target` until `stop`.
fn run(
    rt: &tokio::runtime::Runtime,
    target: &Target,
    clients: Vec<(&str, LockClientConfig)>,
    stop: StopWhen,
    counts: fn(&LockObs) -> bool,
) -> LiveReport<LockObs> {
    let mut world = LiveWorld::<LockProtocol>::new(7);
    world.add_store("redis", target.primary().clone());
    world.add_actor("resource", ProtectedResource::new(true, None));
    for (name, c) in clients {
        world.add_actor(name, LockClient::new(c, None));
    }
    let local = tokio::task::LocalSet::new();
    local.block_on(rt, world.run(stop, counts)).expect("the run completes")
}

fn acquired(report: &LiveReport<LockObs>, node: NodeId) -> Vec<(SimTime, Option<u64>)> {
    report
        .observations
        .iter()
        .filter(|o| o.node == node)
        .filter_map(|o| match o.obs {
            LockObs::Acquired { token, .. } => Some((o.time, token)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_killed_holder_frees_the_lock_after_its_lease_and_not_before() {
    let server = LocalRedis::start().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let target = rt.block_on(Target::connect(&TargetSpec::Redis(server.url()))).unwrap();
    let (store, resource) = (NodeId(0), NodeId(1));
    let mut tokens = Vec::new();

    // 1. A holder that dies while holding: its run stops right after it acquires, never releasing.
    let holder = config(store, resource, 800, 100, 1_000, false);
    let killed = run(
        &rt,
        &target,
        vec![("holder", holder)],
        StopWhen::Observations { count: 1, at_most: Duration::from_secs(5) },
        |o| matches!(o, LockObs::Acquired { .. }),
    );
    let died_at = std::time::Instant::now();
    tokens.extend(acquired(&killed, NodeId(2)).into_iter().filter_map(|(_, t)| t));
    assert_eq!(tokens.len(), 1);

    // 2. A newcomer keeps retrying and gets the lock only once the lease has run out.
    let newcomer = config(store, resource, 800, 1, 0, false);
    let later = run(
        &rt,
        &target,
        vec![("newcomer", newcomer)],
        StopWhen::Observations { count: 1, at_most: Duration::from_secs(5) },
        |o| matches!(o, LockObs::Acquired { .. }),
    );
    let waited = died_at.elapsed();
    let got = acquired(&later, NodeId(2));
    assert_eq!(got.len(), 1, "{:?}", later.observations);
    assert!(waited >= Duration::from_millis(700), "acquired after {waited:?}, before the 800 ms lease ran out");
    assert!(waited < Duration::from_secs(3), "acquired only after {waited:?}");
    tokens.extend(got.into_iter().filter_map(|(_, t)| t));

    // 3. The watchdog keeps a holder's lock through work lasting three leases; a competitor
    //    retrying all along never gets it until the holder releases. (Leases of a second: the
    //    watchdog renews every third of one, which a busy machine must not delay past the lease.)
    //    Step 2's run ended at the newcomer's acquisition, so it still holds the lock for its
    //    800 ms lease: wait that out first, or whichever client wins the lock when it expires
    //    decides this step (the competitor did, more often than not).
    std::thread::sleep(Duration::from_millis(900));
    let long = config(store, resource, 1_000, 6, 500, true);
    let mut competitor = config(store, resource, 1_000, 1, 0, false);
    competitor.first_round_after = Some(SimDuration::from_millis(50));
    let both = run(
        &rt,
        &target,
        vec![("long", long), ("competitor", competitor)],
        StopWhen::Observations { count: 2, at_most: Duration::from_secs(15) },
        |o| matches!(o, LockObs::Unlocking { .. }),
    );
    let (long_id, competitor_id) = (NodeId(2), NodeId(3));
    let released = both
        .observations
        .iter()
        .find(|o| o.node == long_id && matches!(o.obs, LockObs::Unlocking { .. }))
        .unwrap()
        .time;
    let competitor_got = acquired(&both, competitor_id);
    assert_eq!(competitor_got.len(), 1, "{:?}", both.observations);
    assert!(
        competitor_got[0].0 >= released,
        "the competitor got the lock at {} while the holder held it until {released}",
        competitor_got[0].0
    );
    assert!(released.as_micros() >= 3_000_000, "the holder worked for 6 × 500 ms, three 1 s leases: {released}");
    assert!(
        !both
            .observations
            .iter()
            .any(|o| matches!(o.obs, LockObs::RenewalFailed { .. } | LockObs::LeaseExpired { .. }))
    );
    // (The competitor's own write may still be in the resource's inbox when the run stops.)
    let by_holder = both
        .observations
        .iter()
        .filter(|o| matches!(o.obs, LockObs::WriteAccepted { client, .. } if client == long_id))
        .count();
    assert_eq!(by_holder, 6, "all six of the holder's writes were accepted");
    assert!(!both.observations.iter().any(|o| matches!(o.obs, LockObs::WriteRejected { .. })), "none refused");
    tokens.extend(acquired(&both, long_id).into_iter().chain(competitor_got).filter_map(|(_, t)| t));

    // 4. Renewals that cannot reach Redis (CLIENT PAUSE holds every write for 1.5 s) end in the
    //    renewal-failure event: the holder stops instead of working on a lease it cannot keep.
    let side = redis::Client::open(server.url()).unwrap();
    let mut side = side.get_connection().unwrap();
    let paused = config(store, resource, 500, 20, 100, true);
    let pauser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        let _: () = redis::cmd("CLIENT").arg("PAUSE").arg(1_500).arg("WRITE").query(&mut side).unwrap();
    });
    let cut_off = run(
        &rt,
        &target,
        vec![("paused", paused)],
        StopWhen::Observations { count: 1, at_most: Duration::from_secs(8) },
        |o| matches!(o, LockObs::RenewalFailed { .. }),
    );
    pauser.join().unwrap();
    assert!(
        cut_off.observations.iter().any(|o| matches!(o.obs, LockObs::RenewalFailed { .. })),
        "{:?}",
        cut_off.observations
    );
    tokens.extend(acquired(&cut_off, NodeId(2)).into_iter().filter_map(|(_, t)| t));

    // Fencing tokens grew strictly across all of it.
    assert!(tokens.windows(2).all(|w| w[0] < w[1]), "{tokens:?}");
    assert!(tokens.len() >= 5, "{tokens:?}");
    rt.block_on(target.cleanup()).unwrap();
}
