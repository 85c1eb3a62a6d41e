//! `spawn_blocking` and `block_on` on every backend.

#[macro_use]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{DropCounter, panic_message};
use futures::FutureExt as _;
use futures::channel::oneshot;

on_every_backend! {
    async fn spawn_blocking_returns_its_value() {
        let value = runtime::task::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(5));
            String::from("from a blocking thread")
        })
        .await;
        assert_eq!(value, "from a blocking thread");
    }

    async fn spawn_blocking_runs_off_the_workers() {
        let worker = std::thread::current().id();
        let job_thread = runtime::task::spawn_blocking(|| std::thread::current().id()).await;
        assert_ne!(job_thread, worker);
    }

    async fn a_panic_in_the_closure_resumes_in_the_awaiter() {
        let handle = runtime::task::spawn_blocking(|| -> u8 { panic!("blocking boom") });
        let payload = std::panic::AssertUnwindSafe(handle).catch_unwind().await.unwrap_err();
        assert_eq!(panic_message(&*payload), "blocking boom");
    }

    async fn a_delay_completes_while_blocking_jobs_run() {
        let release = Arc::new(AtomicBool::new(false));
        let jobs: Vec<_> = (0..4)
            .map(|_| {
                let release = release.clone();
                runtime::task::spawn_blocking(move || {
                    let start = Instant::now();
                    while !release.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(20) {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                })
            })
            .collect();
        runtime::time::Delay::new(Duration::from_millis(10)).await;
        release.store(true, Ordering::SeqCst);
        for job in jobs {
            job.await;
        }
    }

    async fn cancel_once_running_waits_for_the_value() {
        let (started_tx, started_rx) = oneshot::channel();
        let finish = Arc::new(AtomicBool::new(false));
        let done = finish.clone();
        let handle = runtime::task::spawn_blocking(move || {
            let _ = started_tx.send(());
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            99
        });
        started_rx.await.unwrap();
        let cancel = handle.cancel();
        finish.store(true, Ordering::SeqCst);
        assert_eq!(cancel.await, Some(99));
    }

    async fn block_on_inside_a_runtime_panics() {
        let payload = std::panic::catch_unwind(|| runtime::task::block_on(async { 1 })).unwrap_err();
        assert!(panic_message(&*payload).contains("inside a running runtime"), "{}", panic_message(&*payload));
    }

    async fn block_on_inside_spawn_blocking_uses_the_instance() {
        let out = runtime::task::spawn_blocking(|| runtime::task::block_on(async { runtime::spawn(async { 5 }).await }))
            .await;
        assert_eq!(out, 5);
    }

    async fn thousand_concurrent_jobs_complete() {
        let count = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..1_000)
            .map(|_| {
                let count = count.clone();
                runtime::task::spawn_blocking(move || {
                    count.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for job in jobs {
            job.await;
        }
        assert_eq!(count.load(Ordering::SeqCst), 1_000);
    }
}

/// Needs a blocking pool of one thread, so on the backends with a builder (TokioCurrentThread
/// has none: its pool is Tokio's default).
#[test]
fn cancel_before_start_never_runs() {
    let backends: [Box<dyn runtime::raw::Runtime>; 2] = [
        Box::new(runtime::native::Native::builder().max_blocking_threads(1).build()),
        Box::new(runtime_tokio::Tokio::builder().max_blocking_threads(1).build()),
    ];
    for rt in backends {
        // One blocking thread, kept busy, so the second job stays queued.
        runtime::raw::enter(rt, async {
            let (started_tx, started_rx) = oneshot::channel();
            let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
            let busy = runtime::task::spawn_blocking(move || {
                let _ = started_tx.send(());
                let _ = release_rx.recv_timeout(Duration::from_secs(20));
            });
            started_rx.await.unwrap();
            let ran = Arc::new(AtomicBool::new(false));
            let drops = DropCounter::default();
            let token = drops.token();
            let flag = ran.clone();
            let queued = runtime::task::spawn_blocking(move || {
                let _token = token;
                flag.store(true, Ordering::SeqCst);
            });
            assert_eq!(queued.cancel().await, None);
            assert_eq!(drops.dropped(), 1, "the closure was dropped when cancelled");
            release_tx.send(()).unwrap();
            busy.await;
            assert!(!ran.load(Ordering::SeqCst), "a job cancelled before it started never runs");
        });
    }
}

#[test]
fn enter_returns_promptly_while_a_job_still_blocks() {
    for_every_backend!(|rt| {
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let start = Instant::now();
        runtime::raw::enter(rt, async move {
            let (started_tx, started_rx) = oneshot::channel();
            runtime::task::spawn_blocking(move || {
                let _ = started_tx.send(());
                let _ = release_rx.recv_timeout(Duration::from_secs(30));
            })
            .detach();
            started_rx.await.unwrap();
        });
        // Not a speed assertion: the job blocks for 30 s unless released, and enter is back first.
        assert!(start.elapsed() < Duration::from_secs(25), "enter waited for the blocking job");
        release_tx.send(()).unwrap();
    });
}

#[test]
fn block_on_outside_runs_on_the_process_wide_instance() {
    let out = runtime::task::block_on(async {
        let listener = runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = runtime::spawn(async move { listener.accept().await.map(|(_, peer)| peer) });
        let client = runtime::net::TcpStream::connect(addr).await.unwrap();
        assert_eq!(accepted.await.unwrap(), client.local_addr().unwrap());
        runtime::time::Delay::new(Duration::from_millis(1)).await;
        "done"
    });
    assert_eq!(out, "done");
    // Reentrant from another thread too.
    assert_eq!(std::thread::spawn(|| runtime::task::block_on(async { 3 })).join().unwrap(), 3);
}
