//! `TaskSet`: completion order, panics, `cancel_all`, dropping the set, on every backend.

#[macro_use]
mod common;

use std::panic::AssertUnwindSafe;

use common::{DropCounter, panic_message};
use futures::FutureExt;
use futures::channel::oneshot;
use runtime::task::TaskSet;

const TASKS: usize = 100;

fn assert_send_debug_default<T: Send + std::fmt::Debug + Default>() {}

#[test]
fn a_set_is_send_debug_and_default_and_needs_no_runtime() {
    assert_send_debug_default::<TaskSet<u8>>();
    let set = TaskSet::<String>::new();
    assert!(set.is_empty());
    assert_eq!(set.len(), 0);
    assert!(format!("{set:?}").contains("TaskSet"));
}

#[test]
fn spawning_outside_a_runtime_panics_saying_so() {
    let mut set = TaskSet::new();
    let caught = std::panic::catch_unwind(AssertUnwindSafe(|| set.spawn(async {})));
    let message = panic_message(&*caught.expect_err("spawn outside a runtime"));
    assert!(message.contains("no runtime"), "{message}");
    assert!(set.is_empty());
}

on_every_backend! {
    async fn join_next_gives_outputs_in_the_order_tasks_finish() {
        let mut set = TaskSet::new();
        let mut triggers = Vec::new();
        for i in 0..3u32 {
            let (tx, rx) = oneshot::channel::<()>();
            triggers.push(Some(tx));
            set.spawn(async move {
                rx.await.expect("triggered");
                i
            });
        }
        assert_eq!(set.len(), 3);
        for i in [2u32, 0, 1] {
            triggers[i as usize].take().expect("once").send(()).expect("the task waits");
            assert_eq!(set.join_next().await, Some(i));
        }
        assert!(set.is_empty());
        assert_eq!(set.join_next().await, None);
    }

    async fn every_output_is_joined_once() {
        let mut set = TaskSet::new();
        for i in 0..TASKS {
            set.spawn(async move {
                runtime::task::yield_now().await;
                i
            });
        }
        let mut seen = [false; TASKS];
        while let Some(i) = set.join_next().await {
            assert!(!std::mem::replace(&mut seen[i], true), "task {i} joined twice");
        }
        assert!(seen.iter().all(|&s| s));
        assert!(set.is_empty());
    }

    async fn a_set_reused_over_rounds_joins_every_output_once() {
        // More outcomes than one queue chunk holds, several times over: the drained chunks are
        // reused by the later rounds.
        let mut set = TaskSet::new();
        for round in 0..3usize {
            let tasks = 5 * TASKS + round;
            for i in 0..tasks {
                set.spawn(async move {
                    if i % 2 == 0 {
                        runtime::task::yield_now().await;
                    }
                    i
                });
            }
            let mut seen = vec![false; tasks];
            while let Some(i) = set.join_next().await {
                assert!(!std::mem::replace(&mut seen[i], true), "round {round}: task {i} joined twice");
            }
            assert!(seen.iter().all(|&s| s), "round {round}: a task was not joined");
        }
    }

    async fn a_task_panic_resumes_in_join_next_and_the_set_goes_on() {
        let mut set = TaskSet::new();
        set.spawn(async { panic!("task set boom") });
        let caught = AssertUnwindSafe(set.join_next()).catch_unwind().await;
        assert_eq!(panic_message(&*caught.expect_err("the panic resumes")), "task set boom");
        assert!(set.is_empty());
        set.spawn(async { 7 });
        assert_eq!(set.join_next().await, Some(7));
    }

    async fn cancel_all_drops_every_future_before_it_resolves() {
        let drops = DropCounter::default();
        let mut set = TaskSet::new();
        for _ in 0..TASKS {
            let token = drops.token();
            set.spawn(async move {
                let _token = token;
                futures::future::pending::<()>().await;
            });
        }
        set.cancel_all().await;
        assert_eq!(drops.dropped(), TASKS);
        assert!(set.is_empty());
        assert_eq!(set.join_next().await, None);
        // The set stays usable.
        set.spawn(async {});
        assert_eq!(set.join_next().await, Some(()));
    }

    async fn cancel_all_keeps_finished_outputs_out_of_later_joins() {
        let mut set = TaskSet::new();
        set.spawn(async { 1 });
        set.spawn(futures::future::pending());
        set.cancel_all().await;
        set.spawn(async { 2 });
        assert_eq!(set.join_next().await, Some(2));
        assert_eq!(set.join_next().await, None);
    }

    async fn dropping_the_set_cancels_every_task() {
        let mut set = TaskSet::new();
        let mut dropped = Vec::new();
        for _ in 0..TASKS {
            // The sender goes with the task's future: its receiver then reports `Canceled`.
            let (tx, rx) = oneshot::channel::<()>();
            dropped.push(rx);
            set.spawn(async move {
                let _tx = tx;
                futures::future::pending::<()>().await;
            });
        }
        drop(set);
        for rx in dropped {
            assert!(rx.await.is_err(), "the task's future was dropped");
        }
    }

    async fn rounds_of_spawns_joins_and_cancels_lose_and_repeat_nothing() {
        // Tasks that finish at once, after yields, when triggered, or never; each round joins
        // some of them and cancels the rest. Every output is joined at most once, and every
        // future is dropped by the time `cancel_all` resolves.
        let drops = DropCounter::default();
        let mut set = TaskSet::new();
        for round in 0..20u64 {
            let mut triggers = Vec::new();
            for i in 0..200u64 {
                let token = drops.token();
                let id = round * 1000 + i;
                match i % 4 {
                    0 => set.spawn(async move {
                        let _token = token;
                        id
                    }),
                    1 => set.spawn(async move {
                        let _token = token;
                        runtime::task::yield_now().await;
                        runtime::task::yield_now().await;
                        id
                    }),
                    2 => {
                        let (tx, rx) = oneshot::channel::<()>();
                        triggers.push(tx);
                        set.spawn(async move {
                            let _token = token;
                            let _ = rx.await;
                            id
                        });
                    }
                    _ => set.spawn(async move {
                        let _token = token;
                        futures::future::pending::<()>().await;
                        id
                    }),
                }
            }
            // Half of the triggered ones can finish: 125 of the round's 200 can.
            for tx in triggers.drain(..).step_by(2) {
                tx.send(()).expect("the task waits");
            }
            let mut joined = std::collections::HashSet::new();
            for _ in 0..100 {
                let id = set.join_next().await.expect("a task finishes");
                assert_eq!(id / 1000, round, "an output of an earlier round");
                assert_ne!(id % 4, 3, "a task that never finishes was joined");
                assert!(joined.insert(id), "{id} joined twice");
            }
            assert_eq!(set.len(), 100);
            set.cancel_all().await;
            assert_eq!(drops.dropped() as u64, (round + 1) * 200, "round {round}");
            assert!(set.is_empty());
        }
    }

    async fn join_next_is_cancel_safe() {
        let mut set = TaskSet::new();
        let (tx, rx) = oneshot::channel::<()>();
        set.spawn(async move {
            rx.await.expect("triggered");
            "kept"
        });
        // Polled once and dropped while the task still runs.
        assert!(set.join_next().now_or_never().is_none());
        tx.send(()).expect("the task waits");
        assert_eq!(set.join_next().await, Some("kept"));
    }
}
