//! LRU and FIFO: one list in recency (LRU) or insertion (FIFO) order, evicting from the front.
//! The only difference is whether a hit moves the key to the back, which is exactly the
//! difference the chapter's "FIFO" misses; so they are one type with that one switch.

use super::index::{Index, index};
use super::list::List;
use super::{Access, Core, Policy, access_with_weight};

/// A list-ordered cache; `REFRESH`: a hit moves the key to the back.
#[derive(Clone, Debug)]
pub struct Ordered<const REFRESH: bool> {
    list: List,
    index: Index,
    capacity: usize,
    max_weight: u64,
}

/// Least recently used: a hit moves the key to the back.
pub type Lru = Ordered<true>;

/// First in, first out: hits change nothing.
pub type Fifo = Ordered<false>;

impl<const REFRESH: bool> Ordered<REFRESH> {
    pub fn new(capacity: usize) -> Self {
        Ordered { list: List::default(), index: index(capacity), capacity: capacity.max(1), max_weight: u64::MAX }
    }

    /// Also bounded by the total weight of its entries.
    #[must_use]
    pub fn with_max_weight(mut self, max_weight: u64) -> Self {
        self.max_weight = max_weight;
        self
    }

    fn full_for(&self, weight: u64) -> bool {
        self.list.len() >= self.capacity || self.list.weight().saturating_add(weight) > self.max_weight
    }
}

impl<const REFRESH: bool> Core for Ordered<REFRESH> {
    /// A hit: the key moves to the back in LRU order, stays put in FIFO order.
    fn hit(&mut self, key: u64) -> bool {
        let Some(&slot) = self.index.get(&key) else { return false };
        if REFRESH {
            self.list.move_to_back(slot);
        }
        true
    }

    /// A miss of `key` weighing `weight`: evicts from the front until it fits, reporting each.
    fn insert(&mut self, key: u64, weight: u64, mut evict: impl FnMut(u64)) {
        if weight > self.max_weight {
            return;
        }
        if self.full_for(weight)
            && let Some((front, _)) = self.list.front()
            && self.list.weight() - self.list.weight_of(front) + weight <= self.max_weight
        {
            // One eviction makes room (always, with unit weights): its slot takes the new key.
            if let Some((slot, old)) = self.list.recycle_front(key, weight) {
                self.index.remove(&old);
                self.index.insert(key, slot);
                evict(old);
            }
            return;
        }
        while self.full_for(weight)
            && let Some((slot, old)) = self.list.front()
        {
            self.list.remove(slot);
            self.index.remove(&old);
            evict(old);
        }
        let slot = self.list.push_back(key, weight);
        self.index.insert(key, slot);
    }
}

impl<const REFRESH: bool> Policy for Ordered<REFRESH> {
    fn name(&self) -> &'static str {
        if REFRESH { "lru" } else { "fifo" }
    }

    fn access(&mut self, key: u64) -> Access {
        if self.hit(key) {
            return Access::Hit;
        }
        if self.max_weight == u64::MAX {
            // Bounded by count alone: a full cache gives its oldest slot to the new key.
            if self.list.len() >= self.capacity
                && let Some((slot, old)) = self.list.recycle_front(key, 1)
            {
                self.index.remove(&old);
                self.index.insert(key, slot);
            } else {
                let slot = self.list.push_back(key, 1);
                self.index.insert(key, slot);
            }
            return Access::Miss;
        }
        self.insert(key, 1, |_| {});
        Access::Miss
    }

    fn access_weighted(&mut self, key: u64, weight: u64, evicted: &mut Vec<u64>) -> bool {
        access_with_weight(self, key, weight, evicted)
    }

    fn remove(&mut self, key: u64) -> bool {
        let Some(slot) = self.index.remove(&key) else { return false };
        self.list.remove(slot);
        true
    }

    fn contains(&self, key: u64) -> bool {
        self.index.contains_key(&key)
    }

    fn len(&self) -> usize {
        self.list.len()
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn weight(&self) -> u64 {
        self.list.weight()
    }

    fn max_weight(&self) -> u64 {
        self.max_weight
    }
}
