//! loom models of the task state word's stop requests, beside the code they check. Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg runtime_loom" LOOM_MAX_PREEMPTIONS=2 \
//!     CARGO_TARGET_DIR=target/loom cargo test -p runtime-raw --lib --release
//! ```
//!
//! The state word is loom's atomic under that cfg (module `sync`), so loom explores every
//! interleaving of its operations. (The models of wakes and cancels, as the native backend drives
//! tasks, live in `runtime-native`.)

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::SeqCst;
use std::task::{Context, Poll, Waker};

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize};

use crate::task::{self, Driver, Outcome, Reschedule, Schedule, SchedulerRef, Task};

/// A scheduler that drops what it is handed: the models run tasks by hand.
struct Drop0;

impl Schedule for Drop0 {
    fn schedule(&self, _task: Task, _how: Reschedule) {}
    fn release(&self, _task: &Task) {}
}

/// Pending forever; counts its drops, flags a drop during a poll and fails a concurrent poll.
struct Probe {
    in_poll: Arc<AtomicBool>,
    dropped: Arc<AtomicUsize>,
    dropped_while_polled: Arc<AtomicBool>,
}

impl Future for Probe {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        assert!(!self.in_poll.swap(true, SeqCst), "the future was polled by two threads at once");
        loom::thread::yield_now();
        self.in_poll.store(false, SeqCst);
        Poll::Pending
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if self.in_poll.load(SeqCst) {
            self.dropped_while_polled.store(true, SeqCst);
        }
        self.dropped.fetch_add(1, SeqCst);
    }
}

fn probe() -> (Probe, Arc<AtomicUsize>, Arc<AtomicBool>) {
    let dropped = Arc::new(AtomicUsize::new(0));
    let dropped_while_polled = Arc::new(AtomicBool::new(false));
    let probe = Probe {
        in_poll: Arc::new(AtomicBool::new(false)),
        dropped: dropped.clone(),
        dropped_while_polled: dropped_while_polled.clone(),
    };
    (probe, dropped, dropped_while_polled)
}

fn assert_shut_down(task: &Task, join: &mut task::JoinHandle<()>, dropped: &AtomicUsize, during: &AtomicBool) {
    assert!(task.is_complete(), "a shutdown racing with a poll left the task unfinished");
    assert_eq!(dropped.load(SeqCst), 1, "the future is dropped exactly once");
    assert!(!during.load(SeqCst), "the future was dropped while it was being polled");
    let outcome = join.poll_outcome(&mut Context::from_waker(Waker::noop()));
    assert!(matches!(outcome, Poll::Ready(Outcome::Shutdown)));
}

/// Issue 25, defect 12: `shutdown` racing with a scheduled poll always completes the task.
#[test]
fn shutdown_racing_with_run() {
    loom::model(|| {
        let (future, dropped, during) = probe();
        let (task, mut join) = task::build(future, Driver::scheduled(SchedulerRef::new(std::sync::Arc::new(Drop0))));
        let keep = task.clone();
        let worker = loom::thread::spawn(move || task.run());
        keep.shutdown();
        worker.join().unwrap();
        assert_shut_down(&keep, &mut join, &dropped, &during);
    });
}

/// The same race in inline mode (the Tokio backend's task blocks).
#[test]
fn shutdown_racing_with_inline_poll() {
    loom::model(|| {
        let (future, dropped, during) = probe();
        let (task, mut join) = task::build(future, Driver::inline());
        let task = Arc::new(task);
        let poller = {
            let task = task.clone();
            loom::thread::spawn(move || {
                let _ = task.poll_inline(&mut Context::from_waker(Waker::noop()));
            })
        };
        task.shutdown();
        poller.join().unwrap();
        assert_shut_down(&task, &mut join, &dropped, &during);
    });
}

/// Two threads polling one inline task at once (a backend's bug, reachable from safe code):
/// the future is never polled by both, and a shutdown still ends it.
#[test]
fn concurrent_inline_polls() {
    loom::model(|| {
        let (future, dropped, during) = probe();
        let (task, mut join) = task::build(future, Driver::inline());
        let task = Arc::new(task);
        let poller = {
            let task = task.clone();
            loom::thread::spawn(move || {
                let _ = task.poll_inline(&mut Context::from_waker(Waker::noop()));
            })
        };
        let _ = task.poll_inline(&mut Context::from_waker(Waker::noop()));
        poller.join().unwrap();
        task.shutdown();
        assert_shut_down(&task, &mut join, &dropped, &during);
    });
}

/// A waker that notifies a model's waiting thread (loom's park and unpark).
struct Flag(loom::sync::Notify);

impl std::task::Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.notify();
    }
}

/// A waker that counts its wakes.
struct Counter(AtomicUsize);

impl std::task::Wake for Counter {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// The completion queue of a task set: two reporters on other threads, while the owner waits.
/// Every report arrives once, and the owner is woken for it.
#[test]
fn completion_reports_reach_a_waiting_owner() {
    loom::model(|| {
        let mut queue = crate::completion::Completions::new();
        let (mut first, second) = (queue.reporter(), queue.reporter());
        let a = loom::thread::spawn(move || first.set(1));
        let b = loom::thread::spawn(move || drop(second));
        let flag = std::sync::Arc::new(Flag(loom::sync::Notify::new()));
        let waker = Waker::from(flag.clone());
        let mut seen = Vec::new();
        while seen.len() < 2 {
            match queue.poll_next(&mut Context::from_waker(&waker)) {
                Poll::Ready(next) => seen.push(next),
                // A lost wake leaves the owner waiting forever, which loom reports.
                Poll::Pending => flag.0.wait(),
            }
        }
        a.join().unwrap();
        b.join().unwrap();
        seen.sort();
        assert_eq!(seen, [None, Some(1)]);
    });
}

/// The owner gives up while a reporter reports: the state is freed once, by the last one,
/// with the value dropped once (loom checks the cells for accesses after the free).
#[test]
fn completion_owner_and_reporter_race_to_free() {
    loom::model(|| {
        struct Counted(Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let drops = Arc::new(AtomicUsize::new(0));
        let mut queue = crate::completion::Completions::new();
        let mut reporter = queue.reporter();
        let value = Counted(drops.clone());
        let reporting = loom::thread::spawn(move || reporter.set(value));
        // The owner may wait first, so that the reporter also goes through WAKING.
        let _ = queue.poll_next(&mut Context::from_waker(Waker::noop()));
        drop(queue);
        reporting.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1, "the value is dropped once");
    });
}

/// A member on its own thread storing its waker (a counter) once: whether it saw the cancel.
fn registering_member(
    mut reporter: crate::completion::Reporter<()>,
) -> (loom::thread::JoinHandle<bool>, std::sync::Arc<Counter>) {
    let count = std::sync::Arc::new(Counter(AtomicUsize::new(0)));
    let waker = Waker::from(count.clone());
    let thread = loom::thread::spawn(move || {
        let saw = reporter.register(&waker);
        drop(reporter);
        saw
    });
    (thread, count)
}

/// A cancel racing with a member storing its waker: the member either sees the cancel or is
/// woken for it, never neither.
#[test]
fn completion_cancel_reaches_a_registering_member() {
    loom::model(|| {
        let mut queue = crate::completion::Completions::<()>::new();
        let (member, count) = registering_member(queue.reporter());
        queue.cancel();
        let saw_cancel = member.join().unwrap();
        assert!(saw_cancel || count.0.load(SeqCst) == 1, "the cancel was lost");
    });
}

/// Two members of one segment register while a cancel runs: the first to wait makes the
/// segment's waker cells, the other finds them (or the cancel closed the segment first). Each
/// member sees the cancel or is woken for it.
#[test]
fn completion_cancel_reaches_two_registering_members() {
    loom::model(|| {
        let mut queue = crate::completion::Completions::<()>::new();
        let members: Vec<_> = (0..2).map(|_| registering_member(queue.reporter())).collect();
        queue.cancel();
        for (member, count) in members {
            let saw_cancel = member.join().unwrap();
            assert!(saw_cancel || count.0.load(SeqCst) == 1, "the cancel was lost");
        }
    });
}
