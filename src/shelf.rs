//! Large per-run tables kept after their run for the next run of the same size.
//!
//! A run allocates a few tables with an entry per task (the waiting counts, the record slots).
//! Freed, a table that large goes back to the system as often as not, and the next run then
//! pays a page fault for every 4 KiB it touches: a run of a hundred thousand short tasks spent
//! a third of its time that way. A shelf keeps a couple of freed tables instead, and a run of
//! the same size takes one back and overwrites it, which costs a fraction of faulting fresh
//! pages in.
//!
//! What a shelf holds is bounded: at most [`TABLES`] tables of at most [`MAX_BYTES`] bytes
//! each, so a process that ran a million-task graph once keeps at most a few tens of
//! megabytes it may not use again.

use std::sync::Mutex;

/// Tables a shelf keeps at most.
pub(crate) const TABLES: usize = 2;

/// Tables larger than this are freed rather than kept.
pub(crate) const MAX_BYTES: usize = 64 << 20;

/// Tables smaller than this are freed rather than kept: the allocator serves them well.
const MIN_BYTES: usize = 64 << 10;

/// Freed tables of `T`, waiting for a run of their length, each with a mark `M` its last user
/// left on it (what the table needs to be reused correctly, such as a generation).
pub(crate) struct Shelf<T, M = ()> {
    tables: Mutex<Vec<(Box<[T]>, M)>>,
}

impl<T, M> Shelf<T, M> {
    /// An empty shelf.
    pub(crate) const fn new() -> Shelf<T, M> {
        Shelf {
            tables: Mutex::new(Vec::new()),
        }
    }

    /// A kept table of exactly `len` entries and its mark, if there is one; its entries are
    /// whatever the last run left in them.
    pub(crate) fn take(&self, len: usize) -> Option<(Box<[T]>, M)> {
        if !Self::keeps(len) {
            return None;
        }
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let at = tables.iter().position(|(t, _)| t.len() == len)?;
        Some(tables.swap_remove(at))
    }

    /// Keeps `table` and its mark for a later run if it is worth keeping and there is room;
    /// frees it otherwise.
    pub(crate) fn put(&self, table: Box<[T]>, mark: M) {
        if !Self::keeps(table.len()) {
            return;
        }
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        if tables.len() >= TABLES {
            // The oldest goes: the newest is the likeliest to match the next run.
            tables.remove(0);
        }
        tables.push((table, mark));
    }

    fn keeps(len: usize) -> bool {
        let bytes = len.saturating_mul(std::mem::size_of::<T>());
        (MIN_BYTES..=MAX_BYTES).contains(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_table_comes_back_for_its_length_only() {
        let shelf = Shelf::<u64, u32>::new();
        let len = MIN_BYTES / 8;
        shelf.put(vec![7u64; len].into_boxed_slice(), 3);
        assert!(shelf.take(len + 1).is_none());
        let (table, mark) = shelf.take(len).expect("kept");
        assert_eq!((table.len(), table[0], mark), (len, 7, 3));
        assert!(shelf.take(len).is_none(), "taken once");
    }

    #[test]
    fn small_and_huge_tables_are_not_kept_and_room_is_bounded() {
        let shelf = Shelf::<u8>::new();
        shelf.put(vec![0u8; MIN_BYTES - 1].into_boxed_slice(), ());
        assert!(shelf.take(MIN_BYTES - 1).is_none());
        for extra in 0..=TABLES {
            shelf.put(vec![0u8; MIN_BYTES + extra].into_boxed_slice(), ());
        }
        assert!(shelf.take(MIN_BYTES).is_none(), "the oldest made room");
        for extra in 1..=TABLES {
            assert!(shelf.take(MIN_BYTES + extra).is_some());
        }
        assert!(!Shelf::<u8>::keeps(MAX_BYTES + 1));
    }
}
