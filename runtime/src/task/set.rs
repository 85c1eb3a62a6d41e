//! `TaskSet`: tasks joined in the order they finish, cancelled together.
//!
//! Each task of a set is its future wrapped in a [`Member`], which holds a reporter of the set's
//! completion queue (`runtime_raw::completion`). A member catches its future's output or panic,
//! drops the future, and reports the outcome; `join_next` takes the reports in the order they
//! were made. A member dropped before it reported (by its runtime's shutdown, or a refused
//! spawn) reports nothing, which joins as a shutdown.
//!
//! A report is one compare-and-swap on the queue's shared word, which also gives up the
//! member's share of the queue: no lock, no reference count per member. The outcome travels in
//! the member's slot (24 bytes for a word-sized output), so the set never polls a join handle;
//! it keeps, where that pays, only a reference to each task ([`raw::task::Kept`]: no join
//! interest, no output), dropped one per join, oldest first, so that tasks are freed on the
//! set's thread rather than across threads (see `raw::task::spawn_unjoined_on`; on Tokio's
//! current-thread runtime nothing is kept). When `join_next` finds no report it yields once
//! before it waits, so that members queued behind it on its thread report together instead of
//! waking it one by one. So a task of a set costs no more than a spawn whose handle is kept and
//! awaited (bench rows `task_set_10k` and `spawn_many_10k`).
//!
//! Cancelling goes through the queue: it raises a flag that members read at each poll, and
//! wakes every member that waits (a member stores its task's waker in a cell beside its slot
//! when it returns `Pending`, taking the cell's lock only when the waker differs from the one
//! stored). A member that sees the flag drops its future and reports nothing; `cancel_all`
//! waits until every member has reported.

use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::panics;
use crate::raw;
use crate::raw::completion::{Completions, Reporter};
use crate::raw::task::Panic;

/// Message of the panic when a task of a set was dropped before it finished, and the set did
/// not cancel it: its runtime shut down.
const MEMBER_DROPPED: &str = raw::task::DROPPED_BY_SHUTDOWN;

/// What a member reports: its output, or its panic's payload (boxed once more, so that the
/// report stays small: it is in every member's slot).
type Outcome<T> = Result<T, Box<Panic>>;

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
    /// Made by the first spawn (so that `new` works anywhere and allocates nothing), taken by
    /// `cancel_all` (the next spawn makes a new one).
    queue: Option<Completions<Outcome<T>>>,
    /// References to the tasks, where keeping them pays (see `raw::task::spawn_unjoined_on`):
    /// as many as the set has tasks, oldest first, dropped one per join. They neither cancel
    /// nor join (the queue does); they make the set's thread the one that frees the tasks.
    kept: KeptTasks,
    /// `join_next` found nothing and yielded; the next time it finds nothing, it waits.
    yielded: bool,
}

pin_project_lite::pin_project! {
    /// A task of a set: its future and its reporter until it has an outcome, then nothing. A
    /// reporter reports when dropped; the future always goes first (the variant's fields drop
    /// in order, and `project_replace` drops the pinned future before it hands the reporter
    /// back), so a future dropped unfinished is gone before its joiner can hear of it. (An
    /// enum rather than an `Option` around the future: the reporter's niche keeps a member one
    /// pointer larger than its future, and a task's size counts: Tokio rounds it up to 128
    /// bytes.)
    #[project = MemberProj]
    #[project_replace = MemberDone]
    enum Member<F: Future> {
        Running {
            #[pin]
            future: F,
            reporter: Reporter<Outcome<F::Output>>,
        },
        Done,
    }
}

impl<F: Future> Member<F> {
    /// Drops the future in place, then the reporter, which reports `outcome` (`None`: a cancel).
    /// A panic of the future's destructor is contained, as a spawned task's is; the outcome
    /// is reported either way.
    fn finish(mut self: Pin<&mut Self>, outcome: Option<Outcome<F::Output>>) -> Poll<()> {
        if let (MemberProj::Running { reporter, .. }, Some(outcome)) = (self.as_mut().project(), outcome) {
            reporter.set(outcome);
        }
        // The reporter comes back, or is dropped while the panic unwinds: it reports either way.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| drop(self.project_replace(Member::Done))));
        Poll::Ready(())
    }
}

impl<F: Future> Future for Member<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let MemberProj::Running { future, reporter } = self.as_mut().project() else {
            return Poll::Ready(());
        };
        if reporter.is_cancelled() {
            return self.finish(None);
        }
        let outcome = match panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => {
                if reporter.register(cx.waker()) {
                    return self.finish(None);
                }
                return Poll::Pending;
            }
            Ok(Poll::Ready(value)) => Ok(value),
            Err(payload) => Err(Box::new(payload)),
        };
        self.finish(Some(outcome))
    }
}

/// Taken references at the front of [`KeptTasks`] that make it compact, once they are most of it.
const COMPACT_AT: usize = 1024;

/// The kept task references, oldest first: a vector taken from the front by an index, emptied
/// (keeping its memory) whenever every reference in it was taken, and compacted once most were
/// (a set that never empties does not grow without bound). The cheapest of the queues tried:
/// a `VecDeque` of fixed-size chunks (to avoid reallocating large blocks) cost ~40 ns more per
/// spawn on Native with one worker.
#[derive(Default)]
struct KeptTasks {
    /// Taken references leave `None`s before `next`.
    tasks: Vec<Option<raw::task::Kept>>,
    next: usize,
}

impl KeptTasks {
    fn push_back(&mut self, task: raw::task::Kept) {
        self.tasks.push(Some(task));
    }

    fn pop_front(&mut self) -> Option<raw::task::Kept> {
        let task = self.tasks.get_mut(self.next)?.take();
        self.next += 1;
        if self.next == self.tasks.len() {
            self.tasks.clear();
            self.next = 0;
        } else if self.next >= COMPACT_AT && self.next * 2 >= self.tasks.len() {
            self.tasks.drain(..self.next);
            self.next = 0;
        }
        task
    }

    fn clear(&mut self) {
        self.tasks.clear();
        self.next = 0;
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
        TaskSet { len: 0, queue: None, kept: KeptTasks::default(), yielded: false }
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
    /// When no runtime is running on this thread, or when the set already holds 2^30 − 1
    /// tasks (running, or finished and not joined); the set is unchanged then.
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let recorder = panics::in_scope();
        crate::with_instance("runtime::task::TaskSet::spawn", |instance| {
            // Made only once a runtime is found: a reporter always reports, and a task that
            // never was must not be joined.
            let reporter = self.queue.get_or_insert_with(Completions::new).reporter();
            // A panic goes through the recorder (inside the member) before the member catches
            // it: unjoined, it stays unclaimed and fails the test, as a detached task's does.
            // The set cancels the task through its reporter. A stopped instance drops the
            // member, which then reports nothing: joining it reports a shutdown, as awaiting a
            // refused spawn's handle does (the spawn's error carries nothing more).
            let spawned = match recorder {
                None => raw::task::spawn_unjoined_on(&**instance, Member::Running { future, reporter }),
                Some(recorder) => raw::task::spawn_unjoined_on(
                    &**instance,
                    Member::Running { future: panics::Recorded::new(future, recorder), reporter },
                ),
            };
            if let Ok(Some(task)) = spawned {
                self.kept.push_back(task);
            }
            self.len += 1;
        });
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
        let Some(queue) = &mut self.queue else {
            unreachable!("a set with tasks has its queue");
        };
        let outcome = match queue.try_next() {
            Some(outcome) => {
                self.yielded = false;
                outcome
            }
            None if !self.yielded => {
                // Nothing finished yet: yield once before waiting, so that members queued on
                // this thread run first and their reports are taken together, rather than one
                // wake-up of the joiner per member.
                self.yielded = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            None => {
                let Poll::Ready(outcome) = queue.poll_next(cx) else {
                    return Poll::Pending;
                };
                self.yielded = false;
                outcome
            }
        };
        self.len -= 1;
        drop(self.kept.pop_front());
        Poll::Ready(Some(match outcome {
            Some(Ok(value)) => value,
            Some(Err(payload)) => panic::resume_unwind(panics::claim(*payload)),
            None => panic!("{MEMBER_DROPPED}"),
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
        let live = std::mem::take(&mut self.len) > 0;
        self.kept.clear();
        let mut queue = self.queue.take();
        if let Some(queue) = &mut queue
            && live
        {
            queue.cancel();
        }
        futures::future::poll_fn(move |cx| match &mut queue {
            Some(queue) => queue.poll_idle(cx),
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
        if let Some(queue) = &mut self.queue
            && self.len > 0
        {
            // The members report to the queue after the set let go of it; the last one frees it
            // with the outputs not joined.
            queue.cancel();
        }
    }
}

impl<T> fmt::Debug for TaskSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskSet").field("len", &self.len).finish_non_exhaustive()
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    /// A member is its future plus one word: Tokio rounds a task up to 128 bytes, and a small
    /// future's task must stay that size inside a set too.
    #[test]
    fn a_member_is_one_word_larger_than_its_future() {
        let value = std::hint::black_box(5usize);
        let future = async move { value };
        assert_eq!(std::mem::size_of_val(&future), 16);
        fn member_size<F: Future>(_: &F) -> usize {
            std::mem::size_of::<Member<F>>()
        }
        assert_eq!(member_size(&future), 16 + std::mem::size_of::<usize>());
    }
}
