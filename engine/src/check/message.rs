//! A checker's detail as data: a message code and its values, never a finished sentence, so the
//! page can say it in Chinese as well as English while the CLI and the tests read the English
//! rendering ([`Message::english`]). The English templates live here, next to the checkers that
//! use them; the page's Chinese table (`web/src/i18n/checks.ts`) is tested against [`TEMPLATES`]
//! (same codes, same placeholders).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sim::{SimDuration, SimTime};

/// One value in a message: text that reads the same in every language (a number, a node's name,
/// a time, a list of order ids), another message, or a list of messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Arg {
    Text(String),
    Message(Message),
    List(Vec<Message>),
}

/// A code from [`TEMPLATES`] and the values its placeholders take.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub code: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, Arg>,
}

/// Builds a [`Message`]: `msg!("mutex.holds", holds = 3)`.
#[macro_export]
macro_rules! msg {
    ($code:literal $(, $k:ident = $v:expr)* $(,)?) => {
        $crate::check::Message::new($code, vec![$((stringify!($k), $crate::check::Arg::from($v))),*])
    };
}

/// The English template of every code. `{name}` is replaced by the value `name`; a list's
/// messages are joined with "; ".
pub const TEMPLATES: &[(&str, &str)] = &[
    ("mutex.stale_write", "a stale holder's write was accepted: {write} after {previous}"),
    ("mutex.same_grant", "two holds granted at once: {write} and {previous}"),
    ("mutex.write", "{client} (hold {hold} granted at t = {granted}) wrote at t = {at}"),
    ("mutex.write_fenced", "{client} (hold {hold} granted at t = {granted}, token {token}) wrote at t = {at}"),
    ("mutex.writes_ordered", "{writes} accepted writes from {holds} holds, never an older hold after a newer one"),
    ("mutex.exclusive", "{holds} holds, never two clients believing at once"),
    ("mutex.exclusive_shared", "{holds} holds ({shared} shared), never a writer believing alongside anyone else"),
    (
        "mutex.overlap",
        "{overlaps} time(s) two clients believed they held the lock, first {first} (from t = {first_from} to {first_to}) and {second} (from t = {second_from})",
    ),
    (
        "counter.converged",
        "all {replicas} replicas hold the exact total {expected} from t = {at} ({took} after the last update or fault)",
    ),
    ("counter.diverged", "the replicas do not all hold the exact total {expected} at t = {at}: {values}"),
    ("cap.linearizable", "{operations} operations on {keys} keys have a linearization"),
    (
        "cap.not_linearizable",
        "key {key}: these {count} operations cannot be put in any order that respects their real-time order and gives every read the latest write: {operations}",
    ),
    ("cap.bad_history", "{error}"),
    (
        "cap.linearizability_unknown",
        "undecided: the checker's budget ran out on key {key} ({decided} of {keys} keys were linearizable before it)",
    ),
    ("cap.put", "{client} put({key}, {value}) [{call} – {end}]"),
    ("cap.get", "{client} get({key}) → {output} [{call} – {end}]"),
    ("cap.cas", "{client} cas({key}, {expected} → {value}) → {outcome} [{call} – {end}]"),
    ("cap.nothing", "nothing"),
    ("cap.never_answered", "never answered"),
    ("cap.swapped", "swapped"),
    ("cap.refused", "refused"),
    ("cap.unknown", "?"),
    ("cap.causal", "{operations} operations, no causal anomaly"),
    ("cap.thin_air", "a read returned a value nobody wrote: {operations}"),
    ("cap.cycle", "these operations each causally precede the next, in a cycle: {operations}"),
    ("cap.initial_after_write", "a read saw nothing after a write it causally follows: {operations}"),
    ("cap.overwritten_read", "a read returned a value overwritten by a write it causally follows: {operations}"),
    ("cap.flip_flop", "a client saw a value, then an older one, then the newer again: {operations}"),
    ("cap.converged", "all replicas equal from t = {at} on, {took} after the heal and the last operation"),
    (
        "cap.converged_late",
        "the replicas became equal only at t = {at}, more than {bound} after the heal and the last operation ({settle})",
    ),
    ("cap.diverged", "the replicas still differ at the end of the run"),
    ("cap.available", "every request during the partition was answered: {sides}"),
    ("cap.unavailable", "requests went unanswered during the partition: {sides}"),
    ("cap.side_majority", "majority {answered}/{sent}"),
    ("cap.side_minority", "minority {answered}/{sent}"),
    ("cap.side_bridge", "bridge {answered}/{sent}"),
    ("cap.side_a", "side A {answered}/{sent}"),
    ("cap.side_b", "side B {answered}/{sent}"),
    ("cap.side_all", "all {answered}/{sent}"),
    ("election.two_leaders", "term {term} had {count} leaders: {leaders}"),
    ("election.one_leader", "{terms} terms with a leader, never two leaders in one"),
    ("election.no_successor", "the leader crashed at t = {crash} and no new leader was elected (bound {bound})"),
    (
        "election.slow_successor",
        "the leader crashed at t = {crash} and the next leader came {took} later (bound {bound})",
    ),
    (
        "election.failed_over",
        "{crashes} leader crash(es), each followed by a new leader within {bound} (slowest {slowest})",
    ),
    ("lb.routed_up", "{routed} requests routed, none to a backend its balancer had marked down"),
    ("lb.routed_down", "{balancer} sent request {id} to {backend} at t = {at}, {since} after marking it down"),
    ("lb.shares_short", "no stretch of {window} picks with the same backends in rotation yet"),
    (
        "lb.shares_within",
        "over every window of {window} picks, no backend strayed more than {error} picks from its weighted share (bound {bound})",
    ),
    (
        "lb.shares_burst",
        "a window of {window} picks at {balancer} strayed {error} picks from the weighted shares (bound {bound})",
    ),
    ("lb.remap_none", "no backend has left rotation yet"),
    (
        "lb.remap_within",
        "{backend} left rotation: {moved} of {keys} keys moved, {forced} of them had to (bound {bound})",
    ),
    (
        "lb.remap_over",
        "{backend} left rotation: {moved} of {keys} keys moved though only {forced} had to (bound {bound})",
    ),
    ("ha.limit_kept", "{admitted} calls admitted by {algorithm}, at worst {worst} against its bound {bound}"),
    ("ha.limit_broken", "{algorithm} admitted {worst} where its bound is {bound} ({admitted} admitted)"),
    ("ha.breaker_legal", "{transitions} breaker transitions, each one the state machine allows"),
    ("ha.breaker_illegal", "the breaker went from {from} to {to} at t = {at}, which its state machine forbids"),
    ("ha.breaker_early", "the breaker went from {from} to {to} at t = {at}, before its open wait was over"),
    (
        "ha.budget_kept",
        "over every window, each caller's retries stayed within {percent}% of its requests plus the floor",
    ),
    (
        "ha.budget_over",
        "{caller} decided its {retries}th retry of the window at t = {at} where a {percent}% budget allows {allowed}",
    ),
    ("ha.recovered", "real answers back to {baseline}/s {after} after the dependency recovered (bound {bound})"),
    ("ha.recovery_pending", "the dependency has not been back for {bound} yet"),
    (
        "ha.recovered_late",
        "real answers came back to {baseline}/s only {after} after the dependency recovered (bound {bound})",
    ),
    ("ha.not_recovered", "real answers never came back to {baseline}/s after the dependency recovered (bound {bound})"),
    (
        "ha.isolated",
        "{ok} of {calls} calls that never needed the dependency succeeded while it was in trouble (at least {percent}%)",
    ),
    (
        "ha.cascaded",
        "only {ok} of {calls} calls that never needed the dependency succeeded while it was in trouble: the failure spread (at least {percent}% expected)",
    ),
    (
        "failover.single",
        "{stored} writes stored, never one from a deposed primary after its successor's ({fenced} fenced)",
    ),
    (
        "failover.split",
        "{primary} stored write {id} under epoch {epoch} at t = {at}, after epoch {newer} had written: two primaries ({stale} such writes)",
    ),
    ("failover.took_over", "the standby took over and stored a write {after} after the incident (bound {bound})"),
    ("failover.slow", "the standby stored its first write only {after} after the incident (bound {bound})"),
    ("failover.waiting", "waiting for the standby to take over (bound {bound})"),
    ("failover.none", "no new primary stored a write within {bound} of the incident"),
    ("ids.unique", "{minted} IDs handed out, none twice"),
    (
        "ids.duplicate",
        "ID {id} was handed out by {first} at t = {first_at} and again by {second} at t = {second_at} ({count} duplicates)",
    ),
    ("ids.monotonic", "each generator's IDs increase"),
    ("ids.out_of_order", "{node} handed out {after} at t = {at} after {before} ({count} out of order)"),
    ("ids.available", "every request got an ID ({minted})"),
    (
        "ids.refused",
        "{refused} of {requests} requests refused from t = {from} to {to} (an outage of {outage}): the clock was up to {behind} ms behind the last ID's time",
    ),
    ("ids.no_stall", "the longest wait for an ID was {longest} (bound {bound})"),
    ("ids.stalled", "a request waited {longest} for its ID, until t = {at} (bound {bound})"),
    ("detector.fixed_undecided", "the fixed timeout detector did not settle on suspecting the crashed target"),
    ("detector.phi_undecided", "the phi accrual detector did not settle on suspecting the crashed target"),
    ("detector.detected", "{fixed}; {phi}"),
    ("detector.fixed", "fixed timeout after {after} ({false_suspicions} false suspicions before)"),
    ("detector.phi", "phi accrual after {after} ({false_suspicions} false suspicions before)"),
    ("cache.fresh", "{reads} reads; {stale} briefly stale while a write was in flight, none later than {late_ms} ms"),
    (
        "cache.stale_fill",
        "{late} of {reads} reads returned a row replaced more than {late_ms} ms before they began: a stale fill",
    ),
    ("cache.durable", "all {acked} acknowledged writes are in the database"),
    ("cache.lost", "{lost} acknowledged writes never reached the database, nor did anything after them"),
    ("txn.down", "{services} down: cannot be judged"),
    ("txn.store_down", "the store is down: cannot be judged"),
    ("txn.service_down", "a service is down: cannot be judged"),
    ("txn.unbalanced", "counters no longer add up at {services}"),
    ("txn.conserved", "stock, money and slots conserved"),
    ("txn.conserved_done", "stock, money and slots conserved; {done} orders done"),
    ("txn.conserved_everywhere", "stock, money and slots conserved; {done} orders done at every service"),
    ("txn.disagree", "the services disagree on the orders done: {done}"),
    ("txn.split", "orders committed at one service and aborted at another: {orders}"),
    ("txn.in_doubt", "orders still in doubt, their locks held: {orders}"),
    ("txn.committed", "{committed} orders committed everywhere, {aborted} aborted everywhere"),
    ("txn.partial_unreported", "orders done at some services only, and not reported: {orders}"),
    ("txn.all_or_nothing", "every order done everywhere or nowhere; {reported} reported for manual intervention"),
    ("txn.all_ended", "all {orders} orders completed, rolled back or reported"),
    ("txn.never_finished", "{unfinished} of {orders} orders never finished: {ids}"),
    ("txn.partial_confirmed", "orders confirmed at some services only: {orders}"),
    ("txn.frozen", "{frozen} still frozen: orders not finished"),
    ("txn.confirmed", "{confirmed} orders confirmed everywhere, the rest nowhere"),
    ("txn.log_disagrees", "orders whose services disagree with the saga log: {orders}"),
    ("txn.saga_done", "{completed} completed everywhere, {rolled_back} undone everywhere"),
    ("txn.all_finished", "all {orders} orders finished"),
    ("txn.not_finished", "orders not finished: {orders}"),
    ("txn.outbox_delivered", "all {events} outbox events counted once"),
    ("txn.outbox_behind", "{consumed} of {events} events counted, {left} still in the outbox"),
    (
        "mq.settled",
        "all {messages} copies of the {confirmed} confirmed messages ended acked or dead-lettered, never both ({unconfirmed} published messages were refused or never confirmed)",
    ),
    ("mq.unsettled", "{lost} confirmed copies lost and {open} not settled: {messages}"),
    ("mq.acked_then_dead", "acked and later dead-lettered (a lost ack redelivered them): {messages}"),
    ("mq.none_lost", "none of the {confirmed} confirmed messages was lost"),
    ("mq.lost", "{lost} confirmed copies lost: {messages}"),
    ("mq.applied_once", "{applied} effects applied once each ({skipped} redeliveries skipped by dedup)"),
    ("mq.applied_twice", "{count} effects applied more than once: {messages}"),
    ("mq.in_order", "every partition's effects applied in its order ({partitions} partitions)"),
    ("mq.out_of_order", "in {queue}, message {id} was applied after {later}, which was queued after it"),
    ("mq.swallowed", "{count} handler errors caught and dropped by the publisher: nobody retries or sees them"),
    ("mq.errors_reported", "every handler failure ({failures}) reached the broker as a nack or a timeout"),
    ("mq.on_time", "no delayed message delivered early ({delayed} delayed)"),
    ("mq.early", "message {id} in {queue} was delivered before its delay ended"),
    ("txn.applied_twice", "orders whose effect was applied more than once: {orders}"),
    ("txn.applied_uncommitted", "messages applied for orders never committed: {orders}"),
    ("txn.never_arrived", "committed orders whose message never arrived: {orders}"),
    ("txn.applied_once", "all {orders} committed orders applied once, none other"),
];

impl Message {
    pub fn new(code: &str, args: Vec<(&str, Arg)>) -> Self {
        Message { code: code.to_owned(), args: args.into_iter().map(|(k, v)| (k.to_owned(), v)).collect() }
    }

    /// The message in English, as the CLI prints it. An unknown code or a placeholder without
    /// a value is a bug: debug builds (every test) panic on it; a release build shows it as
    /// itself rather than dropping it silently.
    pub fn english(&self) -> String {
        let Some((_, template)) = TEMPLATES.iter().find(|(c, _)| *c == self.code) else {
            debug_assert!(false, "message code {:?} has no template", self.code);
            return format!("[{}]", self.code);
        };
        debug_assert!(
            placeholders(template).iter().all(|p| self.args.contains_key(*p)),
            "message {:?} lacks a value: {:?}",
            self.code,
            self.args.keys().collect::<Vec<_>>()
        );
        let mut out = String::new();
        let mut rest = *template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else { break };
            let name = &rest[open + 1..open + close];
            match self.args.get(name) {
                Some(arg) => out.push_str(&arg.english()),
                None => out.push_str(&rest[open..=open + close]),
            }
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        out
    }
}

impl Arg {
    fn english(&self) -> String {
        match self {
            Arg::Text(s) => s.clone(),
            Arg::Message(m) => m.english(),
            Arg::List(ms) => ms.iter().map(Message::english).collect::<Vec<_>>().join("; "),
        }
    }
}

/// The placeholders of a template, in order.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let (Some(open), Some(close)) = (rest.find('{'), rest.find('}')) {
        if close < open {
            break;
        }
        out.push(&rest[open + 1..close]);
        rest = &rest[close + 1..];
    }
    out
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}
impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_owned())
    }
}
impl From<Message> for Arg {
    fn from(m: Message) -> Self {
        Arg::Message(m)
    }
}
impl From<Vec<Message>> for Arg {
    fn from(ms: Vec<Message>) -> Self {
        Arg::List(ms)
    }
}
macro_rules! display_arg {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(v: $t) -> Self {
                Arg::Text(v.to_string())
            }
        }
    )*};
}
display_arg!(usize, u64, u32, i32, i64, SimTime, SimDuration);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_fills_placeholders_and_nested_messages() {
        let op = msg!("cap.put", client = "c1", key = "x", value = 3u64, call = "0.1 s", end = "0.2 s");
        let m = msg!("cap.not_linearizable", key = "x", count = 1usize, operations = vec![op.clone(), op]);
        assert_eq!(
            m.english(),
            "key x: these 1 operations cannot be put in any order that respects their real-time order and gives every \
             read the latest write: c1 put(x, 3) [0.1 s – 0.2 s]; c1 put(x, 3) [0.1 s – 0.2 s]"
        );
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "lacks a value")]
    fn a_missing_value_is_a_bug() {
        msg!("txn.down").english();
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "has no template")]
    fn an_unknown_code_is_a_bug() {
        msg!("no.such").english();
    }

    #[test]
    fn codes_are_unique_and_placeholders_well_formed() {
        let mut codes: Vec<&str> = TEMPLATES.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), TEMPLATES.len());
        for (code, t) in TEMPLATES {
            assert_eq!(t.matches('{').count(), t.matches('}').count(), "{code}");
            assert_eq!(placeholders(t).len(), t.matches('{').count(), "{code}");
        }
    }

    #[test]
    fn a_message_round_trips_through_json() {
        let m = msg!("txn.never_finished", unfinished = 1usize, orders = 2usize, ids = "[3]");
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"code":"txn.never_finished","args":{"ids":"[3]","orders":"2","unfinished":"1"}}"#);
        assert_eq!(serde_json::from_str::<Message>(&json).unwrap(), m);
    }
}
