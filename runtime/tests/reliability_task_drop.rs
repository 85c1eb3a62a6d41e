//! Issue 25, defects 5 and 9: how a task's future ends, on every backend. A cancelled or
//! shut-down future is dropped where it is pinned (an intrusive waiter list must find its node
//! where it left it), and a join waker that panics never takes a worker down.

#[macro_use]
mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// Pending forever; checks, when dropped, that it is dropped where it was last polled.
struct Pinned {
    polled_at: usize,
    moved: Arc<AtomicBool>,
    dropped: Arc<AtomicUsize>,
}

impl Future for Pinned {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: a plain field is written; nothing is moved out.
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

#[derive(Clone, Default)]
struct Probe {
    moved: Arc<AtomicBool>,
    dropped: Arc<AtomicUsize>,
}

impl Probe {
    fn future(&self) -> Pinned {
        Pinned { polled_at: 0, moved: self.moved.clone(), dropped: self.dropped.clone() }
    }

    fn assert_dropped_in_place(&self) {
        assert_eq!(self.dropped.load(SeqCst), 1, "the future is dropped exactly once");
        assert!(!self.moved.load(SeqCst), "the future moved before it was dropped");
    }
}

/// Lets the spawned task run its first poll.
async fn settle() {
    for _ in 0..10 {
        runtime::task::yield_now().await;
    }
    runtime::time::Delay::new(Duration::from_millis(5)).await;
}

on_every_backend! {
    /// A cancelled task's future is dropped in place.
    async fn cancelled_future_is_dropped_in_place() {
        let probe = Probe::default();
        let handle = runtime::spawn(probe.future());
        settle().await;
        assert_eq!(handle.cancel().await, None);
        probe.assert_dropped_in_place();
    }

    /// The same through the type-erased spawn path (`Instance::spawn`), which Tokio takes for
    /// callers of the raw interface.
    async fn erased_cancel_drops_in_place() {
        let probe = Probe::default();
        let instance = runtime::raw::current().expect("inside a runtime");
        let handle = runtime::raw::task::spawn_erased_on(&*instance, probe.future()).expect("running");
        settle().await;
        handle.cancel();
        let mut handle = handle;
        std::future::poll_fn(|cx| handle.poll_outcome(cx)).await;
        probe.assert_dropped_in_place();
    }

    /// The crash the issue reported: a task waiting on Tokio's `Notify` (an intrusive waiter
    /// list) is cancelled, then the `Notify` walks its list. With the future moved before its
    /// drop, the list kept a dangling node and this crashed.
    async fn cancelled_notify_waiter_leaves_no_dangling_node() {
        let notify = Arc::new(tokio::sync::Notify::new());
        let waiter = {
            let notify = notify.clone();
            runtime::spawn(async move { notify.notified().await })
        };
        let instance = runtime::raw::current().expect("inside a runtime");
        let erased = {
            let notify = notify.clone();
            runtime::raw::task::spawn_erased_on(&*instance, async move { notify.notified().await }).expect("running")
        };
        settle().await;
        assert_eq!(waiter.cancel().await, None);
        erased.cancel();
        let mut erased = erased;
        std::future::poll_fn(|cx| erased.poll_outcome(cx)).await;
        notify.notify_waiters();
        let fresh = notify.notified();
        notify.notify_waiters();
        drop(fresh);
    }
}

/// Shutdown drops pending futures in place too, and a `Notify` outliving the instance is
/// still sound to use.
#[test]
fn shut_down_futures_are_dropped_in_place() {
    for_every_backend!(|rt| {
        let probe = Probe::default();
        let notify = Arc::new(tokio::sync::Notify::new());
        runtime::raw::enter(rt, {
            let (probe, notify) = (probe.clone(), notify.clone());
            async move {
                runtime::spawn(probe.future());
                let instance = runtime::raw::current().expect("inside a runtime");
                let erased_notify = notify.clone();
                let erased =
                    runtime::raw::task::spawn_erased_on(&*instance, async move { erased_notify.notified().await });
                drop(erased);
                runtime::spawn(async move { notify.notified().await });
                settle().await;
            }
        });
        probe.assert_dropped_in_place();
        notify.notify_waiters();
    });
}

/// A waker that panics when woken, as a foreign one may.
struct Panics;

impl Wake for Panics {
    fn wake(self: Arc<Self>) {
        panic!("this join waker panics when woken");
    }
}

/// Defect 9: a join waker that panics when its task completes does not take the completing
/// worker down: with one worker, later tasks still run.
#[runtime::test(
    native = runtime::native::Native::builder().worker_threads(1).build(),
    tokio = runtime_tokio::Tokio::builder().worker_threads(1).build(),
    tokio_current_thread = runtime_tokio::TokioCurrentThread,
    timeout = "30s"
)]
async fn panicking_join_waker_spares_the_worker() {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let mut handle = runtime::spawn(async move {
        let _ = rx.await;
        7
    });
    let waker = Waker::from(Arc::new(Panics));
    assert!(Pin::new(&mut handle).poll(&mut Context::from_waker(&waker)).is_pending());
    tx.send(()).unwrap();
    for _ in 0..10_000 {
        if handle.is_finished() {
            break;
        }
        runtime::time::Delay::new(Duration::from_millis(1)).await;
    }
    assert!(handle.is_finished());
    // The worker that completed it still runs tasks.
    for i in 0..10 {
        assert_eq!(runtime::spawn(async move { i * 2 }).await, i * 2);
    }
    assert_eq!(handle.await, 7);
}
