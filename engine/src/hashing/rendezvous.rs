//! Rendezvous (highest random weight) hashing: every node scores every key, MD5(`"{node}|{key}"`),
//! and the highest score owns it. Removing a node moves only its own keys, adding one takes an
//! ideal 1/N, with no ring to build — at the price of O(N) work per lookup.

use md5::{Digest, Md5};

/// A node's score for a key: MD5 of `"{node}|{key}"`, hashed in place (no string is built: a
/// lookup scores every node).
fn score(node: &str, key: &str) -> u128 {
    let mut h = Md5::new();
    h.update(node.as_bytes());
    h.update(b"|");
    h.update(key.as_bytes());
    let digest: [u8; 16] = h.finalize().into();
    u128::from_be_bytes(digest)
}

/// Up to `count` nodes for `key`, highest score first (ties, which MD5 makes vanishingly rare,
/// go to the smaller name).
pub fn nodes<'a>(nodes: &'a [String], key: &str, count: usize) -> Vec<&'a str> {
    let mut scored: Vec<(u128, &str)> = nodes.iter().map(|n| (score(n, key), n.as_str())).collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().take(count).map(|(_, n)| n).collect()
}

/// The owner of `key`, with its score.
fn owner<'a>(all: &'a [String], key: &str) -> Option<(u128, &'a str)> {
    all.iter().map(|n| (score(n, key), n.as_str())).max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(a.1)))
}

/// The owner of `key`.
pub fn node<'a>(all: &'a [String], key: &str) -> Option<&'a str> {
    owner(all, key).map(|(_, n)| n)
}

/// How many of `keys` change owner from the nodes `before` to the nodes `after`. A node's score
/// for a key does not depend on the other nodes, so a key whose owner stays keeps it unless a
/// node that joined scores higher: only the joiners are scored for it, and only the keys of a
/// node that left are looked up again. One node's change costs O(keys), not O(keys × nodes).
pub fn moved(before: &[String], after: &[String], keys: &[String]) -> usize {
    use std::collections::BTreeSet;
    let staying: BTreeSet<&str> = after.iter().map(String::as_str).collect();
    let was: BTreeSet<&str> = before.iter().map(String::as_str).collect();
    let joined: Vec<String> = after.iter().filter(|n| !was.contains(n.as_str())).cloned().collect();
    keys.iter()
        .filter(|key| match owner(before, key) {
            None => !after.is_empty(),
            Some((_, old)) if !staying.contains(old) => true,
            Some(best) => {
                owner(&joined, key).is_some_and(|j| (j.0, std::cmp::Reverse(j.1)) > (best.0, std::cmp::Reverse(best.1)))
            }
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_a_node_moves_only_its_keys() {
        let all: Vec<String> = ["a", "b", "c", "d"].map(str::to_owned).to_vec();
        let rest: Vec<String> = ["a", "b", "d"].map(str::to_owned).to_vec();
        for i in 0..2_000 {
            let key = format!("key:{i}");
            let before = node(&all, &key).unwrap();
            let after = node(&rest, &key).unwrap();
            assert!(before == "c" || before == after, "{key}");
            assert_eq!(nodes(&all, &key, 1), vec![before]);
        }
        assert_eq!(nodes(&all, "k", 9).len(), 4);
    }

    /// The shortcut counts exactly the keys a lookup on both node sets says moved.
    #[test]
    fn moved_counts_what_looking_up_both_sides_finds() {
        let names = |ns: &[&str]| ns.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let keys: Vec<String> = (0..3_000).map(|i| format!("key:{i}")).collect();
        let cases = [
            (names(&["a", "b", "c"]), names(&["a", "b", "c", "d"])),
            (names(&["a", "b", "c", "d"]), names(&["a", "c", "d"])),
            (names(&["a", "b"]), names(&["b", "x", "y"])),
            (names(&["a"]), names(&[])),
            (names(&[]), names(&["a"])),
        ];
        for (before, after) in cases {
            let slow = keys.iter().filter(|k| node(&before, k) != node(&after, k)).count();
            assert_eq!(moved(&before, &after, &keys), slow, "{before:?} -> {after:?}");
        }
        assert_eq!(score("a", "key:1"), super::super::md5_u128("a|key:1"), "the chapter's own string, hashed in place");
    }
}
