//! A task's waker or join handle kept after its instance stopped holds none of the instance's
//! descriptors (issue 25, item 13): 20 instances, one kept waker and handle each, took the
//! process from 6 to 86 open descriptors (the poll, its registry, the waker's eventfd and the
//! timerfd of each). Its own test target: it counts the whole process's descriptors.
//!
//! Native only: what an instance of another backend leaves behind is that backend's (Tokio's is
//! guarded by the facade's process tests).
#![cfg(target_os = "linux")]

use std::task::Waker;

const INSTANCES: usize = 20;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

#[test]
fn kept_wakers_and_join_handles_hold_no_descriptor() {
    // One instance first: whatever the process sets up once (std's, the test harness's) is
    // counted in the baseline.
    runtime::raw::enter(runtime::native::Native, async { runtime::spawn(async {}).await });
    let before = open_fds();
    let mut kept: Vec<(Waker, runtime::task::JoinHandle<()>)> = Vec::with_capacity(INSTANCES);
    for _ in 0..INSTANCES {
        kept.push(runtime::raw::enter(runtime::native::Native, async {
            let (tx, rx) = futures::channel::oneshot::channel();
            let handle = runtime::spawn(async move {
                let waker = std::future::poll_fn(|cx| std::task::Poll::Ready(cx.waker().clone())).await;
                tx.send(waker).unwrap();
                // Never completes: shut down with its instance, its handle kept.
                std::future::pending::<()>().await;
            });
            (rx.await.unwrap(), handle)
        }));
    }
    let after = open_fds();
    // Waking a task of a stopped instance is harmless.
    for (waker, _) in &kept {
        waker.wake_by_ref();
    }
    drop(kept);
    assert!(
        after <= before + 2,
        "{INSTANCES} stopped instances, a waker and join handle kept of each, hold {} descriptors",
        after.saturating_sub(before)
    );
}
