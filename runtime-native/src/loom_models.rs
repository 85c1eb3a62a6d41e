//! loom models of the task state machine (runtime-raw's, as this backend drives it) and of the
//! parking protocol. Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg runtime_loom" LOOM_MAX_PREEMPTIONS=2 \
//!     CARGO_TARGET_DIR=target/loom cargo test -p runtime-native --lib --release
//! ```
//!
//! Under that cfg the task word (runtime-raw's `sync` shim) and the parker's primitives (ours)
//! are loom's, so loom explores every interleaving of their operations. Each model asserts what
//! the protocol promises: a wake is never lost, a future is never polled concurrently or after
//! completion, it is dropped exactly once, and an unpark always ends a park.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::SeqCst;
use std::task::{Context, Poll, Wake, Waker};

use loom::sync::atomic::{AtomicBool, AtomicUsize};
use loom::sync::{Arc, Mutex};
use runtime_raw::task::{self, Driver, Outcome, Reschedule, Schedule, Task};

use crate::park::Parker;

/// A run queue: what the executor's queues are to a task.
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

impl Queue {
    fn pop(&self) -> Option<Task> {
        self.tasks.lock().unwrap().pop()
    }
}

/// Completes once `go` is set; records its waker, its polls and its drop.
struct Probe {
    go: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
    in_poll: Arc<AtomicBool>,
    dropped: Arc<AtomicUsize>,
    done: bool,
}

impl Future for Probe {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        assert!(!self.done, "polled after completion");
        assert!(!self.in_poll.swap(true, SeqCst), "polled by two threads at once");
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        let ready = self.go.load(SeqCst);
        self.in_poll.store(false, SeqCst);
        if ready {
            self.done = true;
            Poll::Ready(7)
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, SeqCst);
    }
}

struct Probes {
    go: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
    dropped: Arc<AtomicUsize>,
}

fn probe() -> (Probe, Probes) {
    let go = Arc::new(AtomicBool::new(false));
    let waker = Arc::new(Mutex::new(None));
    let dropped = Arc::new(AtomicUsize::new(0));
    let probe = Probe {
        go: go.clone(),
        waker: waker.clone(),
        in_poll: Arc::new(AtomicBool::new(false)),
        dropped: dropped.clone(),
        done: false,
    };
    (probe, Probes { go, waker, dropped })
}

struct Noop;

impl Wake for Noop {
    fn wake(self: std::sync::Arc<Self>) {}
}

fn poll_join<T>(join: &mut task::JoinHandle<T>) -> Poll<Outcome<T>> {
    let waker = Waker::from(std::sync::Arc::new(Noop));
    join.poll_outcome(&mut Context::from_waker(&waker))
}

/// A wake from another thread, racing with the worker's poll, is never lost: the task runs
/// again and completes.
#[test]
fn wake_racing_with_poll_is_not_lost() {
    loom::model(|| {
        let queue = std::sync::Arc::new(Queue::default());
        let (future, probes) = probe();
        let (task, mut join) = task::build(future, Driver::scheduled(task::SchedulerRef::new(queue.clone())));
        queue.schedule(task, Reschedule::Woken);

        let waker_slot = probes.waker.clone();
        let go = probes.go.clone();
        let waker_thread = loom::thread::spawn(move || {
            go.store(true, SeqCst);
            let waker = waker_slot.lock().unwrap().clone();
            if let Some(waker) = waker {
                waker.wake();
            }
        });

        // The worker: runs whatever is queued until the join handle has its outcome.
        let worker_queue = queue.clone();
        let worker = loom::thread::spawn(move || {
            for _ in 0..4 {
                match worker_queue.pop() {
                    Some(task) => task.run(),
                    None => loom::thread::yield_now(),
                }
            }
        });
        waker_thread.join().unwrap();
        worker.join().unwrap();
        // Whatever remains queued runs now (a wake may have come after the worker gave up).
        while let Some(task) = queue.pop() {
            task.run();
        }
        if probes.waker.lock().unwrap().is_none() {
            // Never polled before the waker thread looked: the queued run polls it now.
            return;
        }
        match poll_join(&mut join) {
            Poll::Ready(Outcome::Value(7)) => {}
            Poll::Ready(other) => panic!("unexpected outcome {other:?}"),
            Poll::Pending => panic!("the wake was lost: the task never completed"),
        }
        assert_eq!(probes.dropped.load(SeqCst), 1);
        assert_eq!(queue.released.load(SeqCst), 1);
    });
}

/// A cancel racing with a poll drops the future exactly once, before the handle reports.
#[test]
fn cancel_racing_with_poll_drops_once() {
    loom::model(|| {
        let queue = std::sync::Arc::new(Queue::default());
        let (future, probes) = probe();
        probes.go.store(true, SeqCst);
        let (task, mut join) = task::build(future, Driver::scheduled(task::SchedulerRef::new(queue.clone())));
        let worker = loom::thread::spawn(move || task.run());
        join.cancel();
        worker.join().unwrap();
        match poll_join(&mut join) {
            Poll::Ready(Outcome::Value(7)) | Poll::Ready(Outcome::Cancelled) => {}
            other => panic!("unexpected {:?}", other.map(|o| format!("{o:?}"))),
        }
        assert_eq!(probes.dropped.load(SeqCst), 1, "the future is dropped exactly once");
    });
}

/// Dropping the join handle while the task completes: the output is dropped exactly once, by
/// whichever side comes second, and the block is freed.
#[test]
fn join_drop_racing_with_completion() {
    struct Output(Arc<AtomicUsize>);
    impl Drop for Output {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    loom::model(|| {
        let queue = std::sync::Arc::new(Queue::default());
        let drops = Arc::new(AtomicUsize::new(0));
        let output = Output(drops.clone());
        let (task, join) =
            task::build(async move { output }, Driver::scheduled(task::SchedulerRef::new(queue.clone())));
        let worker = loom::thread::spawn(move || task.run());
        drop(join);
        worker.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1);
    });
}

/// Inline mode (the Tokio backend's): a cancel while the backend's task polls it ends with the
/// future dropped once and the backend's task asked to poll again (or already done).
#[test]
fn inline_cancel_racing_with_poll() {
    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, SeqCst);
        }
    }
    loom::model(|| {
        let (future, probes) = probe();
        let (task, mut join) = task::build(future, Driver::inline());
        let woken = std::sync::Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(woken.clone());
        // First poll before the race, as a freshly spawned task gets.
        let mut cx = Context::from_waker(&waker);
        assert!(task.poll_inline(&mut cx).is_pending());
        let poller = loom::thread::spawn(move || {
            let woken = std::sync::Arc::new(Flag(AtomicBool::new(false)));
            let waker = Waker::from(woken);
            let _ = task.poll_inline(&mut Context::from_waker(&waker));
            task
        });
        join.cancel();
        let task = poller.join().unwrap();
        // The backend polls again when woken; in any case one more poll settles it.
        assert!(task.poll_inline(&mut cx).is_ready());
        assert!(matches!(poll_join(&mut join), Poll::Ready(Outcome::Cancelled)));
        assert_eq!(probes.dropped.load(SeqCst), 1);
    });
}

/// Inline mode: a cancel racing with the first poll (the one that stores the waker) is never
/// lost: either that poll sees it, or the cancel finds the waker and asks for another poll.
#[test]
fn inline_cancel_racing_with_first_poll() {
    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, SeqCst);
        }
    }
    loom::model(|| {
        let (future, probes) = probe();
        let (task, mut join) = task::build(future, Driver::inline());
        let woken = std::sync::Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(woken.clone());
        let poller = loom::thread::spawn(move || {
            let done = task.poll_inline(&mut Context::from_waker(&waker)).is_ready();
            (task, waker, done)
        });
        join.cancel();
        let (task, waker, done) = poller.join().unwrap();
        if !done {
            // Pending with the cancel in: the cancel must have asked for another poll.
            assert!(woken.0.load(SeqCst), "a cancel was lost: nobody will poll the task again");
            assert!(task.poll_inline(&mut Context::from_waker(&waker)).is_ready());
        }
        assert!(matches!(poll_join(&mut join), Poll::Ready(Outcome::Cancelled)));
        assert_eq!(probes.dropped.load(SeqCst), 1);
    });
}

/// An unpark always ends a park, whichever comes first.
#[test]
fn unpark_is_never_lost() {
    loom::model(|| {
        let parker = Arc::new(Parker::new());
        let flag = Arc::new(AtomicBool::new(false));
        let (p, f) = (parker.clone(), flag.clone());
        let unparker = loom::thread::spawn(move || {
            f.store(true, SeqCst);
            p.unpark(|| panic!("not parked in a driver"));
        });
        while !flag.load(SeqCst) {
            parker.park();
        }
        unparker.join().unwrap();
    });
}

/// Two unparks and two parks in a loop: every park returns.
#[test]
fn repeated_park_unpark() {
    loom::model(|| {
        let parker = Arc::new(Parker::new());
        let count = Arc::new(AtomicUsize::new(0));
        let (p, c) = (parker.clone(), count.clone());
        let unparker = loom::thread::spawn(move || {
            for _ in 0..2 {
                c.fetch_add(1, SeqCst);
                p.unpark(|| {});
            }
        });
        let mut seen = 0;
        while seen < 2 {
            parker.park();
            seen = count.load(SeqCst);
        }
        unparker.join().unwrap();
    });
}
