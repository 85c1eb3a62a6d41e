//! The task ABI: one heap block per task, shared by the facade and every backend.
//!
//! A task is a single allocation, a header followed by the future's *stage* (the future while
//! it runs, then its output). The facade knows the future's type and the backend knows how to
//! schedule; neither knows the other's, so the block is built through [`NewTask`]: the facade
//! hands the backend an object that, given a [`Driver`], allocates the block and keeps the typed
//! [`JoinHandle`] for itself. The backend only ever sees a type-erased [`Task`].
//!
//! # The state word
//!
//! Everything that threads race on lives in one `AtomicUsize`:
//!
//! | bit | name | meaning |
//! |---|---|---|
//! | 0 | `SCHEDULED` | a run-queue entry exists, or the running poll must be followed by another |
//! | 1 | `RUNNING` | one thread owns the stage: it polls or drops the future |
//! | 2 | `COMPLETE` | the future is gone; the stage holds its outcome (or nothing) |
//! | 3 | `CANCELLED` | the join handle asked for the future to be dropped |
//! | 4 | `JOIN_INTEREST` | a join handle exists and will read the outcome |
//! | 5 | `JOIN_WAKER` | the join waker slot is published: only the runtime side may read it |
//! | 6 | `DRIVER_WAKER` | inline mode: the backend's waker is stored, never to change again |
//! | 7-8 | kind | scheduled, inline or blocking: which member of the driver slot is live |
//! | 9 | `SHUTDOWN` | the runtime asked for the future to be dropped ([`Task::shutdown`]) |
//! | 10.. | references | one per [`Task`], [`Waker`] and join handle |
//!
//! Invariants, each kept by the transitions below:
//! - The stage is touched only by the thread that set `RUNNING`, or after `COMPLETE` by the one
//!   owner of the outcome (the join handle while it has `JOIN_INTEREST`, else the runtime side).
//!   Every mode claims `RUNNING` before it polls or drops the future ([`Task::run`],
//!   [`Task::poll_inline`], a cancel, [`Task::shutdown`]): no caller of these safe functions,
//!   however it misuses them (two threads polling at once, a future shutting its own task down
//!   from inside its poll), can reach the stage while another thread does.
//! - A stop request (`CANCELLED` or `SHUTDOWN`) that finds the stage claimed is left for the
//!   claimer, which checks for one in the same atomic step that gives up `RUNNING`; one that
//!   finds it idle claims it and drops the future itself. So a requested stop always ends in
//!   `COMPLETE`, whichever side gets there first.
//! - The future is dropped where it lies, never moved out of the block first: it is pinned.
//! - `COMPLETE` is set once and never cleared; after it nobody polls or drops the future.
//! - A wake while `RUNNING` only sets `SCHEDULED`; the runner sees it when it stops and
//!   reschedules the task itself, so a wake is never lost and no task is polled twice at once.
//! - The join waker slot belongs to the join handle while `JOIN_WAKER` is clear and to the
//!   runtime side (read-only) while it is set.

use std::any::Any;
use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::sync::AtomicUsize;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

const SCHEDULED: usize = 1 << 0;
const RUNNING: usize = 1 << 1;
const COMPLETE: usize = 1 << 2;
const CANCELLED: usize = 1 << 3;
const JOIN_INTEREST: usize = 1 << 4;
const JOIN_WAKER: usize = 1 << 5;
const DRIVER_WAKER: usize = 1 << 6;
/// How the block is driven, set at allocation and never changed (see [`Driver`]).
const KIND_MASK: usize = 0b11 << 7;
const KIND_SCHEDULED: usize = 0 << 7;
const KIND_INLINE: usize = 1 << 7;
const KIND_BLOCKING: usize = 2 << 7;
const SHUTDOWN: usize = 1 << 9;
/// Either stop request: whoever holds `RUNNING` when one is set drops the future.
const STOP: usize = CANCELLED | SHUTDOWN;
const REF_ONE: usize = 1 << 10;
const REF_MASK: usize = !(REF_ONE - 1);
/// Past this many references something leaks them in a loop: abort rather than wrap around.
const MAX_REFS: usize = (isize::MAX as usize) & REF_MASK;

/// Message of the panic raised when a join handle's task was dropped by its runtime's shutdown.
pub const DROPPED_BY_SHUTDOWN: &str = "the awaited task was dropped because its runtime shut down before the task finished \
     (a task only runs while the `enter` call, or `#[runtime::main]`, that spawned it is running)";
pub(crate) const POLLED_AFTER_COMPLETION: &str = "`JoinHandle` polled after it returned the task's output";

/// A panic payload caught inside a task, resumed in whoever awaits it.
pub type Panic = Box<dyn Any + Send + 'static>;

/// Why a running task is being handed back to its scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reschedule {
    /// Woken while idle, by another task, the reactor, a timer or another thread.
    Woken,
    /// Woken while it was being polled (it yielded, or woke itself): it goes to the back of the
    /// queue so that it cannot starve the others.
    Yielded,
}

/// How a backend that owns its scheduling (rather than polling tasks inside its own task
/// objects) is told about a task.
pub trait Schedule: Send + Sync + 'static {
    /// Queues `task` to be [run](Task::run). Called from any thread, including threads that do
    /// not belong to the runtime, and after the runtime stopped (then the task is just dropped).
    fn schedule(&self, task: Task, how: Reschedule);

    /// The task completed (ran to its end, panicked, was cancelled or shut down): drop any
    /// bookkeeping that refers to it. Called exactly once per task, by the completing thread.
    fn release(&self, task: &Task);
}

/// A backend's scheduler, as a task block holds it: one thin pointer (the blocks are many, the
/// schedulers few). Make it once per instance and clone it per spawn.
#[derive(Clone)]
pub struct SchedulerRef(Arc<Arc<dyn Schedule>>);

impl SchedulerRef {
    /// Wraps `scheduler`.
    pub fn new(scheduler: Arc<dyn Schedule>) -> SchedulerRef {
        SchedulerRef(Arc::new(scheduler))
    }
}

impl fmt::Debug for SchedulerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SchedulerRef")
    }
}

/// How a task block is driven: chosen by the backend when it builds the block.
pub struct Driver(DriverKind);

enum DriverKind {
    /// The backend queues [`Task`]s and calls [`Task::run`]; wakes go through `Schedule`.
    Scheduled(SchedulerRef),
    /// The backend polls the task from inside one of its own tasks with [`Task::poll_inline`],
    /// one poll at a time and under the same waker every time (a backend task's waker). The
    /// slot keeps that waker so a cancel can ask for one more poll: written once, by the first
    /// poll that returns `Pending`, before `DRIVER_WAKER` is published; read-only after.
    Inline(UnsafeCell<Option<Waker>>),
    /// A blocking job: polled once, to completion, by a pool thread with
    /// [`Task::poll_inline`]. A cancel before it starts drops it on the spot.
    Blocking,
}

impl Driver {
    /// Tasks are queued through `scheduler` and run with [`Task::run`].
    pub fn scheduled(scheduler: SchedulerRef) -> Driver {
        Driver(DriverKind::Scheduled(scheduler))
    }

    /// Tasks are polled by the backend's own task objects with [`Task::poll_inline`].
    pub fn inline() -> Driver {
        Driver(DriverKind::Inline(UnsafeCell::new(None)))
    }

    /// A blocking job (`spawn_blocking`), run by one [`Task::poll_inline`] on a pool thread.
    pub fn blocking() -> Driver {
        Driver(DriverKind::Blocking)
    }
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            DriverKind::Scheduled(_) => "Driver::Scheduled",
            DriverKind::Inline(_) => "Driver::Inline",
            DriverKind::Blocking => "Driver::Blocking",
        })
    }
}

/// The type-independent start of every task block: 48 bytes on 64-bit targets.
#[repr(C)]
struct Header {
    state: AtomicUsize,
    vtable: &'static Vtable,
    driver: DriverSlot,
    join_waker: UnsafeCell<Option<Waker>>,
}

/// The driver's data; the kind bits of the state word say which member is live (they are set
/// at allocation and never change). A union rather than an enum saves the tag: every block
/// pays for it.
union DriverSlot {
    scheduled: ManuallyDrop<Scheduled>,
    /// Inline: the backend task's waker (see `DriverKind::Inline`). Blocking: unused, `None`.
    inline: ManuallyDrop<UnsafeCell<Option<Waker>>>,
}

struct Scheduled {
    scheduler: SchedulerRef,
    /// Free for the backend's bookkeeping (for example a slot in its list of live tasks).
    key: AtomicUsize,
}

impl Header {
    fn kind(&self) -> usize {
        self.state.load(Ordering::Relaxed) & KIND_MASK
    }

    fn scheduled(&self) -> Option<&Scheduled> {
        // SAFETY: the kind bits name the live member, and never change.
        (self.kind() == KIND_SCHEDULED).then(|| unsafe { &*self.driver.scheduled })
    }

    fn inline_slot(&self) -> Option<&UnsafeCell<Option<Waker>>> {
        // SAFETY: the kind bits name the live member, and never change.
        (self.kind() == KIND_INLINE).then(|| unsafe { &*self.driver.inline })
    }
}

impl Drop for Header {
    fn drop(&mut self) {
        let kind = self.state.load(Ordering::Relaxed) & KIND_MASK;
        // SAFETY: the kind bits name the live member; it is dropped once, here, with the block.
        unsafe {
            if kind == KIND_SCHEDULED {
                ManuallyDrop::drop(&mut self.driver.scheduled);
            } else {
                ManuallyDrop::drop(&mut self.driver.inline);
            }
        }
    }
}

impl Driver {
    /// The kind bits and the slot's contents.
    fn into_slot(self) -> (usize, DriverSlot) {
        match self.0 {
            DriverKind::Scheduled(scheduler) => (
                KIND_SCHEDULED,
                DriverSlot { scheduled: ManuallyDrop::new(Scheduled { scheduler, key: AtomicUsize::new(0) }) },
            ),
            DriverKind::Inline(slot) => (KIND_INLINE, DriverSlot { inline: ManuallyDrop::new(slot) }),
            DriverKind::Blocking => (KIND_BLOCKING, DriverSlot { inline: ManuallyDrop::new(UnsafeCell::new(None)) }),
        }
    }
}

/// The type-dependent operations on a block, one static table per future type.
struct Vtable {
    /// Polls the future (RUNNING held). On `Ready` the outcome is stored and the future dropped.
    poll: unsafe fn(NonNull<Header>, &mut Context<'_>) -> Poll<()>,
    /// Drops the future (RUNNING held); the stage records why.
    drop_future: unsafe fn(NonNull<Header>, Ending),
    /// Moves the outcome into `*mut Option<Outcome<T>>` (the one owner of the outcome).
    take_outcome: unsafe fn(NonNull<Header>, *mut ()),
    /// Drops the outcome (the one owner of the outcome).
    drop_outcome: unsafe fn(NonNull<Header>),
    /// Frees the block (last reference gone).
    dealloc: unsafe fn(NonNull<Header>),
}

#[derive(Clone, Copy)]
enum Ending {
    Cancelled,
    Shutdown,
}

impl Ending {
    /// Why a task with a stop request in `state` ends: the join handle's cancel wins, being the
    /// one someone awaits.
    fn of(state: usize) -> Ending {
        if state & CANCELLED != 0 { Ending::Cancelled } else { Ending::Shutdown }
    }
}

enum Stage<F: Future> {
    Pending(F),
    /// The panic payload is boxed once more so that the stage stays small (one thin pointer).
    Ready(Result<F::Output, Box<Panic>>),
    Cancelled,
    Shutdown,
    Taken,
}

/// What a join handle finds once its task completed.
#[derive(Debug)]
pub enum Outcome<T> {
    /// The future returned this value.
    Value(T),
    /// The future panicked with this payload.
    Panicked(Panic),
    /// The future was dropped by [`JoinHandle::cancel`] before it finished.
    Cancelled,
    /// The future was dropped by its runtime's shutdown before it finished.
    Shutdown,
}

#[repr(C)]
struct Cell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

impl<F: Future + Send + 'static> Cell<F>
where
    F::Output: Send + 'static,
{
    const VTABLE: Vtable = Vtable {
        poll: Self::poll,
        drop_future: Self::drop_future,
        take_outcome: Self::take_outcome,
        drop_outcome: Self::drop_outcome,
        dealloc: Self::dealloc,
    };

    /// A block with two references: one for the returned `Task`, one for the join handle
    /// (`joined`, with its interest in the outcome) or for a [`Kept`] (without).
    fn allocate(future: F, driver: Driver, joined: bool) -> NonNull<Header> {
        let (kind, driver) = driver.into_slot();
        let interest = if joined { JOIN_INTEREST } else { 0 };
        let cell = Box::new(Cell {
            header: Header {
                state: AtomicUsize::new((2 * REF_ONE) | SCHEDULED | interest | kind),
                vtable: &Self::VTABLE,
                driver,
                join_waker: UnsafeCell::new(None),
            },
            stage: UnsafeCell::new(Stage::Pending(future)),
        });
        NonNull::from(Box::leak(cell)).cast()
    }

    /// # Safety
    /// `ptr` is a live block of this type, and the caller has the access the vtable entry names.
    unsafe fn stage<'a>(ptr: NonNull<Header>) -> &'a mut Stage<F> {
        // SAFETY: `Cell` is `repr(C)` with the header first, so the header pointer is the cell
        // pointer; exclusive access to the stage is the caller's obligation (see the vtable).
        unsafe { &mut *(*ptr.cast::<Cell<F>>().as_ptr()).stage.get() }
    }

    unsafe fn poll(ptr: NonNull<Header>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: the caller holds RUNNING, which makes it the only thread touching the stage.
        let stage = unsafe { Self::stage(ptr) };
        let Stage::Pending(future) = stage else {
            unreachable!("a task's future is polled only while it is pending");
        };
        // SAFETY: the future lives in the heap block, which never moves, and is dropped in
        // place (by assigning the stage) before the block is freed.
        let future = unsafe { Pin::new_unchecked(future) };
        let result = match panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(Box::new(payload)),
        };
        set_stage(stage, Stage::Ready(result));
        Poll::Ready(())
    }

    unsafe fn drop_future(ptr: NonNull<Header>, ending: Ending) {
        // SAFETY: the caller holds RUNNING.
        let stage = unsafe { Self::stage(ptr) };
        set_stage(
            stage,
            match ending {
                Ending::Cancelled => Stage::Cancelled,
                Ending::Shutdown => Stage::Shutdown,
            },
        );
    }

    unsafe fn take_outcome(ptr: NonNull<Header>, dst: *mut ()) {
        // SAFETY: the caller owns the outcome (COMPLETE is set and it holds JOIN_INTEREST).
        let stage = unsafe { Self::stage(ptr) };
        let outcome = match std::mem::replace(stage, Stage::Taken) {
            Stage::Ready(Ok(value)) => Outcome::Value(value),
            Stage::Ready(Err(payload)) => Outcome::Panicked(*payload),
            Stage::Cancelled => Outcome::Cancelled,
            Stage::Shutdown => Outcome::Shutdown,
            Stage::Taken => panic!("{POLLED_AFTER_COMPLETION}"),
            Stage::Pending(_) => unreachable!("COMPLETE is set only after the future is gone"),
        };
        // SAFETY: the typed join handle passes a `*mut Option<Outcome<F::Output>>` (it was built
        // together with this vtable, for this `F`).
        unsafe { *dst.cast::<Option<Outcome<F::Output>>>() = Some(outcome) };
    }

    unsafe fn drop_outcome(ptr: NonNull<Header>) {
        // SAFETY: the caller owns the outcome.
        let stage = unsafe { Self::stage(ptr) };
        set_stage(stage, Stage::Taken);
    }

    unsafe fn dealloc(ptr: NonNull<Header>) {
        // SAFETY: the last reference is gone, so nothing else can reach the block; it was made
        // by `Box::new` in `allocate` with this very type.
        let cell = unsafe { Box::from_raw(ptr.cast::<Cell<F>>().as_ptr()) };
        // Whatever is left (normally nothing) may run user code in its destructor.
        let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(cell)));
    }
}

/// Replaces a stage, dropping the old value *where it lies*: a pending future is pinned in the
/// block, and may hold pointers into itself (a borrowed local across an `.await`, an intrusive
/// waiter list node such as Tokio's `Notify` keeps), so it must never be moved before its
/// destructor runs. A panic from that destructor is contained (a panicking `Drop` inside a
/// task must not take a worker down; the panic hook has printed it already).
fn set_stage<F: Future>(stage: &mut Stage<F>, new: Stage<F>) {
    let place: *mut Stage<F> = stage;
    // SAFETY: `place` comes from a live `&mut`, so it is valid, aligned and ours alone. The old
    // value is dropped exactly once, in place. If its destructor unwinds, Rust's drop glue has
    // still dropped its remaining fields, so the value counts as dropped either way, and the
    // bytes are then overwritten without being read or dropped again.
    unsafe {
        let _ = panic::catch_unwind(AssertUnwindSafe(|| std::ptr::drop_in_place(place)));
        std::ptr::write(place, new);
    }
}

/// A reference to a task block with the type-independent operations on it.
#[derive(Clone, Copy)]
struct RawTask {
    ptr: NonNull<Header>,
}

impl RawTask {
    fn header(&self) -> &Header {
        // SAFETY: a `RawTask` is only made from a pointer whose holder owns a reference, so the
        // block is live for as long as `self` is used.
        unsafe { self.ptr.as_ref() }
    }

    fn state(&self) -> &AtomicUsize {
        &self.header().state
    }

    fn ref_inc(&self) {
        let prev = self.state().fetch_add(REF_ONE, Ordering::Relaxed);
        if prev & REF_MASK >= MAX_REFS {
            std::process::abort();
        }
    }

    fn ref_dec(&self) {
        let prev = self.state().fetch_sub(REF_ONE, Ordering::AcqRel);
        debug_assert!(prev & REF_MASK >= REF_ONE);
        if prev & REF_MASK == REF_ONE {
            // SAFETY: that was the last reference.
            unsafe { (self.header().vtable.dealloc)(self.ptr) }
        }
    }

    /// Claims the stage of an idle task (sets `RUNNING`, plus `extra`). `Err(state)` when it is
    /// complete or running elsewhere.
    fn try_claim(&self, extra: usize) -> Result<usize, usize> {
        self.state().fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
            if s & (RUNNING | COMPLETE) != 0 { None } else { Some(s | RUNNING | extra) }
        })
    }

    /// Drops the future (RUNNING held) and completes the task.
    fn drop_future_and_complete(&self, ending: Ending) {
        // SAFETY: the caller holds RUNNING.
        unsafe { (self.header().vtable.drop_future)(self.ptr, ending) };
        self.complete();
    }

    /// Publishes the outcome (RUNNING held, stage already final).
    fn complete(&self) {
        let prev = self.state().fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| Some((s | COMPLETE) & !RUNNING));
        let prev = prev.unwrap_or_else(|s| s);
        if prev & JOIN_INTEREST == 0 {
            // SAFETY: nobody else will ever read the outcome: the join handle is gone.
            unsafe { (self.header().vtable.drop_outcome)(self.ptr) };
        } else if prev & JOIN_WAKER != 0 {
            // SAFETY: JOIN_WAKER was set when COMPLETE went up, so the slot is ours to read and
            // the join handle no longer writes it.
            if let Some(waker) = unsafe { &*self.header().join_waker.get() } {
                // The awaiter's waker may be anyone's, and may panic: that must neither take
                // the completing thread down nor skip the release below.
                let _ = panic::catch_unwind(AssertUnwindSafe(|| waker.wake_by_ref()));
            }
        }
        if let Some(scheduled) = self.header().scheduled() {
            // Borrows the caller's reference: no count change.
            let task = ManuallyDrop::new(Task { raw: *self });
            scheduled.scheduler.0.release(&task);
        }
    }

    fn scheduler(&self) -> Option<&Arc<dyn Schedule>> {
        self.header().scheduled().map(|scheduled| &*scheduled.scheduler.0)
    }

    /// Wakes a scheduled-mode task (see the module docs for the transitions).
    fn wake_by_ref(&self) {
        let mut cur = self.state().load(Ordering::Acquire);
        loop {
            if cur & (COMPLETE | SCHEDULED) != 0 {
                return;
            }
            let next = if cur & RUNNING != 0 { cur | SCHEDULED } else { (cur | SCHEDULED) + REF_ONE };
            match self.state().compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        if cur & RUNNING == 0 {
            // We took a reference for the queue entry above.
            if let Some(scheduler) = self.scheduler() {
                scheduler.schedule(Task { raw: *self }, Reschedule::Woken);
            } else {
                drop(Task { raw: *self });
            }
        }
    }

    fn raw_waker(&self) -> RawWaker {
        RawWaker::new(self.ptr.as_ptr().cast_const().cast(), &WAKER_VTABLE)
    }
}

static WAKER_VTABLE: RawWakerVTable = RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

/// # Safety
/// `data` comes from `RawTask::raw_waker`, and the waker it belongs to owns a reference.
unsafe fn raw_from_waker(data: *const ()) -> RawTask {
    // SAFETY: the data pointer of our wakers is always a non-null header pointer.
    RawTask { ptr: unsafe { NonNull::new_unchecked(data.cast_mut().cast()) } }
}

unsafe fn waker_clone(data: *const ()) -> RawWaker {
    // SAFETY: called on one of our wakers.
    let raw = unsafe { raw_from_waker(data) };
    raw.ref_inc();
    raw.raw_waker()
}

unsafe fn waker_wake(data: *const ()) {
    // SAFETY: called on one of our wakers, which owned a reference; it is given up here.
    let raw = unsafe { raw_from_waker(data) };
    raw.wake_by_ref();
    raw.ref_dec();
}

unsafe fn waker_wake_by_ref(data: *const ()) {
    // SAFETY: called on one of our wakers.
    unsafe { raw_from_waker(data) }.wake_by_ref();
}

unsafe fn waker_drop(data: *const ()) {
    // SAFETY: called on one of our wakers, which owned a reference.
    unsafe { raw_from_waker(data) }.ref_dec();
}

/// A backend's reference to a task: a run-queue entry, or an entry in its list of live tasks.
///
/// Dropping it gives up the reference; the block is freed with the last one.
pub struct Task {
    raw: RawTask,
}

// SAFETY: a task block only holds `Send` futures and outputs (`NewTask` requires it), and every
// shared field is either atomic or guarded by the state word's protocol.
unsafe impl Send for Task {}
// SAFETY: as above. Every operation `&Task` exposes either touches atomics only (`key`,
// `set_key`, `is_complete`, clones) or claims the stage with `RUNNING` before it touches it
// (`poll_inline`, `shutdown`; `run` takes the task by value), so no two threads ever reach the
// stage at once, whatever the caller does.
unsafe impl Sync for Task {}

impl Task {
    /// Polls the task once (scheduled mode), under a waker that reschedules it through the
    /// backend's [`Schedule`]. Returns after one poll; if the task was woken during the poll it
    /// has been handed back with [`Reschedule::Yielded`].
    pub fn run(self) {
        let raw = self.raw;
        let mut cur = raw.state().load(Ordering::Acquire);
        loop {
            if cur & (COMPLETE | RUNNING) != 0 {
                // Completed (by a cancel or a shutdown) while the entry sat in the queue.
                return;
            }
            let next = (cur | RUNNING) & !SCHEDULED;
            match raw.state().compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        if cur & STOP != 0 {
            raw.drop_future_and_complete(Ending::of(cur));
            return;
        }
        // SAFETY: our wakers own a reference each; this one borrows the queue entry's reference
        // for the duration of the poll (ManuallyDrop: dropping it must not give that up).
        let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw.raw_waker()) });
        let mut cx = Context::from_waker(&waker);
        // SAFETY: we hold RUNNING.
        if unsafe { (raw.header().vtable.poll)(raw.ptr, &mut cx) }.is_ready() {
            raw.complete();
            return;
        }
        let mut cur = raw.state().load(Ordering::Acquire);
        loop {
            if cur & STOP != 0 {
                raw.drop_future_and_complete(Ending::of(cur));
                return;
            }
            match raw.state().compare_exchange_weak(cur, cur & !RUNNING, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        if cur & SCHEDULED != 0 {
            // Woken while it ran: this entry's reference becomes the new queue entry's.
            if let Some(scheduler) = raw.scheduler() {
                scheduler.schedule(self, Reschedule::Yielded);
            }
        }
    }

    /// Polls the task under the caller's context (inline and blocking modes): the backend calls
    /// this from the `poll` of its own task object, always with that object's waker. `Ready`
    /// once the task has completed.
    ///
    /// The backend should not poll one task from two threads at once; if it does, or if the
    /// future shuts its own task down from inside its poll, the state word keeps the stage to
    /// one thread: a poll that finds the task being polled elsewhere asks its waker for another
    /// poll and returns `Pending` (a blocking job waits for the other thread instead, having
    /// only the one poll).
    pub fn poll_inline(&self, cx: &mut Context<'_>) -> Poll<()> {
        let raw = self.raw;
        let Some(slot) = raw.header().inline_slot() else {
            return self.poll_blocking(cx);
        };
        let claimed = match raw.try_claim(0) {
            Ok(state) => state,
            Err(state) if state & COMPLETE != 0 => return Poll::Ready(()),
            Err(_) => {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        };
        if claimed & STOP != 0 {
            raw.drop_future_and_complete(Ending::of(claimed));
            return Poll::Ready(());
        }
        // SAFETY: we hold RUNNING.
        if unsafe { (raw.header().vtable.poll)(raw.ptr, cx) }.is_ready() {
            raw.complete();
            return Poll::Ready(());
        }
        // A cancel wakes the backend's task through this waker: store it once. Only a join
        // handle can cancel, so a detached task stores nothing.
        let mut publish = 0;
        if claimed & (DRIVER_WAKER | JOIN_INTEREST) == JOIN_INTEREST {
            // SAFETY: we hold RUNNING and DRIVER_WAKER is clear: nobody reads the slot before it
            // is published, and only a RUNNING holder writes it, this once.
            unsafe { *slot.get() = Some(cx.waker().clone()) };
            publish = DRIVER_WAKER;
        }
        // Publishing the waker and giving up the stage in one step: a cancel either lands
        // before it (we see it here) or finds the waker (and asks for the poll that sees it).
        let released = raw.state().fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
            if s & STOP != 0 { None } else { Some((s & !RUNNING) | publish) }
        });
        if let Err(state) = released {
            raw.drop_future_and_complete(Ending::of(state));
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// `poll_inline` for a blocking job: its one poll runs the job to the end, so a claim that
    /// fails (a cancel dropping the job, or a misbehaving second poller) waits for the holder.
    fn poll_blocking(&self, cx: &mut Context<'_>) -> Poll<()> {
        let raw = self.raw;
        let claimed = loop {
            match raw.try_claim(0) {
                Ok(state) => break state,
                Err(state) if state & COMPLETE != 0 => return Poll::Ready(()),
                Err(_) => crate::sync::spin(),
            }
        };
        if claimed & STOP != 0 {
            raw.drop_future_and_complete(Ending::of(claimed));
            return Poll::Ready(());
        }
        // SAFETY: we hold RUNNING.
        if unsafe { (raw.header().vtable.poll)(raw.ptr, cx) }.is_ready() {
            raw.complete();
            return Poll::Ready(());
        }
        let released = raw.state().fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
            if s & STOP != 0 { None } else { Some(s & !RUNNING) }
        });
        if let Err(state) = released {
            raw.drop_future_and_complete(Ending::of(state));
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// Drops the future of a task that has not completed, as its runtime shuts down: its join
    /// handle then reports [`Outcome::Shutdown`] (or [`Outcome::Cancelled`] if a cancel came
    /// first). Does nothing to a completed task. If another thread is polling it, the future is
    /// dropped by that thread when its poll ends.
    pub fn shutdown(&self) {
        let raw = self.raw;
        loop {
            match raw.try_claim(0) {
                Ok(state) => {
                    raw.drop_future_and_complete(Ending::of(state | SHUTDOWN));
                    return;
                }
                Err(state) if state & COMPLETE != 0 => return,
                Err(_) => {
                    // Claimed elsewhere: the holder sees SHUTDOWN when it lets go. If it let go
                    // before the bit landed, nobody will: claim it after all.
                    let prev = raw.state().fetch_or(SHUTDOWN, Ordering::AcqRel);
                    if prev & (RUNNING | COMPLETE) != 0 {
                        return;
                    }
                }
            }
        }
    }

    /// Whether the task has completed.
    pub fn is_complete(&self) -> bool {
        self.raw.state().load(Ordering::Acquire) & COMPLETE != 0
    }

    /// The backend's bookkeeping word (see [`Task::set_key`]); 0 until set, and always 0 for
    /// tasks that are not scheduled-mode.
    pub fn key(&self) -> usize {
        self.raw.header().scheduled().map_or(0, |scheduled| scheduled.key.load(Ordering::Relaxed))
    }

    /// Stores a word of the backend's choosing in a scheduled-mode block, such as the task's
    /// slot in a list of live tasks, to be read back with [`Task::key`] (for example in
    /// [`Schedule::release`]). Ignored for other modes.
    pub fn set_key(&self, key: usize) {
        if let Some(scheduled) = self.raw.header().scheduled() {
            scheduled.key.store(key, Ordering::Relaxed);
        }
    }

    /// The address of the task block: stable and unique while the task is alive.
    pub fn id(&self) -> usize {
        self.raw.ptr.as_ptr() as usize
    }
}

impl Clone for Task {
    fn clone(&self) -> Task {
        self.raw.ref_inc();
        Task { raw: self.raw }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.raw.ref_dec();
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &format_args!("{:#x}", self.id()))
            .field("state", &format_args!("{:#x}", self.raw.state().load(Ordering::Relaxed)))
            .finish()
    }
}

/// The owner of a task's outcome, typed by the future's output.
pub struct JoinHandle<T>(Join<T>);

enum Join<T> {
    /// A task block (every backend's `Instance::spawn`).
    Block(BlockJoin<T>),
    /// A task spawned straight onto Tokio (see [`spawn_on`]).
    #[cfg(feature = "tokio")]
    Tokio(crate::tokio_join::TokioJoin<T>),
}

impl<T> JoinHandle<T> {
    fn block(raw: RawTask) -> JoinHandle<T> {
        JoinHandle(Join::Block(BlockJoin { raw, done: false, _output: std::marker::PhantomData }))
    }

    /// Whether the task completed (returned, panicked, was cancelled or shut down).
    pub fn is_finished(&self) -> bool {
        match &self.0 {
            Join::Block(join) => join.is_finished(),
            #[cfg(feature = "tokio")]
            Join::Tokio(join) => join.is_finished(),
        }
    }

    /// Whether [`poll_outcome`](Self::poll_outcome) already returned the outcome.
    pub fn is_terminated(&self) -> bool {
        match &self.0 {
            Join::Block(join) => join.done,
            #[cfg(feature = "tokio")]
            Join::Tokio(join) => join.is_terminated(),
        }
    }

    /// Waits for the task to complete and takes its outcome.
    ///
    /// # Panics
    /// When called again after it returned `Ready`.
    pub fn poll_outcome(&mut self, cx: &mut Context<'_>) -> Poll<Outcome<T>> {
        match &mut self.0 {
            Join::Block(join) => join.poll_outcome(cx),
            #[cfg(feature = "tokio")]
            Join::Tokio(join) => join.poll_outcome(cx),
        }
    }

    /// Asks for the future to be dropped. It is dropped at once on this thread if the task is
    /// idle, else by the thread polling it when its poll ends (or, inline, at the next poll).
    /// Await the outcome afterwards: [`Outcome::Cancelled`] unless the task completed first.
    pub fn cancel(&self) {
        match &self.0 {
            Join::Block(join) => join.cancel(),
            #[cfg(feature = "tokio")]
            Join::Tokio(join) => join.cancel(),
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Join::Block(join) => join.fmt(f),
            #[cfg(feature = "tokio")]
            Join::Tokio(join) => join.fmt(f),
        }
    }
}

/// The join side of a task block.
struct BlockJoin<T> {
    raw: RawTask,
    /// The outcome was taken: polling again is a caller bug.
    done: bool,
    _output: std::marker::PhantomData<fn() -> T>,
}

// SAFETY: the handle moves a `T: Send` outcome between threads and otherwise only touches
// atomics and the join waker slot under the JOIN_WAKER protocol.
unsafe impl<T: Send> Send for BlockJoin<T> {}
// SAFETY: `&BlockJoin` only reads the state word.
unsafe impl<T: Send> Sync for BlockJoin<T> {}

impl<T> Unpin for BlockJoin<T> {}

impl<T> BlockJoin<T> {
    fn is_finished(&self) -> bool {
        self.raw.state().load(Ordering::Acquire) & COMPLETE != 0
    }

    fn poll_outcome(&mut self, cx: &mut Context<'_>) -> Poll<Outcome<T>> {
        assert!(!self.done, "{POLLED_AFTER_COMPLETION}");
        let state = self.raw.state();
        let header = self.raw.header();
        let mut cur = state.load(Ordering::Acquire);
        if cur & COMPLETE == 0 {
            if cur & JOIN_WAKER != 0 {
                // SAFETY: while JOIN_WAKER is set the runtime side only reads the slot, so a
                // shared read here is fine.
                let same = unsafe { &*header.join_waker.get() }.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
                if same {
                    return Poll::Pending;
                }
                // Take the slot back to replace the waker.
                match state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                    if s & COMPLETE != 0 { None } else { Some(s & !JOIN_WAKER) }
                }) {
                    Ok(_) => cur &= !JOIN_WAKER,
                    Err(actual) => cur = actual,
                }
            }
            if cur & COMPLETE == 0 {
                // SAFETY: JOIN_WAKER is clear and the task is not complete: the slot is ours.
                unsafe { *header.join_waker.get() = Some(cx.waker().clone()) };
                let published = state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                    if s & COMPLETE != 0 { None } else { Some(s | JOIN_WAKER) }
                });
                if published.is_ok() {
                    return Poll::Pending;
                }
                // Completed meanwhile; the slot is still ours. Its waker is dropped with the block.
            }
        }
        let mut outcome: Option<Outcome<T>> = None;
        // SAFETY: COMPLETE is set and we hold JOIN_INTEREST, so the outcome is ours; the vtable
        // was built for the future whose output is `T` (see `NewTask`).
        unsafe { (header.vtable.take_outcome)(self.raw.ptr, (&raw mut outcome).cast()) };
        self.done = true;
        Poll::Ready(outcome.expect("the vtable always writes an outcome"))
    }

    fn cancel(&self) {
        let raw = self.raw;
        if let Some(slot) = raw.header().inline_slot() {
            // The backend's task drops the future at its next poll: make sure there is one.
            let prev = raw.state().fetch_or(CANCELLED, Ordering::AcqRel);
            if prev & (COMPLETE | DRIVER_WAKER) == DRIVER_WAKER {
                // SAFETY: DRIVER_WAKER is published after the slot was written, and it is never
                // written again.
                if let Some(waker) = unsafe { &*slot.get() } {
                    waker.wake_by_ref();
                }
            }
            // Without a stored waker the task was never pending: its first poll, already
            // scheduled by the spawn, or the poll now storing the waker, sees CANCELLED.
            return;
        }
        loop {
            match raw.try_claim(CANCELLED) {
                Ok(_) => {
                    raw.drop_future_and_complete(Ending::Cancelled);
                    return;
                }
                Err(state) if state & COMPLETE != 0 => return,
                Err(_) => {
                    // Running elsewhere: the runner sees CANCELLED when its poll ends. If it
                    // stopped in between, claim it after all.
                    let prev = raw.state().fetch_or(CANCELLED, Ordering::AcqRel);
                    if prev & (RUNNING | COMPLETE) != 0 {
                        return;
                    }
                }
            }
        }
    }
}

impl<T> Drop for BlockJoin<T> {
    fn drop(&mut self) {
        let raw = self.raw;
        let mut cur = raw.state().load(Ordering::Acquire);
        loop {
            // Nothing to clean up (a detach before any await, or the outcome already taken):
            // give up the interest and the reference in one step.
            let clean = if cur & COMPLETE != 0 { self.done } else { cur & JOIN_WAKER == 0 };
            if clean {
                let next = (cur & !JOIN_INTEREST) - REF_ONE;
                match raw.state().compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) if next & REF_MASK == 0 => {
                        // SAFETY: that was the last reference.
                        unsafe { (raw.header().vtable.dealloc)(raw.ptr) };
                        return;
                    }
                    Ok(_) => return,
                    Err(actual) => {
                        cur = actual;
                        continue;
                    }
                }
            }
            let next = if cur & COMPLETE != 0 { cur & !JOIN_INTEREST } else { cur & !(JOIN_INTEREST | JOIN_WAKER) };
            match raw.state().compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        if cur & COMPLETE != 0 {
            if !self.done {
                // SAFETY: COMPLETE was set while we held JOIN_INTEREST: the outcome is ours.
                unsafe { (raw.header().vtable.drop_outcome)(raw.ptr) };
            }
        } else {
            // SAFETY: we cleared JOIN_WAKER before COMPLETE: the slot is ours, and the completing
            // thread will not read it.
            let waker = unsafe { (*raw.header().join_waker.get()).take() };
            drop(waker);
        }
        raw.ref_dec();
    }
}

impl<T> fmt::Debug for BlockJoin<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("task", &format_args!("{:#x}", self.raw.ptr.as_ptr() as usize))
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// A future on its way into a task block: what [`Instance::spawn`](crate::Instance::spawn)
/// receives. The backend calls [`build`](NewTask::build) with its [`Driver`] to allocate the
/// block; the typed join handle goes straight back to the spawner.
pub struct NewTask<'a> {
    build: &'a mut dyn BuildTask,
}

impl fmt::Debug for NewTask<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewTask")
    }
}

impl NewTask<'_> {
    /// Allocates the task block (one allocation: header, future and output slot) and returns
    /// the backend's reference, which is scheduled: a scheduled-mode backend queues it, an
    /// inline-mode one wraps it in its own task.
    pub fn build(self, driver: Driver) -> Task {
        self.build.build(driver)
    }
}

trait BuildTask {
    fn build(&mut self, driver: Driver) -> Task;
}

struct Spawning<F: Future> {
    future: Option<F>,
    join: Option<JoinHandle<F::Output>>,
    /// Keep a reference without a join handle ([`Kept`]) instead.
    keep_only: bool,
    kept: Option<Task>,
}

impl<F: Future> Spawning<F> {
    fn new(future: F, keep_only: bool) -> Spawning<F> {
        Spawning { future: Some(future), join: None, keep_only, kept: None }
    }
}

impl<F> BuildTask for Spawning<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn build(&mut self, driver: Driver) -> Task {
        let future = self.future.take().expect("`NewTask::build` is called at most once");
        let ptr = Cell::allocate(future, driver, !self.keep_only);
        let raw = RawTask { ptr };
        if self.keep_only {
            self.kept = Some(Task { raw });
        } else {
            self.join = Some(JoinHandle::block(raw));
        }
        Task { raw }
    }
}

/// Builds a task block for `future` driven by `driver`, outside any instance: for backends that
/// make tasks of their own (and for the loom models). [`Instance::spawn`](crate::Instance::spawn)
/// goes through [`NewTask`] instead.
pub fn build<F>(future: F, driver: Driver) -> (Task, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut spawning = Spawning::new(future, false);
    let task = spawning.build(driver);
    (task, spawning.join.expect("`build` stores the join handle"))
}

/// A blocking closure as a future: runs it in its one poll.
struct BlockingJob<F>(Option<F>);

impl<F> Unpin for BlockingJob<F> {}

impl<T, F: FnOnce() -> T> Future for BlockingJob<F> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<T> {
        let job = self.0.take().expect("a blocking job is polled once");
        Poll::Ready(job())
    }
}

/// Hands `job` to `instance`'s blocking pool, returning its typed join handle.
///
/// # Errors
/// The instance refused the job (it has shut down): `job` is dropped unrun.
pub fn spawn_blocking_on<F, T>(instance: &dyn crate::Instance, job: F) -> Result<JoinHandle<T>, crate::SpawnError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let mut spawning = Spawning::new(BlockingJob(Some(job)), false);
    instance.spawn_blocking(NewTask { build: &mut spawning })?;
    spawning.join.ok_or_else(crate::SpawnError::shutdown)
}

/// Spawns `future` on `instance`, returning its typed join handle.
///
/// # Errors
/// The instance refused the task (it has shut down): `future` is dropped.
pub fn spawn_on<F>(instance: &dyn crate::Instance, future: F) -> Result<JoinHandle<F::Output>, crate::SpawnError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // A backend on Tokio takes the future as it is: Tokio's task is then the only allocation,
    // as with a plain `tokio::spawn`.
    #[cfg(feature = "tokio")]
    if let Some(handle) = instance.tokio_handle() {
        return Ok(JoinHandle(Join::Tokio(crate::tokio_join::TokioJoin::new(handle?.spawn(future)))));
    }
    spawn_erased_on(instance, future)
}

/// Spawns `future` through [`Instance::spawn`](crate::Instance::spawn), as a task block, even
/// where [`spawn_on`] would take a backend's typed path: for callers that want the type-erased
/// interface itself (and for testing a backend's `spawn`).
///
/// # Errors
/// The instance refused the task (it has shut down): `future` is dropped.
pub fn spawn_erased_on<F>(instance: &dyn crate::Instance, future: F) -> Result<JoinHandle<F::Output>, crate::SpawnError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut spawning = Spawning::new(future, false);
    instance.spawn(NewTask { build: &mut spawning })?;
    spawning.join.ok_or_else(crate::SpawnError::shutdown)
}

/// What [`spawn_unjoined_on`] keeps of a task: its memory, until this is dropped. It neither
/// joins nor cancels.
pub struct Kept(#[allow(dead_code, reason = "held for its drop, which lets go of the task")] KeptTask);

#[allow(dead_code, reason = "each variant is held for its drop")]
enum KeptTask {
    /// A reference to a task block, without interest in its outcome.
    Block(Task),
    #[cfg(feature = "tokio")]
    Tokio(tokio::task::JoinHandle<()>),
}

impl fmt::Debug for Kept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kept")
    }
}

/// Spawns `future` on `instance` for a caller that takes the output some other way (a task
/// set's member reports it), keeping a reference to the task only where that pays.
///
/// A task is freed by whoever lets go of it last. Without a reference that is the worker that
/// completes it, and on a runtime with several threads that frees memory across threads (into
/// the allocator arena of the thread that made it, under that arena's lock, racing its next
/// allocations): keeping a reference until the output was taken, then dropping it on the
/// spawner's thread, costs less. The reference is a [`Kept`]: no join interest (the output,
/// `()`, is dropped where the task completes), so letting go of it is one atomic step. On
/// Tokio's current-thread runtime every task is made and freed on the one thread: there nothing
/// is kept (`None`).
///
/// # Errors
/// The instance refused the task (it has shut down): `future` is dropped.
#[inline]
pub fn spawn_unjoined_on<F>(instance: &dyn crate::Instance, future: F) -> Result<Option<Kept>, crate::SpawnError>
where
    F: Future<Output = ()> + Send + 'static,
{
    #[cfg(feature = "tokio")]
    if let Some(handle) = instance.tokio_handle() {
        let handle = handle?;
        let join = handle.spawn(future);
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread {
            // Dropped while the task has not run yet: Tokio's cheapest detach.
            drop(join);
            return Ok(None);
        }
        return Ok(Some(Kept(KeptTask::Tokio(join))));
    }
    let mut spawning = Spawning::new(future, true);
    instance.spawn(NewTask { build: &mut spawning })?;
    match spawning.kept {
        Some(task) => Ok(Some(Kept(KeptTask::Block(task)))),
        None => Err(crate::SpawnError::shutdown()),
    }
}

impl<T: Send + 'static> JoinHandle<T> {
    /// A handle for a task that a stopped instance refused: awaiting it reports
    /// [`Outcome::Shutdown`], as for a task dropped by that instance's shutdown.
    pub fn shut_down() -> JoinHandle<T> {
        let (task, join) = build(std::future::pending::<T>(), Driver::inline());
        task.shutdown();
        join
    }
}

#[cfg(all(test, target_pointer_width = "64", not(runtime_loom)))]
mod tests {
    use super::*;

    /// Every task pays for the header: keep it at six words.
    #[test]
    fn header_is_six_words() {
        assert_eq!(std::mem::size_of::<Header>(), 48);
    }

    /// A block for a 16-byte future with a word-sized output fits a 80-byte allocation.
    #[test]
    fn small_task_block() {
        struct Sixteen([u64; 2]);
        impl Future for Sixteen {
            type Output = u64;
            fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u64> {
                Poll::Ready(self.0[0])
            }
        }
        assert_eq!(std::mem::size_of::<Cell<Sixteen>>(), 72);
    }
}
