//! LFU in O(1): one list per access count, each in recency order, and the smallest count with
//! entries; evict the least recently used key of the smallest count. Pure LFU never forgets (a
//! key hot an hour ago stays forever), so every `aging_every` accesses all counts are halved
//! (rounding up), an amortised O(1) pass that keeps each count's recency order.

use super::index::{Index, index};
use super::list::List;
use super::{Access, Core, Policy, access_unit, access_with_weight};

#[derive(Clone, Debug)]
pub struct Lfu {
    /// Per count, its keys (the vector's slot `c` holds count `c`; slot 0 is unused).
    lists: Vec<List>,
    /// Key → (count, slot in that count's list).
    index: Index<(usize, usize)>,
    min: usize,
    len: usize,
    weight: u64,
    capacity: usize,
    max_weight: u64,
    aging_every: u64,
    accesses: u64,
}

/// The highest count kept: more says nothing new and would grow the lists without bound.
const COUNT_MAX: usize = 255;

impl Lfu {
    /// `aging_every`: accesses between two halvings of every count (0: never age).
    pub fn new(capacity: usize, aging_every: u64) -> Self {
        Lfu {
            lists: vec![List::default(); 2],
            index: index(capacity),
            min: 1,
            len: 0,
            weight: 0,
            capacity: capacity.max(1),
            max_weight: u64::MAX,
            aging_every,
            accesses: 0,
        }
    }

    /// Also bounded by the total weight of its entries.
    #[must_use]
    pub fn with_max_weight(mut self, max_weight: u64) -> Self {
        self.max_weight = max_weight;
        self
    }

    /// The count of `key`, if cached.
    pub fn count(&self, key: u64) -> Option<usize> {
        self.index.get(&key).map(|&(count, _)| count)
    }

    fn place(&mut self, key: u64, count: usize, weight: u64) {
        if self.lists.len() <= count {
            self.lists.resize(count + 1, List::default());
        }
        let slot = self.lists[count].push_back(key, weight);
        self.index.insert(key, (count, slot));
    }

    /// Halves every count, oldest counts first so that each keeps its recency order.
    fn age(&mut self) {
        let old = std::mem::replace(&mut self.lists, vec![List::default(); 2]);
        for (count, list) in old.iter().enumerate().skip(1) {
            for (key, weight) in list.entries() {
                self.place(key, count.div_ceil(2), weight);
            }
        }
        self.min = (1..self.lists.len()).find(|&c| !self.lists[c].is_empty()).unwrap_or(1);
    }
}

impl Core for Lfu {
    /// Counts the access; true if it is a hit (the key moves up one count).
    fn hit(&mut self, key: u64) -> bool {
        self.accesses += 1;
        if self.aging_every > 0 && self.accesses.is_multiple_of(self.aging_every) {
            self.age();
        }
        let Some(&(count, slot)) = self.index.get(&key) else { return false };
        let weight = self.lists[count].weight_of(slot);
        self.lists[count].remove(slot);
        if count == self.min && self.lists[count].is_empty() {
            self.min = (count + 1).min(COUNT_MAX);
        }
        self.place(key, (count + 1).min(COUNT_MAX), weight);
        true
    }

    /// A miss: evicts the least recently used keys of the smallest count until `key` fits.
    fn insert(&mut self, key: u64, weight: u64, mut evict: impl FnMut(u64)) {
        if weight > self.max_weight {
            return;
        }
        while (self.len >= self.capacity || self.weight.saturating_add(weight) > self.max_weight)
            && let Some((slot, old)) = self.lists.get(self.min).and_then(List::front)
        {
            self.weight -= self.lists[self.min].weight_of(slot);
            self.lists[self.min].remove(slot);
            self.index.remove(&old);
            self.len -= 1;
            evict(old);
            if self.lists[self.min].is_empty() {
                self.min = (self.min..self.lists.len()).find(|&c| !self.lists[c].is_empty()).unwrap_or(1);
            }
        }
        self.place(key, 1, weight);
        self.min = 1;
        self.len += 1;
        self.weight += weight;
    }
}

impl Policy for Lfu {
    fn name(&self) -> &'static str {
        "lfu"
    }

    fn access(&mut self, key: u64) -> Access {
        access_unit(self, key)
    }

    fn access_weighted(&mut self, key: u64, weight: u64, evicted: &mut Vec<u64>) -> bool {
        access_with_weight(self, key, weight, evicted)
    }

    fn remove(&mut self, key: u64) -> bool {
        let Some((count, slot)) = self.index.remove(&key) else { return false };
        self.weight -= self.lists[count].weight_of(slot);
        self.lists[count].remove(slot);
        self.len -= 1;
        if count == self.min && self.lists[count].is_empty() {
            // At most COUNT_MAX lists to look at: still O(1).
            self.min = (1..self.lists.len()).find(|&c| !self.lists[c].is_empty()).unwrap_or(1);
        }
        true
    }

    fn contains(&self, key: u64) -> bool {
        self.index.contains_key(&key)
    }
    fn len(&self) -> usize {
        self.len
    }
    fn capacity(&self) -> usize {
        self.capacity
    }
    fn weight(&self) -> u64 {
        self.weight
    }
    fn max_weight(&self) -> u64 {
        self.max_weight
    }
}
