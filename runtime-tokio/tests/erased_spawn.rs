//! The Tokio backend's type-erased `Instance::spawn` (a task block polled inside a Tokio task),
//! which the facade's own spawns bypass: value, panic, cancel and shutdown, on both flavours.

use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use runtime_raw::task::{JoinHandle, Outcome, spawn_erased_on};

fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let instance = runtime_raw::current().expect("inside enter");
    spawn_erased_on(&*instance, future).expect("instance running")
}

async fn outcome<T>(mut join: JoinHandle<T>) -> Outcome<T> {
    poll_fn(|cx| join.poll_outcome(cx)).await
}

/// Sets its flag when dropped.
struct Dropped(Arc<AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

async fn scenario() -> Arc<AtomicBool> {
    assert!(matches!(outcome(spawn(async { 5 })).await, Outcome::Value(5)));

    let panicked = outcome(spawn(async { panic!("erased") })).await;
    let Outcome::Panicked(payload) = panicked else { panic!("expected the task's panic") };
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"erased"));

    // A cancel drops the future (at the poll the cancel's wake asks for) before the outcome is
    // seen.
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = Dropped(dropped.clone());
    let started = Arc::new(AtomicBool::new(false));
    let pending = {
        let started = started.clone();
        spawn(async move {
            let _guard = guard;
            started.store(true, Ordering::SeqCst);
            std::future::pending::<()>().await
        })
    };
    // Polled once and idle: only the backend can get it polled or dropped again.
    for _ in 0..10_000 {
        if started.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    assert!(started.load(Ordering::SeqCst), "the task never started");
    pending.cancel();
    let cancelled = tokio::time::timeout(std::time::Duration::from_secs(10), outcome(pending)).await;
    assert!(matches!(cancelled, Ok(Outcome::Cancelled)), "the cancel did not complete the task");
    assert!(dropped.load(Ordering::SeqCst), "the future was dropped by the cancel");

    // Detached and left pending: dropped by the shutdown when `enter` returns.
    let at_shutdown = Arc::new(AtomicBool::new(false));
    let guard = Dropped(at_shutdown.clone());
    drop(spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await
    }));
    at_shutdown
}

#[test]
fn erased_spawn_on_multi_thread() {
    let at_shutdown = runtime_raw::enter(runtime_tokio::Tokio, scenario());
    assert!(at_shutdown.load(Ordering::SeqCst), "a pending task outlived its instance");
}

#[test]
fn erased_spawn_on_current_thread() {
    let at_shutdown = runtime_raw::enter(runtime_tokio::TokioCurrentThread, scenario());
    assert!(at_shutdown.load(Ordering::SeqCst), "a pending task outlived its instance");
}
