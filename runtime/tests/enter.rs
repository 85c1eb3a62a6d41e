//! `runtime::raw::enter`: typed output, borrowed and non-Send futures, nesting, shutdown.

#[macro_use]
mod common;

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{DropCounter, panic_message};
use futures::channel::oneshot;

#[test]
fn typed_output_and_borrowed_non_send_future() {
    for_every_backend!(|rt| {
        let borrowed = String::from("on the caller's stack");
        let not_send = Rc::new(2usize);
        let out = runtime::raw::enter(rt, async {
            runtime::task::yield_now().await;
            borrowed.len() + *not_send
        });
        assert_eq!(out, borrowed.len() + 2);
    });
}

#[test]
fn each_enter_is_a_fresh_instance() {
    for_every_backend!(|rt| {
        let first = runtime::raw::enter(rt, async { runtime::spawn(async { 1 }).await });
        let second = runtime::raw::enter(rt, async { runtime::spawn(async { 2 }).await });
        assert_eq!(first + second, 3);
        assert!(runtime::raw::current().is_none(), "the instance is gone after enter returns");
    });
}

#[test]
fn nested_enter_panics_with_a_message() {
    for_every_backend!(|rt| {
        let message = runtime::raw::enter(rt, async {
            let payload = std::panic::catch_unwind(|| runtime::raw::enter(runtime_tokio::TokioCurrentThread, async {}))
                .unwrap_err();
            panic_message(&*payload)
        });
        assert!(message.contains("inside a running runtime"), "{message}");
    });
}

#[test]
fn nested_enter_from_a_task_panics() {
    for_every_backend!(|rt| {
        let message = runtime::raw::enter(rt, async {
            runtime::spawn(async {
                let payload =
                    std::panic::catch_unwind(|| runtime::raw::enter(runtime_tokio::TokioCurrentThread, async {}))
                        .unwrap_err();
                panic_message(&*payload)
            })
            .await
        });
        assert!(message.contains("inside a running runtime"), "{message}");
    });
}

#[test]
fn panic_in_entered_future_resumes_with_original_payload() {
    #[derive(Debug, PartialEq)]
    struct Custom(u32);
    for_every_backend!(|rt| {
        let payload = std::panic::catch_unwind(|| {
            runtime::raw::enter(rt, async {
                runtime::task::yield_now().await;
                std::panic::panic_any(Custom(77));
            })
        })
        .unwrap_err();
        assert_eq!(payload.downcast_ref::<Custom>(), Some(&Custom(77)));
        // And the next enter on this thread works.
        assert_eq!(runtime::raw::enter(rt, async { 1 }), 1);
    });
}

#[test]
fn pending_tasks_are_dropped_on_return() {
    for_every_backend!(|rt| {
        let drops = DropCounter::default();
        let (started_tx, started_rx) = oneshot::channel();
        let tokens: Vec<_> = (0..10).map(|_| drops.token()).collect();
        runtime::raw::enter(rt, async move {
            let mut started = Some(started_tx);
            for token in tokens {
                let started = started.take();
                runtime::spawn(async move {
                    let _token = token;
                    if let Some(s) = started {
                        let _ = s.send(());
                    }
                    futures::future::pending::<()>().await
                })
                .detach();
            }
            started_rx.await.unwrap();
        });
        assert_eq!(drops.dropped(), 10, "every pending task's destructor ran before enter returned");
    });
}

#[test]
fn destructor_that_spawns_during_shutdown_does_not_panic() {
    struct SpawnOnDrop(Arc<AtomicBool>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            if runtime::raw::current().is_some() {
                let handle = runtime::spawn(async {});
                drop(handle);
            }
            self.0.store(true, Ordering::SeqCst);
        }
    }
    for_every_backend!(|rt| {
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = SpawnOnDrop(dropped.clone());
        runtime::raw::enter(rt, async move {
            runtime::spawn(async move {
                let _guard = guard;
                futures::future::pending::<()>().await
            })
            .detach();
            runtime::task::yield_now().await;
        });
        assert!(dropped.load(Ordering::SeqCst));
    });
}

#[test]
fn configured_tokio_builder_runs() {
    let rt = runtime_tokio::Tokio::builder()
        .worker_threads(1)
        .max_blocking_threads(2)
        .blocking_keep_alive(std::time::Duration::from_millis(10))
        .build();
    assert_eq!(runtime::raw::enter(rt.clone(), async { runtime::spawn(async { 4 }).await }), 4);
    assert_eq!(runtime::raw::enter(&rt, async { 5 }), 5);
    let boxed: Box<dyn runtime::raw::Runtime> = Box::new(rt);
    assert_eq!(runtime::raw::enter(boxed, async { 6 }), 6);
}

#[test]
#[should_panic(expected = "at least one worker thread")]
fn zero_workers_panics_at_build() {
    let _ = runtime_tokio::Tokio::builder().worker_threads(0).build();
}

#[test]
#[should_panic(expected = "at least one thread")]
fn zero_blocking_threads_panics_at_build() {
    let _ = runtime_tokio::Tokio::builder().max_blocking_threads(0).build();
}

// The attributes, on every backend: `main` is exercised by the examples and doc tests.
on_every_backend! {
    async fn attribute_body_may_be_non_send() {
        let local = Rc::new(1u8);
        runtime::task::yield_now().await;
        assert_eq!(*local, 1);
    }

    async fn attribute_body_may_return_result() -> Result<(), Box<dyn std::error::Error>> {
        let n: u8 = "7".parse()?;
        assert_eq!(n, 7);
        Ok(())
    }

    #[should_panic(expected = "boom")]
    async fn attribute_composes_with_should_panic() {
        panic!("boom");
    }

    #[ignore = "shows that #[ignore] is kept; it would fail if run"]
    async fn attribute_composes_with_ignore() {
        panic!("ignored tests do not run");
    }
}

#[runtime::test(runtime_tokio::TokioCurrentThread)]
async fn single_backend_test_is_a_plain_test() {
    runtime::task::yield_now().await;
}
