//! The cache protections against a real Redis: the same engine actors as in the simulator, run by
//! the real-time driver with a private `redis-server` as the cache.

use distlab::driver::{LiveWorld, StopWhen};
use distlab::server::LocalRedis;
use distlab::target::{Target, TargetSpec};
use distlab_engine::cache::app::{App, Wiring};
use distlab_engine::cache::database::Database;
use distlab_engine::cache::world::{CacheObs, CacheProtocol, PatternConfig, Source};
use std::time::Duration;

/// Runs `servers` application servers each reading the missing key 0 `burst` times at once, and
/// returns (reads by source, database loads).
fn wave(servers: u32, burst: u32, single_flight: bool, mutex: bool) -> (Vec<Source>, usize) {
    let server = LocalRedis::start().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let target = rt.block_on(Target::connect(&TargetSpec::Redis(server.url()))).unwrap();
    let cfg = PatternConfig {
        rate_per_s: 0,
        burst,
        burst_at_ms: 0,
        single_flight,
        mutex,
        db_latency_min_ms: 20,
        db_latency_max_ms: 20,
        ..PatternConfig::default()
    };
    let report = rt.block_on(tokio::task::LocalSet::new().run_until(async {
        let mut world = LiveWorld::<CacheProtocol>::new(1);
        let cache = world.add_store("redis", target.primary().clone());
        let db = world.add_actor("db", Database::new(cfg.keys, 20_000, 20_000, None));
        for index in 0..servers {
            world
                .add_actor(format!("app{index}"), App::new(cfg.clone(), Wiring { index, db, cache, prefix: "" }, None));
        }
        let stop = StopWhen::Observations { count: (servers * burst) as usize, at_most: Duration::from_secs(60) };
        world.run(stop, |o| matches!(o, CacheObs::Read { .. })).await.unwrap()
    }));
    rt.block_on(target.primary().delete_own_keys()).unwrap();
    let reads = report
        .observations
        .iter()
        .filter_map(|o| if let CacheObs::Read { source, .. } = o.obs { Some(source) } else { None });
    let loads = report.observations.iter().filter(|o| matches!(o.obs, CacheObs::DbLoad { .. })).count();
    (reads.collect(), loads)
}

#[test]
fn single_flight_makes_one_load_of_a_thousand_concurrent_misses_on_redis() {
    let (reads, loads) = wave(1, 1000, true, false);
    assert_eq!((reads.len(), loads), (1000, 1));
    assert_eq!(reads.iter().filter(|&&s| s == Source::Waited).count(), 999);
    let (_, unprotected) = wave(1, 1000, false, false);
    assert_eq!(unprotected, 1000, "without single-flight every miss loads");
}

#[test]
fn the_set_nx_mutex_makes_one_load_across_servers_on_redis() {
    let (reads, loads) = wave(4, 250, false, true);
    assert_eq!((reads.len(), loads), (1000, 1));
}
