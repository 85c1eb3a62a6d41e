//! Stress, on every backend: many tasks waking each other across threads at random moments,
//! many connections reading and writing at once, many timers. Ignored by default; run by name:
//!
//! ```text
//! cargo test -p runtime --test stress -- --ignored                         # full size
//! RUNTIME_STRESS_SCALE=0.05 cargo test -p runtime --test stress -- --ignored  # CI's size
//! ```

#[macro_use]
mod common;

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use futures::prelude::*;
use runtime::net::{TcpListener, TcpStream};

/// Fraction of the full sizes to run (env `RUNTIME_STRESS_SCALE`, default 1).
fn scaled(full: usize, minimum: usize) -> usize {
    let scale: f64 = std::env::var("RUNTIME_STRESS_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    ((full as f64 * scale) as usize).max(minimum)
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
#[ignore = "stress: run by name, see the file's docs"]
fn tasks_wake_each_other_across_threads() {
    let n = scaled(100_000, 1_000);
    for_every_backend!(|rt| {
        let runs: Arc<Vec<AtomicU8>> = Arc::new((0..n).map(|_| AtomicU8::new(0)).collect());
        let outer = runs.clone();
        runtime::raw::enter(rt, async move {
            // Phase 1: woken by a foreign thread. Phase 2: woken by the previous task.
            let mut foreign = Vec::with_capacity(n);
            let mut relay: Vec<Mutex<Option<oneshot::Sender<()>>>> = Vec::with_capacity(n);
            let mut second = Vec::with_capacity(n);
            for _ in 0..n {
                let (tx, rx) = oneshot::channel::<()>();
                foreign.push((tx, rx));
                let (tx2, rx2) = oneshot::channel::<()>();
                relay.push(Mutex::new(Some(tx2)));
                second.push(Some(rx2));
            }
            let relay = Arc::new(relay);
            let mut senders = Vec::with_capacity(n);
            let mut handles = Vec::with_capacity(n);
            for (i, (tx, rx)) in foreign.into_iter().enumerate() {
                senders.push(tx);
                let rx2 = second[i].take().unwrap();
                let (relay, runs) = (relay.clone(), runs.clone());
                handles.push(runtime::spawn(async move {
                    rx.await.unwrap();
                    let next = relay[(i + 1) % n].lock().unwrap().take().unwrap();
                    next.send(()).unwrap();
                    rx2.await.unwrap();
                    runs[i].fetch_add(1, Ordering::SeqCst);
                }));
            }
            // Four threads fire phase 1 in shuffled order, pausing at random moments.
            let mut order: Vec<_> = senders.into_iter().enumerate().collect();
            let mut seed = 0x2545_F491_4F6C_DD1Du64;
            for i in (1..order.len()).rev() {
                order.swap(i, (xorshift(&mut seed) % (i as u64 + 1)) as usize);
            }
            let chunk = order.len().div_ceil(4);
            let mut threads = Vec::new();
            while !order.is_empty() {
                let batch: Vec<_> = order.drain(..chunk.min(order.len())).collect();
                threads.push(std::thread::spawn(move || {
                    let mut seed = batch.len() as u64 | 1;
                    for (_, tx) in batch {
                        match xorshift(&mut seed) % 256 {
                            0 => std::thread::sleep(Duration::from_micros(xorshift(&mut seed) % 100)),
                            1..=16 => std::thread::yield_now(),
                            _ => {}
                        }
                        tx.send(()).unwrap();
                    }
                }));
            }
            for handle in handles {
                handle.await;
            }
            for thread in threads {
                thread.join().unwrap();
            }
        });
        let wrong: Vec<_> = (0..n).filter(|&i| outer[i].load(Ordering::SeqCst) != 1).take(5).collect();
        assert!(wrong.is_empty(), "tasks that did not complete exactly once: {wrong:?}");
    });
}

/// Connections the descriptor limit allows (two per connection in this process, plus slack).
fn connections_allowed(want: usize) -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(1024);
    want.min(soft.saturating_sub(128) / 2)
}

#[test]
#[ignore = "stress: run by name, see the file's docs"]
fn connections_read_and_write_at_once() {
    let connections = connections_allowed(scaled(1_000, 20));
    const BYTES: usize = 32 * 1024;
    let pattern = |c: usize, i: usize| (c.wrapping_mul(131).wrapping_add(i) % 251) as u8;
    for_every_backend!(|rt| {
        runtime::raw::enter(rt, async move {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let server = runtime::spawn(async move {
                let mut echoes = Vec::new();
                for _ in 0..connections {
                    let (stream, _) = listener.accept().await.unwrap();
                    echoes.push(runtime::spawn(async move {
                        let (mut r, mut w) = (&stream, &stream);
                        futures::io::copy(&mut r, &mut w).await.unwrap();
                        stream.shutdown(std::net::Shutdown::Write).unwrap();
                    }));
                }
                for echo in echoes {
                    echo.await;
                }
            });
            let clients: Vec<_> = (0..connections)
                .map(|c| {
                    runtime::spawn(async move {
                        let stream = Arc::new(TcpStream::connect(addr).await.unwrap());
                        let writer = {
                            let stream = stream.clone();
                            runtime::spawn(async move {
                                let data: Vec<u8> = (0..BYTES).map(|i| pattern(c, i)).collect();
                                for chunk in data.chunks(1000) {
                                    (&*stream).write_all(chunk).await.unwrap();
                                }
                                stream.shutdown(std::net::Shutdown::Write).unwrap();
                            })
                        };
                        let mut back = Vec::new();
                        (&*stream).read_to_end(&mut back).await.unwrap();
                        writer.await;
                        assert_eq!(back.len(), BYTES, "connection {c}: bytes lost");
                        assert!(
                            back.iter().enumerate().all(|(i, b)| *b == pattern(c, i)),
                            "connection {c}: out of order"
                        );
                    })
                })
                .collect();
            for client in clients {
                client.await;
            }
            server.await;
        });
    });
}

#[test]
#[ignore = "stress: run by name, see the file's docs"]
fn many_timers_all_fire_never_early() {
    let n = scaled(100_000, 2_000);
    for_every_backend!(|rt| {
        let fired = Arc::new(AtomicUsize::new(0));
        let count = fired.clone();
        runtime::raw::enter(rt, async move {
            let handles: Vec<_> = (0..n)
                .map(|i| {
                    let count = count.clone();
                    runtime::spawn(async move {
                        let dur = Duration::from_micros(1_000 + (i as u64 * 7_919) % 49_000);
                        let start = Instant::now();
                        runtime::time::Delay::new(dur).await;
                        assert!(start.elapsed() >= dur, "timer {i} fired early");
                        count.fetch_add(1, Ordering::SeqCst);
                    })
                })
                .collect();
            for handle in handles {
                handle.await;
            }
        });
        assert_eq!(fired.load(Ordering::SeqCst), n);
    });
}

/// Timers armed and disarmed at random across threads: each task races a delay due in 5 ms to
/// a minute (the race mostly drops it, armed, from whichever wheel slot it reached) against one
/// of up to 3 ms, resets some, and checks that whichever fires is on time.
#[test]
#[ignore = "stress: run by name, see the file's docs"]
fn timers_armed_and_dropped_across_threads() {
    use runtime::time::{Delay, FutureExt};
    let n = scaled(20_000, 500);
    for_every_backend!(|rt| {
        let fired = Arc::new(AtomicUsize::new(0));
        let count = fired.clone();
        runtime::raw::enter(rt, async move {
            let handles: Vec<_> = (0..n)
                .map(|i| {
                    let count = count.clone();
                    runtime::spawn(async move {
                        let mut state = 0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1);
                        for _ in 0..4 {
                            let long = Duration::from_millis(5 + xorshift(&mut state) % 60_000);
                            let short = Duration::from_micros(xorshift(&mut state) % 3_000);
                            let start = Instant::now();
                            let mut delay = Delay::new(long);
                            if xorshift(&mut state).is_multiple_of(4) {
                                // Armed, then moved: the first entry must go.
                                assert!(futures::poll!(&mut delay).is_pending());
                                delay.reset(runtime::time::now() + long + Duration::from_secs(1));
                            }
                            // Under load both may be due by the time the task runs: the delay
                            // may then win, but neither may ever be early.
                            let (outcome, due) = match delay.timeout(short).await {
                                Ok(_) => ("delay", long),
                                Err(_) => ("timeout", short),
                            };
                            assert!(start.elapsed() >= due, "the {due:?} {outcome} fired early");
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            for handle in handles {
                handle.await;
            }
        });
        assert_eq!(fired.load(Ordering::SeqCst), 4 * n);
    });
}
