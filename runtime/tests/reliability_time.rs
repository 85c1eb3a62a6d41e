//! Time guarantees under CPU load: nothing fires early.

#[macro_use]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::prelude::*;
use runtime::prelude::*;
use runtime::time::{Delay, Interval};

on_every_backend! {
    async fn nothing_fires_early_under_cpu_load() {
        let stop = Arc::new(AtomicBool::new(false));
        // CPU hogs that yield now and then, keeping every worker busy.
        let hogs: Vec<_> = (0..4)
            .map(|_| {
                let stop = stop.clone();
                runtime::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let start = Instant::now();
                        while start.elapsed() < Duration::from_micros(300) {
                            std::hint::spin_loop();
                        }
                        runtime::task::yield_now().await;
                    }
                })
            })
            .collect();
        let checks: Vec<_> = (0..50u64)
            .map(|i| {
                runtime::spawn(async move {
                    let dur = Duration::from_micros(200 + i * 97);
                    let start = Instant::now();
                    let clock = runtime::time::now();
                    let fired = Delay::new(dur).await;
                    assert!(start.elapsed() >= dur, "delay fired early");
                    assert!(fired >= clock + dur);
                    let started = runtime::time::now();
                    let mut ticks = Interval::new(Duration::from_millis(1));
                    for k in 1..=3u32 {
                        let tick = ticks.next().await.unwrap();
                        assert!(runtime::time::now() >= tick, "tick {k} early");
                        assert!(tick >= started + Duration::from_millis(u64::from(k)));
                    }
                    let start = Instant::now();
                    let err = future::pending::<()>().timeout(dur).await.unwrap_err();
                    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
                    assert!(start.elapsed() >= dur, "timeout fired early");
                })
            })
            .collect();
        for check in checks {
            check.await;
        }
        stop.store(true, Ordering::SeqCst);
        for hog in hogs {
            hog.await;
        }
    }

    async fn zero_and_past_deadlines_are_immediate() {
        assert!(futures::poll!(Delay::new(Duration::ZERO)).is_ready());
        let past = runtime::time::now() - Duration::from_secs(1);
        assert!(futures::poll!(Delay::new_at(past)).is_ready());
        let err = future::pending::<()>().timeout(Duration::ZERO).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    }
}
