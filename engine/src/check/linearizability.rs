//! Linearizability of key-value histories (46.1: what "strong consistency" promises).
//!
//! A history is linearizable if every operation can be given one instant between its invocation
//! and its response such that, in that order, every read returns the value of the latest write.
//! The search is Wing & Gong's, with the two improvements Porcupine (Athalye, 2017) made
//! practical: P-compositionality (each key is checked on its own, since a history is
//! linearizable exactly when every key's sub-history is) and a cache of visited states (the set
//! of operations already linearized plus the register's value), which turns most of the
//! exponential search into a walk.
//!
//! Operations whose outcome is unknown (a write that timed out, or that a coordinator gave up
//! on after it may have reached some replicas) get an infinite response time: they may take
//! effect at any moment after their invocation, or never. A read with an unknown outcome
//! constrains nothing and is dropped.
//!
//! For a violation the checker returns a small set of operations that cannot be ordered: it
//! finds the shortest prefix of the key's history (by invocation) that fails, then removes
//! operations one at a time while it still fails (never a write whose value a remaining read
//! returned, so that the explanation stays about order, not about values from nowhere).
//!
//! The search is exponential in the worst case (one key, many concurrent clients), so it runs
//! within a [`Budget`]: search steps and the memory of its cache, both counted, so that a budget
//! gives the same verdict on every machine, plus an optional `stop` the caller polls (the CLI's
//! wall-clock `--timeout`). Running out is a third answer, [`Outcome::Unknown`], as Porcupine's
//! `CheckOperationsTimeout` says "unknown": never a guess.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// What an operation did. `value` and `output` are opaque strings; `None` is the absent key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum KvOp {
    /// A read, and what it returned.
    Get { output: Option<String> },
    /// A write of `value`.
    Put { value: String },
    /// A compare-and-set: writes `value` if the key holds `expected` (`None`: absent); `output`
    /// says whether it did (`None`: unknown).
    Cas { expected: Option<String>, value: String, output: Option<bool> },
}

impl KvOp {
    /// The value this operation may write.
    fn written(&self) -> Option<&str> {
        match self {
            KvOp::Put { value } | KvOp::Cas { value, .. } => Some(value),
            KvOp::Get { .. } => None,
        }
    }

    /// The value this operation saw: a read's output, or what a successful compare-and-set found.
    fn observed(&self) -> Option<&str> {
        match self {
            KvOp::Get { output: Some(v) } | KvOp::Cas { expected: Some(v), output: Some(true), .. } => Some(v),
            _ => None,
        }
    }
}

/// One operation of a history: who, when (any time unit, e.g. µs), on which key, and what.
/// `ret: None` is an unknown outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub client: u64,
    pub call: u64,
    #[serde(rename = "return")]
    pub ret: Option<u64>,
    pub key: String,
    #[serde(flatten)]
    pub op: KvOp,
}

/// The checker's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Linearizable {
        operations: usize,
        keys: usize,
    },
    /// `key`'s history cannot be ordered; `culprits` are indices into the checked history (a
    /// small set, or the whole failing prefix when the budget ran out while shrinking it).
    Violation {
        key: String,
        culprits: Vec<usize>,
    },
    /// The budget ran out on `key` before it was decided; `decided` keys (the smaller ones,
    /// checked first) were linearizable.
    Unknown {
        key: String,
        exhausted: Exhausted,
        decided: usize,
        keys: usize,
    },
}

/// Which part of a [`Budget`] ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exhausted {
    Steps,
    Memory,
    /// The caller's `stop` said so (a wall-clock timeout, Ctrl-C).
    Stopped,
}

/// How much the search may do. Both are counted, not timed, so a budget decides the same
/// histories on every machine and in the browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Search steps (one attempt to linearize one operation, or one backtrack), summed over
    /// every key and the shrinking of a counterexample.
    pub steps: u64,
    /// Bytes of the visited-state cache and the search stack, estimated from their lengths.
    pub memory_bytes: u64,
}

impl Budget {
    pub const UNLIMITED: Budget = Budget { steps: u64::MAX, memory_bytes: u64::MAX };
    /// What a scenario's checker gets: one to two seconds of search natively (five to ten
    /// million steps a second), a few in the browser, and 256 MiB of cache. A `cap` run of 20
    /// clients on 4 keys (10,000 operations) is checked in well under a tenth of it; one key
    /// with 20 clients always overlapping runs out at a few hundred operations.
    pub const SCENARIO: Budget = Budget { steps: 10_000_000, memory_bytes: 256 << 20 };
}

/// How much a counterexample's shrinking may spend after the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shrink {
    /// Nothing: the culprits are the failing prefix the verdict's own search found (every
    /// operation on the key called before the return no order could get past), free.
    Off,
    /// At most `times` the steps the verdict took (at least [`SHRINK_FLOOR`]): with 1, the
    /// shrunk report costs at most about twice the verdict alone.
    Times(u64),
}

impl Shrink {
    /// What `check_within` uses.
    pub const DEFAULT: Shrink = Shrink::Times(1);
}

/// The fewest steps shrinking may take, so that a small history is always shrunk fully.
pub const SHRINK_FLOOR: u64 = 100_000;

/// How often (in steps) the search polls its caller's `stop`.
const POLL_EVERY: u64 = 1 << 16;

/// What the search has spent so far, against its budget.
struct Spent<'s> {
    budget: Budget,
    steps: u64,
    stop: &'s mut dyn FnMut() -> bool,
}

impl Spent<'_> {
    /// Counts one step; `Err` once anything is exhausted.
    fn step(&mut self, memory_bytes: u64) -> Result<(), Exhausted> {
        self.charge(1, memory_bytes)
    }

    /// Counts `steps` at once (a search's setup, in operations).
    fn charge(&mut self, steps: u64, memory_bytes: u64) -> Result<(), Exhausted> {
        let before = self.steps;
        self.steps += steps;
        if self.steps > self.budget.steps {
            return Err(Exhausted::Steps);
        }
        if memory_bytes > self.budget.memory_bytes {
            return Err(Exhausted::Memory);
        }
        if before / POLL_EVERY != self.steps / POLL_EVERY && (self.stop)() {
            return Err(Exhausted::Stopped);
        }
        Ok(())
    }
}

/// Errors in a history given from outside (the CLI's JSON file).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HistoryError {
    #[error("operation {index}: returns at {ret} before its invocation at {call}")]
    ReturnBeforeCall { index: usize, call: u64, ret: u64 },
    #[error("not a history: {0}")]
    NotAHistory(String),
    #[error("operation {index}: {reason}")]
    BadOperation { index: usize, reason: String },
    #[error(
        "operations {first} and {second} of client {client} overlap ([{first_call} .. {first_ret}] and [{second_call} .. {}]): a client does one operation at a time",
        second_ret.map_or("no return".to_owned(), |r| r.to_string())
    )]
    Overlap {
        client: u64,
        first: usize,
        second: usize,
        first_call: u64,
        first_ret: u64,
        second_call: u64,
        second_ret: Option<u64>,
    },
}

/// The fields each kind of operation has, every one required (`null` where the format allows:
/// an unknown `return`, an absent `output` or `expected`).
fn fields_of(op: &str) -> Option<&'static [&'static str]> {
    match op {
        "get" => Some(&["client", "call", "return", "key", "op", "output"]),
        "put" => Some(&["client", "call", "return", "key", "op", "value"]),
        "cas" => Some(&["client", "call", "return", "key", "op", "expected", "value", "output"]),
        _ => None,
    }
}

/// Reads a history in the CLI's JSON format, strictly: a misspelt field (`"ouput"`) or a missing
/// one (`"return"`) would otherwise be read as an absent value and judged as such, and a client
/// with two operations at once is not a history of sequential clients. Every error names the
/// operation by its index.
pub fn parse_history(json: &str) -> Result<Vec<Operation>, HistoryError> {
    let not_a_history = |e: String| HistoryError::NotAHistory(format!("expected a JSON array of operations ({e})"));
    let values: Vec<serde_json::Value> =
        match crate::config::strict_json(json).map_err(|e| not_a_history(e.to_string()))? {
            serde_json::Value::Array(values) => values,
            serde_json::Value::Object(_) => return Err(not_a_history("got an object".into())),
            _ => return Err(not_a_history("got a single value".into())),
        };
    let mut history = Vec::with_capacity(values.len());
    for (index, value) in values.into_iter().enumerate() {
        let bad = |reason: String| HistoryError::BadOperation { index, reason };
        let object = value.as_object().ok_or_else(|| bad(format!("expected an object, got {value}")))?;
        let op = object.get("op").and_then(|o| o.as_str()).unwrap_or("");
        let fields = fields_of(op)
            .ok_or_else(|| bad(format!("\"op\" must be \"get\", \"put\" or \"cas\", got {:?}", object.get("op"))))?;
        if let Some(unknown) = object.keys().find(|k| !fields.contains(&k.as_str())) {
            return Err(bad(format!("unknown field {unknown:?} for a {op} (its fields are {})", fields.join(", "))));
        }
        if let Some(missing) = fields.iter().find(|f| !object.contains_key(**f)) {
            return Err(bad(format!(
                "missing field {missing:?} (null where the outcome is unknown or the key absent)"
            )));
        }
        history.push(serde_json::from_value::<Operation>(value).map_err(|e| bad(e.to_string()))?);
    }
    refuse_overlaps(&history)?;
    Ok(history)
}

/// A client's operations with a known return may not overlap in time (one with an unknown
/// outcome was abandoned: the client went on).
fn refuse_overlaps(history: &[Operation]) -> Result<(), HistoryError> {
    let mut by_client: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, o) in history.iter().enumerate() {
        by_client.entry(o.client).or_default().push(i);
    }
    for (client, mut ops) in by_client {
        ops.sort_by_key(|i| (history[*i].call, *i));
        let mut open: Option<(usize, u64)> = None;
        for i in ops {
            let o = &history[i];
            if let Some((first, ret)) = open
                && o.call < ret
            {
                let f = &history[first];
                return Err(HistoryError::Overlap {
                    client,
                    first,
                    second: i,
                    first_call: f.call,
                    first_ret: ret,
                    second_call: o.call,
                    second_ret: o.ret,
                });
            }
            if let Some(ret) = o.ret {
                open = Some((i, ret));
            }
        }
    }
    Ok(())
}

/// Checks `history` with no bound on time or memory. Reads with an unknown outcome are ignored.
pub fn check(history: &[Operation]) -> Result<Outcome, HistoryError> {
    check_within(history, Budget::UNLIMITED, &mut || false)
}

/// Checks `history` within `budget`, polling `stop` every few thousand steps, and shrinks a
/// counterexample as [`Shrink::DEFAULT`] allows.
pub fn check_within(
    history: &[Operation],
    budget: Budget,
    stop: &mut dyn FnMut() -> bool,
) -> Result<Outcome, HistoryError> {
    check_shrinking(history, budget, Shrink::DEFAULT, stop)
}

/// Checks `history` within `budget` (the shrinking included), polling `stop` every few
/// thousand steps. Keys are checked smallest first, so that a violation on a small key is found
/// before a big one spends the budget.
pub fn check_shrinking(
    history: &[Operation],
    budget: Budget,
    shrink_by: Shrink,
    stop: &mut dyn FnMut() -> bool,
) -> Result<Outcome, HistoryError> {
    for (index, o) in history.iter().enumerate() {
        if let Some(ret) = o.ret
            && ret < o.call
        {
            return Err(HistoryError::ReturnBeforeCall { index, call: o.call, ret });
        }
    }
    let read_values: BTreeSet<(&str, &str)> = history
        .iter()
        .filter(|o| o.ret.is_some())
        .filter_map(|o| o.op.observed().map(|v| (o.key.as_str(), v)))
        .collect();
    // A failed compare-and-set observes that the key did *not* hold a value, which a write of
    // unknown fate may have caused: on such keys those writes stay.
    let failed_cas: BTreeSet<&str> = history
        .iter()
        .filter(|o| matches!(o.op, KvOp::Cas { output: Some(false), .. }))
        .map(|o| o.key.as_str())
        .collect();
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, o) in history.iter().enumerate() {
        let ignored = match &o.op {
            KvOp::Get { .. } => o.ret.is_none(),
            // A write of unknown outcome that no read saw can always be placed after everything
            // else, which is the same as never: it cannot matter, and each one would double the
            // search.
            KvOp::Put { value } | KvOp::Cas { value, .. } => {
                o.ret.is_none()
                    && !read_values.contains(&(o.key.as_str(), value.as_str()))
                    && !failed_cas.contains(o.key.as_str())
            }
        };
        if !ignored {
            by_key.entry(o.key.as_str()).or_default().push(i);
        }
    }
    let operations = by_key.values().map(Vec::len).sum();
    let keys = by_key.len();
    let mut order: Vec<(&str, Vec<usize>)> = by_key.into_iter().collect();
    order.sort_by_key(|(key, ops)| (ops.len(), *key));
    let mut spent = Spent { budget, steps: 0, stop };
    for (decided, (key, ops)) in order.iter().enumerate() {
        let unknown = |exhausted| Outcome::Unknown { key: (*key).to_owned(), exhausted, decided, keys };
        match linearizable(history, ops, &mut spent) {
            Ok(Found::Linearizable) => {}
            Ok(Found::Stuck(prefix)) => {
                let culprits = match shrink_by {
                    Shrink::Off => prefix,
                    Shrink::Times(times) => {
                        let cap = spent.steps.saturating_mul(times).max(SHRINK_FLOOR);
                        shrink(history, prefix, &mut spent, cap)
                    }
                };
                return Ok(Outcome::Violation { key: (*key).to_owned(), culprits });
            }
            Err(exhausted) => return Ok(unknown(exhausted)),
        }
    }
    Ok(Outcome::Linearizable { operations, keys })
}

/// The longest failing set the one-at-a-time shrinking works on.
const SHRINK_MAX: usize = 2_000;

/// A small failing subset of `failing` (all on one key, known to fail on its own: the prefix
/// the verdict's search could not get past), spending at most `cap` steps. A subset closed under
/// "the writes whose values its reads returned" of a linearizable history is linearizable, so
/// any such subset that fails is a counterexample of the whole. First the most recent
/// operations of the prefix (8, 16, 32, …, with their writers): the violation is at its end.
/// Then one operation at a time, while it still fails. A trial cut short by the cap counts as
/// passing and ends the shrinking: the set is always known to fail; it is only less small.
fn shrink(history: &[Operation], failing: Vec<usize>, spent: &mut Spent, cap: u64) -> Vec<usize> {
    let budget = spent.budget.steps;
    spent.budget.steps = budget.min(spent.steps.saturating_add(cap));
    let mut sorted = failing;
    sorted.sort_by_key(|&i| (history[i].call, i));
    let fails_on = |subset: &[usize], spent: &mut Spent| {
        spent.charge(subset.len() as u64, 0).is_ok()
            && linearizable(history, subset, spent).is_ok_and(|f| f != Found::Linearizable)
    };
    let out_of_steps = |spent: &Spent| spent.steps >= spent.budget.steps;
    let mut failing = sorted.clone();
    let mut k = 8;
    while k < sorted.len() && !out_of_steps(spent) {
        let window = with_writers(history, &sorted[sorted.len() - k..], &sorted);
        if window.len() < failing.len() && fails_on(&window, spent) {
            failing = window;
            break;
        }
        k *= 2;
    }
    // Removing one operation can make another removable: repeat until nothing changes (newest
    // first: the end is what broke it). Very long sets are left as they are.
    let mut changed = failing.len() <= SHRINK_MAX;
    while changed && !out_of_steps(spent) {
        changed = false;
        let mut i = failing.len();
        while i > 0 && !out_of_steps(spent) {
            i -= 1;
            let candidate = failing[i];
            let read_elsewhere = history[candidate].op.written().is_some_and(|value| {
                failing.iter().any(|&j| j != candidate && history[j].op.observed() == Some(value))
            });
            let mut without = failing.clone();
            without.remove(i);
            if !read_elsewhere && fails_on(&without, spent) {
                failing = without;
                changed = true;
            }
        }
    }
    spent.budget.steps = budget;
    failing.sort_unstable();
    failing
}

/// `subset` plus, from `all`, the writes whose values the subset's reads returned, and so on
/// (a compare-and-set brought in for its value observed a value of its own).
fn with_writers(history: &[Operation], subset: &[usize], all: &[usize]) -> Vec<usize> {
    let mut out: BTreeSet<usize> = subset.iter().copied().collect();
    loop {
        let read: BTreeSet<&str> = out.iter().filter_map(|&i| history[i].op.observed()).collect();
        let before = out.len();
        out.extend(all.iter().copied().filter(|&i| history[i].op.written().is_some_and(|v| read.contains(v))));
        if out.len() == before {
            return out.into_iter().collect();
        }
    }
}

/// One call or return event of the search's doubly linked list.
#[derive(Clone, Copy)]
struct Entry {
    op: usize,
    is_call: bool,
    /// For a call: the index of its return entry.
    matching: usize,
    prev: usize,
    next: usize,
}

const NIL: usize = usize::MAX;

/// What one search found.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Linearizable,
    /// No order gets past the return at some event: the operations called before it (indices
    /// into the history), which cannot be ordered on their own either.
    Stuck(Vec<usize>),
}

/// Porcupine's single-partition search over `ops` (indices into `history`, one key); `Err` when
/// the budget runs out first.
fn linearizable<'a>(history: &'a [Operation], ops: &[usize], spent: &mut Spent) -> Result<Found, Exhausted> {
    // Values as small integers: 0 is the absent key.
    let mut ids: BTreeMap<&str, u32> = BTreeMap::new();
    let mut id = |v: &'a str| {
        let next = u32::try_from(ids.len() + 1).expect("fewer than 2^32 distinct values in one history");
        *ids.entry(v).or_insert(next)
    };
    /// The register's transitions, on value ids.
    enum Step {
        Get(u32),
        Put(u32),
        Cas { expected: u32, value: u32, output: Option<bool> },
    }
    impl Step {
        /// The state after this operation from `state`, if it can run there.
        fn next(&self, state: u32) -> Option<u32> {
            match *self {
                Step::Get(out) => (out == state).then_some(state),
                Step::Put(v) => Some(v),
                Step::Cas { expected, value, output } => match (expected == state, output) {
                    (true, Some(true) | None) => Some(value),
                    (false, Some(false) | None) => Some(state),
                    _ => None,
                },
            }
        }
    }
    let steps: Vec<Step> = ops
        .iter()
        .map(|&i| match &history[i].op {
            KvOp::Get { output } => Step::Get(output.as_deref().map_or(0, &mut id)),
            KvOp::Put { value } => Step::Put(id(value)),
            KvOp::Cas { expected, value, output } => {
                Step::Cas { expected: expected.as_deref().map_or(0, &mut id), value: id(value), output: *output }
            }
        })
        .collect();
    // Events by time; at equal times calls come first (the operations overlap); unknown
    // outcomes return at the end of time.
    let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * ops.len());
    for (k, &i) in ops.iter().enumerate() {
        events.push((history[i].call, false, k));
        events.push((history[i].ret.unwrap_or(u64::MAX), true, k));
    }
    events.sort_unstable();
    let head = events.len();
    let mut list: Vec<Entry> = events
        .iter()
        .enumerate()
        .map(|(pos, &(_, is_return, k))| Entry {
            op: k,
            is_call: !is_return,
            matching: NIL,
            prev: if pos == 0 { head } else { pos - 1 },
            next: if pos + 1 == events.len() { NIL } else { pos + 1 },
        })
        .collect();
    let mut return_of = vec![NIL; ops.len()];
    for (pos, e) in list.iter().enumerate() {
        if !e.is_call {
            return_of[e.op] = pos;
        }
    }
    for e in &mut list {
        if e.is_call {
            e.matching = return_of[e.op];
        }
    }
    list.push(Entry {
        op: NIL,
        is_call: false,
        matching: NIL,
        prev: NIL,
        next: if events.is_empty() { NIL } else { 0 },
    });

    let words = ops.len().div_ceil(64);
    let mut linearized = vec![0u64; words];
    let mut cache: BTreeSet<(Vec<u64>, u32)> = BTreeSet::new();
    let mut stack: Vec<(usize, u32)> = Vec::new();
    let mut state = 0u32;
    let mut entry = list[head].next;
    // The furthest return the walk has stopped at: no order got past it.
    let mut furthest = 0;
    // Unlinks a call and its return from the list; `lift` and `unlift` are exact inverses.
    fn lift(list: &mut [Entry], call: usize) {
        let (p, n) = (list[call].prev, list[call].next);
        list[p].next = n;
        if n != NIL {
            list[n].prev = p;
        }
        let m = list[call].matching;
        let (mp, mn) = (list[m].prev, list[m].next);
        list[mp].next = mn;
        if mn != NIL {
            list[mn].prev = mp;
        }
    }
    fn unlift(list: &mut [Entry], call: usize) {
        let m = list[call].matching;
        let (mp, mn) = (list[m].prev, list[m].next);
        list[mp].next = m;
        if mn != NIL {
            list[mn].prev = m;
        }
        let (p, n) = (list[call].prev, list[call].next);
        list[p].next = call;
        if n != NIL {
            list[n].prev = call;
        }
    }
    // A cache entry: its bitset on the heap, the tuple and the tree's share, in bytes.
    let entry_bytes = 8 * words as u64 + 64;
    while list[head].next != NIL {
        spent.step(cache.len() as u64 * entry_bytes + stack.len() as u64 * 16)?;
        // The list always ends with a return, so the walk meets one before its end.
        let e = list[entry];
        if e.is_call {
            if let Some(next_state) = steps[e.op].next(state) {
                let mut next = linearized.clone();
                next[e.op / 64] |= 1 << (e.op % 64);
                if cache.insert((next.clone(), next_state)) {
                    stack.push((entry, state));
                    state = next_state;
                    linearized = next;
                    lift(&mut list, entry);
                    entry = list[head].next;
                    continue;
                }
            }
            entry = e.next;
        } else {
            // A return reached before its call was linearized: this branch fails.
            furthest = furthest.max(entry);
            let Some((call, previous)) = stack.pop() else {
                let mut called: Vec<usize> =
                    events[..furthest].iter().filter(|e| !e.1).map(|&(_, _, k)| ops[k]).collect();
                called.sort_unstable();
                return Ok(Found::Stuck(called));
            };
            state = previous;
            let k = list[call].op;
            linearized[k / 64] &= !(1 << (k % 64));
            unlift(&mut list, call);
            entry = list[call].next;
        }
    }
    Ok(Found::Linearizable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(client: u64, call: u64, ret: Option<u64>, value: &str) -> Operation {
        Operation { client, call, ret, key: "x".into(), op: KvOp::Put { value: value.into() } }
    }
    fn get(client: u64, call: u64, ret: u64, output: Option<&str>) -> Operation {
        Operation { client, call, ret: Some(ret), key: "x".into(), op: KvOp::Get { output: output.map(str::to_owned) } }
    }
    fn verdict(h: &[Operation]) -> Outcome {
        check(h).unwrap()
    }

    #[test]
    fn sequential_and_concurrent_histories() {
        let seq =
            [put(0, 0, Some(10), "1"), get(1, 20, 30, Some("1")), put(0, 40, Some(50), "2"), get(1, 60, 70, Some("2"))];
        assert_eq!(verdict(&seq), Outcome::Linearizable { operations: 4, keys: 1 });
        // A read overlapping a write may see either value.
        let old = [put(0, 0, Some(10), "1"), put(0, 20, Some(100), "2"), get(1, 30, 40, Some("1"))];
        assert!(matches!(verdict(&old), Outcome::Linearizable { .. }));
        let new = [put(0, 0, Some(10), "1"), put(0, 20, Some(100), "2"), get(1, 30, 40, Some("2"))];
        assert!(matches!(verdict(&new), Outcome::Linearizable { .. }));
        assert!(matches!(verdict(&[get(1, 0, 5, None)]), Outcome::Linearizable { .. }), "the initial absence");
    }

    #[test]
    fn a_stale_read_after_a_completed_write_is_a_violation() {
        let h = [put(0, 0, Some(10), "1"), put(0, 20, Some(30), "2"), get(1, 40, 50, Some("1"))];
        assert_eq!(verdict(&h), Outcome::Violation { key: "x".into(), culprits: vec![0, 1, 2] });
    }

    #[test]
    fn new_then_old_is_a_violation_even_during_the_write() {
        // The classic non-write-back anomaly: one read sees the new value, a later one the old.
        let h = [
            put(0, 0, Some(10), "1"),
            put(0, 20, Some(200), "2"),
            get(1, 30, 40, Some("2")),
            get(2, 50, 60, Some("1")),
        ];
        let Outcome::Violation { culprits, .. } = verdict(&h) else { panic!("not linearizable") };
        assert_eq!(culprits, [0, 1, 2, 3]);
    }

    #[test]
    fn unknown_outcomes_may_or_may_not_take_effect() {
        let took = [put(0, 0, None, "1"), get(1, 100, 110, Some("1"))];
        assert!(matches!(verdict(&took), Outcome::Linearizable { .. }), "a timed-out write may have happened");
        let never = [put(0, 0, None, "1"), get(1, 100, 110, None)];
        assert!(matches!(verdict(&never), Outcome::Linearizable { .. }), "or not");
        let before = [get(1, 0, 10, Some("1")), put(0, 20, None, "1")];
        assert!(matches!(verdict(&before), Outcome::Violation { .. }), "but not before it was invoked");
        let lost_read = Operation { ret: None, ..get(1, 0, 0, Some("zzz")) };
        assert!(
            matches!(verdict(&[lost_read]), Outcome::Linearizable { operations: 0, .. }),
            "unknown reads say nothing"
        );
    }

    #[test]
    fn unknown_writes_nobody_read_do_not_enter_the_search() {
        // Sixty concurrent writes of unknown fate would be 2^60 orders to try; unread, they are
        // equivalent to never having happened.
        let mut h: Vec<Operation> = (0..60).map(|i| put(i, i, None, &format!("lost{i}"))).collect();
        h.push(put(100, 200, Some(210), "kept"));
        h.push(get(101, 220, 230, Some("kept")));
        h.push(put(102, 240, None, "seen"));
        h.push(get(103, 300, 310, Some("seen")));
        assert_eq!(verdict(&h), Outcome::Linearizable { operations: 4, keys: 1 });
    }

    #[test]
    fn keys_are_checked_separately_and_the_culprits_are_few() {
        let mut h = Vec::new();
        for i in 0..50u64 {
            h.push(Operation { key: "y".into(), ..put(0, i * 100, Some(i * 100 + 10), &i.to_string()) });
            h.push(Operation { key: "y".into(), ..get(1, i * 100 + 20, i * 100 + 30, Some(&i.to_string())) });
        }
        h.push(put(2, 10_000, Some(10_010), "a"));
        h.push(get(3, 10_020, 10_030, Some("b")));
        h.push(put(2, 10_015, Some(10_040), "b"));
        h.push(get(3, 10_050, 10_060, Some("a")));
        let Outcome::Violation { key, culprits } = verdict(&h) else { panic!() };
        assert_eq!(key, "x");
        assert_eq!(culprits, [100, 102, 103], "b's read is not needed to show it");
    }

    fn cas(
        client: u64,
        call: u64,
        ret: Option<u64>,
        expected: Option<&str>,
        value: &str,
        output: Option<bool>,
    ) -> Operation {
        let op = KvOp::Cas { expected: expected.map(str::to_owned), value: value.into(), output };
        Operation { client, call, ret, key: "x".into(), op }
    }

    #[test]
    fn compare_and_set_is_part_of_the_model() {
        let ok =
            [put(0, 0, Some(10), "1"), cas(1, 20, Some(30), Some("1"), "2", Some(true)), get(2, 40, 50, Some("2"))];
        assert!(matches!(verdict(&ok), Outcome::Linearizable { .. }));
        let failed =
            [put(0, 0, Some(10), "1"), cas(1, 20, Some(30), Some("0"), "2", Some(false)), get(2, 40, 50, Some("1"))];
        assert!(matches!(verdict(&failed), Outcome::Linearizable { .. }));
        let lied = [put(0, 0, Some(10), "1"), cas(1, 20, Some(30), Some("1"), "2", Some(false))];
        assert!(matches!(verdict(&lied), Outcome::Violation { .. }), "it held 1: the swap had to succeed");
        // Two concurrent swaps from the same value cannot both succeed: the lost-update anomaly.
        let both = [
            put(0, 0, Some(10), "1"),
            cas(1, 20, Some(40), Some("1"), "a", Some(true)),
            cas(2, 20, Some(40), Some("1"), "b", Some(true)),
        ];
        assert!(matches!(verdict(&both), Outcome::Violation { .. }));
        let unknown = [put(0, 0, Some(10), "1"), cas(1, 20, None, Some("1"), "2", None), get(2, 100, 110, Some("2"))];
        assert!(matches!(verdict(&unknown), Outcome::Linearizable { .. }), "a swap of unknown fate may have happened");
        // A failed swap says the key was not "1": only an unknown write can explain it.
        let explained =
            [put(0, 0, Some(10), "1"), put(1, 15, None, "z"), cas(2, 20, Some(30), Some("1"), "2", Some(false))];
        assert!(matches!(verdict(&explained), Outcome::Linearizable { .. }));
    }

    #[test]
    fn a_return_before_its_call_is_bad_input() {
        assert_eq!(
            check(&[put(0, 10, Some(5), "1")]),
            Err(HistoryError::ReturnBeforeCall { index: 0, call: 10, ret: 5 })
        );
    }

    #[test]
    fn a_history_with_mistakes_is_refused_naming_the_operation() {
        let err = |json: &str| parse_history(json).unwrap_err().to_string();
        let get = r#"{"client":0,"call":0,"return":10,"key":"x","op":"get","output":"1"}"#;
        assert_eq!(
            err(&format!("[{get}, {}]", r#"{"client":1,"call":0,"return":10,"key":"x","op":"get","ouput":"1"}"#)),
            "operation 1: unknown field \"ouput\" for a get (its fields are client, call, return, key, op, output)"
        );
        assert_eq!(
            err(r#"[{"client":0,"call":0,"key":"x","op":"put","value":"1"}]"#),
            "operation 0: missing field \"return\" (null where the outcome is unknown or the key absent)"
        );
        // Which of two values was meant cannot be known: refused where it is.
        assert_eq!(
            err(r#"[{"client":0,"call":0,"return":1,"key":"x","op":"put","value":"1","value":"2"}]"#),
            "not a history: expected a JSON array of operations (the field \"value\" is given twice at line 1 column 78)"
        );
        assert_eq!(err("{}"), "not a history: expected a JSON array of operations (got an object)");
        assert!(
            err(r#"[{"client":0,"call":0,"return":1,"key":"x","op":"del"}]"#)
                .starts_with("operation 0: \"op\" must be")
        );
        assert!(err(r#"{"client":0}"#).starts_with("not a history: expected a JSON array"));
        assert!(
            err(r#"[{"client":"a","call":0,"return":1,"key":"x","op":"put","value":"1"}]"#)
                .starts_with("operation 0: invalid type")
        );
        let overlapping = r#"[{"client":3,"call":0,"return":10,"key":"x","op":"put","value":"1"},
                              {"client":3,"call":5,"return":20,"key":"y","op":"put","value":"2"}]"#;
        assert_eq!(
            err(overlapping),
            "operations 0 and 1 of client 3 overlap ([0 .. 10] and [5 .. 20]): a client does one operation at a time"
        );
        // An abandoned operation (no return) does not hold its client back.
        let abandoned = r#"[{"client":3,"call":0,"return":null,"key":"x","op":"put","value":"1"},
                            {"client":3,"call":5,"return":20,"key":"y","op":"put","value":"2"}]"#;
        assert_eq!(parse_history(abandoned).unwrap().len(), 2);
    }

    #[test]
    fn the_json_format() {
        let json = r#"[{"client":0,"call":0,"return":10,"key":"x","op":"put","value":"1"},
                       {"client":1,"call":5,"return":null,"key":"x","op":"get","output":null}]"#;
        let h: Vec<Operation> = parse_history(json).unwrap();
        assert_eq!(h[0], put(0, 0, Some(10), "1"));
        assert_eq!(h[1].ret, None);
    }
}
