//! The shutdown grace period: `EnterOptions::shutdown_timeout` and the attributes'
//! `shutdown_timeout = ".."`, on every backend. Its own target: it measures real time.

#[macro_use]
mod common;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{DropCounter, panic_message};
use runtime::raw::EnterOptions;
use runtime::time::Delay;

/// Long enough that a grace period ending early is told apart from one that ran out.
const LONG_GRACE: Duration = Duration::from_secs(30);
/// A grace period meant to run out.
const SHORT_GRACE: Duration = Duration::from_millis(200);
/// How long the tasks that finish during a grace period take.
const TASK_TIME: Duration = Duration::from_millis(50);

fn grace(timeout: Duration) -> EnterOptions {
    EnterOptions::default().shutdown_timeout(timeout)
}

#[test]
fn enter_options_are_clone_debug_and_default() {
    let options = EnterOptions::default();
    assert_eq!(options.get_shutdown_timeout(), None);
    let options = options.shutdown_timeout(SHORT_GRACE).clone();
    assert_eq!(options.get_shutdown_timeout(), Some(SHORT_GRACE));
    assert!(format!("{options:?}").contains("200ms"));
}

#[test]
fn tasks_still_running_finish_within_the_grace_period() {
    for_every_backend!(|rt| {
        let finished = Arc::new(AtomicUsize::new(0));
        let theirs = finished.clone();
        let start = Instant::now();
        runtime::raw::enter_with(rt, grace(LONG_GRACE), async move {
            for _ in 0..10 {
                let theirs = theirs.clone();
                runtime::spawn(async move {
                    Delay::new(TASK_TIME).await;
                    theirs.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(finished.load(Ordering::SeqCst), 10);
        // It ended when the last task did, not when the period ran out.
        assert!(start.elapsed() < LONG_GRACE, "{:?}", start.elapsed());
    });
}

#[test]
fn tasks_spawned_during_the_grace_period_run_too() {
    for_every_backend!(|rt| {
        let finished = Arc::new(AtomicBool::new(false));
        let theirs = finished.clone();
        runtime::raw::enter_with(rt, grace(LONG_GRACE), async move {
            runtime::spawn(async move {
                Delay::new(TASK_TIME).await;
                runtime::spawn(async move {
                    Delay::new(TASK_TIME).await;
                    theirs.store(true, Ordering::SeqCst);
                });
            });
        });
        assert!(finished.load(Ordering::SeqCst));
    });
}

#[test]
fn local_tasks_get_the_grace_period() {
    for_every_backend!(|rt| {
        let finished = Arc::new(AtomicBool::new(false));
        let theirs = finished.clone();
        runtime::raw::enter_with(rt, grace(LONG_GRACE), async move {
            let local = std::rc::Rc::new(theirs);
            runtime::task::spawn_local(async move {
                Delay::new(TASK_TIME).await;
                local.store(true, Ordering::SeqCst);
            });
        });
        assert!(finished.load(Ordering::SeqCst));
    });
}

#[test]
fn the_grace_period_is_bounded_and_the_rest_is_dropped() {
    for_every_backend!(|rt| {
        let drops = DropCounter::default();
        let (spawned, local) = (drops.token(), drops.token());
        let start = Instant::now();
        runtime::raw::enter_with(rt, grace(SHORT_GRACE), async move {
            runtime::spawn(async move {
                let _token = spawned;
                futures::future::pending::<()>().await;
            });
            runtime::task::spawn_local(async move {
                let _token = local;
                futures::future::pending::<()>().await;
            });
        });
        assert!(start.elapsed() >= SHORT_GRACE, "{:?}", start.elapsed());
        assert_eq!(drops.dropped(), 2);
    });
}

#[test]
fn the_grace_period_runs_on_the_real_clock_while_time_is_paused() {
    // The virtual clock exists on these two backends only (Tokio panics on `pause`).
    fn check(rt: impl runtime::raw::Runtime) {
        let drops = DropCounter::default();
        let token = drops.token();
        let start = Instant::now();
        runtime::raw::enter_with(rt, grace(SHORT_GRACE), async move {
            runtime::time::pause();
            runtime::spawn(async move {
                let _token = token;
                // An hour of virtual time passes at once while everything is idle: the task
                // still waits on something that never comes.
                Delay::new(Duration::from_secs(3600)).await;
                futures::future::pending::<()>().await;
            });
        });
        assert!(start.elapsed() >= SHORT_GRACE, "{:?}", start.elapsed());
        assert!(start.elapsed() < LONG_GRACE, "{:?}", start.elapsed());
        assert_eq!(drops.dropped(), 1);
    }
    check(runtime::native::Native);
    // Pausing a Tokio clock needs the `test-util` feature (CI runs with `--all-features`).
    #[cfg(feature = "test-util")]
    check(runtime_tokio::TokioCurrentThread);
}

#[test]
fn no_grace_when_the_entry_future_panics() {
    for_every_backend!(|rt| {
        let drops = DropCounter::default();
        let token = drops.token();
        let start = Instant::now();
        let caught = std::panic::catch_unwind(AssertUnwindSafe(|| {
            runtime::raw::enter_with(rt, grace(LONG_GRACE), async move {
                runtime::spawn(async move {
                    let _token = token;
                    futures::future::pending::<()>().await;
                });
                panic!("entry boom");
            })
        }));
        assert_eq!(panic_message(&*caught.expect_err("the panic resumes")), "entry boom");
        assert!(start.elapsed() < LONG_GRACE, "{:?}", start.elapsed());
        assert_eq!(drops.dropped(), 1);
    });
}

static MAIN_TASK_FINISHED: AtomicBool = AtomicBool::new(false);

#[runtime::main(runtime_tokio::Tokio, shutdown_timeout = "30s")]
async fn graceful_main() {
    runtime::spawn(async {
        Delay::new(TASK_TIME).await;
        MAIN_TASK_FINISHED.store(true, Ordering::SeqCst);
    });
}

#[test]
fn main_with_shutdown_timeout_lets_tasks_finish() {
    graceful_main();
    assert!(MAIN_TASK_FINISHED.load(Ordering::SeqCst));
}

/// Tasks of the `graceful_test_*` tests that finished, by the thread that ran the test's body.
static GRACEFUL_TEST_DONE: std::sync::Mutex<Vec<std::thread::ThreadId>> = std::sync::Mutex::new(Vec::new());

async fn graceful_body() {
    let body_thread = std::thread::current().id();
    runtime::spawn(async move {
        Delay::new(TASK_TIME).await;
        GRACEFUL_TEST_DONE.lock().unwrap().push(body_thread);
    });
}

// One backend each, so that the generated test functions are plain functions callable below.
#[runtime::test(runtime::native::Native, shutdown_timeout = "30s")]
async fn graceful_test_native() {
    graceful_body().await;
}

#[runtime::test(runtime_tokio::Tokio, shutdown_timeout = "30s")]
async fn graceful_test_tokio() {
    graceful_body().await;
}

#[runtime::test(runtime_tokio::TokioCurrentThread, shutdown_timeout = "30s")]
async fn graceful_test_tokio_current_thread() {
    graceful_body().await;
}

#[test]
fn test_with_shutdown_timeout_lets_tasks_finish() {
    // The generated tests run here, on this thread (they also run on their own, elsewhere).
    graceful_test_native();
    graceful_test_tokio();
    graceful_test_tokio_current_thread();
    let me = std::thread::current().id();
    let done = GRACEFUL_TEST_DONE.lock().unwrap();
    assert_eq!(done.iter().filter(|thread| **thread == me).count(), 3);
}
