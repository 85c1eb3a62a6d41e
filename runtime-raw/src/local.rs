//! Local tasks: futures that are not `Send`, run on the thread that entered the runtime.
//!
//! [`enter_with`](crate::enter_with) runs them itself, interleaved with the entry future, so
//! every backend has them without doing anything. While it polls the entry future (and each
//! local task), a thread-local names the entering thread's set of local tasks, which
//! [`spawn_local`] adds to; nowhere else is one named. A spawned task is polled by the backend
//! outside that window (on a current-thread backend too, although on the same thread), so
//! `spawn_local` there finds no set.
//!
//! A local task is one box holding the future and, after it, the sending half of its join
//! state. The join state (`Arc<JoinShared>`) is all a [`LocalJoin`] holds, so the join handle
//! is `Send` exactly when the output is, and no `unsafe` is needed: the future never leaves the
//! entering thread. Wakers are `Send + Sync`: a wake from any thread queues the task's id and
//! wakes the entry future's waker, and the next poll of the entry runs the task.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use crate::task::Outcome;

/// Message of the panic when [`spawn_local`] finds no set of local tasks on this thread.
pub const SPAWN_LOCAL_ELSEWHERE: &str = "`runtime::task::spawn_local` may only be called from the entry future (the \
     `async` body of `#[runtime::main]` or `#[runtime::test]`, or the future given to `runtime::raw::enter`) and from \
     local tasks, which run on the thread that entered the runtime; it was called elsewhere (a spawned task, a \
     blocking job, or outside any runtime). Spawn a `Send` future with `runtime::spawn`, or send the work to the \
     entry future through a channel";

/// Local tasks polled per poll of the entry before the backend gets the thread back: enough to
/// make a poll worth its overhead, few enough that the backend's own work (a current-thread
/// backend runs its spawned tasks on this thread) is not starved by a busy local task.
const LOCAL_BUDGET: usize = 64;

thread_local! {
    /// The set of local tasks of the entry being polled on this thread, if any.
    static CURRENT_SET: RefCell<Option<Rc<LocalSet>>> = const { RefCell::new(None) };
}

/// The local tasks of one `enter_with` call, owned by its entry future on the entering thread.
pub(crate) struct LocalSet {
    /// By id, which grows with each spawn: iteration order is spawn order. `None` while the
    /// task is being polled (taken out, so that it may spawn more).
    tasks: RefCell<BTreeMap<u64, Option<LocalTask>>>,
    next_id: Cell<u64>,
    /// Shut down: a spawn now gets a join handle that reports the shutdown.
    closed: Cell<bool>,
    wakeups: Arc<Wakeups>,
}

struct LocalTask {
    future: Pin<Box<dyn LocalFuture>>,
    waker: Arc<TaskWaker>,
    /// The same waker as a `Waker`, made once.
    as_waker: Waker,
}

/// A local task's future, type-erased.
trait LocalFuture {
    /// Polls it; a panic is caught and becomes the outcome.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;

    /// Its join handle asked for it to be dropped.
    fn cancel_requested(&self) -> bool;
}

/// What crosses threads: the ids of woken tasks and the entry future's waker.
struct Wakeups {
    state: Mutex<WakeState>,
}

struct WakeState {
    ready: VecDeque<u64>,
    entry: Option<Waker>,
}

impl Wakeups {
    fn lock(&self) -> MutexGuard<'_, WakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct TaskWaker {
    id: u64,
    /// In the ready queue already: another wake adds nothing.
    queued: AtomicBool,
    wakeups: Arc<Wakeups>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let entry = {
            let mut state = self.wakeups.lock();
            state.ready.push_back(self.id);
            state.entry.clone()
        };
        if let Some(entry) = entry {
            entry.wake();
        }
    }
}

impl LocalSet {
    pub(crate) fn new() -> LocalSet {
        LocalSet {
            tasks: RefCell::new(BTreeMap::new()),
            next_id: Cell::new(0),
            closed: Cell::new(false),
            wakeups: Arc::new(Wakeups { state: Mutex::new(WakeState { ready: VecDeque::new(), entry: None }) }),
        }
    }

    /// Whether no local task is left.
    pub(crate) fn is_empty(&self) -> bool {
        self.tasks.borrow().is_empty()
    }

    fn spawn<F>(&self, future: F) -> LocalJoin<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        // Queued from the start: its first poll comes with the next run of the set.
        let waker = Arc::new(TaskWaker { id, queued: AtomicBool::new(true), wakeups: self.wakeups.clone() });
        let as_waker = Waker::from(waker.clone());
        let shared = Arc::new(JoinShared {
            state: Mutex::new(JoinState { outcome: None, finished: false, waker: None }),
            cancel: AtomicBool::new(false),
            task: as_waker.clone(),
        });
        let join = LocalJoin { shared: shared.clone(), done: false };
        let cell = LocalCell { future, publisher: Publisher { shared, result: None } };
        if self.closed.get() {
            // Spawned while the set shuts down (from a destructor): dropped at once, reported
            // as a shutdown, as a spawn on a stopped instance is.
            drop_contained(cell);
            return join;
        }
        self.tasks.borrow_mut().insert(id, Some(LocalTask { future: Box::pin(cell), waker, as_waker }));
        self.wakeups.lock().ready.push_back(id);
        join
    }

    /// Polls the woken local tasks, up to the budget. `true` when woken ones remain: the caller
    /// should be polled again soon.
    pub(crate) fn run(&self) -> bool {
        for _ in 0..LOCAL_BUDGET {
            let Some(id) = self.wakeups.lock().ready.pop_front() else {
                return false;
            };
            // A wake of a task that has completed since finds nothing.
            let Some(mut task) = self.tasks.borrow_mut().get_mut(&id).and_then(Option::take) else {
                continue;
            };
            // Before the poll: a wake during it queues the task again.
            task.waker.queued.store(false, Ordering::Release);
            let done = task.future.cancel_requested()
                || task.future.as_mut().poll(&mut Context::from_waker(&task.as_waker)).is_ready();
            if done {
                self.tasks.borrow_mut().remove(&id);
                drop_contained(task);
            } else if let Some(slot) = self.tasks.borrow_mut().get_mut(&id) {
                *slot = Some(task);
            }
        }
        !self.wakeups.lock().ready.is_empty()
    }

    /// Stores the entry's waker for wakes from other threads. `true` when a task was woken
    /// meanwhile: the caller should be polled again.
    pub(crate) fn register(&self, waker: &Waker) -> bool {
        let mut state = self.wakeups.lock();
        if !state.entry.as_ref().is_some_and(|entry| entry.will_wake(waker)) {
            state.entry = Some(waker.clone());
        }
        !state.ready.is_empty()
    }

    /// Drops every local task, in spawn order, on this thread. Later spawns are refused.
    pub(crate) fn shut_down(&self) {
        self.closed.set(true);
        let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
        for (_, task) in tasks {
            drop_contained(task);
        }
        let mut state = self.wakeups.lock();
        state.ready.clear();
        state.entry = None;
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        // Only reached with tasks left when the backend returned without completing the entry.
        self.shut_down();
    }
}

/// Drops `value`, containing a panic of its destructor (the panic hook has reported it): a
/// task's destructor must not take the entry down with it, as on the backends' threads.
fn drop_contained<T>(value: T) {
    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(value)));
}

/// Makes `set` this thread's current set of local tasks until the guard drops.
pub(crate) fn scope(set: &Rc<LocalSet>) -> Scope {
    let previous = CURRENT_SET.with(|current| current.replace(Some(set.clone())));
    Scope { previous }
}

/// Restores the previous set (normally none) when dropped; see [`scope`].
pub(crate) struct Scope {
    previous: Option<Rc<LocalSet>>,
}

impl Drop for Scope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let replaced = CURRENT_SET.try_with(|current| current.replace(previous));
        drop(replaced);
    }
}

/// Spawns `future` as a local task of the entry being polled on this thread: it runs on this
/// thread, interleaved with the entry future, until it completes or the entry's `enter` call
/// ends (then it is dropped on this thread before `enter` returns).
///
/// Returns `None`, dropping `future`, when called anywhere but from the entry future or a
/// local task (the facade panics with [`SPAWN_LOCAL_ELSEWHERE`]).
pub fn spawn_local<F>(future: F) -> Option<LocalJoin<F::Output>>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let set = CURRENT_SET.try_with(|current| current.borrow().clone()).ok().flatten()?;
    Some(set.spawn(future))
}

/// Whether [`spawn_local`] may be called here.
pub fn is_local_context() -> bool {
    CURRENT_SET.try_with(|current| current.borrow().is_some()).unwrap_or(false)
}

pin_project_lite::pin_project! {
    /// A local task's future followed by its publisher: the fields drop in this order, so the
    /// future is gone before the outcome is published (a cancel resolves after the drop).
    struct LocalCell<F: Future> {
        #[pin]
        future: F,
        publisher: Publisher<F::Output>,
    }
}

impl<F: Future> LocalFuture for LocalCell<F> {
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let outcome = match panic::catch_unwind(AssertUnwindSafe(|| this.future.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(value)) => Outcome::Value(value),
            Err(payload) => Outcome::Panicked(payload),
        };
        this.publisher.result = Some(outcome);
        Poll::Ready(())
    }

    fn cancel_requested(&self) -> bool {
        self.publisher.shared.cancel.load(Ordering::Acquire)
    }
}

/// Publishes the task's outcome when dropped: its result, or, dropped before it had one, a
/// cancel (if one was asked for) or a shutdown.
struct Publisher<T> {
    shared: Arc<JoinShared<T>>,
    result: Option<Outcome<T>>,
}

impl<T> Drop for Publisher<T> {
    fn drop(&mut self) {
        let outcome = self.result.take().unwrap_or_else(|| {
            if self.shared.cancel.load(Ordering::Acquire) { Outcome::Cancelled } else { Outcome::Shutdown }
        });
        let waker = {
            let mut state = self.shared.lock();
            state.outcome = Some(outcome);
            state.finished = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            // The awaiter's waker may be anyone's, and may panic.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
        }
    }
}

/// What a local task and its join handle share.
struct JoinShared<T> {
    state: Mutex<JoinState<T>>,
    cancel: AtomicBool,
    /// The task's waker, for a cancel to get it polled (and so dropped).
    task: Waker,
}

struct JoinState<T> {
    outcome: Option<Outcome<T>>,
    /// The outcome was published (it may have been taken since).
    finished: bool,
    waker: Option<Waker>,
}

impl<T> JoinShared<T> {
    fn lock(&self) -> MutexGuard<'_, JoinState<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The owner of a local task's outcome: `Send` when the output is.
pub struct LocalJoin<T> {
    shared: Arc<JoinShared<T>>,
    /// The outcome was taken: polling again is a caller bug.
    done: bool,
}

impl<T> LocalJoin<T> {
    /// Whether the task completed (returned, panicked, was cancelled or shut down).
    pub fn is_finished(&self) -> bool {
        self.shared.lock().finished
    }

    /// Whether [`poll_outcome`](Self::poll_outcome) already returned the outcome.
    pub fn is_terminated(&self) -> bool {
        self.done
    }

    /// Waits for the task to complete and takes its outcome.
    ///
    /// # Panics
    /// When called again after it returned `Ready`.
    pub fn poll_outcome(&mut self, cx: &mut Context<'_>) -> Poll<Outcome<T>> {
        assert!(!self.done, "{}", crate::task::POLLED_AFTER_COMPLETION);
        let mut state = self.shared.lock();
        match state.outcome.take() {
            Some(outcome) => {
                self.done = true;
                Poll::Ready(outcome)
            }
            None => {
                if !state.waker.as_ref().is_some_and(|waker| waker.will_wake(cx.waker())) {
                    state.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }

    /// Asks for the future to be dropped: on the entering thread, at the next run of the local
    /// tasks. Await the outcome afterwards: [`Outcome::Cancelled`] unless it completed first.
    pub fn cancel(&self) {
        if !self.is_finished() {
            self.shared.cancel.store(true, Ordering::Release);
            self.shared.task.wake_by_ref();
        }
    }
}

impl<T> fmt::Debug for LocalJoin<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("task", &"local").field("finished", &self.is_finished()).finish()
    }
}
