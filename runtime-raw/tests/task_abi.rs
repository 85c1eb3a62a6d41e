//! The task ABI as a backend drives it, misused included: each test pins down a guarantee the
//! state word gives whatever the caller does. They also run under Miri
//! (`cargo +nightly miri test -p runtime-raw`), which reports any access that breaks it.
#![cfg(not(runtime_loom))]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use runtime_raw::task::{self, Driver, Outcome, Reschedule, Schedule, SchedulerRef, Task};

/// A run queue a test drains by hand.
#[derive(Default)]
struct Queue {
    tasks: Mutex<Vec<Task>>,
    released: AtomicUsize,
}

impl Schedule for Queue {
    fn schedule(&self, task: Task, _how: Reschedule) {
        self.tasks.lock().unwrap().push(task);
    }

    fn release(&self, _task: &Task) {
        self.released.fetch_add(1, SeqCst);
    }
}

fn scheduled(queue: &Arc<Queue>) -> Driver {
    Driver::scheduled(SchedulerRef::new(queue.clone()))
}

fn poll_join<T>(join: &mut task::JoinHandle<T>) -> Poll<Outcome<T>> {
    join.poll_outcome(&mut Context::from_waker(Waker::noop()))
}

/// Pending forever; remembers where it was polled and checks, when dropped, that it is dropped
/// at that address: a pinned future (one holding a pointer into itself, or an intrusive list
/// node such as Tokio's `Notify` keeps) must never move before its destructor runs.
struct Pinned {
    polled_at: usize,
    dropped: Arc<AtomicUsize>,
    moved: Arc<AtomicBool>,
}

impl Future for Pinned {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: only a plain field is written; the future is not moved.
        let this = unsafe { self.get_unchecked_mut() };
        this.polled_at = this as *mut Pinned as usize;
        Poll::Pending
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if self.polled_at != 0 && self.polled_at != self as *mut Pinned as usize {
            self.moved.store(true, SeqCst);
        }
        self.dropped.fetch_add(1, SeqCst);
    }
}

struct PinnedProbe {
    dropped: Arc<AtomicUsize>,
    moved: Arc<AtomicBool>,
}

fn pinned() -> (Pinned, PinnedProbe) {
    let dropped = Arc::new(AtomicUsize::new(0));
    let moved = Arc::new(AtomicBool::new(false));
    (Pinned { polled_at: 0, dropped: dropped.clone(), moved: moved.clone() }, PinnedProbe { dropped, moved })
}

impl PinnedProbe {
    fn assert_dropped_in_place(&self) {
        assert_eq!(self.dropped.load(SeqCst), 1, "the future is dropped exactly once");
        assert!(!self.moved.load(SeqCst), "the future was moved out of its pinned place before it was dropped");
    }
}

/// Issue 25, defect 5: a cancelled task's future is dropped where it was pinned.
#[test]
fn cancelled_future_is_dropped_in_place() {
    let queue = Arc::new(Queue::default());
    let (future, probe) = pinned();
    let (task, mut join) = task::build(future, scheduled(&queue));
    task.run();
    join.cancel();
    probe.assert_dropped_in_place();
    assert!(matches!(poll_join(&mut join), Poll::Ready(Outcome::Cancelled)));
}

/// Defect 5, the shutdown path, in every mode that polls a future more than once.
#[test]
fn shut_down_future_is_dropped_in_place() {
    let queue = Arc::new(Queue::default());
    let (future, probe) = pinned();
    let (task, mut join) = task::build(future, scheduled(&queue));
    let keep = task.clone();
    task.run();
    keep.shutdown();
    probe.assert_dropped_in_place();
    assert!(matches!(poll_join(&mut join), Poll::Ready(Outcome::Shutdown)));

    let (future, probe) = pinned();
    let (task, mut join) = task::build(future, Driver::inline());
    assert!(task.poll_inline(&mut Context::from_waker(Waker::noop())).is_pending());
    task.shutdown();
    probe.assert_dropped_in_place();
    assert!(matches!(poll_join(&mut join), Poll::Ready(Outcome::Shutdown)));
}

/// Defect 5, the inline cancel: the next poll drops the future, in place.
#[test]
fn inline_cancelled_future_is_dropped_in_place() {
    let (future, probe) = pinned();
    let (task, mut join) = task::build(future, Driver::inline());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(task.poll_inline(&mut cx).is_pending());
    join.cancel();
    assert!(task.poll_inline(&mut cx).is_ready());
    probe.assert_dropped_in_place();
    assert!(matches!(poll_join(&mut join), Poll::Ready(Outcome::Cancelled)));
}

/// Shuts its own task down from inside its poll, then reads its own fields: the task must not
/// drop it while it runs.
struct ShutsItselfDown {
    me: Arc<Mutex<Option<Task>>>,
    alive: Box<u64>,
    dropped: Arc<AtomicBool>,
    dropped_while_polled: Arc<AtomicBool>,
}

impl Future for ShutsItselfDown {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let me = self.me.lock().unwrap().take();
        if let Some(me) = me {
            me.shutdown();
        }
        if self.dropped.load(SeqCst) {
            self.dropped_while_polled.store(true, SeqCst);
        }
        // Touches the heap through the future's own field: after a drop this is a use after free.
        assert_eq!(*self.alive, 42);
        Poll::Pending
    }
}

impl Drop for ShutsItselfDown {
    fn drop(&mut self) {
        self.dropped.store(true, SeqCst);
    }
}

fn shuts_itself_down(driver: Driver, inline: bool) {
    let slot = Arc::new(Mutex::new(None));
    let dropped = Arc::new(AtomicBool::new(false));
    let dropped_while_polled = Arc::new(AtomicBool::new(false));
    let future = ShutsItselfDown {
        me: slot.clone(),
        alive: Box::new(42),
        dropped: dropped.clone(),
        dropped_while_polled: dropped_while_polled.clone(),
    };
    let (task, mut join) = task::build(future, driver);
    *slot.lock().unwrap() = Some(task.clone());
    if inline {
        // The poll that asked for its own shutdown ends it.
        assert!(task.poll_inline(&mut Context::from_waker(Waker::noop())).is_ready());
    } else {
        task.run();
    }
    assert!(!dropped_while_polled.load(SeqCst), "the future was dropped while it was being polled");
    assert!(dropped.load(SeqCst), "the shutdown asked for during the poll was lost");
    assert!(matches!(poll_join(&mut join), Poll::Ready(Outcome::Shutdown)));
}

/// Issue 25, defect 6: `Task::shutdown` on a clone of the task being polled (safe code) waits
/// for the poll to end, inline mode.
#[test]
fn inline_task_shut_down_from_its_own_poll() {
    shuts_itself_down(Driver::inline(), true);
}

/// Defect 6, scheduled mode.
#[test]
fn scheduled_task_shut_down_from_its_own_poll() {
    let queue = Arc::new(Queue::default());
    shuts_itself_down(scheduled(&queue), false);
    assert_eq!(queue.released.load(SeqCst), 1, "the scheduler is told once");
}

/// Flags a poll that starts while another is under way; waits in its first poll until told.
struct Exclusive {
    in_poll: Arc<AtomicBool>,
    overlapped: Arc<AtomicBool>,
    entered: Arc<AtomicBool>,
    release: Arc<AtomicBool>,
}

impl Future for Exclusive {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.in_poll.swap(true, SeqCst) {
            self.overlapped.store(true, SeqCst);
            return Poll::Pending;
        }
        if !self.entered.swap(true, SeqCst) {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while !self.release.load(SeqCst) && std::time::Instant::now() < deadline {
                std::thread::yield_now();
            }
        }
        self.in_poll.store(false, SeqCst);
        Poll::Pending
    }
}

/// Counts wakes.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Defect 6: two threads calling `poll_inline` at once never poll the future concurrently;
/// the second asks its waker for another poll instead.
#[test]
fn concurrent_inline_polls_are_serialised() {
    let overlapped = Arc::new(AtomicBool::new(false));
    let entered = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let future = Exclusive {
        in_poll: Arc::new(AtomicBool::new(false)),
        overlapped: overlapped.clone(),
        entered: entered.clone(),
        release: release.clone(),
    };
    let (task, join) = task::build(future, Driver::inline());
    let task = Arc::new(task);
    let first = {
        let task = task.clone();
        std::thread::spawn(move || task.poll_inline(&mut Context::from_waker(Waker::noop())).is_pending())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !entered.load(SeqCst) && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert!(entered.load(SeqCst), "the first poll started");
    let count = Arc::new(Count::default());
    let waker = Waker::from(count.clone());
    assert!(task.poll_inline(&mut Context::from_waker(&waker)).is_pending());
    release.store(true, SeqCst);
    assert!(first.join().unwrap());
    assert!(!overlapped.load(SeqCst), "the future was polled by two threads at once");
    assert_eq!(count.0.load(SeqCst), 1, "the refused poll asked for another one");
    drop(join);
    task.shutdown();
}

/// Issue 25, defect 12: a shutdown racing with a poll always ends the task (its join handle
/// never hangs), whichever side gets there first. The loom model in `src/loom_models.rs`
/// explores every interleaving; this runs the race for real.
#[test]
fn shutdown_racing_with_poll_completes() {
    let rounds = if cfg!(miri) { 8 } else { 2_000 };
    for _ in 0..rounds {
        let queue = Arc::new(Queue::default());
        let (future, probe) = pinned();
        let (task, mut join) = task::build(future, scheduled(&queue));
        let keep = task.clone();
        let worker = std::thread::spawn(move || task.run());
        keep.shutdown();
        worker.join().unwrap();
        assert!(keep.is_complete(), "a shutdown racing with a poll left the task idle and unfinished");
        probe.assert_dropped_in_place();
        assert!(matches!(poll_join(&mut join), Poll::Ready(Outcome::Shutdown)));
    }
}

/// A waker that panics when woken, as a foreign one may.
struct Panics;

impl Wake for Panics {
    fn wake(self: Arc<Self>) {
        panic!("this waker panics when woken");
    }
}

/// Issue 25, defect 9: a join waker that panics when the task completes neither escapes the
/// completing thread nor skips the scheduler's release.
#[test]
fn panicking_join_waker_is_contained() {
    let queue = Arc::new(Queue::default());
    let go = Arc::new(AtomicBool::new(false));
    let (task, mut join) = task::build(
        {
            let go = go.clone();
            std::future::poll_fn(move |cx| {
                if go.load(SeqCst) {
                    Poll::Ready(5)
                } else {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            })
        },
        scheduled(&queue),
    );
    task.run();
    let waker = Waker::from(Arc::new(Panics));
    assert!(join.poll_outcome(&mut Context::from_waker(&waker)).is_pending());
    go.store(true, SeqCst);
    let next = queue.tasks.lock().unwrap().pop().expect("the task woke itself");
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| next.run()));
    assert!(run.is_ok(), "the join waker's panic escaped the completing thread");
    assert_eq!(queue.released.load(SeqCst), 1, "the task was released");
    assert!(matches!(poll_join(&mut join), Poll::Ready(Outcome::Value(5))));
}
