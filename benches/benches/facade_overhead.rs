//! The facade's cost over the backend it wraps: the same workloads through `runtime` on
//! `runtime_tokio::Tokio` and through plain Tokio, interleaved sample by sample in one run.
//!
//! `cargo bench --bench facade_overhead` (quick); `-- --samples 30` for more samples. Prints
//! medians (with min and max) in ns per task, and the facade/plain ratio of medians.

use std::time::{Duration, Instant};

const SPAWN_MANY: usize = 25_000;
const CHAIN: usize = 10_000;
const WORKERS: usize = 2;

fn main() {
    let samples =
        std::env::args().skip_while(|a| a != "--samples").nth(1).and_then(|n| n.parse().ok()).unwrap_or(10usize);
    let mut results: Vec<(&str, Vec<f64>, Vec<f64>)> =
        vec![("spawn_many", Vec::new(), Vec::new()), ("chained_spawn", Vec::new(), Vec::new())];
    for _ in 0..samples {
        let facade = runtime::raw::enter(runtime_tokio::Tokio::builder().worker_threads(WORKERS).build(), async {
            facade_spawn_many().await;
            let spawn = facade_spawn_many().await;
            let chain = facade_chained().await;
            [spawn, chain]
        });
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(WORKERS).enable_all().build().unwrap();
        let plain = rt.block_on(async {
            tokio_spawn_many().await;
            let spawn = tokio_spawn_many().await;
            let chain = tokio_chained().await;
            [spawn, chain]
        });
        drop(rt);
        results[0].1.push(per(facade[0], SPAWN_MANY));
        results[0].2.push(per(plain[0], SPAWN_MANY));
        results[1].1.push(per(facade[1], CHAIN));
        results[1].2.push(per(plain[1], CHAIN));
    }
    println!("{samples} samples, {WORKERS} workers; ns per task: median [min, max]");
    println!("| workload | plain tokio | facade on Tokio | facade / plain |");
    println!("|---|--:|--:|--:|");
    for (name, facade, plain) in &mut results {
        let (f, p) = (stats(facade), stats(plain));
        println!(
            "| {name} | {:.0} [{:.0}, {:.0}] | {:.0} [{:.0}, {:.0}] | {:.3} |",
            p.0,
            p.1,
            p.2,
            f.0,
            f.1,
            f.2,
            f.0 / p.0
        );
    }
}

fn per(d: Duration, n: usize) -> f64 {
    d.as_nanos() as f64 / n as f64
}

fn stats(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

async fn facade_spawn_many() -> Duration {
    runtime::spawn(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..SPAWN_MANY).map(|i| runtime::spawn(async move { i })).collect();
        for h in handles {
            h.await;
        }
        start.elapsed()
    })
    .await
}

async fn tokio_spawn_many() -> Duration {
    tokio::spawn(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..SPAWN_MANY).map(|i| tokio::spawn(async move { i })).collect();
        for h in handles {
            h.await.unwrap();
        }
        start.elapsed()
    })
    .await
    .unwrap()
}

fn facade_chain(left: usize, done: futures::channel::oneshot::Sender<()>) {
    if left == 0 {
        let _ = done.send(());
    } else {
        runtime::spawn(async move { facade_chain(left - 1, done) }).detach();
    }
}

async fn facade_chained() -> Duration {
    let start = Instant::now();
    let (tx, rx) = futures::channel::oneshot::channel();
    runtime::spawn(async move { facade_chain(CHAIN, tx) }).detach();
    rx.await.unwrap();
    start.elapsed()
}

fn tokio_chain(left: usize, done: futures::channel::oneshot::Sender<()>) {
    if left == 0 {
        let _ = done.send(());
    } else {
        drop(tokio::spawn(async move { tokio_chain(left - 1, done) }));
    }
}

async fn tokio_chained() -> Duration {
    let start = Instant::now();
    let (tx, rx) = futures::channel::oneshot::channel();
    drop(tokio::spawn(async move { tokio_chain(CHAIN, tx) }));
    rx.await.unwrap();
    start.elapsed()
}
