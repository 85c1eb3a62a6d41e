//! The panic rule of `#[runtime::test]`: a test fails when a task it spawned panicked and no
//! awaiter took the panic, on every backend. The failing tests below are ignored and pass
//! unless the parent test runs them in a child process with the gate set, so that a blanket
//! `--ignored` run does not fail.

#[macro_use]
mod common;

use std::panic::AssertUnwindSafe;
use std::process::Command;
use std::time::{Duration, Instant};

use common::panic_message;
use futures::FutureExt;
use futures::channel::oneshot;
use runtime::task::{JoinHandle, Spawner, TaskSet, spawn_local};

const GATE: &str = "RUNTIME_TASK_PANICS_TEST_CHILD";
const FAILURE: &str = "a task spawned by this test panicked: ";
/// How long a test waits for a task it made panic to finish.
const SETTLE_LIMIT: Duration = Duration::from_secs(20);

fn gated() -> bool {
    std::env::var_os(GATE).is_some()
}

/// A sender whose drop (when the task holding it unwinds) the test awaits: the panic is then
/// on its way to being recorded, which happens on the task's thread before the runtime stops.
fn unwind_signal() -> (oneshot::Sender<()>, oneshot::Receiver<()>) {
    oneshot::channel()
}

/// Waits until `handle`'s task has finished (its panic recorded), then detaches it.
async fn settle<T>(handle: JoinHandle<T>) {
    let start = Instant::now();
    while !handle.is_finished() {
        assert!(start.elapsed() < SETTLE_LIMIT, "the task did not finish");
        runtime::time::Delay::new(Duration::from_millis(1)).await;
    }
    handle.detach();
}

on_every_backend! {
    #[ignore = "fails on purpose; run by `each_unclaimed_task_panic_fails_its_test`"]
    async fn detached() {
        if gated() {
            settle(runtime::spawn(async { panic!("detached boom") })).await;
        }
    }

    #[ignore = "fails on purpose; run by `each_unclaimed_task_panic_fails_its_test`"]
    async fn dropped_handle() {
        if gated() {
            let (go, wait) = oneshot::channel::<()>();
            let (signal, unwound) = unwind_signal();
            drop(runtime::spawn(async move {
                let _signal = signal;
                wait.await.expect("go");
                panic!("dropped handle boom");
            }));
            go.send(()).unwrap();
            assert!(unwound.await.is_err());
        }
    }

    #[ignore = "fails on purpose; run by `each_unclaimed_task_panic_fails_its_test`"]
    async fn in_a_task_set() {
        if gated() {
            let mut set = TaskSet::new();
            let (signal, unwound) = unwind_signal();
            set.spawn(async move {
                let _signal = signal;
                panic!("task set boom");
            });
            assert!(unwound.await.is_err());
            set.cancel_all().await;
        }
    }

    #[ignore = "fails on purpose; run by `each_unclaimed_task_panic_fails_its_test`"]
    async fn local() {
        if gated() {
            settle(spawn_local(async { panic!("local boom") })).await;
        }
    }

    #[ignore = "fails on purpose; run by `each_unclaimed_task_panic_fails_its_test`"]
    async fn blocking() {
        if gated() {
            settle(runtime::task::spawn_blocking(|| panic!("blocking boom"))).await;
        }
    }

    #[ignore = "fails on purpose; run by `each_unclaimed_task_panic_fails_its_test`"]
    async fn spawned_by_a_task() {
        if gated() {
            // The inner handle comes back in a tuple: it is settled below, not awaited here.
            let (inner,) = runtime::spawn(async { (runtime::spawn(async { panic!("nested boom") }),) }).await;
            settle(inner).await;
        }
    }

    #[ignore = "fails on purpose; run by `each_unclaimed_task_panic_fails_its_test`"]
    async fn through_a_spawner_on_another_thread() {
        if gated() {
            let spawner = Spawner::current();
            let handle = std::thread::spawn(move || spawner.spawn(async { panic!("spawner boom") }).unwrap())
                .join()
                .unwrap();
            settle(handle).await;
        }
    }

    #[ignore = "fails on purpose; run by `each_unclaimed_task_panic_fails_its_test`"]
    async fn non_string_payload() {
        if gated() {
            settle(runtime::spawn(async { std::panic::panic_any(42u8) })).await;
        }
    }

    #[ignore = "fails on purpose; run by `each_unclaimed_task_panic_fails_its_test`"]
    async fn the_first_is_named() {
        if gated() {
            settle(runtime::spawn(async { panic!("first boom") })).await;
            settle(runtime::spawn(async { panic!("second boom") })).await;
        }
    }

    #[ignore = "fails on purpose; run by `each_unclaimed_task_panic_fails_its_test`"]
    async fn the_body_returned_ok() -> Result<(), String> {
        if gated() {
            settle(runtime::spawn(async { panic!("ok body boom") })).await;
        }
        Ok(())
    }

    #[ignore = "fails on purpose; run by `each_unclaimed_task_panic_fails_its_test`"]
    async fn the_body_panicked_too() {
        if gated() {
            settle(runtime::spawn(async { panic!("task boom") })).await;
            panic!("body boom");
        }
    }

    async fn a_panic_awaited_and_caught_does_not_count() {
        let caught = AssertUnwindSafe(runtime::spawn(async { panic!("awaited boom") })).catch_unwind().await;
        assert_eq!(panic_message(&*caught.expect_err("resumed")), "awaited boom");
    }

    async fn a_panic_resumed_by_cancel_and_caught_does_not_count() {
        let handle = runtime::spawn(async { panic!("cancel boom") });
        while !handle.is_finished() {
            runtime::task::yield_now().await;
        }
        let caught = AssertUnwindSafe(handle.cancel()).catch_unwind().await;
        assert_eq!(panic_message(&*caught.expect_err("resumed")), "cancel boom");
    }

    async fn a_panic_joined_from_a_task_set_and_caught_does_not_count() {
        let mut set = TaskSet::new();
        set.spawn(async { panic!("joined boom") });
        let caught = AssertUnwindSafe(set.join_next()).catch_unwind().await;
        assert_eq!(panic_message(&*caught.expect_err("resumed")), "joined boom");
    }

    async fn a_local_panic_awaited_and_caught_does_not_count() {
        let caught = AssertUnwindSafe(spawn_local(async { panic!("local awaited boom") })).catch_unwind().await;
        assert_eq!(panic_message(&*caught.expect_err("resumed")), "local awaited boom");
    }

    async fn a_panic_caught_by_the_awaiting_task_does_not_count() {
        let message = runtime::spawn(async {
            let caught = AssertUnwindSafe(runtime::spawn(async { panic!("inner boom") })).catch_unwind().await;
            panic_message(&*caught.expect_err("resumed"))
        })
        .await;
        assert_eq!(message, "inner boom");
    }

    #[should_panic(expected = "a task spawned by this test panicked: expected boom")]
    async fn should_panic_accepts_the_failure() {
        settle(runtime::spawn(async { panic!("expected boom") })).await;
    }
}

#[runtime::test(
    runtime::native::Native,
    runtime_tokio::Tokio,
    runtime_tokio::TokioCurrentThread,
    allow_task_panics,
    timeout = "60s"
)]
async fn allow_task_panics_lets_a_detached_panic_pass() {
    settle(runtime::spawn(async { panic!("allowed boom") })).await;
}

#[runtime::test(allow_task_panics)]
async fn allow_task_panics_stands_alone() {
    settle(runtime::task::spawn_blocking(|| panic!("allowed blocking boom"))).await;
}

#[runtime::main(runtime_tokio::TokioCurrentThread)]
async fn main_ignores_task_panics() {
    settle(runtime::spawn(async { panic!("main boom") })).await;
}

#[test]
fn main_is_unchanged() {
    main_ignores_task_panics();
}

/// The section of the test harness's output about `name`'s failure.
fn failure_of<'a>(output: &'a str, name: &str) -> &'a str {
    let header = format!("---- {name} stdout ----");
    let Some(start) = output.find(&header) else {
        panic!("no failure reported for {name}:\n{output}");
    };
    let rest = &output[start + header.len()..];
    let end = rest.find("\n---- ").or_else(|| rest.find("\nfailures:")).unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn each_unclaimed_task_panic_fails_its_test() {
    let cases = [
        ("detached", "detached boom"),
        ("dropped_handle", "dropped handle boom"),
        ("in_a_task_set", "task set boom"),
        ("local", "local boom"),
        ("blocking", "blocking boom"),
        ("spawned_by_a_task", "nested boom"),
        ("through_a_spawner_on_another_thread", "spawner boom"),
        ("non_string_payload", "Box<dyn Any>"),
        ("the_first_is_named", "first boom"),
        ("the_body_returned_ok", "ok body boom"),
    ];
    let backends = ["native", "tokio", "tokio_current_thread"];
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--test-threads", "1"])
        .env(GATE, "1")
        .output()
        .expect("run own test binary");
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{text}");
    for (case, payload) in cases {
        for backend in backends {
            let name = format!("{case}::{backend}");
            let failure = failure_of(&text, &name);
            let expected = format!("{FAILURE}{payload}");
            assert!(failure.contains(&expected), "{name} should fail with {expected:?}:\n{failure}");
        }
    }
    for backend in backends {
        let name = format!("the_body_panicked_too::{backend}");
        let failure = failure_of(&text, &name);
        assert!(failure.contains("panicked at") && failure.contains("body boom"), "{name}:\n{failure}");
        assert!(!failure.contains(FAILURE), "{name}: the body's own panic is the failure:\n{failure}");
    }
    let failed = (cases.len() + 1) * backends.len();
    assert!(text.contains(&format!("{failed} failed")), "{text}");
}
