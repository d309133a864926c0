//! Routing (46.2): which queues a published message lands in, as RabbitMQ's exchanges decide it,
//! plus Kafka's keyed partitions.
//!
//! What the chapter's code gets wrong: its broker keeps an `_exchanges` table that nothing ever
//! reads, so every message goes to the one queue it names, and its `PubSub` matches topics only
//! exactly. Here a producer publishes to an exchange with a routing key and the exchange's
//! bindings choose the queues: a **direct** exchange by equal keys, a **topic** exchange by
//! patterns of dot-separated words where `*` stands for exactly one word and `#` for zero or more
//! (AMQP 0-9-1's rules), a **fanout** exchange to every bound queue whatever the key. A
//! **partitioned** exchange sends each key to one of its queues by the key's hash (Kafka's
//! default partitioner, with MD5 in place of murmur2), so all messages of one key stay in one
//! queue, in order.

use serde::{Deserialize, Serialize};

use crate::hashing::md5_u128;

/// How an exchange matches keys to bindings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Direct,
    Topic,
    Fanout,
    /// One queue per key's hash, in binding order (the bindings' patterns are not read).
    Partitioned,
}

/// A queue bound to an exchange with a pattern (a key for direct, a topic pattern for topic).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub pattern: String,
    pub queue: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    pub kind: Kind,
    pub bindings: Vec<Binding>,
}

impl Exchange {
    pub fn new(kind: Kind) -> Self {
        Exchange { kind, bindings: Vec::new() }
    }

    pub fn bind(mut self, pattern: &str, queue: &str) -> Self {
        self.bindings.push(Binding { pattern: pattern.to_owned(), queue: queue.to_owned() });
        self
    }

    /// The queues a message with `key` goes to, each once, in binding order. Empty: unroutable
    /// (the broker refuses it, as RabbitMQ returns a `mandatory` message).
    pub fn route(&self, key: &str) -> Vec<&str> {
        let matching: Vec<&str> = match self.kind {
            Kind::Direct => self.bindings.iter().filter(|b| b.pattern == key).map(|b| b.queue.as_str()).collect(),
            Kind::Topic => {
                self.bindings.iter().filter(|b| topic_matches(&b.pattern, key)).map(|b| b.queue.as_str()).collect()
            }
            Kind::Fanout => self.bindings.iter().map(|b| b.queue.as_str()).collect(),
            Kind::Partitioned => {
                self.bindings.get(partition(key, self.bindings.len())).map(|b| b.queue.as_str()).into_iter().collect()
            }
        };
        let mut out: Vec<&str> = Vec::with_capacity(matching.len());
        for q in matching {
            if !out.contains(&q) {
                out.push(q);
            }
        }
        out
    }
}

/// The partition of `key` among `count` (0 when there are none): the top 64 bits of MD5(key)
/// modulo the count, so the same key always lands in the same partition.
pub fn partition(key: &str, count: usize) -> usize {
    let Ok(n) = u64::try_from(count) else { return 0 };
    if n == 0 {
        return 0;
    }
    let top = u64::try_from(md5_u128(key) >> 64).unwrap_or(0);
    usize::try_from(top % n).unwrap_or(0)
}

/// AMQP's topic match: `pattern` and `key` are words separated by dots; `*` matches exactly one
/// word, `#` zero or more. Iterative with backtracking to the last `#`, so it is linear in
/// practice and never recursive.
pub fn topic_matches(pattern: &str, key: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let k: Vec<&str> = if key.is_empty() { Vec::new() } else { key.split('.').collect() };
    let (mut i, mut j) = (0, 0);
    // Where the last `#` was, and how many key words it has swallowed so far.
    let mut star: Option<(usize, usize)> = None;
    while j < k.len() {
        match p.get(i) {
            Some(&"#") => {
                star = Some((i, j));
                i += 1;
            }
            Some(&w) if w == "*" || w == k[j] => {
                i += 1;
                j += 1;
            }
            _ => match star {
                Some((si, sj)) => {
                    // Let the last `#` swallow one more word and try again after it.
                    star = Some((si, sj + 1));
                    i = si + 1;
                    j = sj + 1;
                }
                None => return false,
            },
        }
    }
    p[i..].iter().all(|w| *w == "#")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_patterns_follow_amqp() {
        let cases = [
            ("order.*", "order.paid", true),
            ("order.*", "order.paid.late", false),
            ("order.*", "order", false),
            ("order.#", "order", true),
            ("order.#", "order.paid.late", true),
            ("#", "anything.at.all", true),
            ("#", "", true),
            ("*.cancelled", "order.cancelled", true),
            ("*.cancelled", "cancelled", false),
            ("#.cancelled", "cancelled", true),
            ("#.cancelled", "a.b.cancelled", true),
            ("a.#.z", "a.z", true),
            ("a.#.z", "a.b.c.z", true),
            ("a.#.z", "a.b.c.y", false),
            ("#.b.#", "a.b.c", true),
            ("#.#", "x", true),
            ("*.*", "x.y", true),
            ("*.*", "x", false),
            ("order.paid", "order.paid", true),
            ("order.paid", "order.created", false),
        ];
        for (pattern, key, expected) in cases {
            assert_eq!(topic_matches(pattern, key), expected, "{pattern:?} vs {key:?}");
        }
    }

    #[test]
    fn each_kind_routes_to_its_queues() {
        let direct = Exchange::new(Kind::Direct).bind("order.paid", "billing").bind("order.paid", "audit");
        assert_eq!(direct.route("order.paid"), ["billing", "audit"]);
        assert!(direct.route("order.created").is_empty(), "unroutable");

        let topic = Exchange::new(Kind::Topic)
            .bind("order.*", "orders")
            .bind("#.cancelled", "refunds")
            .bind("#", "audit")
            .bind("order.#", "orders");
        assert_eq!(topic.route("order.cancelled"), ["orders", "refunds", "audit"], "each queue once");
        assert_eq!(topic.route("user.signup"), ["audit"]);

        let fanout = Exchange::new(Kind::Fanout).bind("ignored", "a").bind("", "b");
        assert_eq!(fanout.route("whatever"), ["a", "b"]);
    }

    #[test]
    fn a_key_always_lands_in_the_same_partition_and_keys_spread() {
        let ex = (0..4).fold(Exchange::new(Kind::Partitioned), |e, p| e.bind("", &format!("p{p}")));
        let mut counts = [0usize; 4];
        for k in 0..4_000 {
            let key = format!("customer-{k}");
            let routed = ex.route(&key);
            assert_eq!(routed.len(), 1);
            assert_eq!(ex.route(&key), routed, "stable");
            counts[partition(&key, 4)] += 1;
        }
        assert!(counts.iter().all(|&c| (850..=1_150).contains(&c)), "about a quarter each: {counts:?}");
        assert_eq!(partition("x", 0), 0);
    }
}
