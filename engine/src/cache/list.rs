//! A doubly linked list of keys in a slab: O(1) push to the back, removal by slot, move to the
//! back, and the front. Slots of removed entries are reused. Each entry has a weight, and the list
//! keeps their total (for caches bounded by weight; 1 per entry otherwise).

const NIL: usize = usize::MAX;

#[derive(Clone, Copy, Debug)]
struct Node {
    key: u64,
    prev: usize,
    next: usize,
}

#[derive(Clone, Debug)]
pub struct List {
    nodes: Vec<Node>,
    /// Each slot's weight, kept only once some entry weighs more than 1 (empty: every entry
    /// weighs 1), so that an unweighted cache pays nothing for weights.
    weights: Vec<u64>,
    free: Vec<usize>,
    head: usize,
    tail: usize,
    len: usize,
    weight: u64,
}

impl Default for List {
    fn default() -> Self {
        List { nodes: Vec::new(), weights: Vec::new(), free: Vec::new(), head: NIL, tail: NIL, len: 0, weight: 0 }
    }
}

impl List {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The total weight of the entries.
    pub fn weight(&self) -> u64 {
        self.weight
    }

    /// The weight of the entry at `slot`.
    pub fn weight_of(&self, slot: usize) -> u64 {
        if self.weights.is_empty() { 1 } else { self.weights[slot] }
    }

    /// Records `weight` for `slot` (which exists in `nodes`), starting to keep weights at the
    /// first entry heavier than 1.
    fn set_weight(&mut self, slot: usize, weight: u64) {
        if self.weights.is_empty() && weight != 1 {
            self.weights = vec![1; self.nodes.len()];
        }
        if !self.weights.is_empty() {
            self.weights[slot] = weight;
        }
    }

    /// Appends `key` of `weight`; returns its slot.
    pub fn push_back(&mut self, key: u64, weight: u64) -> usize {
        let node = Node { key, prev: self.tail, next: NIL };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.nodes[slot] = node;
                slot
            }
            None => {
                self.nodes.push(node);
                if !self.weights.is_empty() {
                    self.weights.push(1);
                }
                self.nodes.len() - 1
            }
        };
        self.set_weight(slot, weight);
        if self.tail == NIL {
            self.head = slot;
        } else {
            self.nodes[self.tail].next = slot;
        }
        self.tail = slot;
        self.len += 1;
        self.weight += weight;
        slot
    }

    /// Unlinks `slot` and returns its key.
    pub fn remove(&mut self, slot: usize) -> u64 {
        let Node { key, prev, next } = self.nodes[slot];
        let weight = self.weight_of(slot);
        if prev == NIL {
            self.head = next
        } else {
            self.nodes[prev].next = next
        }
        if next == NIL {
            self.tail = prev
        } else {
            self.nodes[next].prev = prev
        }
        self.free.push(slot);
        self.len -= 1;
        self.weight -= weight;
        key
    }

    /// Moves `slot` to the back (most recent). The slot stays the same, so an index of slots
    /// needs no update.
    pub fn move_to_back(&mut self, slot: usize) {
        if slot == self.tail {
            return;
        }
        let Node { prev, next, .. } = self.nodes[slot];
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev].next = next;
        }
        self.nodes[next].prev = prev;
        self.nodes[self.tail].next = slot;
        self.nodes[slot].prev = self.tail;
        self.nodes[slot].next = NIL;
        self.tail = slot;
    }

    /// Gives the front (oldest) entry's slot to `key` of `weight` and moves it to the back: an
    /// eviction and an insertion without freeing anything. Returns the slot and the evicted key;
    /// `None` if empty.
    pub fn recycle_front(&mut self, key: u64, weight: u64) -> Option<(usize, u64)> {
        let slot = self.head;
        if slot == NIL {
            return None;
        }
        self.weight = self.weight - self.weight_of(slot) + weight;
        self.set_weight(slot, weight);
        let old = std::mem::replace(&mut self.nodes[slot].key, key);
        self.move_to_back(slot);
        Some((slot, old))
    }

    /// The front (oldest) entry's slot and key.
    pub fn front(&self) -> Option<(usize, u64)> {
        (self.head != NIL).then(|| (self.head, self.nodes[self.head].key))
    }

    /// Keys and their weights from front to back.
    pub fn entries(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let mut at = self.head;
        std::iter::from_fn(move || {
            (at != NIL).then(|| {
                let (n, w) = (self.nodes[at], self.weight_of(at));
                at = n.next;
                (n.key, w)
            })
        })
    }
}
