//! CPU-heavy tasks on all workers, then how busy each worker thread was.
//!
//! Usage: `cargo run --release --example heavy-load -- [--tasks N]` (default 64 tasks). Each task
//! does a slice of arithmetic and records which thread ran it and for how long; the table shows
//! each worker's busy time against the wall time. Switch backends by changing the attribute's
//! argument (thread names differ per backend).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// About a millisecond or two of arithmetic per call, never optimised away.
fn crunch(seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..2_000_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

#[runtime::main]
async fn main() {
    let args = runtime_examples::Args::parse();
    let tasks = args.number("--tasks").unwrap_or(64);
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks as u64)
        .map(|i| {
            runtime::spawn(async move {
                let began = Instant::now();
                crunch(i);
                let thread = std::thread::current().name().unwrap_or("unnamed").to_owned();
                (thread, began.elapsed())
            })
        })
        .collect();
    let mut busy: BTreeMap<String, (usize, Duration)> = BTreeMap::new();
    for handle in handles {
        let (thread, took) = handle.await;
        let entry = busy.entry(thread).or_default();
        entry.0 += 1;
        entry.1 += took;
    }
    let wall = start.elapsed();
    println!("{tasks} tasks in {wall:?}");
    println!("{:<28} {:>6} {:>12} {:>12} {:>7}", "worker", "tasks", "busy", "idle", "busy %");
    for (thread, (count, took)) in &busy {
        let idle = wall.saturating_sub(*took);
        let share = 100.0 * took.as_secs_f64() / wall.as_secs_f64();
        println!("{thread:<28} {count:>6} {:>12.1?} {:>12.1?} {share:>6.1}%", took, idle);
    }
}
