//! The table a run writes each task's record into, once, and its report reads.
//!
//! A record is four plain words per task: a head that packs the status, the kind of a scalar
//! result and the attempt count, the two timestamps, and the scalar result's bits. What does
//! not fit in words (a result behind a pointer, a failure, a log error) goes to a box in a
//! second, parallel array, which a task that ends with a scalar result never touches. Ending a
//! task costs a few stores, plus one compare-and-swap (the claim that makes it end exactly
//! once) wherever another thread could end it too, and the hot path never copies a whole
//! record or result around. Both tables go on a shelf when the report lets go of them, for
//! the next run of the same size.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use once_cell::race::OnceBox;

use super::{Detail, Status};
use crate::shelf::Shelf;
use crate::value::Value;

/// The state of a head claimed by a thread writing the record but not yet published.
const CLAIMED: u64 = 1;

/// Where a head keeps the generation of the run that wrote it, and the last generation a
/// table is used for before it is cleared.
const GENERATION_SHIFT: u32 = 17;
const GENERATION: u64 = 0x7fff << GENERATION_SHIFT;
const LAST_GENERATION: u64 = 0x7fff;

/// Set in the start word of a task that started and has not ended, beside the generation: a
/// real start never has it.
const STARTED: u64 = 1 << 63;

/// Result kinds kept in the head; `EXTRA` means the result is in the side box.
const NULL: u64 = 0;
const BOOL: u64 = 1;
const INT: u64 = 2;
const FLOAT: u64 = 3;
const EXTRA: u64 = 4;

/// Set in a head whose record has parts in the extras array.
const WITH_EXTRA: u64 = 1 << 16;

/// The words of one task's record.
///
/// A table of slots serves run after run without being cleared: each run has its own
/// generation, and a head that does not carry it reads as empty. A run's threads then write
/// only the slots they use, and nothing has to sweep the whole table before the run starts.
#[derive(Default)]
struct Slot {
    /// For this run's generation `g`: anything without `g` before the task ended,
    /// `g | CLAIMED` while its record is written, then
    /// `status + 2 | kind << 8 | WITH_EXTRA? | g | attempts << 32`.
    head: AtomicU64,
    /// `STARTED | g` from the task's start until its end.
    start: AtomicU64,
    end: AtomicU64,
    /// A scalar result's bits.
    bits: AtomicU64,
}

/// The parts of a record that do not fit in words.
struct Extra {
    /// A result that is not a scalar (`Value::Null` otherwise).
    result: Value,
    detail: Option<Box<Detail>>,
}

/// Tables of slots (with the last generation they served) and of extra parts freed by earlier
/// runs, for runs of their size.
static SLOTS: Shelf<Slot, u64> = Shelf::new();
static EXTRAS: Shelf<OnceBox<Extra>> = Shelf::new();

/// One record slot per task, and one place for its extra parts, in task-index order.
pub(crate) struct Records {
    slots: Box<[Slot]>,
    /// This run's generation, shifted into place in a head.
    generation: u64,
    extras: Box<[OnceBox<Extra>]>,
    /// Whether any record has parts in `extras`.
    any_extra: AtomicBool,
    /// What a cancellation decided for the tasks that had not ended, over their slots.
    swept: OnceLock<Swept>,
}

/// The tasks a cancellation ended without writing their slots.
///
/// In a run without an observer, the thread that runs a task writes its record without
/// claiming the slot first, so a cancellation sweep may not write that slot too. It writes
/// its verdict here instead, and a record found here overrides the slot: a task that ends
/// after the sweep changes neither the report nor what the run counted.
pub(crate) struct Swept {
    at: u64,
    /// One bit per task.
    cancelled: Vec<u64>,
    /// One bit per task: it had started when the run was cancelled.
    started: Vec<u64>,
    /// Parts that do not fit in bits (a log file that refused the cancelled line).
    extras: HashMap<u32, Extra>,
}

impl Swept {
    /// An empty verdict for `tasks` tasks, taken at `at`.
    pub(crate) fn new(tasks: usize, at: u64) -> Swept {
        let words = tasks.div_ceil(64);
        Swept {
            at,
            cancelled: vec![0; words],
            started: vec![0; words],
            extras: HashMap::new(),
        }
    }

    /// Ends `index` as cancelled, after `attempts` (0 or 1) attempts.
    pub(crate) fn cancel(&mut self, index: u32, attempts: u32, detail: Option<Box<Detail>>) {
        set_bit(&mut self.cancelled, index);
        if attempts > 0 {
            set_bit(&mut self.started, index);
        }
        if detail.is_some() {
            let result = Value::Null;
            self.extras.insert(index, Extra { result, detail });
        }
    }

    fn has(&self, index: u32) -> bool {
        bit(&self.cancelled, index)
    }

    fn record(&self, index: u32) -> Option<Record<'_>> {
        if !self.has(index) {
            return None;
        }
        Some(Record {
            status: Status::Cancelled,
            attempts: u32::from(bit(&self.started, index)),
            start: self.at,
            end: self.at,
            kind: NULL,
            bits: 0,
            extra: self.extras.get(&index),
        })
    }
}

/// Bit `index` of a bitset of words.
fn bit(words: &[u64], index: u32) -> bool {
    let word = words.get(index as usize / 64).copied().unwrap_or(0);
    word & 1 << (index % 64) != 0
}

fn set_bit(words: &mut [u64], index: u32) {
    words[index as usize / 64] |= 1 << (index % 64);
}

/// What a finished task's record says, read from its slot.
#[derive(Clone, Copy)]
pub(crate) struct Record<'a> {
    pub(crate) status: Status,
    pub(crate) attempts: u32,
    /// Clock ticks from the run's start to the first attempt's start.
    pub(crate) start: u64,
    /// Clock ticks from the run's start to the task's end.
    pub(crate) end: u64,
    kind: u64,
    bits: u64,
    extra: Option<&'a Extra>,
}

/// Stands in for a record that was never written, which a finished run never leaves; it keeps
/// a report total even if that invariant were broken.
pub(crate) const MISSING: Record<'static> = Record {
    status: Status::Cancelled,
    attempts: 0,
    start: 0,
    end: 0,
    kind: NULL,
    bits: 0,
    extra: None,
};

impl Records {
    /// Empty slots for `tasks` tasks, in tables an earlier run left if there are any.
    pub(crate) fn new(tasks: usize) -> Records {
        // A fresh table is all generation 0, which no run uses.
        let (slots, generation) = match SLOTS.take(tasks) {
            Some((slots, last)) if last < LAST_GENERATION => (slots, last + 1),
            Some((mut slots, _)) => {
                slots.fill_with(Slot::default);
                (slots, 1)
            }
            None => ((0..tasks).map(|_| Slot::default()).collect(), 1),
        };
        // A table of extras goes on the shelf emptied.
        let extras = match EXTRAS.take(tasks) {
            Some((extras, ())) => extras,
            None => (0..tasks).map(|_| OnceBox::new()).collect(),
        };
        Records {
            slots,
            generation: generation << GENERATION_SHIFT,
            extras,
            any_extra: AtomicBool::new(false),
            swept: OnceLock::new(),
        }
    }

    /// How many slots there are.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Lays a cancellation's verdict over the slots; false if one was laid already.
    pub(crate) fn overrule(&self, swept: Swept) -> bool {
        self.swept.set(swept).is_ok()
    }

    /// Whether a cancellation's verdict was laid over the slots.
    pub(crate) fn is_overruled(&self) -> bool {
        self.swept.get().is_some()
    }

    /// Whether `head` was written in this run (claimed or published).
    #[inline(always)]
    fn is_current(&self, head: u64) -> bool {
        head & GENERATION == self.generation
    }

    /// The head of `index` if this run wrote it, 0 otherwise.
    #[inline(always)]
    fn head(&self, index: u32) -> u64 {
        let head = self.slots[index as usize].head.load(Ordering::Acquire);
        if self.is_current(head) {
            head
        } else {
            0
        }
    }

    /// Takes the right to write the record of `index`; false when someone else has it.
    #[inline]
    pub(crate) fn claim(&self, index: u32) -> bool {
        let head = &self.slots[index as usize].head;
        let seen = head.load(Ordering::Relaxed);
        !self.is_current(seen)
            && head
                .compare_exchange(
                    seen,
                    self.generation | CLAIMED,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    /// Marks `index` started unless its record is taken already (false then). The mark lives
    /// in the slot's start word, which the record's publication overwrites, and it brings the
    /// slot into this core's cache before the task ends.
    #[inline]
    pub(crate) fn begin(&self, index: u32) -> bool {
        if self.is_current(self.slots[index as usize].head.load(Ordering::Acquire)) {
            return false;
        }
        self.mark_started(index);
        true
    }

    /// Marks `index` started without looking at its head first, for a caller that knows
    /// nothing else can have ended it: the store needs the slot's line for writing, which
    /// the record's publication needs too, and it does not wait for that line to arrive.
    #[inline]
    pub(crate) fn mark_started(&self, index: u32) {
        let slot = &self.slots[index as usize];
        slot.start
            .store(STARTED | self.generation, Ordering::Relaxed);
    }

    /// Whether `index` was marked started in this run; read by whoever claimed its record
    /// before writing it.
    pub(crate) fn was_started(&self, index: u32) -> bool {
        let start = self.slots[index as usize].start.load(Ordering::Relaxed);
        start == STARTED | self.generation
    }

    /// Waits until the record of `index`, claimed by another thread, is published. Between
    /// the claim and the publication that thread runs no callback, only the engine's own
    /// bookkeeping and log writes, so the wait is short.
    pub(crate) fn await_published(&self, index: u32) {
        while self.head(index) == self.generation | CLAIMED {
            std::thread::yield_now();
        }
    }

    /// Whether the record of `index` is claimed or written, or a cancellation ended it.
    #[inline]
    pub(crate) fn is_taken(&self, index: u32) -> bool {
        self.head(index) != 0 || self.swept.get().is_some_and(|s| s.has(index))
    }

    /// Writes and publishes the record of `index`, which the caller claimed or is the only
    /// thread that may write (see [`Swept`]). A scalar
    /// `result` is read where it lies; anything larger is taken out of it.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write(
        &self,
        index: u32,
        status: Status,
        attempts: u32,
        start: u64,
        end: u64,
        result: &mut Value,
        detail: Option<Box<Detail>>,
    ) {
        let slot = &self.slots[index as usize];
        let (kind, bits, heap) = match result {
            Value::Null => (NULL, 0, None),
            Value::Bool(b) => (BOOL, u64::from(*b), None),
            Value::Int(i) => (INT, *i as u64, None),
            Value::Float(f) => (FLOAT, f.to_bits(), None),
            other => (EXTRA, 0, Some(std::mem::take(other))),
        };
        // Both are consumed here on every path, so the common case (a scalar and no detail)
        // runs no drop code for them.
        let flags = match (heap, detail) {
            (None, None) => 0,
            (heap, detail) => {
                let extra = Extra {
                    result: heap.unwrap_or_default(),
                    detail,
                };
                // The claim makes this the only write.
                let _ = self.extras[index as usize].set(Box::new(extra));
                self.any_extra.store(true, Ordering::Relaxed);
                WITH_EXTRA
            }
        };
        slot.start.store(start, Ordering::Relaxed);
        slot.end.store(end, Ordering::Relaxed);
        slot.bits.store(bits, Ordering::Relaxed);
        let head = (status as u64 + 2) | kind << 8 | flags | u64::from(attempts) << 32;
        slot.head.store(head | self.generation, Ordering::Release);
    }

    /// The published record of `index`, if there is one.
    #[inline]
    pub(crate) fn get(&self, index: u32) -> Option<Record<'_>> {
        if let Some(record) = self.swept.get().and_then(|s| s.record(index)) {
            return Some(record);
        }
        let slot = &self.slots[index as usize];
        let head = self.head(index);
        if head & 0xff <= CLAIMED {
            return None;
        }
        Some(Record {
            status: status_of(head),
            attempts: (head >> 32) as u32,
            start: slot.start.load(Ordering::Relaxed),
            end: slot.end.load(Ordering::Relaxed),
            kind: head >> 8 & 0xff,
            bits: slot.bits.load(Ordering::Relaxed),
            extra: match head & WITH_EXTRA {
                0 => None,
                _ => self.extras[index as usize].get(),
            },
        })
    }

    /// The status of `index`, if its record is published.
    #[inline]
    pub(crate) fn status(&self, index: u32) -> Option<Status> {
        if self.swept.get().is_some_and(|s| s.has(index)) {
            return Some(Status::Cancelled);
        }
        let head = self.head(index);
        (head & 0xff > CLAIMED).then(|| status_of(head))
    }

    /// The result of `index`, if it ended in success.
    #[inline]
    pub(crate) fn result(&self, index: u32) -> Option<Value> {
        let record = self.get(index)?;
        (record.status == Status::Success).then(|| record.result())
    }
}

impl Drop for Records {
    fn drop(&mut self) {
        let slots = std::mem::take(&mut self.slots);
        let mut extras = std::mem::take(&mut self.extras);
        if *self.any_extra.get_mut() {
            for extra in extras.iter_mut() {
                if extra.get().is_some() {
                    *extra = OnceBox::new();
                }
            }
        }
        SLOTS.put(slots, self.generation >> GENERATION_SHIFT);
        EXTRAS.put(extras, ());
    }
}

fn status_of(head: u64) -> Status {
    match head & 0xff {
        2 => Status::Success,
        3 => Status::Errored,
        4 => Status::Skipped,
        _ => Status::Cancelled,
    }
}

impl<'a> Record<'a> {
    /// The result as written (`Value::Null` for a task that did not succeed).
    pub(crate) fn result(&self) -> Value {
        match self.kind {
            BOOL => Value::Bool(self.bits != 0),
            INT => Value::Int(self.bits as i64),
            FLOAT => Value::Float(f64::from_bits(self.bits)),
            EXTRA => self.extra.map_or(Value::Null, |e| e.result.clone()),
            _ => Value::Null,
        }
    }

    /// The failure and log error, if any.
    pub(crate) fn detail(&self) -> Option<&'a Detail> {
        self.extra?.detail.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TaskError;

    fn written(mut value: Value, status: Status, detail: Option<Box<Detail>>) -> Records {
        let records = Records::new(1);
        assert!(records.claim(0));
        records.write(0, status, 3, 10, 25, &mut value, detail);
        records
    }

    #[test]
    fn a_slot_is_claimed_once() {
        let records = Records::new(2);
        assert!(!records.is_taken(0));
        assert!(records.claim(0));
        assert!(!records.claim(0));
        assert!(records.is_taken(0));
        assert!(records.get(0).is_none(), "claimed but not yet published");
        assert!(records.claim(1));
    }

    #[test]
    fn every_kind_of_result_reads_back() {
        let text = Value::Text("a text".into());
        for value in [
            Value::Null,
            Value::Bool(true),
            Value::Int(-7),
            Value::Int(i64::MIN),
            Value::Float(2.5),
            text,
        ] {
            let records = written(value.clone(), Status::Success, None);
            assert_eq!(records.result(0), Some(value.clone()));
            let record = records.get(0).unwrap();
            assert_eq!(record.status, Status::Success);
            assert_eq!((record.attempts, record.start, record.end), (3, 10, 25));
        }
    }

    #[test]
    fn a_failure_keeps_its_detail_and_has_no_result() {
        let detail = Detail {
            error: Some(TaskError::new("boom")),
            log_error: None,
        };
        let records = written(Value::Null, Status::Errored, Some(Box::new(detail)));
        let record = records.get(0).unwrap();
        assert_eq!(record.status, Status::Errored);
        assert_eq!(
            record.detail().unwrap().error.as_ref().unwrap().message,
            "boom"
        );
        assert_eq!(records.result(0), None);
    }

    #[test]
    fn a_success_with_a_scalar_result_keeps_its_log_error() {
        let detail = Detail {
            error: None,
            log_error: Some("disk full".into()),
        };
        let records = written(Value::Int(4), Status::Success, Some(Box::new(detail)));
        let record = records.get(0).unwrap();
        assert_eq!(record.result(), Value::Int(4));
        let log_error = record.detail().unwrap().log_error.as_deref();
        assert_eq!(log_error, Some("disk full"));
    }

    #[test]
    fn a_verdict_overrides_the_slots_it_covers() {
        let records = Records::new(3);
        assert!(records.begin(1));
        let mut verdict = Swept::new(3, 40);
        verdict.cancel(1, 1, None);
        verdict.cancel(2, 0, None);
        assert!(records.overrule(verdict));
        assert!(!records.overrule(Swept::new(3, 50)), "one verdict per run");
        assert!(records.is_taken(1) && records.is_taken(2));
        assert!(!records.is_taken(0));
        // Task 1 ends on its thread after the sweep: the verdict still stands.
        records.write(1, Status::Success, 1, 5, 60, &mut Value::Int(9), None);
        let record = records.get(1).unwrap();
        assert_eq!((record.status, record.attempts), (Status::Cancelled, 1));
        assert_eq!((record.start, record.end), (40, 40));
        assert_eq!(records.result(1), None);
        assert_eq!(records.get(2).unwrap().attempts, 0);
        assert_eq!(records.status(2), Some(Status::Cancelled));
        assert_eq!(records.status(0), None);
    }

    #[test]
    fn a_begun_task_can_no_longer_begin_once_its_record_is_taken() {
        let records = Records::new(1);
        assert!(!records.was_started(0));
        assert!(records.begin(0));
        assert!(records.was_started(0));
        assert!(records.claim(0));
        assert!(!records.begin(0));
    }

    #[test]
    fn a_table_kept_from_an_earlier_run_reads_empty() {
        // A length no other test uses, and large enough to be kept.
        let tasks = crate::shelf::MAX_BYTES / std::mem::size_of::<Slot>() - 3;
        let records = Records::new(tasks);
        assert!(records.claim(0));
        records.write(0, Status::Success, 1, 1, 2, &mut Value::Int(5), None);
        assert!(records.begin(1));
        let generation = records.generation;
        drop(records);
        let records = Records::new(tasks);
        assert_ne!(records.generation, generation, "the table came back");
        assert!(!records.is_taken(0) && records.get(0).is_none());
        assert!(!records.was_started(1));
        assert!(records.begin(0) && records.claim(0));
    }

    #[test]
    fn a_table_is_cleared_once_its_generations_run_out() {
        let tasks = crate::shelf::MAX_BYTES / std::mem::size_of::<Slot>() - 5;
        let records = Records::new(tasks);
        assert!(records.claim(7));
        records.write(7, Status::Errored, 1, 1, 2, &mut Value::Null, None);
        drop(records);
        for _ in 1..LAST_GENERATION {
            let records = Records::new(tasks);
            assert!(!records.is_taken(7));
        }
        let records = Records::new(tasks);
        assert_eq!(records.generation, 1 << GENERATION_SHIFT, "started over");
        assert!(!records.is_taken(7));
    }

    #[test]
    fn a_start_marked_without_a_look_reads_started_until_the_record_is_written() {
        let records = Records::new(2);
        records.mark_started(1);
        assert!(records.was_started(1) && !records.was_started(0));
        assert!(!records.is_taken(1), "started is not ended");
        records.write(1, Status::Success, 1, 7, 9, &mut Value::Null, None);
        assert!(
            !records.was_started(1),
            "the record's start replaced the mark"
        );
        assert_eq!(records.get(1).unwrap().start, 7);
    }

    #[test]
    fn statuses_survive_the_packing() {
        for status in [
            Status::Success,
            Status::Errored,
            Status::Skipped,
            Status::Cancelled,
        ] {
            let records = written(Value::Null, status, None);
            assert_eq!(records.status(0), Some(status));
        }
    }
}
