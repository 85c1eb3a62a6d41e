//! `TaskSet`: tasks joined in the order they finish, cancelled together.
//!
//! Each task of a set is its future wrapped in a [`Member`], which catches the future's output
//! or panic, drops the future, and queues `(slot, outcome)` in the set's completions, waking
//! the joiner if it waits. `join_next` pops the queue: the output travels with the completion,
//! so joining never waits on a join handle. The set keeps each task's raw join handle only to
//! cancel it. A member dropped before it had an outcome (by shutdown, or by a cancel) queues
//! that fact instead. Per task that is one `Arc` clone and one short lock at completion, beside
//! the handle a plain spawn keeps.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::panics;
use crate::raw;
use crate::raw::task::Outcome;

/// Message of the panic when a task of a set was dropped before it finished, and the set did
/// not cancel it: its runtime shut down.
const MEMBER_DROPPED: &str = raw::task::DROPPED_BY_SHUTDOWN;

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
    /// The tasks' raw join handles by slot, to cancel them; `None` for a free slot.
    slots: Vec<Option<raw::task::JoinHandle<()>>>,
    free: Vec<usize>,
    len: usize,
    /// Made by the first spawn (so that `new` works anywhere and allocates nothing), replaced
    /// by `cancel_all` (so that completions of tasks it let go cannot name the slots of new
    /// ones).
    completions: Option<Arc<Completions<T>>>,
    /// Outcomes taken from the completions in one go, to join without a lock each.
    ready: VecDeque<(usize, Outcome<T>)>,
}

/// The outcomes of the tasks that completed, in that order, and the joiner's waker.
struct Completions<T> {
    state: Mutex<CompletionState<T>>,
}

struct CompletionState<T> {
    done: VecDeque<(usize, Outcome<T>)>,
    waker: Option<Waker>,
}

impl<T> Completions<T> {
    fn lock(&self) -> MutexGuard<'_, CompletionState<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a task's outcome and wakes the joiner.
    fn push(&self, slot: usize, outcome: Outcome<T>) {
        let waker = {
            let mut state = self.lock();
            state.done.push_back((slot, outcome));
            state.waker.take()
        };
        if let Some(waker) = waker {
            // The joiner's waker may be anyone's, and may panic: not on this task's thread.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
        }
    }
}

/// Where a member reports: its set's completions and its slot there.
struct Notice<T> {
    completions: Arc<Completions<T>>,
    slot: usize,
    /// The outcome was queued.
    sent: bool,
}

impl<T> Notice<T> {
    fn send(&mut self, outcome: Outcome<T>) {
        self.sent = true;
        self.completions.push(self.slot, outcome);
    }
}

impl<T> Drop for Notice<T> {
    fn drop(&mut self) {
        if !self.sent {
            // Dropped unfinished: cancelled by the set (which no longer reads these
            // completions) or by the runtime's shutdown.
            self.completions.push(self.slot, Outcome::Shutdown);
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

impl<F: Future> Future for Member<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            return Poll::Ready(());
        };
        let outcome = match panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(value)) => Outcome::Value(value),
            Err(payload) => Outcome::Panicked(payload),
        };
        // The future is dropped before its outcome can be joined, as with a join handle; a
        // panic of its destructor is the task's panic.
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| this.future.set(None))) {
            drop(outcome);
            this.notice.send(Outcome::Panicked(payload));
            return Poll::Ready(());
        }
        this.notice.send(outcome);
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
        TaskSet { slots: Vec::new(), free: Vec::new(), len: 0, completions: None, ready: VecDeque::new() }
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
            let completions = self
                .completions
                .get_or_insert_with(|| {
                    Arc::new(Completions { state: Mutex::new(CompletionState { done: VecDeque::new(), waker: None }) })
                })
                .clone();
            let slot = self.free.pop().unwrap_or_else(|| {
                self.slots.push(None);
                self.slots.len() - 1
            });
            let notice = Notice { completions, slot, sent: false };
            // A panic goes through the recorder (inside the member) before the member catches
            // it: unjoined, it stays unclaimed and fails the test, as a detached task's does.
            let spawned = match recorder {
                None => raw::task::spawn_on(&**instance, Member { future: Some(future), notice }),
                Some(recorder) => raw::task::spawn_on(
                    &**instance,
                    Member { future: Some(panics::Recorded::new(future, recorder)), notice },
                ),
            };
            // A stopped instance dropped the member, whose notice queued a shutdown: joining
            // it reports that, as awaiting a refused spawn's handle does.
            self.slots[slot] = Some(spawned.unwrap_or_else(|_| raw::task::JoinHandle::shut_down()));
        });
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
        if self.ready.is_empty() {
            let Some(completions) = &self.completions else {
                unreachable!("a set with tasks has its completions");
            };
            let mut state = completions.lock();
            if state.done.is_empty() {
                if !state.waker.as_ref().is_some_and(|waker| waker.will_wake(cx.waker())) {
                    state.waker = Some(cx.waker().clone());
                }
                return Poll::Pending;
            }
            // Everything queued so far, in order; the queue keeps this buffer's capacity.
            std::mem::swap(&mut state.done, &mut self.ready);
        }
        let Some((slot, outcome)) = self.ready.pop_front() else {
            unreachable!("taken from a non-empty queue");
        };
        // The task has finished: dropping its handle only lets go of the block.
        self.slots[slot] = None;
        self.free.push(slot);
        self.len -= 1;
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
        let handles: Vec<raw::task::JoinHandle<()>> = self.slots.drain(..).flatten().collect();
        self.free.clear();
        self.len = 0;
        // Outputs not joined, and panics, go with it: a panic there stays unclaimed.
        self.completions = None;
        self.ready.clear();
        for handle in &handles {
            handle.cancel();
        }
        async move {
            for mut handle in handles {
                futures::future::poll_fn(|cx| handle.poll_outcome(cx)).await;
            }
        }
    }
}

impl<T> Default for TaskSet<T> {
    fn default() -> TaskSet<T> {
        TaskSet::new()
    }
}

impl<T> Drop for TaskSet<T> {
    fn drop(&mut self) {
        for handle in self.slots.iter().flatten() {
            handle.cancel();
        }
    }
}

impl<T> fmt::Debug for TaskSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskSet").field("len", &self.len).finish_non_exhaustive()
    }
}
