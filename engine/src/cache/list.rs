//! A doubly linked list of keys in a slab: O(1) push to the back, removal by slot, move to the
//! back, and the front. Slots of removed entries are reused.

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
    free: Vec<usize>,
    head: usize,
    tail: usize,
    len: usize,
}

impl Default for List {
    fn default() -> Self {
        List { nodes: Vec::new(), free: Vec::new(), head: NIL, tail: NIL, len: 0 }
    }
}

impl List {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `key`; returns its slot.
    pub fn push_back(&mut self, key: u64) -> usize {
        let node = Node { key, prev: self.tail, next: NIL };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.nodes[slot] = node;
                slot
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        };
        if self.tail == NIL {
            self.head = slot;
        } else {
            self.nodes[self.tail].next = slot;
        }
        self.tail = slot;
        self.len += 1;
        slot
    }

    /// Unlinks `slot` and returns its key.
    pub fn remove(&mut self, slot: usize) -> u64 {
        let Node { key, prev, next } = self.nodes[slot];
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

    /// Gives the front (oldest) entry's slot to `key` and moves it to the back: an eviction and an
    /// insertion without freeing anything. Returns the slot and the evicted key; `None` if empty.
    pub fn recycle_front(&mut self, key: u64) -> Option<(usize, u64)> {
        let slot = self.head;
        if slot == NIL {
            return None;
        }
        let old = std::mem::replace(&mut self.nodes[slot].key, key);
        self.move_to_back(slot);
        Some((slot, old))
    }

    /// The front (oldest) entry's slot and key.
    pub fn front(&self) -> Option<(usize, u64)> {
        (self.head != NIL).then(|| (self.head, self.nodes[self.head].key))
    }

    /// Keys from front to back.
    pub fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        let mut at = self.head;
        std::iter::from_fn(move || {
            (at != NIL).then(|| {
                let n = self.nodes[at];
                at = n.next;
                n.key
            })
        })
    }
}
