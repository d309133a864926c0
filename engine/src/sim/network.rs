//! The simulated network: per-link latency, loss, duplication and reordering, and partitions as
//! directional link cuts.
//!
//! Links are FIFO (like a TCP connection) unless the reordering chance fires for a message: that
//! message is held back by an extra delay and later messages may overtake it. A message is
//! checked against the cuts both when it is sent and when it would arrive, so nothing ever
//! crosses a cut link, including messages that were already in flight when the cut happened.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Ratio, Rng, SimDuration, SimTime};
use crate::NodeId;
use crate::config::ConfigError;

/// Latency above one minute is not a network any lesson needs; it is a typo.
pub const LATENCY_US_MAX: u64 = 60_000_000;

/// How one directed link behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// One-way latency is drawn uniformly from `latency_min_us..=latency_max_us`.
    pub latency_min_us: u64,
    pub latency_max_us: u64,
    /// Chance that a message is lost.
    pub loss: Ratio,
    /// Chance that a message is delivered twice (the copy takes its own latency).
    pub duplicate: Ratio,
    /// Chance that a message is held back and may be overtaken by later ones.
    pub reorder: Ratio,
    /// The longest extra delay of a reordered message.
    pub reorder_delay_max_us: u64,
}

impl Default for LinkConfig {
    /// A quiet LAN: 1–5 ms, no loss, no duplication, no reordering.
    fn default() -> Self {
        LinkConfig {
            latency_min_us: 1_000,
            latency_max_us: 5_000,
            loss: Ratio::NEVER,
            duplicate: Ratio::NEVER,
            reorder: Ratio::NEVER,
            reorder_delay_max_us: 10_000,
        }
    }
}

impl LinkConfig {
    /// Rejects latency ranges that are reversed or beyond [`LATENCY_US_MAX`].
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        for (name, v) in [
            ("latency_min_us", self.latency_min_us),
            ("latency_max_us", self.latency_max_us),
            ("reorder_delay_max_us", self.reorder_delay_max_us),
        ] {
            if v > LATENCY_US_MAX {
                return Err(ConfigError::out_of_range(format!("{field}.{name}"), v, format!("0..={LATENCY_US_MAX}")));
            }
        }
        if self.latency_min_us > self.latency_max_us {
            return Err(ConfigError::out_of_range(
                format!("{field}.latency_min_us"),
                self.latency_min_us,
                format!("0..={} (latency_max_us)", self.latency_max_us),
            ));
        }
        Ok(())
    }
}

/// Why a message did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The link was cut when the message was sent or when it would have arrived.
    Partition,
    /// The link lost it.
    Loss,
    /// The receiving node was crashed when it arrived.
    NodeDown,
}

/// Where and when the network will deliver one copy of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Delivery {
    pub at: SimTime,
    pub reordered: bool,
}

/// What the network decided for a message at send time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Dropped(DropReason),
    /// One delivery, or two when duplicated.
    Deliver(Vec<Delivery>),
}

/// Counts of what happened on the wire; shown in run summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetStats {
    pub sent: u64,
    pub delivered: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub dropped_partition: u64,
    pub dropped_loss: u64,
    pub dropped_node_down: u64,
}

impl NetStats {
    pub(crate) fn count_drop(&mut self, reason: DropReason) {
        match reason {
            DropReason::Partition => self.dropped_partition += 1,
            DropReason::Loss => self.dropped_loss += 1,
            DropReason::NodeDown => self.dropped_node_down += 1,
        }
    }
}

/// Links, cuts and FIFO bookkeeping.
#[derive(Clone, Debug, Default)]
pub(crate) struct Network {
    pub default_link: LinkConfig,
    links: BTreeMap<(NodeId, NodeId), LinkConfig>,
    cuts: BTreeSet<(NodeId, NodeId)>,
    /// Latest in-order delivery time per link, to keep links FIFO.
    fifo_tail: BTreeMap<(NodeId, NodeId), SimTime>,
    pub stats: NetStats,
}

impl Network {
    pub fn new(default_link: LinkConfig) -> Self {
        Network { default_link, ..Network::default() }
    }

    pub fn link(&self, from: NodeId, to: NodeId) -> LinkConfig {
        self.links.get(&(from, to)).copied().unwrap_or(self.default_link)
    }

    pub fn set_link(&mut self, from: NodeId, to: NodeId, config: LinkConfig) {
        self.links.insert((from, to), config);
    }

    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cuts.contains(&(from, to))
    }

    pub fn cut(&mut self, from: NodeId, to: NodeId) {
        if from != to {
            self.cuts.insert((from, to));
        }
    }

    pub fn repair(&mut self, from: NodeId, to: NodeId) {
        self.cuts.remove(&(from, to));
    }

    pub fn heal(&mut self) {
        self.cuts.clear();
    }

    pub fn cuts(&self) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        self.cuts.iter().copied()
    }

    /// Decides the fate of a message sent now: drop, or when each copy arrives. Drops are
    /// counted by the caller, which also counts the drops that happen on arrival.
    pub fn route(&mut self, rng: &mut Rng, now: SimTime, from: NodeId, to: NodeId) -> Route {
        self.stats.sent += 1;
        if self.is_cut(from, to) {
            return Route::Dropped(DropReason::Partition);
        }
        let link = self.link(from, to);
        if rng.chance(link.loss) {
            return Route::Dropped(DropReason::Loss);
        }
        let copies = if rng.chance(link.duplicate) { 2 } else { 1 };
        if copies == 2 {
            self.stats.duplicated += 1;
        }
        let deliveries = (0..copies).map(|_| self.schedule(rng, &link, now, from, to)).collect();
        Route::Deliver(deliveries)
    }

    fn schedule(&mut self, rng: &mut Rng, link: &LinkConfig, now: SimTime, from: NodeId, to: NodeId) -> Delivery {
        let latency = rng.between(link.latency_min_us, link.latency_max_us);
        let at = now + SimDuration::from_micros(latency);
        if rng.chance(link.reorder) {
            self.stats.reordered += 1;
            let extra = rng.between(1, link.reorder_delay_max_us.max(1));
            return Delivery { at: at + SimDuration::from_micros(extra), reordered: true };
        }
        let tail = self.fifo_tail.entry((from, to)).or_insert(SimTime::ZERO);
        let at = at.max(*tail);
        *tail = at;
        Delivery { at, reordered: false }
    }
}
