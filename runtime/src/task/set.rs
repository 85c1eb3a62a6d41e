//! `TaskSet`: tasks joined in the order they finish, cancelled together.
//!
//! Each task of a set is its future wrapped in a [`Member`]. A member catches its future's
//! output or panic, drops the future, and queues the outcome in the set's [`Shared`] state,
//! waking the joiner if it waits; `join_next` takes the queue in one lock and pops it, so
//! joining waits on no task. A member dropped before it had an outcome (by its runtime's
//! shutdown, or a refused spawn) queues that fact instead. The set keeps as many join handles
//! as it has tasks and drops the oldest at each join: they neither cancel nor join, but a
//! handle let go at once would be let go while another worker runs its task (contending for
//! the task's state), and a finished task's memory is then freed on the set's thread.
//!
//! Cancelling works without handles: the set raises `cancelled` and wakes every member that is
//! waiting (a member stores its task's waker in the set the first time it returns `Pending`,
//! and again only if the waker changes); a member polled with `cancelled` up drops its future.
//! Each member counts itself `finished` once its future is gone, which is what `cancel_all`
//! waits for. Per task that is one `Arc` clone and one short lock at completion beside the
//! handle a plain spawn keeps, where that spawn pays for the handle's await: a member that
//! never waits never registers.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::panics;
use crate::raw;
use crate::raw::task::Outcome;

/// Message of the panic when a task of a set was dropped before it finished, and the set did
/// not cancel it: its runtime shut down.
const MEMBER_DROPPED: &str = raw::task::DROPPED_BY_SHUTDOWN;

/// A member's key in [`State::waiting`] before it registered a waker.
const NOT_REGISTERED: usize = usize::MAX;

/// Outcomes are queued in chunks of this many: the queue grows without moving (or reallocating)
/// what it holds, and the joiner hands drained chunks back for reuse.
const CHUNK: usize = 64;

/// Drained chunks a set keeps for reuse, at most.
const SPARE_CHUNKS: usize = 64;

/// A run of queued outcomes, oldest first.
type Chunk<T> = VecDeque<Outcome<T>>;

/// A set of spawned tasks with the same output: joined in the order they finish, cancelled
/// together, and cancelled when the set is dropped.
///
/// A task's panic resumes in [`join_next`](TaskSet::join_next), which then belongs to the
/// caller, as with a [`JoinHandle`](super::JoinHandle).
///
/// # Examples
/// ```
/// use runtime::task::TaskSet;
///
/// #[runtime::main]
/// async fn main() {
///     let mut set = TaskSet::new();
///     for i in 0..10u64 {
///         set.spawn(async move { i * i });
///     }
///     let mut sum = 0;
///     while let Some(square) = set.join_next().await {
///         sum += square;
///     }
///     assert_eq!(sum, 285);
/// }
/// ```
pub struct TaskSet<T> {
    len: usize,
    /// Members spawned into `shared`, finished or not: what `cancel_all` waits for.
    spawned: usize,
    /// Made by the first spawn (so that `new` works anywhere and allocates nothing), let go by
    /// `cancel_all` (the members it cancelled report to the old one, which nobody reads).
    shared: Option<Arc<Shared<T>>>,
    /// Outcomes taken from the shared queue in one go, to join without a lock each: the
    /// chunks before `ready_at` are drained, the others are joined in order.
    ready: Vec<Chunk<T>>,
    ready_at: usize,
    /// As many join handles as the set has tasks, oldest first, dropped one per join (see the
    /// module docs).
    handles: VecDeque<raw::task::JoinHandle<()>>,
}

/// What a set shares with its members. Each part has cache lines of its own: the `Arc`'s count
/// changes with every spawn and every member's end, the lock with every completion, and the
/// flag is read by every poll.
struct Shared<T> {
    /// Raised (under the lock, with `State::cancelled`) by `cancel_all` or the set's drop; read
    /// by a member at the start of each poll, without the lock.
    cancelled: Padded<AtomicBool>,
    state: Padded<Mutex<State<T>>>,
}

/// A value alone on its cache lines (two, as the adjacent-line prefetcher pairs them).
#[repr(align(128))]
struct Padded<T>(T);

struct State<T> {
    /// The outcomes of the members that finished, in that order.
    done: Vec<Chunk<T>>,
    /// Drained chunks, empty, for `done` to reuse.
    spare: Vec<Chunk<T>>,
    /// The joiner's waker.
    joiner: Option<Waker>,
    /// The wakers of members that returned `Pending`, by key (`None`: a free key).
    waiting: Vec<Option<Waker>>,
    free: Vec<usize>,
    /// Members whose future is gone (finished, cancelled, or dropped by a shutdown).
    finished: usize,
    cancelled: bool,
    /// After a cancel: how many members there are, and the waker of the `cancel_all` future
    /// waiting for all of them to finish.
    cancel_target: usize,
    canceller: Option<Waker>,
}

impl<T> State<T> {
    /// Queues an outcome after those already queued.
    fn push(&mut self, outcome: Outcome<T>) {
        if let Some(last) = self.done.last_mut()
            && last.len() < CHUNK
        {
            last.push_back(outcome);
            return;
        }
        let mut chunk = self.spare.pop().unwrap_or_else(|| VecDeque::with_capacity(CHUNK));
        chunk.push_back(outcome);
        self.done.push(chunk);
    }
}

impl<T> Shared<T> {
    fn new() -> Shared<T> {
        Shared {
            cancelled: Padded(AtomicBool::new(false)),
            state: Padded(Mutex::new(State {
                done: Vec::new(),
                spare: Vec::new(),
                joiner: None,
                waiting: Vec::new(),
                free: Vec::new(),
                finished: 0,
                cancelled: false,
                cancel_target: 0,
                canceller: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Cancels every member of `spawned`: members that wait are woken to drop their futures,
    /// the others drop theirs at their next poll. Outputs not joined are dropped.
    fn cancel(&self, spawned: usize) {
        let (done, waiting) = {
            let mut state = self.lock();
            state.cancelled = true;
            self.cancelled.0.store(true, Ordering::Release);
            state.cancel_target = spawned;
            state.free.clear();
            state.spare = Vec::new();
            (std::mem::take(&mut state.done), std::mem::take(&mut state.waiting))
        };
        // Outside the lock: an output's destructor or a waker may do anything.
        drop(done);
        for waker in waiting.into_iter().flatten() {
            // A member's waker is its task's, but may be anyone's: a panic must not stop the
            // other members' cancels.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
        }
    }

    /// Resolves once every member spawned (`spawned`, as passed to `cancel`) has finished.
    fn poll_cancelled(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.finished >= state.cancel_target {
            return Poll::Ready(());
        }
        if !state.canceller.as_ref().is_some_and(|waker| waker.will_wake(cx.waker())) {
            state.canceller = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// A member's link to its set: where it registers its waker and reports its outcome.
struct Notice<T> {
    shared: Arc<Shared<T>>,
    /// Its key in `State::waiting`, or `NOT_REGISTERED`.
    key: usize,
    /// The waker registered there, to skip the lock while it stays the same.
    registered: Option<Waker>,
    /// The future is gone and that was reported.
    finished: bool,
}

impl<T> Notice<T> {
    /// Stores `waker` for a cancel to wake; `false` when the set has been cancelled meanwhile
    /// (the member must then drop its future itself).
    fn register(&mut self, waker: &Waker) -> bool {
        if self.registered.as_ref().is_some_and(|registered| registered.will_wake(waker)) {
            // A cancel wakes this very waker (or the member already saw the cancel).
            return true;
        }
        // Cloned and dropped outside the lock: a waker may run any code.
        let stored = waker.clone();
        let old = {
            let mut state = self.shared.lock();
            if state.cancelled {
                return false;
            }
            if self.key == NOT_REGISTERED {
                self.key = state.free.pop().unwrap_or_else(|| {
                    state.waiting.push(None);
                    state.waiting.len() - 1
                });
            }
            state.waiting[self.key].replace(stored)
        };
        drop(old);
        self.registered = Some(waker.clone());
        true
    }

    /// Reports that the future is gone, with its outcome (`None` for a cancel): queued for the
    /// joiner unless the set was cancelled, in which case the `cancel_all` future may be done.
    fn finish(&mut self, outcome: Option<Outcome<T>>) {
        self.finished = true;
        let (to_wake, unread, unregistered) = {
            let mut state = self.shared.lock();
            state.finished += 1;
            let mut unregistered = None;
            if self.key != NOT_REGISTERED && !state.cancelled {
                unregistered = state.waiting[self.key].take();
                state.free.push(self.key);
            }
            if state.cancelled {
                let to_wake = if state.finished >= state.cancel_target { state.canceller.take() } else { None };
                (to_wake, outcome, unregistered)
            } else {
                if let Some(outcome) = outcome {
                    state.push(outcome);
                }
                (state.joiner.take(), None, unregistered)
            }
        };
        // Outside the lock: a cancelled member's output, and wakers, may run any code.
        drop(unread);
        drop(unregistered);
        if let Some(waker) = to_wake {
            // The joiner's waker may be anyone's, and may panic: not on this task's thread.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
        }
    }
}

impl<T> Drop for Notice<T> {
    fn drop(&mut self) {
        if !self.finished {
            // Dropped unfinished (its future already gone): by the runtime's shutdown, or by a
            // refused spawn.
            self.finish(Some(Outcome::Shutdown));
        }
    }
}

pin_project_lite::pin_project! {
    /// A task of a set: the future until it has an outcome, then its notice alone. The fields
    /// drop in order: a future dropped unfinished is gone before its notice reports it.
    struct Member<F: Future> {
        #[pin]
        future: Option<F>,
        notice: Notice<F::Output>,
    }
}

impl<F: Future> Member<F> {
    /// Drops the future of a cancelled member and reports it. A panic of its destructor is
    /// dropped with it: the set does not want this task's outcome.
    fn cancel(self: Pin<&mut Self>) -> Poll<()> {
        let mut this = self.project();
        let _ = panic::catch_unwind(AssertUnwindSafe(|| this.future.set(None)));
        this.notice.finish(None);
        Poll::Ready(())
    }
}

impl<F: Future> Future for Member<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.future.is_none() {
            return Poll::Ready(());
        }
        if self.notice.shared.cancelled.0.load(Ordering::Acquire) {
            return self.cancel();
        }
        let mut this = self.as_mut().project();
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            unreachable!("checked above");
        };
        let outcome = match panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => {
                if this.notice.register(cx.waker()) {
                    return Poll::Pending;
                }
                return self.cancel();
            }
            Ok(Poll::Ready(value)) => Outcome::Value(value),
            Err(payload) => Outcome::Panicked(payload),
        };
        // The future is dropped before its outcome can be joined, as with a join handle; a
        // panic of its destructor is the task's panic.
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| this.future.set(None))) {
            drop(outcome);
            this.notice.finish(Some(Outcome::Panicked(payload)));
            return Poll::Ready(());
        }
        this.notice.finish(Some(outcome));
        Poll::Ready(())
    }
}

impl<T> TaskSet<T> {
    /// An empty set. Works anywhere, also outside a runtime; it allocates nothing.
    ///
    /// # Examples
    /// ```
    /// let set = runtime::task::TaskSet::<u8>::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> TaskSet<T> {
        TaskSet { len: 0, spawned: 0, shared: None, ready: Vec::new(), ready_at: 0, handles: VecDeque::new() }
    }

    /// How many tasks are in the set: running, or finished and not yet joined.
    ///
    /// # Examples
    /// ```
    /// #[runtime::main]
    /// async fn main() {
    ///     let mut set = runtime::task::TaskSet::new();
    ///     set.spawn(async { 1 });
    ///     assert_eq!(set.len(), 1);
    ///     set.join_next().await;
    ///     assert_eq!(set.len(), 0);
    /// }
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set has no task.
    ///
    /// # Examples
    /// ```
    /// assert!(runtime::task::TaskSet::<()>::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Spawns `future` on the running runtime as a task of this set.
    ///
    /// # Examples
    /// ```
    /// #[runtime::main(runtime_tokio::Tokio)]
    /// async fn main() {
    ///     let mut set = runtime::task::TaskSet::new();
    ///     set.spawn(async { "done" });
    ///     assert_eq!(set.join_next().await, Some("done"));
    /// }
    /// ```
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let recorder = panics::in_scope();
        crate::with_instance("runtime::task::TaskSet::spawn", |instance| {
            let shared = self.shared.get_or_insert_with(|| Arc::new(Shared::new())).clone();
            let notice = Notice { shared, key: NOT_REGISTERED, registered: None, finished: false };
            // A panic goes through the recorder (inside the member) before the member catches
            // it: unjoined, it stays unclaimed and fails the test, as a detached task's does.
            // The task is detached: the set cancels it through its notice. A stopped instance
            // drops the member, whose notice queues a shutdown: joining it reports that, as
            // awaiting a refused spawn's handle does.
            let spawned = match recorder {
                None => raw::task::spawn_on(&**instance, Member { future: Some(future), notice }),
                Some(recorder) => raw::task::spawn_on(
                    &**instance,
                    Member { future: Some(panics::Recorded::new(future, recorder)), notice },
                ),
            };
            self.handles.push_back(spawned.unwrap_or_else(|_| raw::task::JoinHandle::shut_down()));
        });
        self.spawned += 1;
        self.len += 1;
    }

    /// Waits for the next task of the set to finish and returns its output; `None` when the
    /// set is empty. Tasks are joined in the order they finish.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use runtime::time::Delay;
    ///
    /// #[runtime::main]
    /// async fn main() {
    ///     let mut set = runtime::task::TaskSet::new();
    ///     set.spawn(async { Delay::new(Duration::from_millis(50)).await; "slow" });
    ///     set.spawn(async { "fast" });
    ///     assert_eq!(set.join_next().await, Some("fast"));
    ///     assert_eq!(set.join_next().await, Some("slow"));
    ///     assert_eq!(set.join_next().await, None);
    /// }
    /// ```
    ///
    /// # Panics
    /// If the task panicked, with its original payload (the task is then out of the set); if
    /// it was dropped by its runtime's shutdown, as awaiting its `JoinHandle` would.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future before it resolves loses no output; the task stays in
    /// the set.
    pub fn join_next(&mut self) -> impl Future<Output = Option<T>> + '_ {
        futures::future::poll_fn(move |cx| self.poll_join_next(cx))
    }

    fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        let outcome = loop {
            if let Some(chunk) = self.ready.get_mut(self.ready_at) {
                match chunk.pop_front() {
                    Some(outcome) => break outcome,
                    None => {
                        self.ready_at += 1;
                        continue;
                    }
                }
            }
            let Some(shared) = &self.shared else {
                unreachable!("a set with tasks has its shared state");
            };
            let mut state = shared.lock();
            if state.done.is_empty() {
                if !state.joiner.as_ref().is_some_and(|waker| waker.will_wake(cx.waker())) {
                    state.joiner = Some(cx.waker().clone());
                }
                return Poll::Pending;
            }
            // Everything queued so far, in order; the drained chunks go back for reuse.
            let room = SPARE_CHUNKS.saturating_sub(state.spare.len());
            state.spare.extend(self.ready.drain(..).take(room));
            std::mem::swap(&mut state.done, &mut self.ready);
            self.ready_at = 0;
        };
        self.len -= 1;
        drop(self.handles.pop_front());
        Poll::Ready(Some(match outcome {
            Outcome::Value(value) => value,
            Outcome::Panicked(payload) => panic::resume_unwind(panics::claim(payload)),
            Outcome::Shutdown | Outcome::Cancelled => panic!("{MEMBER_DROPPED}"),
        }))
    }

    /// Cancels every task of the set: the returned future resolves once each task's future has
    /// been dropped (or the task had finished). The set is empty from the call on; outputs not
    /// yet joined are dropped.
    ///
    /// A task that had panicked is not resumed here: its panic stays unjoined (under
    /// `#[runtime::test]` it fails the test, as a detached task's panic does).
    ///
    /// # Examples
    /// ```
    /// #[runtime::main]
    /// async fn main() {
    ///     let mut set = runtime::task::TaskSet::new();
    ///     for _ in 0..3 {
    ///         set.spawn(futures::future::pending::<()>());
    ///     }
    ///     set.cancel_all().await;
    ///     assert!(set.is_empty());
    /// }
    /// ```
    ///
    /// # Cancel safety
    /// The cancels are requested when this is called; dropping the future only stops waiting
    /// for them to take effect.
    pub fn cancel_all(&mut self) -> impl Future<Output = ()> + use<T> {
        let shared = self.shared.take();
        let spawned = std::mem::take(&mut self.spawned);
        self.len = 0;
        // Outputs not joined, and panics, go with it: a panic there stays unclaimed.
        self.ready.clear();
        self.ready_at = 0;
        // The members drop their futures (see `Shared::cancel`): the handles only detach.
        self.handles.clear();
        if let Some(shared) = &shared {
            shared.cancel(spawned);
        }
        futures::future::poll_fn(move |cx| match &shared {
            Some(shared) => shared.poll_cancelled(cx),
            None => Poll::Ready(()),
        })
    }
}

impl<T> Default for TaskSet<T> {
    fn default() -> TaskSet<T> {
        TaskSet::new()
    }
}

impl<T> Drop for TaskSet<T> {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            shared.cancel(self.spawned);
        }
    }
}

impl<T> fmt::Debug for TaskSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskSet").field("len", &self.len).finish_non_exhaustive()
    }
}
