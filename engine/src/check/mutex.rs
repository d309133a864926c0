//! Mutual exclusion, judged where it matters: at the protected resource (46.7.1).
//!
//! A lock is correct if the resource never sees the work of two holders interleaved, or the work
//! of an older holder after that of a newer one. The checker orders holds by when the store
//! granted them (their `Acquired` observations) and demands that the accepted writes, in the
//! order the resource accepted them, never go back to an earlier hold. That covers both "no two
//! writes accepted out of token order" and "no overlapping accepted critical sections", with or
//! without tokens: without fencing the resource cannot tell, but the checker can.
//!
//! A second, weaker property is what the clients believe: two clients both thinking they hold the
//! lock at once. Leases cannot prevent it (a paused client cannot know it was paused), which is
//! why the resource must fence; the lab shows it, unpromised.

use crate::msg;
use std::collections::BTreeMap;

use super::{Mark, Verdict};
use crate::NodeId;
use crate::sim::SimTime;

/// A hold: a client's `grant`-th acquisition.
pub type Hold = (NodeId, u64);

/// An accepted write, as the resource reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcceptedWrite {
    pub time: SimTime,
    pub hold: Hold,
    pub token: Option<u64>,
}

/// Judges the accepted writes (in acceptance order) against when each hold was granted.
pub fn resource_safety(
    granted: &BTreeMap<Hold, SimTime>,
    writes: &[AcceptedWrite],
    names: impl Fn(NodeId) -> String,
) -> Verdict {
    const PROPERTY: &str = "mutual_exclusion";
    let describe = |w: &AcceptedWrite| {
        let granted = granted.get(&w.hold).map_or("?".to_owned(), |t| t.to_string());
        let (client, hold, at) = (names(w.hold.0), w.hold.1, w.time);
        match w.token {
            Some(token) => {
                msg!("mutex.write_fenced", client = client, hold = hold, granted = granted, token = token, at = at)
            }
            None => msg!("mutex.write", client = client, hold = hold, granted = granted, at = at),
        }
    };
    // The two holds involved: from each one's grant to its write.
    let mark = |w: &AcceptedWrite| Mark {
        node: names(w.hold.0),
        from_us: granted.get(&w.hold).map_or(w.time, |t| *t).as_micros(),
        to_us: w.time.as_micros(),
    };
    let mut newest: Option<&AcceptedWrite> = None;
    for w in writes {
        let Some(granted_at) = granted.get(&w.hold) else { continue };
        if let Some(prev) = newest
            && let Some(prev_at) = granted.get(&prev.hold)
        {
            if granted_at < prev_at {
                return Verdict::fails(
                    PROPERTY,
                    msg!("mutex.stale_write", write = describe(w), previous = describe(prev)),
                )
                .marked(vec![mark(w), mark(prev)]);
            }
            if granted_at == prev_at && w.hold != prev.hold {
                return Verdict::fails(
                    PROPERTY,
                    msg!("mutex.same_grant", write = describe(w), previous = describe(prev)),
                )
                .marked(vec![mark(w), mark(prev)]);
            }
        }
        if newest.is_none_or(|n| granted.get(&n.hold).is_some_and(|t| t <= granted_at)) {
            newest = Some(w);
        }
    }
    let holds = writes.iter().map(|w| w.hold).collect::<std::collections::BTreeSet<_>>().len();
    Verdict::holds(PROPERTY, msg!("mutex.writes_ordered", writes = writes.len(), holds = holds))
}

/// A client's belief that it holds the lock, from `start` until it released, learned it had lost
/// the lock, crashed, or the run ended. `shared` for a read lock, which other readers may hold at
/// the same time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Belief {
    pub hold: Hold,
    pub start: SimTime,
    pub end: SimTime,
    pub shared: bool,
}

/// Two clients believing at once that they hold the lock, unless both hold it shared (readers).
pub fn belief_safety(beliefs: &[Belief], names: impl Fn(NodeId) -> String) -> Verdict {
    const PROPERTY: &str = "lock_belief";
    let mut sorted: Vec<&Belief> = beliefs.iter().collect();
    sorted.sort_by_key(|b| (b.start, b.end));
    // The beliefs still open at the current start: one exclusive, or any number of shared ones.
    let mut open: Vec<&Belief> = Vec::new();
    let mut overlaps = 0;
    let mut first = None;
    for b in sorted {
        open.retain(|a| a.end > b.start);
        if let Some(a) = open.iter().find(|a| a.hold.0 != b.hold.0 && !(a.shared && b.shared)) {
            overlaps += 1;
            first.get_or_insert((**a, *b));
        }
        open.push(b);
    }
    match first {
        None => match beliefs.iter().filter(|b| b.shared).count() {
            0 => Verdict::holds(PROPERTY, msg!("mutex.exclusive", holds = beliefs.len())),
            shared => Verdict::holds(PROPERTY, msg!("mutex.exclusive_shared", holds = beliefs.len(), shared = shared)),
        },
        Some((a, b)) => Verdict::fails(
            PROPERTY,
            msg!(
                "mutex.overlap",
                overlaps = overlaps,
                first = names(a.hold.0),
                first_from = a.start,
                first_to = a.end,
                second = names(b.hold.0),
                second_from = b.start
            ),
        )
        .marked(
            [a, b]
                .map(|x| Mark { node: names(x.hold.0), from_us: x.start.as_micros(), to_us: x.end.as_micros() })
                .to_vec(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> SimTime {
        SimTime::from_millis(ms)
    }

    fn name(n: NodeId) -> String {
        format!("c{}", n.0)
    }

    #[test]
    fn a_stale_holders_late_write_is_a_violation() {
        let (a, b) = ((NodeId(0), 1), (NodeId(1), 1));
        let granted = BTreeMap::from([(a, t(0)), (b, t(1_000))]);
        let w = |ms, hold, token| AcceptedWrite { time: t(ms), hold, token };
        let ok = [w(100, a, Some(1)), w(1_100, b, Some(2)), w(1_200, b, Some(2))];
        assert!(resource_safety(&granted, &ok, name).holds);
        let stale = [w(1_100, b, None), w(2_050, a, None)];
        let v = resource_safety(&granted, &stale, name);
        assert!(!v.holds);
        assert_eq!(
            v.detail,
            "a stale holder's write was accepted: c0 (hold 1 granted at t = 0.000 s) wrote at t = 2.050 s \
             after c1 (hold 1 granted at t = 1.000 s) wrote at t = 1.100 s"
        );
        let at = |node: &str, from, to| Mark { node: node.to_owned(), from_us: from, to_us: to };
        assert_eq!(
            v.marks,
            [at("c0", 0, 2_050_000), at("c1", 1_000_000, 1_100_000)],
            "the stale hold and the newer one"
        );
        let interleaved = [w(100, a, None), w(1_100, b, None), w(1_150, a, None)];
        assert!(!resource_safety(&granted, &interleaved, name).holds, "A B A interleaves");
    }

    #[test]
    fn overlapping_beliefs_are_counted() {
        let b = |c, s, e| Belief { hold: (NodeId(c), 1), start: t(s), end: t(e), shared: false };
        assert!(belief_safety(&[b(0, 0, 100), b(1, 100, 200)], name).holds, "touching is not overlapping");
        let v = belief_safety(&[b(0, 0, 3_000), b(1, 1_000, 1_500), b(2, 2_000, 2_500)], name);
        assert!(!v.holds);
        assert!(v.detail.starts_with("2 time(s) two clients believed they held the lock, first c0"), "{}", v.detail);
    }

    #[test]
    fn readers_may_overlap_each_other_but_not_a_writer() {
        let read = |c, s, e| Belief { hold: (NodeId(c), 1), start: t(s), end: t(e), shared: true };
        let write = |c, s, e| Belief { hold: (NodeId(c), 1), start: t(s), end: t(e), shared: false };
        assert!(
            belief_safety(&[read(0, 0, 300), read(1, 100, 200), read(2, 150, 400), write(3, 400, 500)], name).holds
        );
        let v = belief_safety(&[read(0, 0, 300), read(1, 100, 500), write(2, 400, 600)], name);
        assert!(!v.holds, "a writer while a reader still reads");
        assert!(v.detail.contains("first c1 (from t = 0.100 s to 0.500 s) and c2 (from t = 0.400 s)"), "{}", v.detail);
        assert!(!belief_safety(&[write(0, 0, 300), read(1, 100, 200)], name).holds, "a reader inside a write");
    }
}
