//! Time: delays, intervals, timeouts.

#[macro_use]
mod common;

use std::io;
use std::time::{Duration, Instant};

use futures::prelude::*;
use runtime::prelude::*;
use runtime::time::{Delay, Elapsed, Interval};

const MS: Duration = Duration::from_millis(1);

fn is_timeout(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::TimedOut && err.get_ref().is_some_and(|inner| inner.is::<Elapsed>())
}

on_every_backend! {
    async fn delay_is_never_early() {
        for ms in [0u64, 1, 2, 5, 10, 20] {
            let dur = Duration::from_millis(ms);
            let start = runtime::time::now();
            let wall = Instant::now();
            let fired = Delay::new(dur).await;
            assert!(fired >= start + dur, "fired {:?} early", (start + dur) - fired);
            assert!(wall.elapsed() >= dur);
            assert!(runtime::time::now() >= fired);
        }
    }

    async fn new_at_in_the_past_is_ready_at_once() {
        let past = runtime::time::now() - Duration::from_millis(10);
        let mut delay = Delay::new_at(past);
        let fired = futures::poll!(&mut delay);
        assert!(matches!(fired, std::task::Poll::Ready(t) if t >= past));
    }

    async fn reset_rearms_and_moves_the_deadline() {
        let mut delay = Delay::new(Duration::from_secs(3600));
        let target = runtime::time::now() + 5 * MS;
        delay.reset(target);
        assert!((&mut delay).await >= target);
        let again = runtime::time::now() + 2 * MS;
        delay.reset(again);
        assert!(delay.await >= again);
    }

    async fn duration_max_never_fires_and_never_panics() {
        let mut never = Delay::new(Duration::MAX);
        assert!(futures::poll!(&mut never).is_pending());
        let short = Delay::new(5 * MS);
        futures::select! {
            _ = never => panic!("Duration::MAX fired"),
            _ = short.fuse() => {}
        }
        let mut ticks = Interval::new(Duration::MAX);
        assert!(futures::poll!(ticks.next()).is_pending());
        let timed = async { 1 }.timeout(Duration::MAX).await;
        assert_eq!(timed.unwrap(), 1);
    }

    async fn interval_yields_start_plus_k_periods() {
        let period = 3 * MS;
        let before = runtime::time::now();
        let mut interval = Interval::new(period);
        let after = runtime::time::now();
        let mut ticks = Vec::new();
        for _ in 0..5 {
            let tick = interval.next().await.unwrap();
            assert!(runtime::time::now() >= tick, "a tick came before its instant");
            ticks.push(tick);
        }
        for (k, pair) in ticks.windows(2).enumerate() {
            assert_eq!(pair[1] - pair[0], period, "tick {k}");
        }
        assert!(ticks[0] >= before + period && ticks[0] <= after + period);
    }

    async fn interval_missed_ticks_come_at_once() {
        let period = 2 * MS;
        let mut interval = Interval::new(period);
        Delay::new(10 * MS).await;
        let first = interval.next().await.unwrap();
        // The missed ticks are ready without waiting.
        for k in 1..4u32 {
            let tick = futures::poll!(interval.next());
            assert_eq!(tick, std::task::Poll::Ready(Some(first + period * k)));
        }
    }

    async fn future_timeout_succeeds_and_fails() {
        assert_eq!(async { 5 }.timeout(Duration::from_secs(10)).await.unwrap(), 5);
        let err = future::pending::<()>().timeout(2 * MS).await.unwrap_err();
        assert!(is_timeout(&err), "{err:?}");
        let at = runtime::time::now() + 2 * MS;
        let err = future::pending::<()>().timeout_at(at).await.unwrap_err();
        assert!(is_timeout(&err));
        assert!(runtime::time::now() >= at);
        // No flattening: an io::Result inside stays inside.
        let nested: io::Result<io::Result<u8>> = async { Ok(1) }.timeout(Duration::from_secs(1)).await;
        assert_eq!(nested.unwrap().unwrap(), 1);
    }

    async fn stream_timeout_goes_on() {
        let (mut tx, rx) = futures::channel::mpsc::channel::<u8>(4);
        let mut items = rx.timeout(5 * MS);
        tx.send(1).await.unwrap();
        assert_eq!(items.next().await.unwrap().unwrap(), 1);
        let err = items.next().await.unwrap().unwrap_err();
        assert!(is_timeout(&err));
        tx.send(2).await.unwrap();
        assert_eq!(items.next().await.unwrap().unwrap(), 2);
        drop(tx);
        assert!(items.next().await.is_none());
    }

    async fn reader_timeout_per_call_and_stays_usable() -> io::Result<()> {
        let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
        let client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
        let (mut server, _) = listener.accept().await?;
        let mut reader = client.timeout(5 * MS);
        let mut buf = [0u8; 4];
        let err = reader.read(&mut buf).await.unwrap_err();
        assert!(is_timeout(&err));
        server.write_all(b"late").await?;
        reader.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"late");
        Ok(())
    }

    async fn many_delays_fire_in_order_of_deadline() {
        let start = runtime::time::now();
        let handles: Vec<_> = (0..200u64)
            .map(|i| {
                let deadline = start + Duration::from_micros(100 * (i % 50));
                runtime::spawn(async move { (deadline, Delay::new_at(deadline).await) })
            })
            .collect();
        for h in handles {
            let (deadline, fired) = h.await;
            assert!(fired >= deadline);
        }
    }
}

#[test]
#[should_panic(expected = "period greater than zero")]
fn interval_zero_panics() {
    let _ = Interval::new(Duration::ZERO);
}

#[test]
fn now_outside_a_runtime_is_the_system_clock() {
    let before = Instant::now();
    let now = runtime::time::now();
    assert!(now >= before && now <= Instant::now());
    // Made outside, awaited inside.
    let delay = Delay::new(MS);
    let fired = runtime::raw::enter(runtime_tokio::TokioCurrentThread, delay);
    assert!(fired >= before + MS);
}
