//! Spawning and joining: typed outputs, panics, cancel, detach, Spawner, yield.
#![allow(clippy::async_yields_async)] // Some tests carry a JoinHandle out of its instance on purpose.

#[macro_use]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{DropCounter, panic_message};
use futures::FutureExt as _;
use futures::channel::oneshot;
use futures::task::{Spawn as _, SpawnExt};
use runtime::task::Spawner;

#[derive(Debug, PartialEq)]
struct Payload {
    id: u32,
    name: String,
}

on_every_backend! {
    async fn typed_output() {
        let handle = runtime::spawn(async { Payload { id: 7, name: "seven".into() } });
        assert_eq!(handle.await, Payload { id: 7, name: "seven".into() });
        runtime::spawn(async {}).await;
    }

    async fn many_tasks_each_complete_once() {
        let counter = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..1_000u64)
            .map(|i| {
                let counter = counter.clone();
                runtime::spawn(async move {
                    runtime::task::yield_now().await;
                    counter.fetch_add(1, Ordering::SeqCst);
                    i * 2
                })
            })
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await;
        }
        assert_eq!(sum, (0..1_000u64).map(|i| i * 2).sum::<u64>());
        assert_eq!(counter.load(Ordering::SeqCst), 1_000);
    }

    async fn panic_resumes_in_awaiter_with_its_payload() {
        let handle = runtime::spawn(async {
            std::panic::panic_any(Payload { id: 1, name: "original".into() });
        });
        let payload = std::panic::AssertUnwindSafe(handle).catch_unwind().await.unwrap_err();
        let payload = payload.downcast::<Payload>().expect("the original payload, not a wrapper");
        assert_eq!(*payload, Payload { id: 1, name: "original".into() });
        // The runtime goes on running tasks after a panic.
        assert_eq!(runtime::spawn(async { 5 }).await, 5);
    }

    async fn panic_message_is_kept() {
        let handle = runtime::spawn(async { panic!("boom {}", 42) });
        let payload = std::panic::AssertUnwindSafe(handle).catch_unwind().await.unwrap_err();
        assert_eq!(panic_message(&*payload), "boom 42");
    }

    async fn cancel_unfinished_drops_future_first() {
        let drops = DropCounter::default();
        let token = drops.token();
        let (started_tx, started_rx) = oneshot::channel();
        let handle = runtime::spawn(async move {
            let _token = token;
            let _ = started_tx.send(());
            futures::future::pending::<u8>().await
        });
        started_rx.await.unwrap();
        assert_eq!(handle.cancel().await, None);
        assert_eq!(drops.dropped(), 1, "the future's destructor ran before cancel resolved");
    }

    async fn cancel_before_first_poll() {
        let drops = DropCounter::default();
        let token = drops.token();
        let handle = runtime::spawn(async move {
            let _token = token;
            futures::future::pending::<u8>().await
        });
        assert_eq!(handle.cancel().await, None);
        assert_eq!(drops.dropped(), 1);
    }

    async fn cancel_finished_returns_output() {
        let handle = runtime::spawn(async { 9u8 });
        while !handle.is_finished() {
            runtime::task::yield_now().await;
        }
        assert_eq!(handle.cancel().await, Some(9));
    }

    async fn cancel_of_panicked_task_resumes_panic() {
        let handle = runtime::spawn(async { panic!("in cancel") });
        while !handle.is_finished() {
            runtime::task::yield_now().await;
        }
        let payload = std::panic::AssertUnwindSafe(handle.cancel()).catch_unwind().await.unwrap_err();
        assert_eq!(panic_message(&*payload), "in cancel");
    }

    async fn detach_and_drop_let_the_task_run() {
        let (tx, rx) = oneshot::channel();
        runtime::spawn(async move {
            runtime::task::yield_now().await;
            tx.send(1).unwrap();
        })
        .detach();
        assert_eq!(rx.await.unwrap(), 1);
        let (tx, rx) = oneshot::channel();
        drop(runtime::spawn(async move {
            runtime::task::yield_now().await;
            tx.send(2).unwrap();
        }));
        assert_eq!(rx.await.unwrap(), 2);
    }

    async fn is_finished_follows_the_task() {
        let (tx, rx) = oneshot::channel::<()>();
        let handle = runtime::spawn(async move { rx.await.is_ok() });
        assert!(!handle.is_finished());
        tx.send(()).unwrap();
        assert!(handle.await);
    }

    async fn join_handle_is_fused_and_debug() {
        use futures::future::FusedFuture;
        let mut handle = runtime::spawn(async { 3 });
        assert!(!handle.is_terminated());
        assert_eq!((&mut handle).await, 3);
        assert!(handle.is_terminated());
        assert!(format!("{handle:?}").contains("JoinHandle"));
    }

    async fn join_handle_in_select() {
        let mut slow = runtime::spawn(futures::future::pending::<u8>());
        let mut fast = runtime::spawn(async { 1u8 });
        let got = futures::select! {
            v = slow => v,
            v = fast => v,
        };
        assert_eq!(got, 1);
    }

    async fn spawner_spawns_typed_and_untyped() {
        let spawner = Spawner::current();
        let typed = spawner.spawn(async { "typed" }).unwrap();
        assert_eq!(typed.await, "typed");
        let (tx, rx) = oneshot::channel();
        spawner.clone().spawn(async move { tx.send(5).unwrap() }).unwrap();
        assert_eq!(rx.await.unwrap(), 5);
        let handle = SpawnExt::spawn_with_handle(&spawner, async { 6 }).unwrap();
        assert_eq!(handle.await, 6);
    }

    async fn spawner_works_from_foreign_threads() {
        let spawner = Spawner::current();
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let spawner = spawner.clone();
                std::thread::spawn(move || spawner.spawn(async move { i * 10 }).unwrap())
            })
            .collect();
        let mut total = 0;
        for h in handles {
            total += h.join().unwrap().await;
        }
        assert_eq!(total, 60);
    }

    async fn yield_now_lets_others_run() {
        let flag = Arc::new(AtomicUsize::new(0));
        let seen = flag.clone();
        let other = runtime::spawn(async move { seen.store(1, Ordering::SeqCst) });
        let mut spins = 0;
        while flag.load(Ordering::SeqCst) == 0 {
            runtime::task::yield_now().await;
            spins += 1;
            assert!(spins < 100_000, "the other task never ran");
        }
        other.await;
    }

    async fn tasks_wake_across_threads() {
        let mut receivers = Vec::new();
        let mut senders = Vec::new();
        for _ in 0..200 {
            let (tx, rx) = oneshot::channel::<u32>();
            senders.push(tx);
            receivers.push(runtime::spawn(async move { rx.await.unwrap() }));
        }
        let thread = std::thread::spawn(move || {
            for (i, tx) in senders.into_iter().enumerate() {
                if i % 7 == 0 {
                    std::thread::sleep(Duration::from_micros(50));
                }
                tx.send(i as u32).unwrap();
            }
        });
        let mut sum = 0;
        for r in receivers {
            sum += r.await;
        }
        thread.join().unwrap();
        assert_eq!(sum, (0..200u32).sum::<u32>());
    }
}

#[test]
fn spawner_after_shutdown_is_an_error() {
    for_every_backend!(|rt| {
        let spawner = runtime::raw::enter(rt, async { Spawner::current() });
        let err = spawner.spawn(async {}).unwrap_err();
        assert!(err.is_shutdown());
        assert!(spawner.spawn_obj(futures::task::FutureObj::new(Box::new(async {}))).is_err());
    });
}

#[test]
fn join_handle_of_task_dropped_by_shutdown_panics_when_awaited() {
    for_every_backend!(|rt| {
        let handle = runtime::raw::enter(rt, async {
            let handle = runtime::spawn(futures::future::pending::<u8>());
            runtime::task::yield_now().await;
            handle
        });
        assert!(handle.is_finished());
        let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime::raw::enter(runtime_tokio::TokioCurrentThread, handle)
        }))
        .unwrap_err();
        assert!(panic_message(&*payload).contains("shut down"), "{}", panic_message(&*payload));
    });
}

#[test]
fn cancel_after_shutdown_is_none() {
    for_every_backend!(|rt| {
        let handle = runtime::raw::enter(rt, async {
            let handle = runtime::spawn(futures::future::pending::<u8>());
            runtime::task::yield_now().await;
            handle
        });
        assert_eq!(futures::executor::block_on(handle.cancel()), None);
    });
}
