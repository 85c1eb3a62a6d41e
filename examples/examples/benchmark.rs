//! A quick native-vs-Tokio comparison, printed as a table: the same workloads through the
//! facade on `Native` and on `Tokio`, alternating, median of 5.
//!
//! Usage: `cargo run --release --example benchmark`. For the full suite with min/max, plain
//! Tokio as a baseline and a written report, run `cargo bench --bench suite`.

use std::time::{Duration, Instant};

use futures::channel::oneshot;

async fn spawn_many() -> Duration {
    runtime::spawn(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..10_000).map(|i| runtime::spawn(async move { i })).collect();
        for handle in handles {
            handle.await;
        }
        start.elapsed() / 10_000
    })
    .await
}

async fn yield_many() -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..100)
        .map(|_| {
            runtime::spawn(async {
                for _ in 0..1_000 {
                    runtime::task::yield_now().await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await;
    }
    start.elapsed() / 100_000
}

async fn ping_pong() -> Duration {
    runtime::spawn(async {
        let start = Instant::now();
        for _ in 0..1_000 {
            let (tx, rx) = oneshot::channel();
            runtime::spawn(async move { tx.send(()).unwrap() }).detach();
            rx.await.unwrap();
        }
        start.elapsed() / 1_000
    })
    .await
}

fn measure(rt: impl runtime::raw::Runtime) -> [Duration; 3] {
    runtime::raw::enter(rt, async { [spawn_many().await, yield_many().await, ping_pong().await] })
}

fn main() {
    let mut native = Vec::new();
    let mut tokio = Vec::new();
    for _ in 0..5 {
        native.push(measure(runtime::native::Native));
        tokio.push(measure(runtime_tokio::Tokio));
    }
    let median = |runs: &[[Duration; 3]], i: usize| {
        let mut v: Vec<_> = runs.iter().map(|r| r[i]).collect();
        v.sort();
        v[v.len() / 2]
    };
    println!("{:<12} {:>12} {:>12} {:>9}", "workload", "native", "tokio", "speedup");
    for (i, name) in ["spawn_many", "yield_many", "ping_pong"].iter().enumerate() {
        let (n, t) = (median(&native, i), median(&tokio, i));
        println!("{name:<12} {:>12?} {:>12?} {:>8.2}x", n, t, t.as_secs_f64() / n.as_secs_f64());
    }
}
