//! `spawn_local`: futures that are not `Send`, on the thread that entered the runtime, on every
//! backend; where it may not be called; what happens to local tasks at shutdown.

#[macro_use]
mod common;

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

use common::{DropCounter, panic_message};
use futures::FutureExt;
use futures::channel::oneshot;
use runtime::task::spawn_local;

/// Part of the message of a `spawn_local` called where it may not be.
const ELSEWHERE: &str = "may only be called from the entry future";

fn assert_send<T: Send>(_: &T) {}

#[test]
fn spawn_local_outside_any_runtime_panics_saying_where_it_may_be_called() {
    let caught = std::panic::catch_unwind(|| drop(spawn_local(async {})));
    let message = panic_message(&*caught.expect_err("outside a runtime"));
    assert!(message.contains(ELSEWHERE), "{message}");
}

on_every_backend! {
    // A borrow held across an await makes a future that is not `Send`: the point here.
    #[allow(clippy::await_holding_refcell_ref)]
    async fn local_tasks_run_on_the_entering_thread() {
        let entry = thread::current().id();
        let shared = Rc::new(RefCell::new(Vec::new()));
        let mut handles = Vec::new();
        for i in 0..10 {
            let shared = shared.clone();
            handles.push(spawn_local(async move {
                // A borrow held across an await: not `Send`, which is the point here.
                let own = RefCell::new(None);
                let mut slot = own.borrow_mut();
                runtime::task::yield_now().await;
                *slot = Some(i);
                shared.borrow_mut().extend(slot.take());
                thread::current().id()
            }));
        }
        for handle in handles {
            assert_eq!(handle.await, entry);
        }
        assert_eq!(*shared.borrow(), (0..10).collect::<Vec<_>>());
    }

    async fn local_tasks_interleave_with_the_entry_future() {
        let (to_local, from_entry) = oneshot::channel::<u32>();
        let (to_entry, from_local) = oneshot::channel::<u32>();
        let handle = spawn_local(async move {
            let got = from_entry.await.expect("the entry sends");
            to_entry.send(got + 1).expect("the entry waits");
        });
        to_local.send(41).expect("the local task waits");
        assert_eq!(from_local.await.expect("the local task answers"), 42);
        handle.await;
    }

    async fn a_local_task_may_spawn_local_tasks() {
        let value = Rc::new(5);
        let inner = spawn_local(async move {
            let nested = spawn_local(async move { *value * 2 });
            nested.await + 1
        });
        assert_eq!(inner.await, 11);
    }

    async fn a_local_task_is_woken_from_another_thread() {
        let (tx, rx) = oneshot::channel::<&'static str>();
        let local = spawn_local(async move { Rc::new(rx.await.expect("sent")) });
        runtime::spawn(async move { tx.send("from a worker").expect("the local task waits") }).await;
        assert_eq!(*local.await, "from a worker");
    }

    async fn a_send_output_gives_a_send_handle_that_may_be_awaited_elsewhere() {
        let handle = spawn_local(async { Rc::new(3).as_ref() + 4 });
        assert_send(&handle);
        assert_eq!(runtime::spawn(handle).await, 7);
    }

    async fn a_local_task_panic_resumes_in_its_awaiter() {
        let handle = spawn_local(async { panic!("local boom") });
        let caught = AssertUnwindSafe(handle).catch_unwind().await;
        assert_eq!(panic_message(&*caught.expect_err("the panic resumes")), "local boom");
    }

    async fn cancelling_a_local_task_drops_its_future_first() {
        let drops = DropCounter::default();
        let token = drops.token();
        let handle = spawn_local(async move {
            let _token = token;
            futures::future::pending::<()>().await;
        });
        assert!(!handle.is_finished());
        assert_eq!(handle.cancel().await, None);
        assert_eq!(drops.dropped(), 1);
        // An output that is not `Send` can be cancelled too.
        let finished = spawn_local(async { Rc::new(9) });
        runtime::task::yield_now().await;
        assert_eq!(finished.cancel().await.as_deref(), Some(&9));
    }

    async fn spawn_local_in_a_spawned_task_panics_saying_where_it_may_be_called() {
        // On TokioCurrentThread too, though that task runs on the entering thread.
        let message = runtime::spawn(async {
            let caught = std::panic::catch_unwind(|| drop(spawn_local(async {})));
            panic_message(&*caught.expect_err("in a spawned task"))
        })
        .await;
        assert!(message.contains(ELSEWHERE), "{message}");
    }

    async fn spawn_local_in_a_blocking_job_panics_saying_where_it_may_be_called() {
        let message = runtime::task::spawn_blocking(|| {
            let caught = std::panic::catch_unwind(|| drop(spawn_local(async {})));
            panic_message(&*caught.expect_err("in a blocking job"))
        })
        .await;
        assert!(message.contains(ELSEWHERE), "{message}");
    }
}

/// What the drop of a pending local task saw.
type Drops = Arc<Mutex<Vec<(usize, ThreadId)>>>;

struct Recorder {
    index: usize,
    drops: Drops,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.drops.lock().unwrap().push((self.index, thread::current().id()));
    }
}

#[test]
fn pending_local_tasks_are_dropped_on_the_entering_thread_in_spawn_order_before_enter_returns() {
    for_every_backend!(|rt| {
        let drops: Drops = Arc::default();
        let entering = thread::current().id();
        let theirs = drops.clone();
        runtime::raw::enter(rt, async move {
            for index in 0..5 {
                let recorder = Recorder { index, drops: theirs.clone() };
                // An `Rc` keeps it local: it cannot move to another thread.
                let marker = Rc::new(());
                spawn_local(async move {
                    let _recorder = recorder;
                    let _marker = marker;
                    futures::future::pending::<()>().await;
                })
                .detach();
            }
            // Let each one start.
            runtime::task::yield_now().await;
            assert!(theirs.lock().unwrap().is_empty());
        });
        let drops = drops.lock().unwrap();
        assert_eq!(drops.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        assert!(drops.iter().all(|(_, thread)| *thread == entering));
    });
}

#[test]
fn awaiting_a_local_task_dropped_by_shutdown_panics_saying_so() {
    for_every_backend!(|rt| {
        let (tx, rx) = std::sync::mpsc::channel();
        runtime::raw::enter(rt, async move {
            let handle = spawn_local(futures::future::pending::<u8>());
            tx.send(handle).unwrap();
        });
        let handle = rx.recv().unwrap();
        assert!(handle.is_finished());
        let caught = std::panic::catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(handle)));
        let message = panic_message(&*caught.expect_err("dropped by shutdown"));
        assert!(message.contains("shut down"), "{message}");
    });
}
