//! Causal consistency of key-value histories (46.1, `ConsistencyLevel.CAUSAL`).
//!
//! Every write writes a value no other write writes (the workload makes sure), so a read tells
//! which write it read from. Causal order is then session order (a client's operations in the
//! order it issued them) plus read-from, closed transitively. A history is causally consistent
//! when none of the bad patterns of Bouajjani, Enea, Guerraoui and Hamza ("On verifying causal
//! consistency", POPL 2017) occurs:
//! - a read of a value nobody wrote (thin air);
//! - a cycle in causal order;
//! - a read of the initial (absent) value although a write of that key causally precedes it;
//! - a read from w1 although another write w2 of the same key lies causally between w1 and the
//!   read (it should have seen w2, or something newer).
//!
//! Read-your-writes is the session-order case of the last two. Monotonic reads, as a store that
//! converges promises them (causal+, with one order of concurrent writes), add one more pattern:
//! - a session that reads a, then b, then a again of one key (it switched to b and back).
//!
//! A write whose outcome is unknown (the client gave up waiting) follows its session's earlier
//! operations, but the session's later operations do not depend on it: the client never learned
//! that it happened.

use std::collections::BTreeMap;

use super::linearizability::{KvOp, Operation};

/// The value `o` wrote, or may have: a put, or a compare-and-set not known to have failed (its
/// read of `expected` is left out: a weaker check, never a false alarm).
fn writes(o: &Operation) -> Option<&str> {
    match &o.op {
        KvOp::Put { value } | KvOp::Cas { value, output: Some(true) | None, .. } => Some(value),
        KvOp::Get { .. } | KvOp::Cas { output: Some(false), .. } => None,
    }
}

/// The first bad pattern found, with the operations involved (indices into the history).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CausalViolation {
    ThinAir { read: usize },
    Cycle { operations: Vec<usize> },
    InitialAfterWrite { write: usize, read: usize },
    OverwrittenRead { read_from: usize, newer: usize, read: usize },
    FlipFlop { first: usize, second: usize, third: usize },
}

/// Checks `history` (completed reads and all writes, whatever their outcome). Operations are
/// ordered per client by invocation.
pub fn check(history: &[Operation]) -> Result<(), CausalViolation> {
    let n = history.len();
    let mut writer: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (i, o) in history.iter().enumerate() {
        if let Some(value) = writes(o) {
            writer.insert((o.key.as_str(), value), i);
        }
    }
    // Edges: session order and read-from.
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut sessions: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, o) in history.iter().enumerate() {
        sessions.entry(o.client).or_default().push(i);
    }
    for ops in sessions.values_mut() {
        ops.sort_by_key(|&i| (history[i].call, i));
        let mut last_known: Option<usize> = None;
        for &i in ops.iter() {
            if let Some(p) = last_known {
                preds[i].push(p);
            }
            if history[i].ret.is_some() {
                last_known = Some(i);
            }
        }
    }
    let mut read_from: Vec<Option<usize>> = vec![None; n];
    for (i, o) in history.iter().enumerate() {
        if let KvOp::Get { output: Some(v) } = &o.op {
            let Some(&w) = writer.get(&(o.key.as_str(), v.as_str())) else {
                return Err(CausalViolation::ThinAir { read: i });
            };
            read_from[i] = Some(w);
            preds[i].push(w);
        }
    }
    // Topological order (Kahn); what is left over lies on a cycle.
    let mut indegree: Vec<usize> = preds.iter().map(Vec::len).collect();
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (v, ps) in preds.iter().enumerate() {
        for &p in ps {
            succs[p].push(v);
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&v| indegree[v] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(v) = ready.pop() {
        order.push(v);
        for &s in &succs[v] {
            indegree[s] -= 1;
            if indegree[s] == 0 {
                ready.push(s);
            }
        }
    }
    if order.len() < n {
        let operations = (0..n).filter(|&v| indegree[v] > 0).collect();
        return Err(CausalViolation::Cycle { operations });
    }
    // Causal predecessors of every operation, as bit sets.
    let words = n.div_ceil(64);
    let mut before: Vec<Vec<u64>> = vec![vec![0; words]; n];
    for &v in &order {
        let mut row = vec![0u64; words];
        for &p in &preds[v] {
            for (r, b) in row.iter_mut().zip(&before[p]) {
                *r |= b;
            }
            row[p / 64] |= 1 << (p % 64);
        }
        before[v] = row;
    }
    let precedes = |a: usize, b: usize| before[b][a / 64] & (1 << (a % 64)) != 0;
    let mut writes_of: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, o) in history.iter().enumerate() {
        if writes(o).is_some() {
            writes_of.entry(o.key.as_str()).or_default().push(i);
        }
    }
    for ops in sessions.values() {
        // Per key, the values read so far in this session, and where each was last read.
        let mut seen: BTreeMap<&str, Vec<(Option<&str>, usize)>> = BTreeMap::new();
        for &i in ops {
            let KvOp::Get { output } = &history[i].op else { continue };
            let reads = seen.entry(history[i].key.as_str()).or_default();
            let value = output.as_deref();
            if reads.last().is_some_and(|(v, _)| *v != value)
                && let Some(&(_, first)) = reads.iter().find(|(v, _)| *v == value)
            {
                let second = reads.last().map_or(first, |(_, j)| *j);
                return Err(CausalViolation::FlipFlop { first, second, third: i });
            }
            reads.push((value, i));
        }
    }
    for (r, o) in history.iter().enumerate() {
        let KvOp::Get { .. } = o.op else { continue };
        let writes = writes_of.get(o.key.as_str()).map_or(&[][..], Vec::as_slice);
        match read_from[r] {
            None => {
                if let Some(&w) = writes.iter().find(|&&w| precedes(w, r)) {
                    return Err(CausalViolation::InitialAfterWrite { write: w, read: r });
                }
            }
            Some(w1) => {
                if let Some(&w2) = writes.iter().find(|&&w2| w2 != w1 && precedes(w1, w2) && precedes(w2, r)) {
                    return Err(CausalViolation::OverwrittenRead { read_from: w1, newer: w2, read: r });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(client: u64, call: u64, key: &str, op: KvOp) -> Operation {
        Operation { client, call, ret: Some(call + 1), key: key.into(), op }
    }
    fn put(client: u64, call: u64, key: &str, v: &str) -> Operation {
        op(client, call, key, KvOp::Put { value: v.into() })
    }
    fn get(client: u64, call: u64, key: &str, v: Option<&str>) -> Operation {
        op(client, call, key, KvOp::Get { output: v.map(str::to_owned) })
    }

    #[test]
    fn causal_histories_pass() {
        // Concurrent writes may be seen in different orders by different clients.
        let h = [
            put(0, 0, "x", "a"),
            put(1, 0, "x", "b"),
            get(2, 10, "x", Some("a")),
            get(2, 20, "x", Some("b")),
            get(3, 10, "x", Some("b")),
            get(3, 20, "x", Some("a")),
        ];
        assert_eq!(check(&h), Ok(()));
    }

    #[test]
    fn read_your_writes_is_required() {
        let h = [put(0, 0, "x", "a"), get(0, 10, "x", None)];
        assert_eq!(check(&h), Err(CausalViolation::InitialAfterWrite { write: 0, read: 1 }));
        let h = [put(0, 0, "x", "a"), put(0, 5, "x", "b"), get(0, 10, "x", Some("a"))];
        assert_eq!(check(&h), Err(CausalViolation::OverwrittenRead { read_from: 0, newer: 1, read: 2 }));
    }

    #[test]
    fn a_causal_chain_through_another_client_must_be_respected() {
        // c0 writes x=a then y=b; c1 sees y=b, then must not read x as absent.
        let h = [put(0, 0, "x", "a"), put(0, 5, "y", "b"), get(1, 10, "y", Some("b")), get(1, 20, "x", None)];
        assert_eq!(check(&h), Err(CausalViolation::InitialAfterWrite { write: 0, read: 3 }));
    }

    #[test]
    fn a_session_may_not_switch_back_to_a_value_it_left() {
        let h = [
            put(0, 0, "x", "a"),
            put(1, 0, "x", "b"),
            get(2, 10, "x", Some("a")),
            get(2, 20, "x", Some("b")),
            get(2, 30, "x", Some("a")),
        ];
        assert_eq!(check(&h), Err(CausalViolation::FlipFlop { first: 2, second: 3, third: 4 }));
        let back_to_nothing = [put(0, 0, "x", "a"), get(2, 10, "x", Some("a")), get(2, 20, "x", None)];
        assert!(check(&back_to_nothing).is_err(), "nothing after a is a step back too");
    }

    #[test]
    fn a_write_of_unknown_outcome_is_not_part_of_what_follows_it() {
        // c0's second write timed out; its next read still returns the first value.
        let mut lost = put(0, 10, "x", "b");
        lost.ret = None;
        let h = [put(0, 0, "x", "a"), lost, get(0, 20, "x", Some("a"))];
        assert_eq!(check(&h), Ok(()));
    }

    #[test]
    fn thin_air_and_cycles() {
        assert_eq!(check(&[get(0, 0, "x", Some("z"))]), Err(CausalViolation::ThinAir { read: 0 }));
        // Each client reads the other's later write before writing its own.
        let h = [get(0, 0, "x", Some("b")), put(0, 5, "y", "a"), get(1, 0, "y", Some("a")), put(1, 5, "x", "b")];
        assert!(matches!(check(&h), Err(CausalViolation::Cycle { .. })));
    }
}
