//! Rendezvous (highest random weight) hashing: every node scores every key, MD5(`"{node}|{key}"`),
//! and the highest score owns it. Removing a node moves only its own keys, adding one takes an
//! ideal 1/N, with no ring to build — at the price of O(N) work per lookup.

use super::md5_u128;

/// Up to `count` nodes for `key`, highest score first (ties, which MD5 makes vanishingly rare,
/// go to the smaller name).
pub fn nodes<'a>(nodes: &'a [String], key: &str, count: usize) -> Vec<&'a str> {
    let mut scored: Vec<(u128, &str)> = nodes.iter().map(|n| (md5_u128(&format!("{n}|{key}")), n.as_str())).collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().take(count).map(|(_, n)| n).collect()
}

/// The owner of `key`.
pub fn node<'a>(all: &'a [String], key: &str) -> Option<&'a str> {
    all.iter()
        .map(|n| (md5_u128(&format!("{n}|{key}")), n.as_str()))
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(a.1)))
        .map(|(_, n)| n)
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
}
