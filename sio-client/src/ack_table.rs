//! [`AckTable`]: values by [`AckId`], for the acks a session or a shell
//! still waits for.
//!
//! Why not a `BTreeMap` or a `HashMap`: ack ids are handed out in
//! increasing order, so a deque in insertion order is already sorted. A
//! lookup is a binary search, the usual completion (the oldest first) pops
//! from the front, and in a wasm build the table costs a few hundred bytes
//! where a B-tree's or a hash table's code costs several KB.

use std::collections::VecDeque;

/// Identifies one emit-with-ack, to match its answer (the session's
/// `Output::Ack`). Ids are handed out in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AckId(pub u64);

/// Values by ack id, sorted by id.
#[derive(Debug, Clone)]
pub struct AckTable<T> {
    entries: VecDeque<(AckId, T)>,
}

impl<T> Default for AckTable<T> {
    fn default() -> Self {
        AckTable {
            entries: VecDeque::new(),
        }
    }
}

impl<T> AckTable<T> {
    /// Inserts or replaces `id`'s value (a new, highest id goes to the back
    /// at once).
    pub fn insert(&mut self, id: AckId, value: T) {
        match self.find(id) {
            Ok(at) => self.entries[at].1 = value,
            Err(at) => self.entries.insert(at, (id, value)),
        }
    }

    /// Takes `id`'s value out.
    pub fn remove(&mut self, id: AckId) -> Option<T> {
        let at = self.find(id).ok()?;
        self.entries.remove(at).map(|(_, value)| value)
    }

    /// `id`'s value, to change it in place.
    pub fn get_mut(&mut self, id: AckId) -> Option<&mut T> {
        let at = self.find(id).ok()?;
        Some(&mut self.entries[at].1)
    }

    /// Every entry, lowest id first.
    pub fn iter(&self) -> impl Iterator<Item = (AckId, &T)> {
        self.entries.iter().map(|(id, value)| (*id, value))
    }

    /// How many entries the table holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table holds no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where `id` is (`Ok`) or would go (`Err`); checks the back first,
    /// where a new id goes.
    fn find(&self, id: AckId) -> Result<usize, usize> {
        match self.entries.back() {
            None => Err(0),
            Some((last, _)) if *last < id => Err(self.entries.len()),
            Some(_) => self.entries.binary_search_by_key(&id, |(known, _)| *known),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_ids_sorted_whatever_the_order_of_insertion() {
        let mut table = AckTable::default();
        for id in [5, 1, 9, 3, 7] {
            table.insert(AckId(id), id * 10);
        }
        let ids: Vec<u64> = table.iter().map(|(id, _)| id.0).collect();
        assert_eq!(ids, [1, 3, 5, 7, 9]);
        table.insert(AckId(3), 33);
        assert_eq!(table.len(), 5);
        assert_eq!(table.get_mut(AckId(3)).copied(), Some(33));
        assert_eq!(table.remove(AckId(1)), Some(10));
        assert_eq!(table.remove(AckId(1)), None);
        assert_eq!(table.remove(AckId(4)), None);
        assert_eq!(table.remove(AckId(9)), Some(90));
        let ids: Vec<u64> = table.iter().map(|(id, _)| id.0).collect();
        assert_eq!(ids, [3, 5, 7]);
        assert!(table.get_mut(AckId(8)).is_none());
        assert!(!table.is_empty());
    }
}
