//! The virtual clock on every backend that has one: `Native` always, `TokioCurrentThread` with
//! the feature `test-util` (CI runs with `--all-features`). Assertions are on virtual instants,
//! never on speed; the watchdog only guards against a hang.

#[macro_use]
mod common;

use std::io;
use std::time::Duration;

use futures::prelude::*;
use runtime::prelude::*;
use runtime::time::{Delay, Interval};

const HOUR: Duration = Duration::from_secs(3600);

/// Virtual durations are exact on Native; Tokio's timer rounds deadlines up to its next
/// millisecond tick, so there it may read up to 1 ms more. Never less.
#[track_caller]
fn assert_virtual(actual: Duration, expected: Duration) {
    assert!(
        actual >= expected && actual <= expected + Duration::from_millis(1),
        "expected {expected:?} of virtual time, got {actual:?}"
    );
}

/// Each test on every backend with a virtual clock, starting paused.
macro_rules! on_clock_backends {
    ($($(#[$meta:meta])* async fn $name:ident() $(-> $ret:ty)? $body:block)*) => {$(
        #[cfg(feature = "test-util")]
        #[runtime::test(runtime::native::Native, runtime_tokio::TokioCurrentThread, start_paused, timeout = "30s")]
        $(#[$meta])*
        async fn $name() $(-> $ret)? $body

        #[cfg(not(feature = "test-util"))]
        #[runtime::test(runtime::native::Native, start_paused, timeout = "30s")]
        $(#[$meta])*
        async fn $name() $(-> $ret)? $body
    )*};
}

on_clock_backends! {
    async fn one_hour_delay_fires_at_exactly_one_hour() {
        let start = runtime::time::now();
        let fired = Delay::new(HOUR).await;
        assert_virtual(fired - start, HOUR);
        assert_virtual(runtime::time::now() - start, HOUR);
    }

    async fn day_long_interval_ticks_24_times() {
        let start = runtime::time::now();
        let ticks: Vec<_> = Interval::new(HOUR).take(24).collect().await;
        assert_eq!(ticks.len(), 24);
        for (k, tick) in ticks.iter().enumerate() {
            // Interval yields its scheduled instants: exact on every backend.
            assert_eq!(*tick - start, HOUR * (k as u32 + 1));
        }
        assert_virtual(runtime::time::now() - start, HOUR * 24);
    }

    async fn advance_moves_time_by_hand() {
        let start = runtime::time::now();
        let delay = Delay::new(Duration::from_secs(10));
        let delay = runtime::spawn(async move { delay.await - start });
        runtime::time::advance(Duration::from_secs(4)).await;
        assert_eq!(runtime::time::now() - start, Duration::from_secs(4));
        assert!(!delay.is_finished());
        runtime::time::advance(Duration::from_secs(6)).await;
        assert_virtual(delay.await, Duration::from_secs(10));
    }

    async fn timeouts_follow_the_clock() {
        let start = runtime::time::now();
        let err = future::pending::<()>().timeout(HOUR).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_virtual(runtime::time::now() - start, HOUR);
    }

    async fn pending_io_does_not_hold_the_clock_back() -> io::Result<()> {
        let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
        let waiting = runtime::spawn(async move { listener.accept().await.map(|_| ()) });
        let start = runtime::time::now();
        Delay::new(HOUR).await;
        assert_virtual(runtime::time::now() - start, HOUR);
        assert!(!waiting.is_finished());
        Ok(())
    }

    async fn resume_runs_on_from_the_instant_reached() {
        runtime::time::advance(HOUR).await;
        let reached = runtime::time::now();
        runtime::time::resume();
        let later = runtime::time::now();
        assert!(later >= reached, "the clock jumped back on resume");
        // Real time again: a short delay fires by itself.
        Delay::new(Duration::from_millis(2)).await;
        assert!(runtime::time::now() >= later + Duration::from_millis(2));
    }

    async fn misuse_panics_with_a_message() {
        let paused_again = std::panic::catch_unwind(runtime::time::pause).unwrap_err();
        assert!(common::panic_message(&*paused_again).contains("already paused"));
        runtime::time::resume();
        let resumed_again = std::panic::catch_unwind(runtime::time::resume).unwrap_err();
        assert!(common::panic_message(&*resumed_again).contains("not paused"));
        let advanced = std::panic::AssertUnwindSafe(runtime::time::advance(HOUR)).catch_unwind().await.unwrap_err();
        assert!(common::panic_message(&*advanced).contains("not paused"));
    }

    async fn many_tasks_sleep_through_a_virtual_day() {
        let start = runtime::time::now();
        let handles: Vec<_> = (1..=100u32)
            .map(|i| {
                let delay = Delay::new(Duration::from_secs(864) * i);
                runtime::spawn(async move { delay.await - start })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            assert_virtual(handle.await, Duration::from_secs(864) * (i as u32 + 1));
        }
    }
}

#[test]
fn pausing_multi_thread_tokio_names_the_current_thread_flavour() {
    let message = runtime::raw::enter(runtime_tokio::Tokio, async {
        common::panic_message(&*std::panic::catch_unwind(runtime::time::pause).unwrap_err())
    });
    assert!(message.contains("TokioCurrentThread"), "{message}");
}

#[test]
fn each_instance_has_its_own_clock() {
    let paused = std::thread::spawn(|| {
        runtime::raw::enter(runtime::native::Native, async {
            runtime::time::pause();
            let start = runtime::time::now();
            Delay::new(HOUR).await;
            runtime::time::now() - start
        })
    });
    let real = runtime::raw::enter(runtime::native::Native, async {
        let start = std::time::Instant::now();
        Delay::new(Duration::from_millis(20)).await;
        start.elapsed()
    });
    assert_eq!(paused.join().unwrap(), HOUR);
    assert!(real >= Duration::from_millis(20) && real < HOUR);
}
