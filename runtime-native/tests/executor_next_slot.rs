//! The next-task slot: a task woken (or spawned) by a running task runs next on the same worker,
//! and two tasks waking each other cannot keep the worker's queue waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use runtime::time::FutureExt;

/// With two workers, the other one may be awake and searching (the asker spins a while to give
/// it time): it can steal from the queue, never from the slot, so the answering task always runs
/// on the asking task's thread.
#[test]
fn a_task_woken_by_the_running_one_runs_next_on_its_thread() {
    let rt = runtime::native::Native::builder().worker_threads(2).build();
    runtime::raw::enter(rt, async {
        runtime::spawn(async {
            for _ in 0..100 {
                let asker = std::thread::current().id();
                let (ping_tx, ping_rx) = oneshot::channel::<()>();
                let (pong_tx, pong_rx) = oneshot::channel();
                drop(runtime::spawn(async move {
                    // Where it first runs: the slot's worker, or a thief's.
                    let first = std::thread::current().id();
                    ping_rx.await.unwrap();
                    pong_tx.send(first).unwrap();
                }));
                // Time for the other worker, woken by the spawn's notification, to look for work.
                let spin = std::time::Instant::now();
                while spin.elapsed() < Duration::from_micros(300) {
                    std::hint::spin_loop();
                }
                ping_tx.send(()).unwrap();
                assert_eq!(pong_rx.await.unwrap(), asker, "the answering task ran on another worker");
            }
        })
        .await;
    });
}

/// One worker; two tasks echo a message back and forth without end, each wake putting the
/// other in the slot. A task spawned in the middle of the volleys (it lands in the slot, and the
/// next wake moves it to the worker's queue) still runs.
#[test]
fn two_tasks_waking_each_other_do_not_starve_the_queue() {
    let rt = runtime::native::Native::builder().worker_threads(1).build();
    runtime::raw::enter(rt, async {
        let stop = Arc::new(AtomicBool::new(false));
        let volleys = Arc::new(AtomicUsize::new(0));
        let (ran_tx, ran_rx) = oneshot::channel::<()>();
        let a = {
            let (stop, volleys) = (stop.clone(), volleys.clone());
            runtime::spawn(async move {
                let (mut to_b, mut b_inbox) = mpsc::channel::<()>(1);
                let (mut to_a, mut a_inbox) = mpsc::channel::<()>(1);
                let b = runtime::spawn(async move {
                    while b_inbox.next().await.is_some() {
                        if to_a.send(()).await.is_err() {
                            break;
                        }
                    }
                });
                let mut ran_tx = Some(ran_tx);
                let mut queued = None;
                to_b.send(()).await.unwrap();
                while !stop.load(Ordering::SeqCst) && a_inbox.next().await.is_some() {
                    if volleys.fetch_add(1, Ordering::SeqCst) == 10 {
                        let ran_tx = ran_tx.take().expect("once");
                        queued = Some(runtime::spawn(async move {
                            let _ = ran_tx.send(());
                        }));
                    }
                    to_b.send(()).await.unwrap();
                }
                drop(to_b);
                b.await;
                if let Some(queued) = queued {
                    queued.await;
                }
            })
        };
        let outcome = ran_rx.timeout(Duration::from_secs(10)).await;
        stop.store(true, Ordering::SeqCst);
        a.await;
        assert!(outcome.is_ok(), "the queued task did not run in 10 s of volleys");
        assert!(volleys.load(Ordering::SeqCst) > 10, "the volleys did not start");
    });
}
