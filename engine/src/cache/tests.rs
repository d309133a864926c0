use proptest::prelude::*;

use super::*;

/// "H" for a hit, "M" for a miss, "M-k" for a miss that evicted k ("M-k-j" for several).
fn run(policy: &mut dyn Policy, trace: &[u64]) -> String {
    run_weighted(policy, &trace.iter().map(|&k| (k, 1)).collect::<Vec<_>>())
}

fn run_weighted(policy: &mut dyn Policy, trace: &[(u64, u64)]) -> String {
    let steps: Vec<String> = trace
        .iter()
        .map(|&(k, w)| {
            let mut evicted = Vec::new();
            if policy.access_weighted(k, w, &mut evicted) {
                "H".to_owned()
            } else {
                std::iter::once("M".to_owned()).chain(evicted.iter().map(u64::to_string)).collect::<Vec<_>>().join("-")
            }
        })
        .collect();
    steps.join(" ")
}

#[test]
fn fifo_keeps_insertion_order_where_lru_keeps_recency() {
    let trace = [1, 2, 1, 3, 1, 4, 1];
    assert_eq!(run(&mut Lru::new(2), &trace), "M M H M-2 H M-3 H");
    assert_eq!(run(&mut Fifo::new(2), &trace), "M M H M-1 M-2 M-3 H", "a hit does not save 1 from eviction");
}

#[test]
fn lfu_evicts_the_least_frequent_and_lru_the_least_recent() {
    let trace = [1, 1, 2, 3, 2, 1];
    assert_eq!(run(&mut Lfu::new(2, 0), &trace), "M H M M-2 M-3 H");
    assert_eq!(run(&mut Lru::new(2), &trace), "M H M M-1 H M-3");
}

#[test]
fn lfu_ages_its_counts() {
    let mut lfu = Lfu::new(4, 8);
    for _ in 0..6 {
        lfu.access(7);
    }
    lfu.access(8);
    assert_eq!((lfu.count(7), lfu.count(8)), (Some(6), Some(1)));
    lfu.access(8); // the 8th access halves every count first
    assert_eq!((lfu.count(7), lfu.count(8)), (Some(3), Some(2)));
}

#[test]
fn belady_bypasses_what_comes_back_last() {
    let trace = [1, 2, 3, 1, 2, 4, 1, 2];
    assert_eq!(belady_hits(&trace, 2), 4);
    assert_eq!(hits(&mut Lru::new(2), &trace), 0, "LRU thrashes on the same trace");
    assert_eq!(belady_hits(&[], 3), 0);
}

#[test]
fn w_tinylfu_keeps_its_hot_keys_through_a_scan() {
    // Eight hot keys read every round, then twenty keys read once: the scan flushes LRU every
    // round, while W-TinyLFU's sketch refuses the one-off keys a place in its main region.
    let mut trace = Vec::new();
    for round in 0..50u64 {
        trace.extend(0..8);
        trace.extend((0..20).map(|i| 1_000 + round * 20 + i));
    }
    let (lru, tiny, best) =
        (hits(&mut Lru::new(10), &trace), hits(&mut WTinyLfu::new(10), &trace), belady_hits(&trace, 10));
    assert_eq!(lru, 0, "every scan flushes LRU");
    assert!(tiny >= 300, "W-TinyLFU keeps most of the hot set: {tiny} of 392 possible");
    assert!(tiny <= best, "and stays below the optimum {best}");
}

proptest! {
    /// No policy beats the optimum; every policy stays within its capacity, holds what it just
    /// read, and no longer holds what it evicted.
    #[test]
    fn policies_stay_bounded_and_below_belady(
        trace in proptest::collection::vec(0u64..12, 0..300),
        capacity in 1usize..8,
    ) {
        let best = belady_hits(&trace, capacity);
        let mut policies: Vec<Box<dyn Policy>> =
            vec![Box::new(Lru::new(capacity)), Box::new(Fifo::new(capacity)), Box::new(Lfu::new(capacity, 50)), Box::new(WTinyLfu::new(capacity))];
        for p in &mut policies {
            let mut hit_count = 0;
            for &k in &trace {
                let mut evicted = Vec::new();
                if p.access_weighted(k, 1, &mut evicted) {
                    hit_count += 1;
                }
                prop_assert!(evicted.len() <= 1, "{} evicted {evicted:?} for one unit", p.name());
                for &e in &evicted {
                    prop_assert!(!p.contains(e), "{} still holds evicted {e}", p.name());
                }
                prop_assert!(p.contains(k), "{} dropped {k}", p.name());
                prop_assert!(p.len() <= p.capacity());
            }
            prop_assert!(hit_count <= best, "{} made {hit_count} hits, more than OPT's {best}", p.name());
        }
    }
}

mod workloads {
    use super::super::workload::Workload;
    use super::super::*;

    fn share(trace: &[u64], key: u64) -> f64 {
        trace.iter().filter(|&&k| k == key).count() as f64 / trace.len() as f64
    }

    #[test]
    fn zipf_is_skewed_as_its_exponent_says() {
        let trace = Workload::Zipf { keys: 1_000, s: 1.0 }.trace(200_000, 1).unwrap();
        // P(rank 1) = 1 / H(1000) = 0.1336, P(rank 2) half of it.
        assert!((share(&trace, 0) - 0.1336).abs() < 0.005, "{}", share(&trace, 0));
        assert!((share(&trace, 1) - 0.0668).abs() < 0.004, "{}", share(&trace, 1));
        assert!(trace.iter().all(|&k| k < 1_000));
        assert_eq!(trace, Workload::Zipf { keys: 1_000, s: 1.0 }.trace(200_000, 1).unwrap(), "the seed decides");
        assert_ne!(trace, Workload::Zipf { keys: 1_000, s: 1.0 }.trace(200_000, 2).unwrap());
        let flat = Workload::Zipf { keys: 10, s: 0.0 }.trace(100_000, 1).unwrap();
        assert!((share(&flat, 9) - 0.1).abs() < 0.01, "s = 0 is uniform");
    }

    #[test]
    fn the_other_workloads() {
        assert_eq!(Workload::Loop { keys: 3 }.trace(7, 1).unwrap(), [0, 1, 2, 0, 1, 2, 0]);
        let scan = Workload::Scan.trace(1_000, 1).unwrap();
        assert_eq!(scan.iter().collect::<std::collections::BTreeSet<_>>().len(), 1_000, "never a repeat");
        let uniform = Workload::Uniform { keys: 4 }.trace(40_000, 1).unwrap();
        assert!((0..4).all(|k| (share(&uniform, k) - 0.25).abs() < 0.01));
        let mixed = Workload::ZipfScan { keys: 100, s: 0.9 }.trace(50_000, 1).unwrap();
        let scans = mixed.iter().filter(|&&k| k >= 100).count() as f64 / 50_000.0;
        assert!((scans - 0.2).abs() < 0.01, "one access in five is a scan: {scans}");
        let shifting = Workload::Shifting { keys: 100, s: 1.2, shift_every: 10_000 }.trace(20_000, 1).unwrap();
        let top = |part: &[u64]| (0..100).max_by_key(|k| part.iter().filter(|&&x| x == *k).count()).unwrap();
        assert_ne!(top(&shifting[..10_000]), top(&shifting[10_000..]), "the favourite moves");
    }

    #[test]
    fn bad_workloads_are_refused() {
        let err = |w: Workload| w.trace(10, 1).unwrap_err().to_string();
        assert_eq!(err(Workload::Zipf { keys: 0, s: 1.0 }), "keys = 0 is out of range: allowed 1..=10000000");
        assert_eq!(err(Workload::Zipf { keys: 10, s: -1.0 }), "s = -1 is out of range: allowed 0..=5");
        assert_eq!(
            err(Workload::Shifting { keys: 10, s: 1.0, shift_every: 0 }),
            "shift_every = 0 is out of range: allowed 1..=18446744073709551615"
        );
    }

    #[test]
    fn w_tinylfu_beats_lru_where_it_should() {
        for (workload, margin) in
            [(Workload::Zipf { keys: 10_000, s: 0.9 }, 0.0), (Workload::ZipfScan { keys: 10_000, s: 0.9 }, 0.03)]
        {
            let trace = workload.trace(200_000, 7).unwrap();
            let ratio = |h: usize| h as f64 / trace.len() as f64;
            let lru = ratio(hits(&mut Lru::new(500), &trace));
            let tiny = ratio(hits(&mut WTinyLfu::new(500), &trace));
            let best = ratio(belady_hits(&trace, 500));
            assert!(tiny > lru + margin, "{workload:?}: W-TinyLFU {tiny:.3} vs LRU {lru:.3}");
            assert!(tiny <= best, "{workload:?}: {tiny:.3} above OPT {best:.3}");
        }
    }
}

proptest! {
    /// Removing a key (expiry, invalidation) leaves every policy consistent: the key is gone, the
    /// length drops by one, and later accesses still respect the capacity.
    #[test]
    fn removal_keeps_policies_consistent(ops in proptest::collection::vec((0u64..10, any::<bool>()), 1..200), capacity in 1usize..6) {
        let mut policies: Vec<Box<dyn Policy>> =
            vec![Box::new(Lru::new(capacity)), Box::new(Fifo::new(capacity)), Box::new(Lfu::new(capacity, 30)), Box::new(WTinyLfu::new(capacity))];
        for p in &mut policies {
            for &(k, remove) in &ops {
                if remove {
                    let (had, before) = (p.contains(k), p.len());
                    prop_assert_eq!(p.remove(k), had);
                    prop_assert!(!p.contains(k));
                    prop_assert_eq!(p.len(), before - usize::from(had));
                } else {
                    p.access(k);
                    prop_assert!(p.contains(k) && p.len() <= p.capacity(), "{}", p.name());
                }
            }
        }
    }
}

#[test]
fn a_comparison_in_steps_ends_where_whole_runs_do() {
    use super::compare::{CompareConfig, Comparison, PolicyKind};
    let cfg = CompareConfig {
        workload: workload::Workload::Zipf { keys: 2_000, s: 0.9 },
        length: 20_000,
        capacity: 100,
        seed: 3,
        policies: vec![PolicyKind::Lru, PolicyKind::Fifo, PolicyKind::WTinyLfu],
        weights: None,
    };
    let mut cmp = Comparison::new(&cfg).unwrap();
    let mut steps = 0;
    while !cmp.advance(777) {
        steps += 1;
    }
    assert_eq!(steps, 25);
    let view = cmp.view();
    let trace = cfg.workload.trace(cfg.length, cfg.seed).unwrap();
    for (p, kind) in view.policies.iter().zip(&cfg.policies) {
        let whole = hits(kind.build(cfg.capacity).as_mut(), &trace) as u64;
        assert_eq!(p.hits, whole, "{kind:?}");
        assert_eq!(p.curve.len(), 200);
        assert!(p.hit_ratio <= view.opt_hit_ratio.unwrap());
        assert_eq!(p.cached, 100);
    }
    assert_eq!(view.hot_keys.len(), 40);
    assert_eq!(view.hot_keys[0].key, 0, "Zipf's most popular key is key 0");
    assert!(view.hot_keys.windows(2).all(|w| w[0].count >= w[1].count));
    assert!(view.hot_keys[0].cached.iter().all(|&c| c), "every policy holds the hottest key");
    let last = trace.iter().rposition(|&k| k == view.hot_keys[0].key).unwrap();
    assert_eq!(view.hot_keys[0].last_access, last);
    assert!(Comparison::new(&CompareConfig { policies: vec![], ..cfg.clone() }).is_err());
    // Bounded by weight as well: every cache holds at most 2,000 units, and no optimum is shown.
    let weights = compare::Weights { key_weight_max: 40, max_weight: 2_000 };
    let mut weighted = Comparison::new(&CompareConfig { weights: Some(weights), ..cfg.clone() }).unwrap();
    weighted.advance(cfg.length);
    let wv = weighted.view();
    assert_eq!(wv.opt_hit_ratio, None);
    for p in &wv.policies {
        assert!(p.weight <= 2_000 && p.cached <= 100, "{:?}: weight {}", p.policy, p.weight);
    }
    // LRU keeps whatever came last: sizes averaging 20.5 leave it room for fewer than 100 keys.
    assert!(wv.policies[0].cached < 100 && wv.policies[0].hits < view.policies[0].hits);
    assert!(Comparison::new(&CompareConfig { capacity: 0, ..cfg }).is_err());
}

#[test]
fn the_bloom_view_measures_what_theory_expects() {
    let view = bloom::BloomView::measure(10_000, 0.01, 10_000, 100_000, 64).unwrap();
    assert_eq!((view.bits, view.hashes, view.fill.len()), (95_851, 7, 64));
    assert!((view.measured_fp_rate - view.expected_fp_rate).abs() < 0.002, "{view:?}");
    assert!(view.fill.iter().all(|&f| (0.4..0.6).contains(&f)), "half the bits are set at capacity: {:?}", view.fill);
    let empty = bloom::BloomView::measure(10_000, 0.01, 0, 1_000, 8).unwrap();
    assert_eq!((empty.measured_fp_rate, empty.fill.iter().sum::<f64>()), (0.0, 0.0));
}

#[test]
fn the_best_static_cache_holds_the_most_used_keys() {
    // Key 1 four times, key 2 three times, key 3 twice, key 4 once: with room for two, keys 1 and
    // 2 are held from their first use: 3 + 2 hits.
    let trace = [1, 2, 3, 1, 4, 2, 1, 3, 2, 1];
    assert_eq!(best_static_hits(&trace, 2), 5);
    assert_eq!(best_static_hits(&trace, 10), 6);
    assert!(best_static_hits(&trace, 2) <= belady_hits(&trace, 2));
    let zipf = workload::Workload::Zipf { keys: 10_000, s: 0.9 }.trace(100_000, 1).unwrap();
    let (stat, opt, tiny) =
        (best_static_hits(&zipf, 500), belady_hits(&zipf, 500), hits(&mut WTinyLfu::new(500), &zipf));
    assert!(tiny < stat && stat < opt, "{tiny} {stat} {opt}");
}

#[test]
fn w_tinylfu_admits_by_frequency() {
    // Room for 3: a window of 1 and a main region of 2 (protected at most 1). Keys leave the
    // window into the main region while it has room (1, then 2); after that a key leaving the
    // window gets in only if the sketch has seen it more often than probation's oldest: 3 and 4
    // (seen once) are turned away by 1 and 2 (seen twice); 1's hit in probation protects it; 5,
    // read three times, beats 2 and takes its place; 6 loses to 5; 2 is a miss again.
    let trace = [1, 1, 2, 2, 3, 4, 1, 5, 5, 5, 6, 2, 1];
    assert_eq!(run(&mut WTinyLfu::new(3), &trace), "M H M H M M-3 H M-4 H H M-2 M-6 H");
    assert_eq!(run(&mut Lru::new(3), &trace), "M H M H M M-1 M-2 M-3 H H M-4 M-1 M-5", "LRU on the same trace");
}

#[test]
fn weighted_caches_evict_until_the_new_entry_fits() {
    // Room for 10 units (and up to 10 entries): a key of weight 6 pushes out the two oldest.
    let trace = [(1, 3), (2, 3), (3, 4), (4, 6), (1, 3), (5, 11), (4, 6)];
    assert_eq!(run_weighted(&mut Lru::new(10).with_max_weight(10), &trace), "M M M M-1-2 M-3 M H");
    assert_eq!(run_weighted(&mut Lfu::new(10, 0).with_max_weight(10), &trace), "M M M M-1-2 M-3 M H");
    let mut lru = Lru::new(10).with_max_weight(10);
    run_weighted(&mut lru, &trace);
    assert!(!lru.contains(5), "11 units never fit in 10: the key is not cached");
    assert_eq!((lru.weight(), lru.len()), (9, 2));
    // The entry count still bounds it: three keys of weight 1 in room for two entries.
    assert_eq!(run_weighted(&mut Fifo::new(2).with_max_weight(100), &[(1, 1), (2, 1), (3, 1)]), "M M M-1");
}

proptest! {
    /// With random weights every policy keeps its entry and weight bounds, reports exactly what it
    /// evicts, and keeps its total weight equal to the weights of the keys it holds.
    #[test]
    fn weighted_policies_keep_their_bounds(
        trace in proptest::collection::vec((0u64..30, 1u64..12), 0..300),
        capacity in 1usize..12,
        max_weight in 1u64..40,
    ) {
        let mut policies: Vec<Box<dyn Policy>> = vec![
            Box::new(Lru::new(capacity).with_max_weight(max_weight)),
            Box::new(Fifo::new(capacity).with_max_weight(max_weight)),
            Box::new(Lfu::new(capacity, 50).with_max_weight(max_weight)),
            Box::new(WTinyLfu::new(capacity).with_max_weight(max_weight)),
        ];
        for p in &mut policies {
            let mut held: std::collections::BTreeMap<u64, u64> = std::collections::BTreeMap::new();
            for &(k, w) in &trace {
                let mut evicted = Vec::new();
                let hit = p.access_weighted(k, w, &mut evicted);
                prop_assert_eq!(hit, held.contains_key(&k), "{}", p.name());
                for e in &evicted {
                    prop_assert!(held.remove(e).is_some(), "{} evicted {e}, which it did not hold", p.name());
                    prop_assert!(!p.contains(*e));
                }
                if !hit && p.contains(k) {
                    held.insert(k, w);
                }
                if !hit && p.name() != "w-tinylfu" {
                    prop_assert_eq!(p.contains(k), w <= max_weight, "{} and key {} of weight {}", p.name(), k, w);
                }
                prop_assert!(p.len() <= capacity && p.weight() <= max_weight, "{}", p.name());
                prop_assert_eq!(p.weight(), held.values().sum::<u64>(), "{}", p.name());
                prop_assert_eq!(p.len(), held.len(), "{}", p.name());
            }
        }
    }
}

#[test]
fn the_chapters_fifo_is_lru_under_another_name() {
    use super::compare::{CompareConfig, Comparison, PolicyKind};
    let cfg = CompareConfig {
        workload: workload::Workload::Zipf { keys: 10_000, s: 0.9 },
        length: 50_000,
        capacity: 500,
        seed: 1,
        policies: vec![PolicyKind::Lru, PolicyKind::Fifo, PolicyKind::ChapterFifo],
        weights: None,
    };
    let mut cmp = Comparison::new(&cfg).unwrap();
    cmp.advance(cfg.length);
    let v = cmp.view();
    let [lru, fifo, chapter] = [0, 1, 2].map(|i| v.policies[i].hits);
    assert_eq!(chapter, lru, "a hit moves the key to the back: that is LRU");
    assert!(fifo < lru, "a real FIFO hits less on Zipf: {fifo} against {lru}");
    assert_eq!(v.policies[2].curve, v.policies[0].curve);
}
