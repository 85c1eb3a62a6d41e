//! 100,000 delays do not grow the number of `runtime-native-*` threads: one timer facility,
//! not a thread per timer. Its own test target: it counts the whole process's threads.
#![cfg(target_os = "linux")]

use std::time::Duration;

use runtime::time::Delay;

fn native_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("runtime-native"))
        .count()
}

#[test]
fn hundred_thousand_delays_add_no_thread() {
    let rt = runtime::native::Native::builder().worker_threads(2).build();
    runtime::raw::enter(rt, async {
        // A new thread takes its name as it starts: wait (boundedly) for both workers.
        for _ in 0..200 {
            if native_threads() == 2 {
                break;
            }
            Delay::new(Duration::from_millis(5)).await;
        }
        let before = native_threads();
        assert_eq!(before, 2, "two workers, nothing else");
        let handles: Vec<_> = (0..100_000u64)
            .map(|i| {
                runtime::spawn(async move { Delay::new(Duration::from_micros(1_000 + (i * 7919) % 20_000)).await })
            })
            .collect();
        // Midway, while most delays are pending.
        Delay::new(Duration::from_millis(5)).await;
        let during = native_threads();
        for handle in handles {
            handle.await;
        }
        assert_eq!(during, before, "threads while 100,000 delays were pending");
        assert_eq!(native_threads(), before);
    });
    assert_eq!(native_threads(), 0, "the instance's threads are joined when enter returns");
}
