//! The ring's promises, checked against a naive reference (sort everything, scan: the chapter's
//! algorithm) and against the statistics it is meant to improve.

use super::stats::{Method, load, moved_fraction, movement, sample_keys};
use super::*;

/// The chapter's lookup, written plainly: sort all points, take the first `>=` the key's hash.
fn reference_owner(nodes: &[(&str, u32)], key: &str) -> String {
    let mut points: Vec<(u128, &str)> =
        nodes.iter().flat_map(|(n, v)| (0..*v).map(move |i| (md5_u128(&format!("{n}#{i}")), *n))).collect();
    points.sort();
    let h = md5_u128(key);
    points.iter().find(|(p, _)| h <= *p).unwrap_or(&points[0]).1.to_owned()
}

#[test]
fn owners_match_the_reference_including_wrap_around() {
    for vnodes in [1u32, 3, 150] {
        let ring = HashRing::with_nodes(vnodes, &["a", "b", "c"]).unwrap();
        let nodes = [("a", vnodes), ("b", vnodes), ("c", vnodes)];
        let max_point = ring.points().last().unwrap().0;
        let mut wrapped = 0;
        for key in sample_keys(2_000) {
            assert_eq!(ring.get_node(&key).unwrap(), reference_owner(&nodes, &key), "{key} with {vnodes} vnodes");
            wrapped += usize::from(md5_u128(&key) > max_point);
        }
        if vnodes == 1 {
            assert!(wrapped > 0, "some keys hash past the last point and wrap to the first");
        }
    }
}

#[test]
fn get_nodes_returns_distinct_nodes_clockwise() {
    let ring = HashRing::with_nodes(150, &["a", "b", "c", "d", "e"]).unwrap();
    for key in sample_keys(500) {
        let three = ring.get_nodes(&key, 3);
        assert_eq!(three.len(), 3);
        assert_eq!(three[0], ring.get_node(&key).unwrap(), "the owner comes first");
        let mut unique = three.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 3, "{key}: {three:?}");
        assert_eq!(ring.get_nodes(&key, 9).len(), 5, "never more than the nodes there are");
        assert_eq!(ring.get_nodes(&key, 2), three[..2].to_vec(), "a prefix of the longer list");
    }
    assert!(HashRing::new(150).unwrap().get_nodes("k", 3).is_empty());
    assert_eq!(HashRing::new(150).unwrap().get_node("k"), None);
}

#[test]
fn adding_or_removing_a_node_moves_only_that_nodes_keys() {
    let keys = sample_keys(10_000);
    let before = HashRing::with_nodes(150, &["a", "b", "c", "d"]).unwrap();
    let mut after = before.clone();
    after.add_node("e", 1.0).unwrap();
    for k in &keys {
        let (was, is) = (before.get_node(k).unwrap(), after.get_node(k).unwrap());
        assert!(was == is || is == "e", "{k} moved from {was} to {is}, not to the new node");
    }
    let added = moved_fraction(&before, &after, Method::Ring, &keys);
    assert!((0.15..0.25).contains(&added), "adding 1 of 5 moved {added}");
    let mut removed = before.clone();
    removed.remove_node("b").unwrap();
    for k in &keys {
        let (was, is) = (before.get_node(k).unwrap(), removed.get_node(k).unwrap());
        assert!(was == is || was == "b", "{k} moved from {was} to {is} though {was} stayed");
    }
    let m = movement(&before, &after, "add e".into(), &keys);
    assert!((m.ideal - 0.2).abs() < 1e-12, "{}", m.ideal);
    let mut heavier = before.clone();
    heavier.add_node("big", 2.0).unwrap();
    assert!((movement(&before, &heavier, "add big".into(), &keys).ideal - 2.0 / 6.0).abs() < 1e-12);
    let mut reweighted = before.clone();
    reweighted.set_weight("a", 3.0).unwrap();
    assert!((movement(&before, &reweighted, "weight a".into(), &keys).ideal - (0.5 - 0.25)).abs() < 1e-12);
    let denser = HashRing::with_nodes(300, &["a", "b", "c", "d"]).unwrap();
    assert_eq!(movement(&before, &denser, "vnodes".into(), &keys).ideal, 0.0, "same shares: nothing need move");
    assert!(m.moved[&Method::Modulo] > 0.7, "hash % N remaps most keys: {m:?}");
    assert!(m.moved[&Method::Jump] < 0.25 && m.moved[&Method::Rendezvous] < 0.25, "{m:?}");
}

#[test]
fn only_the_changed_nodes_points_change() {
    let mut ring = HashRing::with_nodes(50, &["a", "b"]).unwrap();
    let a_points: Vec<u128> = ring.points().iter().filter(|(_, n)| n == "a").map(|(p, _)| *p).collect();
    ring.add_node("c", 1.0).unwrap();
    ring.set_weight("b", 2.0).unwrap();
    ring.remove_node("c").unwrap();
    let a_after: Vec<u128> = ring.points().iter().filter(|(_, n)| n == "a").map(|(p, _)| *p).collect();
    assert_eq!(a_points, a_after);
    assert_eq!(ring.points().iter().filter(|(_, n)| n == "b").count(), 100);
    assert_eq!(ring.nodes(), ["a", "b"], "a weight change keeps the join order");
    assert!(ring.points().windows(2).all(|w| w[0] <= w[1]), "points stay sorted");
}

#[test]
fn balance_improves_with_more_virtual_nodes() {
    let keys = sample_keys(10_000);
    let names: Vec<String> = (0..10).map(|i| format!("node-{i}")).collect();
    let std_dev = |v| load(&HashRing::with_nodes(v, &names).unwrap(), Method::Ring, &keys).std_dev;
    let (one, ten, many, most) = (std_dev(1), std_dev(10), std_dev(150), std_dev(500));
    assert!(one > ten && ten > many, "{one} > {ten} > {many}");
    assert!(most < ten / 2.0, "{most} vs {ten}");
    let l = load(&HashRing::with_nodes(150, &names).unwrap(), Method::Ring, &keys);
    assert_eq!(l.keys_per_node.values().sum::<u64>(), 10_000);
    assert_eq!(l.mean, 1_000.0);
    assert!(l.max_over_mean < 1.25, "{l:?}");
}

#[test]
fn weight_scales_a_nodes_share() {
    let mut ring = HashRing::with_nodes(150, &["a", "b"]).unwrap();
    ring.add_node("big", 2.0).unwrap();
    let l = load(&ring, Method::Ring, &sample_keys(20_000));
    let share = l.keys_per_node["big"] as f64 / 20_000.0;
    assert!((0.43..0.57).contains(&share), "weight 2 of 4 took {share}");
    let arcs = ring.arc_shares();
    assert!((arcs.values().sum::<f64>() - 1.0).abs() < 1e-9, "{arcs:?}");
}

#[test]
fn bad_changes_are_refused_with_the_value() {
    let mut ring = HashRing::with_nodes(10, &["a"]).unwrap();
    assert_eq!(ring.add_node("a", 1.0), Err(RingError::DuplicateNode("a".into())));
    assert_eq!(ring.remove_node("z"), Err(RingError::UnknownNode("z".into())));
    assert_eq!(ring.add_node("", 1.0), Err(RingError::EmptyName));
    assert_eq!(
        ring.add_node("w", 0.0).unwrap_err().to_string(),
        "weight = 0 is out of range: allowed above 0 up to 100"
    );
    assert!(ring.add_node("w", f64::NAN).is_err());
    assert_eq!(HashRing::new(0).unwrap_err().to_string(), "virtual_nodes = 0 is out of range: allowed 1..=10000");
    assert_eq!(ring.nodes(), ["a"], "nothing changed");
}

#[test]
fn md5_matches_the_rfc_1321_vectors() {
    assert_eq!(md5_u128(""), 0xd41d8cd98f00b204e9800998ecf8427e);
    assert_eq!(md5_u128("abc"), 0x900150983cd24fb0d6963f7d28e17f72);
    assert_eq!(md5_u128("message digest"), 0xf96b697d7cb7938d525a2f31aaf161d0);
}

#[test]
fn a_ring_built_at_once_is_the_ring_built_node_by_node() {
    let nodes: Vec<(String, f64)> = (0..60).map(|i| (format!("n{i}"), [1.0, 0.5, 2.0, 1.25][i % 4])).collect();
    let refs: Vec<(&str, f64)> = nodes.iter().map(|(n, w)| (n.as_str(), *w)).collect();
    let at_once = HashRing::with_weighted_nodes(40, &refs).unwrap();
    let mut one_by_one = HashRing::new(40).unwrap();
    for (n, w) in &refs {
        one_by_one.add_node(n, *w).unwrap();
    }
    assert_eq!(at_once.points(), one_by_one.points());
    assert_eq!(at_once.nodes(), one_by_one.nodes());
    assert_eq!(at_once.weight("n2"), Some(2.0));
    let bad = |nodes: &[(&str, f64)]| HashRing::with_weighted_nodes(40, nodes).unwrap_err().to_string();
    assert_eq!(bad(&[("a", 1.0), ("a", 2.0)]), HashRing::with_nodes(40, &["a", "a"]).unwrap_err().to_string());
    assert!(bad(&[("a", 0.0)]).contains("weight"), "{}", bad(&[("a", 0.0)]));
    assert!(matches!(HashRing::with_weighted_nodes(40, &[("", 1.0)]), Err(RingError::EmptyName)));
}
