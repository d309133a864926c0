//! LRU and FIFO: one list in recency (LRU) or insertion (FIFO) order, evicting from the front.
//! The only difference is whether a hit moves the key to the back, which is exactly the
//! difference the chapter's "FIFO" misses.

use super::index::{Index, index};
use super::list::List;
use super::{Access, Policy};

#[derive(Clone, Debug)]
struct Ordered {
    list: List,
    index: Index,
    capacity: usize,
}

impl Ordered {
    fn new(capacity: usize) -> Self {
        Ordered { list: List::default(), index: index(capacity), capacity: capacity.max(1) }
    }

    fn access(&mut self, key: u64, refresh: bool) -> Access {
        if let Some(&slot) = self.index.get(&key) {
            if refresh {
                let moved = self.list.move_to_back(slot);
                self.index.insert(key, moved);
            }
            return Access::Hit;
        }
        let mut evicted = None;
        if self.list.len() >= self.capacity
            && let Some((slot, old)) = self.list.front()
        {
            self.list.remove(slot);
            self.index.remove(&old);
            evicted = Some(old);
        }
        let slot = self.list.push_back(key);
        self.index.insert(key, slot);
        Access::Miss { evicted }
    }

    fn remove(&mut self, key: u64) -> bool {
        let Some(slot) = self.index.remove(&key) else { return false };
        self.list.remove(slot);
        true
    }
}

/// Least recently used: a hit moves the key to the back.
#[derive(Clone, Debug)]
pub struct Lru(Ordered);

/// First in, first out: hits change nothing.
#[derive(Clone, Debug)]
pub struct Fifo(Ordered);

impl Lru {
    pub fn new(capacity: usize) -> Self {
        Lru(Ordered::new(capacity))
    }
}

impl Fifo {
    pub fn new(capacity: usize) -> Self {
        Fifo(Ordered::new(capacity))
    }
}

impl Policy for Lru {
    fn name(&self) -> &'static str {
        "lru"
    }
    fn access(&mut self, key: u64) -> Access {
        self.0.access(key, true)
    }
    fn remove(&mut self, key: u64) -> bool {
        self.0.remove(key)
    }
    fn contains(&self, key: u64) -> bool {
        self.0.index.contains_key(&key)
    }
    fn len(&self) -> usize {
        self.0.list.len()
    }
    fn capacity(&self) -> usize {
        self.0.capacity
    }
}

impl Policy for Fifo {
    fn name(&self) -> &'static str {
        "fifo"
    }
    fn access(&mut self, key: u64) -> Access {
        self.0.access(key, false)
    }
    fn remove(&mut self, key: u64) -> bool {
        self.0.remove(key)
    }
    fn contains(&self, key: u64) -> bool {
        self.0.index.contains_key(&key)
    }
    fn len(&self) -> usize {
        self.0.list.len()
    }
    fn capacity(&self) -> usize {
        self.0.capacity
    }
}
