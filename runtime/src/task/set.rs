//! `TaskSet`: tasks joined in the order they finish, cancelled together.
//!
//! Each task of a set is its future followed by a [`Notice`]: when the task's future is
//! dropped (it finished, panicked, or was cancelled or shut down), the notice queues the task's
//! slot in the set's completions and wakes the set's waker. `join_next` takes the first slot
//! queued and awaits that task's join handle, which completes right after its future is gone.
//! Per task that is one `Arc` clone and one short lock at completion, beside the join handle a
//! plain spawn keeps.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::{JoinHandle, panics};
use crate::raw;
use crate::raw::task::Outcome;

/// A set of spawned tasks with the same output: joined in the order they finish, cancelled
/// together, and cancelled when the set is dropped.
///
/// A task's panic resumes in [`join_next`](TaskSet::join_next), which then belongs to the
/// caller, as with a [`JoinHandle`].
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
    /// The tasks' join handles by slot; `None` for a free slot.
    slots: Vec<Option<JoinHandle<T>>>,
    free: Vec<usize>,
    len: usize,
    /// Made by the first spawn (so that `new` works anywhere and allocates nothing), replaced
    /// by `cancel_all` (so that notices of tasks it let go cannot name the slots of new ones).
    completions: Option<Arc<Completions>>,
    /// A slot taken from the completions whose join handle has not reported yet.
    next: Option<usize>,
}

/// The slots of the tasks whose futures are gone, in that order, and the joiner's waker.
struct Completions {
    state: Mutex<CompletionState>,
}

struct CompletionState {
    done: VecDeque<usize>,
    waker: Option<Waker>,
}

impl Completions {
    fn lock(&self) -> MutexGuard<'_, CompletionState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Queues its slot when dropped, with the task's future (which comes first in [`Member`]).
struct Notice {
    completions: Arc<Completions>,
    slot: usize,
}

impl Drop for Notice {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.completions.lock();
            state.done.push_back(self.slot);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

pin_project_lite::pin_project! {
    /// A task of a set: the fields drop in order, the future before the notice.
    struct Member<F> {
        #[pin]
        future: F,
        notice: Notice,
    }
}

impl<F: Future> Future for Member<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().future.poll(cx)
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
        TaskSet { slots: Vec::new(), free: Vec::new(), len: 0, completions: None, next: None }
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
        let handle = crate::with_instance("runtime::task::TaskSet::spawn", |instance| {
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
            let member = Member { future, notice: Notice { completions, slot } };
            // A stopped instance drops the future, whose notice queues the slot; joining it
            // then reports the shutdown, as awaiting a refused spawn's handle does.
            let handle = super::spawn_on(&**instance, member, recorder).unwrap_or_else(|_| JoinHandle::shut_down());
            (slot, handle)
        });
        let (slot, handle) = handle;
        self.slots[slot] = Some(handle);
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
        let Some(completions) = self.completions.clone() else {
            unreachable!("a set with tasks has its completions");
        };
        loop {
            let slot = match self.next.take() {
                Some(slot) => slot,
                None => {
                    let mut state = completions.lock();
                    match state.done.pop_front() {
                        Some(slot) => slot,
                        None => {
                            if !state.waker.as_ref().is_some_and(|waker| waker.will_wake(cx.waker())) {
                                state.waker = Some(cx.waker().clone());
                            }
                            return Poll::Pending;
                        }
                    }
                }
            };
            let Some(handle) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            // Its future is gone; the handle reports once the task has completed, which the
            // backend does right after (and wakes us).
            let Poll::Ready(outcome) = handle.poll_outcome(cx) else {
                self.next = Some(slot);
                return Poll::Pending;
            };
            self.slots[slot] = None;
            self.free.push(slot);
            self.len -= 1;
            return Poll::Ready(Some(match outcome {
                Outcome::Value(value) => value,
                Outcome::Panicked(payload) => std::panic::resume_unwind(panics::claim(payload)),
                Outcome::Shutdown => panic!("{}", raw::task::DROPPED_BY_SHUTDOWN),
                Outcome::Cancelled => unreachable!("only the set cancels its tasks, and it lets go of them then"),
            }));
        }
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
        let handles: Vec<JoinHandle<T>> = self.slots.drain(..).flatten().collect();
        self.free.clear();
        self.len = 0;
        self.next = None;
        self.completions = None;
        for handle in &handles {
            handle.request_cancel();
        }
        async move {
            for mut handle in handles {
                let outcome = futures::future::poll_fn(|cx| handle.poll_outcome(cx)).await;
                if let Outcome::Panicked(payload) = outcome {
                    drop(panics::unclaimed(payload));
                }
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
            handle.request_cancel();
        }
    }
}

impl<T> fmt::Debug for TaskSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskSet").field("len", &self.len).finish_non_exhaustive()
    }
}
