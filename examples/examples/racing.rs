//! Many threads spawning light tasks at once: every task runs exactly once, none is lost.
//!
//! Usage: `cargo run --release --example racing -- [--threads T] [--tasks N]` (default 8 threads
//! × 10,000 tasks each). Each task marks its own slot; at the end every slot must be 1. Switch
//! backends by changing the attribute's argument.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use runtime::task::Spawner;

#[runtime::main]
async fn main() {
    let args = runtime_examples::Args::parse();
    let threads = args.number("--threads").unwrap_or(8);
    let per_thread = args.number("--tasks").unwrap_or(10_000);
    let runs: Arc<Vec<AtomicU8>> = Arc::new((0..threads * per_thread).map(|_| AtomicU8::new(0)).collect());
    let spawner = Spawner::current();
    let start = std::time::Instant::now();
    let spawning: Vec<_> = (0..threads)
        .map(|t| {
            let (spawner, runs) = (spawner.clone(), runs.clone());
            std::thread::spawn(move || {
                (0..per_thread)
                    .map(|i| {
                        let runs = runs.clone();
                        let slot = t * per_thread + i;
                        spawner
                            .spawn(async move { runs[slot].fetch_add(1, Ordering::SeqCst) })
                            .expect("runtime is running")
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut handles = Vec::new();
    for thread in spawning {
        handles.extend(thread.join().expect("spawning thread"));
    }
    for handle in handles {
        handle.await;
    }
    let ran_once = runs.iter().filter(|r| r.load(Ordering::SeqCst) == 1).count();
    let lost = runs.iter().filter(|r| r.load(Ordering::SeqCst) == 0).count();
    let twice = runs.len() - ran_once - lost;
    println!("{} tasks from {threads} threads in {:?}", runs.len(), start.elapsed());
    println!("ran exactly once: {ran_once}, lost: {lost}, ran more than once: {twice}");
    assert!(lost == 0 && twice == 0, "every task must run exactly once");
}
