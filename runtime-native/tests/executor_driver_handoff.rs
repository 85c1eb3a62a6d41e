//! With one worker busy in a long CPU-bound task and another idle, timers and I/O are still
//! served (issue 25, item 11): the idle worker ends up polling the reactor.
//!
//! Native only: this is the promise of runtime-native's crate docs ("I/O is never starved by
//! CPU-bound tasks"); Tokio makes none.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use runtime::time::Delay;

/// How long the CPU-bound task runs at most: far longer than the Delay, so that a Delay that
/// waits for it to end shows as a spinner that ran out its time.
const SPIN_LIMIT: Duration = Duration::from_secs(10);

fn two_workers() -> runtime::native::Configured {
    runtime::native::Native::builder().worker_threads(2).build()
}

#[runtime::test(two = two_workers(), timeout = "60s")]
async fn idle_worker_serves_timers_while_the_driver_holder_is_busy() {
    for _ in 0..3 {
        let stop = Arc::new(AtomicBool::new(false));
        let spinning = stop.clone();
        // Woken by a timer, the task runs on the worker that fired it: the one that held the
        // driver, while the other sleeps on its condition variable.
        let spinner = runtime::spawn(async move {
            Delay::new(Duration::from_millis(10)).await;
            let start = Instant::now();
            while !spinning.load(Ordering::Acquire) {
                if start.elapsed() > SPIN_LIMIT {
                    return false;
                }
                std::hint::spin_loop();
            }
            true
        });
        Delay::new(Duration::from_millis(100)).await;
        stop.store(true, Ordering::Release);
        assert!(spinner.await, "the Delay fired only once the CPU-bound task ended");
    }
}
