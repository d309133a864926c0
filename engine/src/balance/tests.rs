use super::*;

fn names(view: &View, picks: &[usize]) -> String {
    picks.iter().map(|&i| view.backends[i].name.as_str()).collect::<Vec<_>>().join(" ")
}

fn run(picker: &mut Picker, view: &View, rng: &mut Rng, n: usize) -> Vec<usize> {
    (0..n).map(|_| picker.pick("", view, rng).expect("a backend is up")).collect()
}

fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("10.0.{}.{}", i / 256, i % 256)).collect()
}

#[test]
fn smooth_wrr_gives_nginxs_exact_sequence_and_chapters_weighted_random_bursts() {
    let view = View::new(&[("a", 5), ("b", 1), ("c", 1)]);
    let mut rng = Rng::new(1);
    let mut swrr = AlgorithmKind::SmoothWrr.build(&view);
    let picks = run(&mut swrr, &view, &mut rng, 700);
    assert_eq!(names(&view, &picks[..7]), "a a b a c a a");
    assert_eq!(picks[..7], picks[693..], "the cycle repeats exactly");
    let weights = [5, 1, 1];
    let smooth = worst_window_error(&picks, &weights, 100);
    assert!(smooth < 1.0, "every window within one pick of its share: {smooth}");
    let mut chapter = AlgorithmKind::ChapterWeighted.build(&view);
    let random = worst_window_error(&run(&mut chapter, &view, &mut rng, 700), &weights, 100);
    assert!(random > 5.0 * smooth && random >= 5.0, "weighted random strays far from the weights: {random}");
}

#[test]
fn round_robin_keeps_its_order_when_a_backend_goes_down_and_the_chapters_skips_one() {
    let mut view = View::new(&[("a", 1), ("b", 1), ("c", 1), ("d", 1)]);
    let mut rng = Rng::new(1);
    let mut fixed = AlgorithmKind::RoundRobin.build(&view);
    let mut chapter = AlgorithmKind::ChapterRoundRobin.build(&view);
    let (mut ours, mut theirs) = (run(&mut fixed, &view, &mut rng, 3), run(&mut chapter, &view, &mut rng, 3));
    view.set_up("b", false);
    ours.extend(run(&mut fixed, &view, &mut rng, 4));
    theirs.extend(run(&mut chapter, &view, &mut rng, 4));
    assert_eq!(names(&view, &ours), "a b c d a c d", "b's turns gone, the rest in order");
    assert_eq!(names(&view, &theirs), "a b c a c d a", "d skipped, a twice in four picks");
    view.set_up("b", true);
    assert_eq!(names(&view, &run(&mut fixed, &view, &mut rng, 4)), "a b c d");
}

#[test]
fn least_conn_reads_the_balancers_own_counts_and_the_chapters_always_takes_the_first() {
    let mut view = View::new(&[("a", 2), ("b", 1), ("c", 1)]);
    let mut rng = Rng::new(1);
    let mut lc = AlgorithmKind::LeastConn.build(&view);
    assert_eq!(names(&view, &run(&mut lc, &view, &mut rng, 3)), "a b c", "ties go round robin");
    for (i, c) in [3, 2, 2].into_iter().enumerate() {
        view.backends[i].connections = c;
    }
    assert_eq!(lc.pick("", &view, &mut rng), Some(0), "3 connections at weight 2 are fewer than 2 at weight 1");
    view.backends[0].connections = 5;
    assert_eq!(names(&view, &run(&mut lc, &view, &mut rng, 2)), "b c");
    let mut chapter = AlgorithmKind::ChapterLeastConn.build(&view);
    assert_eq!(names(&view, &run(&mut chapter, &view, &mut rng, 5)), "a a a a a", "its count is never updated");
}

#[test]
fn least_outstanding_breaks_ties_at_random_among_the_least() {
    let mut view = View::new(&[("a", 1), ("b", 1), ("c", 1), ("d", 1)]);
    for (i, o) in [4, 1, 7, 1].into_iter().enumerate() {
        view.backends[i].outstanding = o;
    }
    let mut rng = Rng::new(3);
    let mut lor = AlgorithmKind::LeastOutstanding.build(&view);
    let picks = run(&mut lor, &view, &mut rng, 400);
    let b = picks.iter().filter(|&&p| p == 1).count();
    let d = picks.iter().filter(|&&p| p == 3).count();
    assert_eq!(b + d, 400, "only the two with one outstanding");
    assert!((150..=250).contains(&b), "the tie shared: {b} / {d}");
}

#[test]
fn ip_hash_moves_only_the_failed_backends_clients_and_the_chapters_moves_most() {
    let before = View::new(&[("a", 1), ("b", 1), ("c", 1), ("d", 1), ("e", 1)]);
    let mut after = before.clone();
    after.set_up("c", false);
    let keys = keys(10_000);
    let ours = remapped(AlgorithmKind::IpHash, &keys, &before, &after, 1);
    assert_eq!(ours.moved, ours.forced, "only c's clients move");
    assert!((1_700..=2_300).contains(&ours.forced), "c had about a fifth: {ours:?}");
    let theirs = remapped(AlgorithmKind::ChapterIpHash, &keys, &before, &after, 1);
    assert!(theirs.moved >= 7_500, "hash % healthy moves about four in five clients, not one: {theirs:?}");
    // The displaced clients spread over the other four instead of all landing on one.
    let mut ip = AlgorithmKind::IpHash.build(&after);
    let mut rng = Rng::new(1);
    let mut was = AlgorithmKind::IpHash.build(&before);
    let mut spread = [0usize; 5];
    for k in &keys {
        if was.pick(k, &before, &mut rng) == Some(2) {
            spread[ip.pick(k, &after, &mut rng).unwrap()] += 1;
        }
    }
    assert_eq!(spread[2], 0);
    let share = |n: usize| n as f64 / ours.forced as f64;
    assert!(
        spread.iter().enumerate().filter(|(i, _)| *i != 2).all(|(_, n)| (0.15..0.35).contains(&share(*n))),
        "{spread:?}"
    );
}

#[test]
fn bounded_load_never_lets_a_backend_past_its_capacity_and_keeps_keys_sticky_when_idle() {
    let mut view = View::new(&[("a", 1), ("b", 1), ("c", 2), ("d", 1)]);
    let mut bl = AlgorithmKind::BoundedLoad.build(&view);
    let mut rng = Rng::new(1);
    let sticky = bl.pick("user-42", &view, &mut rng);
    assert_eq!(bl.pick("user-42", &view, &mut rng), sticky, "idle: a key stays where it hashes");
    // Every request for one hot key, none finishing: the overflow walks the ring, and no
    // backend ever holds more than ⌈1.25 · total · weight / total weight⌉.
    for total in 1..=600u64 {
        let i = bl.pick("hot", &view, &mut rng).unwrap();
        view.backends[i].outstanding += 1;
        for b in &view.backends {
            let cap = (total * 125 * u64::from(b.weight)).div_ceil(100 * 5);
            assert!(u64::from(b.outstanding) <= cap, "{} holds {} of {total} (cap {cap})", b.name, b.outstanding);
        }
    }
    let loads: Vec<u32> = view.backends.iter().map(|b| b.outstanding).collect();
    assert_eq!(loads.iter().sum::<u32>(), 600);
    assert_eq!(loads, [0, 150, 300, 150], "c (weight 2) fills to half, b and d to a quarter each");
    let before = View::new(&[("a", 1), ("b", 1), ("c", 1), ("d", 1), ("e", 1)]);
    let mut after = before.clone();
    after.set_up("d", false);
    let r = remapped(AlgorithmKind::BoundedLoad, &keys(5_000), &before, &after, 1);
    assert_eq!(r.moved, r.forced, "idle, only d's keys move: {r:?}");
}

#[test]
fn maglev_spreads_its_table_evenly_by_weight_and_disrupts_little_when_a_backend_leaves() {
    let names: Vec<String> = (0..10).map(|i| format!("backend-{i}")).collect();
    let pairs: Vec<(&str, u32)> = names.iter().map(|n| (n.as_str(), 1)).collect();
    let view = View::new(&pairs);
    let table = maglev::Maglev::for_view(&view);
    assert_eq!(table.table().len(), maglev::TABLE_SIZE);
    let shares = table.shares(10);
    assert!(shares.iter().max().unwrap() - shares.iter().min().unwrap() <= 1, "{shares:?}");
    let mut after = view.clone();
    after.set_up("backend-3", false);
    let smaller = maglev::Maglev::for_view(&after);
    let changed = table.disruption(&smaller);
    let forced = shares[3];
    assert!(smaller.shares(10)[3] == 0);
    // Every slot of the backend that left changes; of the others' slots only a few do.
    let extra = changed - forced;
    assert!(extra * 100 < maglev::TABLE_SIZE, "{changed} changed, {forced} forced, {extra} more");
    let weighted = View::new(&[("a", 2), ("b", 1)]);
    let w = maglev::Maglev::for_view(&weighted).shares(2);
    assert!((w[0] as i64 - 2 * w[1] as i64).abs() <= 2, "2:1 by weight: {w:?}");
    let mut m = AlgorithmKind::Maglev.build(&view);
    let mut rng = Rng::new(1);
    assert_eq!(m.pick("k", &view, &mut rng), m.pick("k", &view, &mut rng));
}

#[test]
fn p2c_never_sends_to_the_slower_of_its_two_and_peak_ewma_reacts_at_once_to_a_slowdown() {
    let mut view = View::new(&[("a", 1), ("b", 1), ("slow", 1)]);
    view.now_us = 1_000_000;
    for (i, ms) in [(0, 2), (1, 3), (2, 50)] {
        view.backends[i].latency.observe(ms * 1_000, 1_000_000);
    }
    let mut p2c = AlgorithmKind::P2cEwma.build(&view);
    let mut rng = Rng::new(1);
    let picks = run(&mut p2c, &view, &mut rng, 600);
    assert_eq!(picks.iter().filter(|&&p| p == 2).count(), 0, "the slow one loses every comparison");
    assert!(picks.iter().filter(|&&p| p == 1).count() > 100, "b wins against slow");
    let mut e = PeakEwma::default();
    assert_eq!(e.estimate_us(0), p2c::DEFAULT_RTT_US);
    e.observe(1_000, 0);
    e.observe(9_000, 1_000);
    assert_eq!(e.estimate_us(1_000), 9_000.0, "a slower response replaces the estimate at once");
    e.observe(1_000, 1_000);
    assert_eq!(e.estimate_us(1_000), 9_000.0, "a faster one at the same instant pulls nothing");
    assert_eq!(e.estimate_us(1_000 + p2c::DECAY_US), 4_500.0, "one decay time halves it");
    e.observe(1_000, 1_000 + p2c::DECAY_US);
    assert_eq!(e.estimate_us(1_000 + p2c::DECAY_US), 5_000.0, "halfway to a fast sample");
}

#[test]
fn no_algorithm_picks_a_backend_out_of_rotation_or_invents_one() {
    let mut rng = Rng::new(7);
    for round in 0..300 {
        let n = 1 + usize::try_from(rng.below(6)).unwrap();
        let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
        let pairs: Vec<(&str, u32)> =
            names.iter().map(|s| (s.as_str(), 1 + u32::try_from(rng.below(5)).unwrap())).collect();
        let mut view = View::new(&pairs);
        for b in &mut view.backends {
            b.up = rng.below(3) > 0;
            b.outstanding = u32::try_from(rng.below(10)).unwrap();
            b.connections = u32::try_from(rng.below(10)).unwrap();
        }
        let any_up = view.backends.iter().any(|b| b.up);
        for kind in AlgorithmKind::ALL {
            let mut picker = kind.build(&view);
            for k in 0..20 {
                let got = picker.pick(&format!("key-{round}-{k}"), &view, &mut rng);
                match got {
                    Some(i) => {
                        assert!(view.backends[i].up, "{kind:?} picked {} out of rotation", view.backends[i].name)
                    }
                    None => assert!(!any_up, "{kind:?} found nothing with a backend up"),
                }
            }
        }
    }
}

#[test]
fn the_chapters_consistent_hash_places_keys_as_the_ring_does_and_pays_a_sort_a_request() {
    let view = View::new(&[("a", 1), ("b", 1), ("c", 1)]);
    let ring = crate::hashing::HashRing::with_nodes(chapter::VIRTUAL_NODES, &["a", "b", "c"]).unwrap();
    let mut theirs = AlgorithmKind::ChapterConsistent.build(&view);
    let mut rng = Rng::new(1);
    for k in keys(500) {
        let i = theirs.pick(&k, &view, &mut rng).unwrap();
        assert_eq!(Some(view.backends[i].name.as_str()), ring.get_node(&k), "{k}");
    }
    let Picker::ChapterConsistent(c) = theirs else { unreachable!() };
    assert_eq!(c.sorts, 500 * 3 * u64::from(chapter::VIRTUAL_NODES));
}

#[test]
fn names_round_trip_and_only_the_hashing_ones_are_keyed() {
    for kind in AlgorithmKind::ALL {
        assert_eq!(AlgorithmKind::parse(kind.as_str()), Some(kind));
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(json, format!("\"{}\"", kind.as_str()));
    }
    assert_eq!(AlgorithmKind::parse("weighted"), None);
    let keyed: Vec<&str> = AlgorithmKind::ALL.into_iter().filter(|k| k.is_keyed()).map(AlgorithmKind::as_str).collect();
    assert_eq!(keyed, ["ip_hash", "bounded_load", "maglev", "chapter_ip_hash", "chapter_consistent"]);
}
