//! After `enter` returns, nothing of the instance is left: no worker, reactor or blocking
//! thread, and wakers that outlive it are harmless. Its own test target: it counts the whole
//! process's threads.
#![cfg(target_os = "linux")]

#[macro_use]
mod common;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").expect("/proc/self/task").count()
}

#[test]
fn no_thread_outlives_its_instance() {
    let baseline = threads();
    for_every_backend!(|rt| {
        runtime::raw::enter(rt, async {
            // Exercise everything that may start a thread: tasks, I/O, timers, name resolution.
            let handles: Vec<_> = (0..100).map(|i| runtime::spawn(async move { i })).collect();
            for h in handles {
                h.await;
            }
            let listener = runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let _client = runtime::net::TcpStream::connect(("localhost", port)).await.unwrap();
            runtime::time::Delay::new(std::time::Duration::from_millis(2)).await;
            runtime::spawn(futures::future::pending::<()>()).detach();
        });
        assert_eq!(threads(), baseline, "threads left behind by {}", std::any::type_name_of_val(&rt));
    });
}
