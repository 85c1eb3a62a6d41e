//! The completion queue under a task set: members report from any thread, the set takes the
//! reports in the order they were made, and can cancel every member.
//!
//! [`Completions`] is the set's end (one owner, `&mut self`); each member holds a
//! [`Reporter`], one pointer wide, which reports once, when it is dropped: the value given to
//! [`Reporter::set`], or nothing (its task was dropped before it finished). [`Completions::cancel`] raises
//! a flag the members read ([`Reporter::is_cancelled`]) and wakes every member that registered
//! its waker ([`Reporter::register`]); [`Completions::poll_idle`] waits until every member has
//! reported.
//!
//! # Cost
//!
//! A report is one compare-and-swap on one word, and nothing else touches memory that other
//! threads write: no lock, no reference count per member. The word holds, together, the head of
//! a stack of reported slots, the owner's "I am waiting" flag, and how many parties still use
//! the shared state; one atomic step both publishes a report and gives up the reporter's share.
//! The owner takes the whole stack in one step and reads it oldest first, and takes shares for
//! new reporters in batches (of 64), so making reporters touches the word once per batch.
//! A member polls the cancel flag, which sits on cache lines of its own and changes once; it
//! takes a lock (its own) only to store a waker different from the one it stored last.
//!
//! A task set costs what it adds to every task, so the memory per member is kept small: a slot
//! holds the link and the value only (24 bytes for a word-sized value). Slots live in aligned
//! segments whose header holds what every member of the segment shares (the queue, the first
//! index, the members' wakers): a reporter is the slot's address alone, and finds the header by
//! masking it. The wakers, which only a member that waits needs, are made per segment by the
//! first member of it that waits.
//!
//! # The word
//!
//! | bits | name | meaning |
//! |---|---|---|
//! | 0-31 | head | index + 1 of the latest reported slot not yet taken; 0: none |
//! | 32 | `WAITING` | the owner's waker is stored and it waits for a report |
//! | 33 | `WAKING` | a reporter that cleared `WAITING` is taking the waker out |
//! | 34-63 | count | the owner (1 while it exists), its reserved shares, and live reporters |
//!
//! Segments never move (a page each, for a small value: the allocator reuses them from set to
//! set without going to the kernel) and belong to the shared state; whoever brings the count to
//! 0 frees it, with the values never taken.

use std::alloc::{self, Layout};
use std::fmt;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::task::{Context, Poll, Waker};

use crate::sync::{AtomicBool, AtomicPtr, AtomicU64, UnsafeCell};

const HEAD: u64 = 0xFFFF_FFFF;
const WAITING: u64 = 1 << 32;
const WAKING: u64 = 1 << 33;
const COUNT_SHIFT: u32 = 34;
const COUNT_ONE: u64 = 1 << COUNT_SHIFT;

/// At most this many members at once: reporters alive plus reports not yet taken. The count
/// (30 bits) and the slot indices (which must fit the head) both stay below.
pub const MAX_MEMBERS: usize = (1 << 30) - 1;

/// Shares the owner takes at a time for the reporters it makes.
const RESERVE: u64 = 64;

/// The message when a set would hold more than [`MAX_MEMBERS`].
const TOO_MANY: &str = "a task set holds at most 2^30 - 1 tasks at once (running, or finished and not yet joined)";

fn count(word: u64) -> u64 {
    word >> COUNT_SHIFT
}

/// A member's place in the queue.
struct Slot<T> {
    /// Head of the stack (index + 1, or 0) when this slot was pushed: written by its reporter
    /// before the push, read by the owner after it took the stack.
    next: UnsafeCell<u32>,
    /// The report: written by the reporter before the push, taken by the owner after.
    value: UnsafeCell<Option<T>>,
}

/// The start of every segment: what its members share, found from a slot's address.
struct Header<T> {
    shared: NonNull<Shared<T>>,
    /// The index of the segment's first slot.
    base: u32,
    /// The members' wakers, one per slot, made by the first member of the segment that waits
    /// (with a compare-and-swap: two may race to make it) and freed with the segment; `CLOSED`
    /// once a cancel found none (the exchange orders that cancel against a member making them).
    wakers: AtomicPtr<WakerCell>,
}

/// `Header::wakers` of a segment that a cancel found without cells: never made, never freed.
const CLOSED: *mut WakerCell = ptr::dangling_mut();

/// A member's waker, for a cancel to wake it. Only its member writes it (under `locked`), so the
/// member reads it without the lock; the owner reads it under the lock, and clears it (no member
/// left) when it takes the report.
struct WakerCell {
    locked: AtomicBool,
    waker: UnsafeCell<Option<Waker>>,
}

impl WakerCell {
    fn lock(&self) {
        while self.locked.compare_exchange_weak(false, true, Acquire, Relaxed).is_err() {
            crate::sync::spin();
        }
    }

    fn unlock(&self) {
        self.locked.store(false, Release);
    }
}

/// The layout of a segment for values of type `T`.
struct Segment<T>(PhantomData<T>);

impl<T> Segment<T> {
    const SLOT: usize = size_of::<Slot<T>>();
    /// Where the slots start: past the header, aligned for them.
    const SLOTS_AT: usize = size_of::<Header<T>>().next_multiple_of(align_of::<Slot<T>>());
    /// A segment's size and alignment (a power of two: the mask that finds the header): a page,
    /// or enough for 16 slots of a large value.
    const BYTES: usize = {
        let least = Self::SLOTS_AT + 16 * Self::SLOT;
        if least <= 4096 { 4096 } else { least.next_power_of_two() }
    };
    /// Slots per segment.
    const LEN: usize = (Self::BYTES - Self::SLOTS_AT) / Self::SLOT;

    fn layout() -> Layout {
        Layout::from_size_align(Self::BYTES, Self::BYTES).expect("a segment's size is a power of two")
    }

    /// Makes a segment for slots `base..base + LEN`.
    fn make(shared: NonNull<Shared<T>>, base: u32) -> NonNull<u8> {
        let layout = Self::layout();
        // SAFETY: the layout has a non-zero size.
        let Some(start) = NonNull::new(unsafe { alloc::alloc(layout) }) else { alloc::handle_alloc_error(layout) };
        // SAFETY: the block is `BYTES` long and aligned to it; the header is at its start and
        // the `LEN` slots after `SLOTS_AT`, each aligned (`SLOTS_AT` and `SLOT` are multiples of
        // the slot's alignment) and inside it (`SLOTS_AT + LEN * SLOT <= BYTES`).
        unsafe {
            start.cast::<Header<T>>().write(Header { shared, base, wakers: AtomicPtr::new(ptr::null_mut()) });
            for offset in 0..Self::LEN {
                Self::slot(start, offset).write(Slot { next: UnsafeCell::new(0), value: UnsafeCell::new(None) });
            }
        }
        start
    }

    /// Slot `offset` of the segment at `start`.
    ///
    /// # Safety
    /// `start` is a segment's start and `offset < LEN`.
    unsafe fn slot(start: NonNull<u8>, offset: usize) -> NonNull<Slot<T>> {
        // SAFETY: per the contract, inside the segment.
        unsafe { start.add(Self::SLOTS_AT + offset * Self::SLOT).cast() }
    }

    /// The header of the segment holding `slot`, and the slot's offset in it.
    fn of(slot: NonNull<Slot<T>>) -> (NonNull<Header<T>>, usize) {
        let start = slot.as_ptr().cast::<u8>().map_addr(|addr| addr & !(Self::BYTES - 1));
        let offset = (slot.as_ptr().addr() - start.addr() - Self::SLOTS_AT) / Self::SLOT;
        // SAFETY: a slot lies in a segment aligned to `BYTES`, so masking its address gives the
        // segment's start (with the segment's provenance), where the header is.
        (unsafe { NonNull::new_unchecked(start.cast::<Header<T>>()) }, offset)
    }

    /// The header of the segment at `start`.
    ///
    /// # Safety
    /// `start` came from `make` and the segment is not freed yet.
    unsafe fn header<'a>(start: NonNull<u8>) -> &'a Header<T> {
        // SAFETY: per the contract, `make` wrote the header there.
        unsafe { start.cast::<Header<T>>().as_ref() }
    }

    /// Cell `offset` of a segment's waker cells.
    ///
    /// # Safety
    /// `cells` came from `Segment::wakers` of a segment not freed yet, and `offset < LEN`.
    unsafe fn cell<'a>(cells: NonNull<WakerCell>, offset: usize) -> &'a WakerCell {
        // SAFETY: per the contract: the cells are `LEN` long and live as long as the segment.
        unsafe { cells.add(offset).as_ref() }
    }

    /// The waker cells of the segment at `header`, if a member made them.
    fn wakers(header: &Header<T>) -> Option<NonNull<WakerCell>> {
        let cells = header.wakers.load(Acquire);
        NonNull::new(cells).filter(|_| cells != CLOSED)
    }

    /// Frees the segment at `start` and everything in it.
    ///
    /// # Safety
    /// `start` came from `make`, nobody else reaches the segment, and it is freed once.
    unsafe fn free(start: NonNull<u8>) {
        // SAFETY: per the contract: every slot and the header were written by `make`, the cells
        // (if any) by `Reporter::cell`, each is dropped once, then the block is freed with the
        // layout it was made with. A destructor that panics (a value's, a waker's) counts as
        // having dropped its value; the others still run, and the memory is still freed.
        unsafe {
            let header = start.cast::<Header<T>>();
            if let Some(cells) = Self::wakers(Self::header(start)) {
                let cells = Box::from_raw(ptr::slice_from_raw_parts_mut(cells.as_ptr(), Self::LEN));
                let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(cells)));
            }
            ptr::drop_in_place(header.as_ptr());
            for offset in 0..Self::LEN {
                let slot = Self::slot(start, offset).as_ptr();
                let _ = panic::catch_unwind(AssertUnwindSafe(|| ptr::drop_in_place(slot)));
            }
            alloc::dealloc(start.as_ptr(), Self::layout());
        }
    }
}

/// A value alone on its cache lines (two, as the adjacent-line prefetcher pairs them).
#[repr(align(128))]
struct Padded<T>(T);

struct Shared<T> {
    word: Padded<AtomicU64>,
    /// Raised once by [`Completions::cancel`]; read by members at every poll.
    cancelled: Padded<AtomicBool>,
    /// The owner's waker: written by the owner while `WAITING` and `WAKING` are clear, taken by
    /// the reporter whose push cleared `WAITING` (and so set `WAKING`).
    waker: UnsafeCell<Option<Waker>>,
    /// The segments' starts, in index order: written and read by the owner only, then read by
    /// whoever frees the state, after the count's last decrement ordered it after the owner's
    /// writes.
    segments: UnsafeCell<Vec<NonNull<u8>>>,
    /// The segments hold (and drop) `T`s.
    _values: PhantomData<T>,
}

impl<T> Shared<T> {
    /// Frees the state and every value in it.
    ///
    /// # Safety
    /// `shared` came from `Box::into_raw` in [`Completions::new`], and the caller brought the
    /// count to 0 with an acquiring step: nobody else can reach it any more.
    unsafe fn free(shared: NonNull<Shared<T>>) {
        // SAFETY: per the contract, the box is ours alone.
        let shared = unsafe { Box::from_raw(shared.as_ptr()) };
        // A value's or a waker's destructor may panic (`Segment::free` contains those, so
        // every segment is freed); the owner's stored waker's too: not the reporter's panic.
        let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(shared)));
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: the owner and every reporter are gone.
        let segments = self.segments.with_mut(|segments| unsafe { std::mem::take(&mut *segments) });
        for start in segments {
            // SAFETY: each segment came from `Segment::make`, and is freed once, here.
            unsafe { Segment::<T>::free(start) };
        }
    }
}

/// The owner's end of a completion queue: makes [`Reporter`]s, takes their reports in the
/// order they were made, cancels them.
pub struct Completions<T> {
    shared: NonNull<Shared<T>>,
    /// Shares of the count taken for reporters not made yet.
    reserved: u64,
    /// Slots made so far: the next fresh index.
    made: u32,
    /// Slots whose report was taken, to reuse: a list (index + 1, or 0) linked through the
    /// slots' `next`, which the owner has to itself while a slot is free.
    free: u32,
    /// Reports taken from the stack, oldest first: a list linked through `next` as well (the
    /// stack, reversed in place when taken).
    ready: u32,
    /// A copy of the waker stored in the shared state, to compare with without reading it.
    registered: Option<Waker>,
}

// SAFETY: the owner moves `T`s between threads (values reported elsewhere are taken here), so
// it is `Send` when `T` is. `&Completions` gives access to nothing.
unsafe impl<T: Send> Send for Completions<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Completions<T> {}

impl<T> Completions<T> {
    /// An empty queue (one allocation, for the shared state; slots come with the reporters).
    pub fn new() -> Completions<T> {
        let shared = Box::new(Shared {
            word: Padded(AtomicU64::new(COUNT_ONE)),
            cancelled: Padded(AtomicBool::new(false)),
            waker: UnsafeCell::new(None),
            segments: UnsafeCell::new(Vec::new()),
            _values: PhantomData,
        });
        Completions {
            shared: NonNull::from(Box::leak(shared)),
            reserved: 0,
            made: 0,
            free: 0,
            ready: 0,
            registered: None,
        }
    }

    fn shared(&self) -> &Shared<T> {
        // SAFETY: the owner's share keeps the state alive while `self` exists.
        unsafe { self.shared.as_ref() }
    }

    /// The segments' starts, in index order.
    fn segments(&self) -> &[NonNull<u8>] {
        // SAFETY: only the owner touches the list of segments while it exists, and it does not
        // change it while this borrow of `self` lasts.
        self.shared().segments.with(|segments| unsafe { (*segments).as_slice() })
    }

    /// A reporter for a new member.
    ///
    /// # Panics
    /// When the queue already has [`MAX_MEMBERS`] members; nothing changes then.
    pub fn reporter(&mut self) -> Reporter<T> {
        if self.reserved == 0 {
            self.reserve();
        }
        let slot = match self.free.checked_sub(1) {
            Some(index) => {
                // SAFETY: a free slot's link is the owner's.
                self.free = self.slot(index).next.with(|next| unsafe { *next });
                self.slot_ptr(index)
            }
            None => {
                assert!((self.made as usize) < MAX_MEMBERS, "{TOO_MANY}");
                let index = self.made;
                let slot = self.fresh_slot(index);
                self.made += 1;
                slot
            }
        };
        self.reserved -= 1;
        Reporter { slot }
    }

    /// Takes `RESERVE` more shares of the count.
    fn reserve(&mut self) {
        let word = &self.shared().word.0;
        let mut current = word.load(Relaxed);
        loop {
            assert!(count(current) + RESERVE <= MAX_MEMBERS as u64, "{TOO_MANY}");
            // Relaxed, as a reference count's increment: the owner holds a share already.
            match word.compare_exchange_weak(current, current + RESERVE * COUNT_ONE, Relaxed, Relaxed) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        self.reserved = RESERVE;
    }

    /// Slot `index`, the next fresh one, making its segment if it is the segment's first.
    fn fresh_slot(&mut self, index: u32) -> NonNull<Slot<T>> {
        if (index as usize).is_multiple_of(Segment::<T>::LEN) {
            let start = Segment::make(self.shared, index);
            // SAFETY: only the owner touches the list of segments while it exists.
            self.shared().segments.with_mut(|segments| unsafe { (*segments).push(start) });
        }
        self.slot_ptr(index)
    }

    /// The start of the segment holding slot `index`, and the slot's offset in it.
    fn locate(&self, index: u32) -> (NonNull<u8>, usize) {
        let (segment, offset) = (index as usize / Segment::<T>::LEN, index as usize % Segment::<T>::LEN);
        (self.segments()[segment], offset)
    }

    /// Slot `index`, which was handed out before.
    fn slot_ptr(&self, index: u32) -> NonNull<Slot<T>> {
        let (start, offset) = self.locate(index);
        // SAFETY: the segment was made by `fresh_slot` and lives as long as the shared state,
        // which the owner keeps; `offset < LEN`.
        unsafe { Segment::slot(start, offset) }
    }

    /// Slot `index`, which was handed out before.
    fn slot(&self, index: u32) -> &Slot<T> {
        // SAFETY: see `slot_ptr`.
        unsafe { self.slot_ptr(index).as_ref() }
    }

    /// The next report, in the order they were made: the reporter's value, or `None` when it
    /// was dropped unreported. Waits when there is none; the owner is woken by the next report.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if self.ready == 0 && self.take_stack(Some(cx)).is_pending() {
            return Poll::Pending;
        }
        Poll::Ready(self.take_ready())
    }

    /// Cancels every member: raises the flag they read at each poll, and wakes each one that
    /// waits, so that it reads it. Members made afterwards are cancelled from the start.
    pub fn cancel(&mut self) {
        self.shared().cancelled.0.store(true, Release);
        for &start in self.segments() {
            // SAFETY: a segment made by `Segment::make`, alive while the owner is.
            let header = unsafe { Segment::<T>::header(start) };
            // A segment no member of which waited is closed: a member that waits later finds
            // it closed when it comes to make the cells, and so learns of the cancel.
            let cells = match header.wakers.compare_exchange(ptr::null_mut(), CLOSED, AcqRel, Acquire) {
                Ok(_) => continue,
                Err(cells) if cells == CLOSED => continue,
                // SAFETY: not null: the exchange failed.
                Err(cells) => unsafe { NonNull::new_unchecked(cells) },
            };
            for offset in 0..Segment::<T>::LEN {
                // SAFETY: cells of a live segment; `offset < LEN`.
                let cell = unsafe { Segment::<T>::cell(cells, offset) };
                cell.lock();
                // SAFETY: under the cell's lock: its member does not write the waker meanwhile.
                let waker = cell.waker.with(|waker| unsafe { (*waker).clone() });
                cell.unlock();
                if let Some(waker) = waker {
                    // A member's waker is its task's, but may be anyone's: a panic must not stop
                    // the other members' cancels.
                    let _ = panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
                }
            }
        }
    }

    /// Drops every report, and resolves once every reporter made so far has reported: after a
    /// [`cancel`](Completions::cancel), once every member has dropped what it ran.
    pub fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            while self.ready != 0 {
                drop(self.take_ready());
            }
            let current = self.shared().word.0.load(Acquire);
            if count(current) == 1 + self.reserved && current & HEAD == 0 {
                return Poll::Ready(());
            }
            if self.take_stack(Some(cx)).is_pending() {
                // Woken by the next report; a reporter that goes without waking (none waited)
                // leaves a stack, which the check above sees. The last one wakes too: it reports
                // while the owner waits, as every report after the wait was registered does.
                return Poll::Pending;
            }
        }
    }

    /// The next report if one was made, without waiting for one (and without storing a waker):
    /// `None` when there is none yet.
    pub fn try_next(&mut self) -> Option<Option<T>> {
        if self.ready == 0 && self.take_stack(None).is_pending() {
            return None;
        }
        Some(self.take_ready())
    }

    /// Moves the reported stack into `ready`, or registers `cx`'s waker (if any) for the next
    /// report.
    fn take_stack(&mut self, mut cx: Option<&mut Context<'_>>) -> Poll<()> {
        debug_assert_eq!(self.ready, 0);
        // SAFETY: the owner's share keeps the state alive while `self` exists (a reference
        // not tied to `self`, which `collect` borrows mutably).
        let shared: &Shared<T> = unsafe { self.shared.as_ref() };
        let word = &shared.word.0;
        let mut current = word.load(Acquire);
        loop {
            let head = current & HEAD;
            if head != 0 {
                // Acquire: every slot in the stack was published by a releasing push, and
                // those pushes form one release sequence on the word.
                match word.compare_exchange_weak(current, current & !HEAD, AcqRel, Acquire) {
                    Ok(_) => {
                        self.collect(head as u32);
                        return Poll::Ready(());
                    }
                    Err(actual) => {
                        current = actual;
                        continue;
                    }
                }
            }
            let Some(cx) = cx.as_deref_mut() else {
                return Poll::Pending;
            };
            // Whether the waker stored last is this one.
            let same = self.registered.as_ref().is_some_and(|registered| registered.will_wake(cx.waker()));
            if current & WAKING != 0 {
                // A reporter is taking the stored waker out to wake it, for a report it made:
                // the slot is not ours to write. If that waker is this one, the wake comes
                // here; else ask for another poll, which finds the report or the slot free.
                if !same {
                    cx.waker().wake_by_ref();
                }
                return Poll::Pending;
            }
            if current & WAITING != 0 {
                if same {
                    return Poll::Pending;
                }
                // Another waker: take the slot back to replace it.
                match word.compare_exchange_weak(current, current & !WAITING, AcqRel, Acquire) {
                    Ok(_) => current &= !WAITING,
                    Err(actual) => {
                        current = actual;
                        continue;
                    }
                }
            }
            // Neither flag is set: the waker slot is the owner's. (The copy is made once per
            // waker, not per wait: most waits are the same task's.)
            if !same {
                self.registered = Some(cx.waker().clone());
            }
            let old = shared.waker.with_mut(|waker| {
                // SAFETY: only the owner writes the slot, and only while `WAITING` and `WAKING`
                // are clear; a reporter reads it only after clearing `WAITING`.
                unsafe { (*waker).replace(cx.waker().clone()) }
            });
            drop(old);
            match word.compare_exchange(current, current | WAITING, AcqRel, Acquire) {
                Ok(_) => return Poll::Pending,
                // A report came in meanwhile: take it (the stored waker stays until replaced).
                Err(actual) => current = actual,
            }
        }
    }

    /// Queues the stack that starts at `head` (index + 1), newest first, for taking oldest
    /// first: reverses its links in place.
    fn collect(&mut self, mut head: u32) {
        let mut reversed = 0;
        while let Some(index) = head.checked_sub(1) {
            // SAFETY: the slot was pushed before the stack was taken (acquired), and its
            // reporter wrote nothing after the push: its link is the owner's now.
            head = self.slot(index).next.with_mut(|next| unsafe { std::mem::replace(&mut *next, reversed) });
            reversed = index + 1;
        }
        self.ready = reversed;
    }

    /// Takes the oldest report queued by `collect`, which there is.
    fn take_ready(&mut self) -> Option<T> {
        let index = self.ready.checked_sub(1).expect("a taken stack has a slot");
        // SAFETY: a queued slot's link is the owner's.
        self.ready = self.slot(index).next.with(|next| unsafe { *next });
        self.take(index)
    }

    /// Takes the report of slot `index`, which was queued by `collect`, and frees the slot.
    fn take(&mut self, index: u32) -> Option<T> {
        let (start, offset) = self.locate(index);
        // SAFETY: as in `collect`: the slot's reporter is gone, and only the owner reads it.
        let value = self.slot(index).value.with_mut(|value| unsafe { (*value).take() });
        // SAFETY: a segment made by `Segment::make`, alive while the owner is.
        if let Some(cells) = Segment::wakers(unsafe { Segment::<T>::header(start) }) {
            // SAFETY: cells of a live segment, `offset < LEN`; no member writes this one any
            // more (its reporter is gone), and the owner reads it only in `cancel`, which
            // `&mut self` excludes here.
            let waker = unsafe { Segment::<T>::cell(cells, offset) }.waker.with_mut(|waker| unsafe { (*waker).take() });
            drop(waker);
        }
        // SAFETY: the slot is the owner's until a reporter gets it again.
        self.slot(index).next.with_mut(|next| unsafe { *next = self.free });
        self.free = index + 1;
        value
    }
}

impl<T> Default for Completions<T> {
    fn default() -> Completions<T> {
        Completions::new()
    }
}

impl<T> Drop for Completions<T> {
    fn drop(&mut self) {
        // The owner's share and its unused reserve go in one step; reports not taken stay in
        // their slots and are dropped with the state, by the last reporter if any is left.
        let shares = 1 + self.reserved;
        let previous = self.shared().word.0.fetch_sub(shares * COUNT_ONE, AcqRel);
        if count(previous) == shares {
            // SAFETY: the count is now 0 and this step acquired every earlier one.
            unsafe { Shared::free(self.shared) };
        }
    }
}

impl<T> fmt::Debug for Completions<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completions").field("made", &self.made).finish_non_exhaustive()
    }
}

/// A member's end of a completion queue: reports once, from any thread, when dropped.
pub struct Reporter<T> {
    slot: NonNull<Slot<T>>,
}

// SAFETY: a reporter moves its `T` to the owner's thread, so it is `Send` when `T` is;
// `&Reporter` only reads the cancel flag.
unsafe impl<T: Send> Send for Reporter<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Reporter<T> {}

impl<T> Reporter<T> {
    fn header(&self) -> (&Header<T>, usize) {
        let (header, offset) = Segment::of(self.slot);
        // SAFETY: the segment lives as long as the shared state, which this reporter's share
        // keeps.
        (unsafe { header.as_ref() }, offset)
    }

    fn shared(&self) -> &Shared<T> {
        // SAFETY: this reporter's share keeps the state alive.
        unsafe { self.header().0.shared.as_ref() }
    }

    fn slot(&self) -> &Slot<T> {
        // SAFETY: the slot lives as long as the shared state, and is this reporter's until it
        // reports.
        unsafe { self.slot.as_ref() }
    }

    /// The index the owner knows this slot by.
    fn index(&self) -> u32 {
        let (header, offset) = self.header();
        header.base + offset as u32
    }

    /// This member's waker cell, made with the segment's cells if no member of it made them;
    /// `None` when a cancel closed the segment (it found no cells to wake).
    fn cell(&self) -> Option<&WakerCell> {
        let (header, offset) = self.header();
        let current = header.wakers.load(Acquire);
        let cells = match NonNull::new(current) {
            _ if current == CLOSED => return None,
            Some(cells) => cells,
            None => {
                let made: Box<[WakerCell]> = (0..Segment::<T>::LEN)
                    .map(|_| WakerCell { locked: AtomicBool::new(false), waker: UnsafeCell::new(None) })
                    .collect();
                let made = Box::into_raw(made).cast::<WakerCell>();
                match header.wakers.compare_exchange(ptr::null_mut(), made, AcqRel, Acquire) {
                    // SAFETY: just made, not null.
                    Ok(_) => unsafe { NonNull::new_unchecked(made) },
                    Err(theirs) => {
                        // SAFETY: ours, never shared: freed as it was made.
                        drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(made, Segment::<T>::LEN)) });
                        if theirs == CLOSED {
                            // A cancel closed the segment: nothing to register for.
                            return None;
                        }
                        // SAFETY: another member's cells, published non-null.
                        unsafe { NonNull::new_unchecked(theirs) }
                    }
                }
            }
        };
        // SAFETY: cells of this reporter's segment, alive with it; `offset < LEN`.
        Some(unsafe { Segment::<T>::cell(cells, offset) })
    }

    /// Whether the owner cancelled the members.
    pub fn is_cancelled(&self) -> bool {
        self.shared().cancelled.0.load(Acquire)
    }

    /// Stores `waker` for a cancel to wake (a no-op when it is the one stored last), then
    /// returns whether the owner cancelled the members: a cancel either finds the waker or is
    /// seen here.
    pub fn register(&mut self, waker: &Waker) -> bool {
        let Some(cell) = self.cell() else {
            return true;
        };
        // SAFETY: only this reporter writes its cell's waker, so reading it needs no lock.
        let same = cell.waker.with(|stored| unsafe { (*stored).as_ref().is_some_and(|w| w.will_wake(waker)) });
        if !same {
            let new = waker.clone();
            cell.lock();
            // SAFETY: under the lock: the owner does not read it meanwhile.
            let old = cell.waker.with_mut(|stored| unsafe { (*stored).replace(new) });
            cell.unlock();
            // Outside the lock: a waker's destructor may be anyone's code.
            drop(old);
        }
        // A cancel that found the cell is ordered by its lock: it raised the flag before it took
        // the lock. One that found no cells closed the segment, and `cell` saw that.
        self.is_cancelled()
    }

    /// Sets the value this reporter reports when it is dropped (replacing one set before).
    pub fn set(&mut self, value: T) {
        // SAFETY: the slot belongs to this reporter until it pushes it, in `drop`.
        let old = self.slot().value.with_mut(|slot| unsafe { (*slot).replace(value) });
        drop(old);
    }
}

impl<T> Drop for Reporter<T> {
    /// Publishes the slot and gives up this reporter's share; wakes the owner if it waits.
    fn drop(&mut self) {
        let (header, offset) = self.header();
        let shared_ptr = header.shared;
        let index = u64::from(header.base) + offset as u64;
        let shared = self.shared();
        let slot = self.slot();
        let word = &shared.word.0;
        let mut current = word.load(Relaxed);
        let pushed = loop {
            // SAFETY: the slot is still ours: nobody reads it before the push below lands.
            slot.next.with_mut(|next| unsafe { *next = (current & HEAD) as u32 });
            let mut next = (current & !(HEAD | WAITING)) | (index + 1);
            // Waking the owner needs the state a moment longer: keep the share, flag WAKING.
            next = if current & WAITING != 0 { next | WAKING } else { next - COUNT_ONE };
            // Release publishes the slot; acquire, for the case this ends the count.
            match word.compare_exchange_weak(current, next, AcqRel, Relaxed) {
                Ok(_) => break next,
                Err(actual) => current = actual,
            }
        };
        if current & WAITING == 0 {
            if count(pushed) == 0 {
                // SAFETY: the count reached 0 in our acquiring step: the owner is gone and so
                // is every other reporter.
                unsafe { Shared::free(shared_ptr) };
            }
            return;
        }
        // SAFETY: we cleared WAITING (setting WAKING): the owner does not touch the slot until
        // WAKING is clear again.
        let waker = shared.waker.with_mut(|waker| unsafe { (*waker).take() });
        let previous = word.fetch_sub(WAKING + COUNT_ONE, AcqRel);
        if count(previous) == 1 {
            // SAFETY: as above: the count is now 0.
            unsafe { Shared::free(shared_ptr) };
        }
        if let Some(waker) = waker {
            // The owner's waker may be anyone's, and may panic: not on the reporter's thread.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
        }
    }
}

impl<T> fmt::Debug for Reporter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reporter").field("index", &self.index()).finish()
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::task::Wake;
    use std::thread;

    /// Counts its drops.
    struct Counted(u32, Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.1.fetch_add(1, SeqCst);
        }
    }

    /// A waker that unparks a thread.
    struct Unpark(thread::Thread);

    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    /// A waker that counts its wakes.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    fn block_next<T>(queue: &mut Completions<T>) -> Option<T> {
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        loop {
            if let Poll::Ready(next) = queue.poll_next(&mut Context::from_waker(&waker)) {
                return next;
            }
            thread::park();
        }
    }

    fn report<T>(mut reporter: Reporter<T>, value: T) {
        reporter.set(value);
    }

    #[test]
    fn a_reporter_is_one_pointer_and_a_slot_is_small() {
        assert_eq!(std::mem::size_of::<Reporter<u64>>(), std::mem::size_of::<usize>());
        assert_eq!(std::mem::size_of::<Option<Reporter<u64>>>(), std::mem::size_of::<usize>());
        // A task set's report for a word-sized output: the output or a boxed panic.
        #[cfg(target_pointer_width = "64")]
        assert_eq!(Segment::<Result<usize, Box<crate::task::Panic>>>::SLOT, 24);
        assert_eq!(Segment::<u64>::BYTES, 4096);
    }

    #[test]
    fn large_and_overaligned_values_get_segments_that_fit_them() {
        #[repr(align(256))]
        #[derive(Debug, PartialEq)]
        struct Aligned(u8);
        fn round_trip<T: PartialEq + std::fmt::Debug>(make: impl Fn(usize) -> T) {
            assert!(Segment::<T>::LEN >= 16 && Segment::<T>::BYTES.is_power_of_two());
            let mut queue = Completions::new();
            let n = 3 * Segment::<T>::LEN + 1;
            let reporters: Vec<_> = (0..n).map(|_| queue.reporter()).collect();
            for (i, reporter) in reporters.into_iter().enumerate() {
                // Every slot lies in its own segment's bounds, at the segment's alignment.
                assert_eq!(reporter.index() as usize, i);
                assert_eq!(reporter.slot.as_ptr().addr() % align_of::<Slot<T>>(), 0);
                report(reporter, make(i));
            }
            let noop = &mut Context::from_waker(Waker::noop());
            for i in 0..n {
                assert_eq!(queue.poll_next(noop), Poll::Ready(Some(make(i))));
            }
        }
        round_trip(|i| [i as u8; 3000]);
        round_trip(|i| Aligned(i as u8));
        round_trip(|_| ());
    }

    #[test]
    fn reports_come_back_in_the_order_they_were_made() {
        let mut queue = Completions::new();
        let reporters: Vec<_> = (0..200).map(|_| queue.reporter()).collect();
        let mut made = Vec::new();
        for (i, reporter) in reporters.into_iter().enumerate().rev() {
            if i % 7 == 0 {
                drop(reporter);
                made.push(None);
            } else {
                report(reporter, i);
                made.push(Some(i));
            }
        }
        let noop = &mut Context::from_waker(Waker::noop());
        for expected in made {
            assert_eq!(queue.poll_next(noop), Poll::Ready(expected));
        }
        assert!(queue.poll_next(noop).is_pending());
        // Slots are reused once taken.
        report(queue.reporter(), 1);
        assert_eq!(queue.poll_next(noop), Poll::Ready(Some(1)));
        assert_eq!(queue.made, 200);
    }

    #[test]
    fn the_waiting_owner_is_woken_by_reports_from_other_threads() {
        let mut queue = Completions::new();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let reporters: Vec<_> = (0..200).map(|_| queue.reporter()).collect();
                thread::spawn(move || {
                    for (i, reporter) in reporters.into_iter().enumerate() {
                        if i % 50 == 0 {
                            thread::yield_now();
                        }
                        report(reporter, t * 1000 + i);
                    }
                })
            })
            .collect();
        let mut seen = Vec::new();
        for _ in 0..800 {
            seen.push(block_next(&mut queue).expect("reported"));
        }
        for thread in threads {
            thread.join().unwrap();
        }
        // Each thread's reports come in its own order, every one once.
        for t in 0..4 {
            let mine: Vec<_> = seen.iter().copied().filter(|v| v / 1000 == t).collect();
            assert_eq!(mine, (0..200).map(|i| t * 1000 + i).collect::<Vec<_>>());
        }
    }

    #[test]
    fn values_not_taken_are_dropped_once_whoever_is_last() {
        // The owner goes first; reporters report later, from other threads.
        let drops = Arc::new(AtomicUsize::new(0));
        let mut queue = Completions::new();
        let reporters: Vec<_> = (0..100).map(|_| queue.reporter()).collect();
        report(queue.reporter(), Counted(0, drops.clone()));
        drop(queue);
        assert_eq!(drops.load(SeqCst), 0, "reporters still hold the state");
        let threads: Vec<_> = reporters
            .into_iter()
            .enumerate()
            .map(|(i, reporter)| {
                let drops = drops.clone();
                thread::spawn(move || {
                    if i % 2 == 0 {
                        report(reporter, Counted(i as u32, drops));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(drops.load(SeqCst), 51);

        // The reporters go first, some while the owner waits; the owner frees what is left.
        let drops = Arc::new(AtomicUsize::new(0));
        let mut queue = Completions::new();
        let reporters: Vec<_> = (0..40).map(|_| queue.reporter()).collect();
        assert!(queue.poll_next(&mut Context::from_waker(Waker::noop())).is_pending());
        for (i, reporter) in reporters.into_iter().enumerate() {
            report(reporter, Counted(i as u32, drops.clone()));
        }
        assert_eq!(block_next(&mut queue).expect("reported").0, 0);
        assert_eq!(drops.load(SeqCst), 1);
        drop(queue);
        assert_eq!(drops.load(SeqCst), 40);
    }

    #[test]
    fn a_new_owner_waker_replaces_the_stored_one() {
        let ((first, first_waker), (second, second_waker)) = (counter(), counter());
        let mut queue = Completions::new();
        let reporter = queue.reporter();
        assert!(queue.poll_next(&mut Context::from_waker(&first_waker)).is_pending());
        assert!(queue.poll_next(&mut Context::from_waker(&second_waker)).is_pending());
        report(reporter, ());
        assert_eq!((first.0.load(SeqCst), second.0.load(SeqCst)), (0, 1));
        assert_eq!(queue.poll_next(&mut Context::from_waker(Waker::noop())), Poll::Ready(Some(())));
    }

    #[test]
    fn cancel_wakes_each_registered_member_once_with_its_latest_waker() {
        let mut queue = Completions::<()>::new();
        let mut reporters: Vec<_> = (0..3).map(|_| queue.reporter()).collect();
        let (old, old_waker) = counter();
        let (new, new_waker) = counter();
        let (other, other_waker) = counter();
        assert!(!reporters[0].register(&old_waker));
        // The same waker again: nothing to store; then a new one replaces it.
        assert!(!reporters[0].register(&old_waker));
        assert!(!reporters[0].register(&new_waker));
        assert!(!reporters[1].register(&other_waker));
        assert!(!reporters[0].is_cancelled());
        queue.cancel();
        assert_eq!([old.0.load(SeqCst), new.0.load(SeqCst), other.0.load(SeqCst)], [0, 1, 1]);
        assert!(reporters.iter().all(Reporter::is_cancelled));
        // A member registering after the cancel learns of it there.
        assert!(reporters[2].register(&other_waker));
        // A member made after the cancel is cancelled from the start.
        assert!(queue.reporter().is_cancelled());
    }

    #[test]
    fn a_member_of_a_segment_cancelled_before_any_waited_learns_of_it_when_it_waits() {
        let mut queue = Completions::<()>::new();
        let mut reporter = queue.reporter();
        queue.cancel();
        // The segment had no cells: the cancel closed it, and registering finds that.
        let (woken, waker) = counter();
        assert!(reporter.register(&waker));
        assert_eq!(woken.0.load(SeqCst), 0);
        drop(reporter);
        assert_eq!(queue.poll_next(&mut Context::from_waker(Waker::noop())), Poll::Ready(None));
    }

    #[test]
    fn poll_idle_waits_for_every_reporter() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut queue = Completions::new();
        let reporters: Vec<_> = (0..3).map(|_| queue.reporter()).collect();
        report(queue.reporter(), Counted(9, drops.clone()));
        let (woken, waker) = counter();
        let cx = &mut Context::from_waker(&waker);
        // Reports not taken are dropped; the three live reporters keep it waiting.
        assert!(queue.poll_idle(cx).is_pending());
        assert_eq!(drops.load(SeqCst), 1);
        let mut reporters = reporters.into_iter();
        let (first, rest): (Vec<_>, Vec<_>) = (reporters.next().into_iter().collect(), reporters.collect());
        drop(first);
        assert_eq!(woken.0.load(SeqCst), 1);
        assert!(queue.poll_idle(cx).is_pending());
        let last = thread::spawn(move || {
            for reporter in rest {
                report(reporter, Counted(1, drops.clone()));
            }
            drops
        });
        let drops = last.join().unwrap();
        assert!(queue.poll_idle(cx).is_ready());
        assert_eq!(drops.load(SeqCst), 3, "the values reported during the wait were dropped");
    }

    #[test]
    fn a_panicking_value_destructor_leaves_the_others_dropped() {
        struct Bomb(Arc<AtomicUsize>, bool);
        impl Drop for Bomb {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
                assert!(!self.1, "a value's destructor panics");
            }
        }
        let drops = Arc::new(AtomicUsize::new(0));
        let mut queue = Completions::new();
        for i in 0..5 {
            report(queue.reporter(), Bomb(drops.clone(), i == 1));
        }
        drop(queue);
        assert_eq!(drops.load(SeqCst), 5);
    }

    #[test]
    fn many_members_span_segments_and_reuse_them() {
        let mut queue = Completions::new();
        let noop = &mut Context::from_waker(Waker::noop());
        // Fewer under Miri, which runs this a thousand times slower; still several segments.
        let n = if cfg!(miri) { 300 } else { 5_000 };
        for round in 0..3 {
            let reporters: Vec<_> = (0..n).map(|_| queue.reporter()).collect();
            for (i, reporter) in reporters.into_iter().enumerate() {
                report(reporter, (round, i));
            }
            for i in 0..n {
                assert_eq!(queue.poll_next(noop), Poll::Ready(Some((round, i))));
            }
        }
        assert_eq!(queue.made as usize, n, "the second and third rounds reused the first round's slots");
    }
}
