//! LRU and FIFO: one list in recency (LRU) or insertion (FIFO) order, evicting from the front.
//! The only difference is whether a hit moves the key to the back, which is exactly the
//! difference the chapter's "FIFO" misses; so they are one type with that one switch.

use super::index::{Index, index};
use super::list::List;
use super::{Access, Policy};

/// A list-ordered cache; `REFRESH`: a hit moves the key to the back.
#[derive(Clone, Debug)]
pub struct Ordered<const REFRESH: bool> {
    list: List,
    index: Index,
    capacity: usize,
}

/// Least recently used: a hit moves the key to the back.
pub type Lru = Ordered<true>;

/// First in, first out: hits change nothing.
pub type Fifo = Ordered<false>;

impl<const REFRESH: bool> Ordered<REFRESH> {
    pub fn new(capacity: usize) -> Self {
        Ordered { list: List::default(), index: index(capacity), capacity: capacity.max(1) }
    }
}

impl<const REFRESH: bool> Policy for Ordered<REFRESH> {
    fn name(&self) -> &'static str {
        if REFRESH { "lru" } else { "fifo" }
    }

    fn access(&mut self, key: u64) -> Access {
        if let Some(&slot) = self.index.get(&key) {
            if REFRESH {
                self.list.move_to_back(slot);
            }
            return Access::Hit;
        }
        if self.list.len() >= self.capacity
            && let Some((slot, old)) = self.list.recycle_front(key)
        {
            self.index.remove(&old);
            self.index.insert(key, slot);
            return Access::Miss { evicted: Some(old) };
        }
        let slot = self.list.push_back(key);
        self.index.insert(key, slot);
        Access::Miss { evicted: None }
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
}
