//! Bytes of memory per pending task on the chosen backend, from the process's RSS.
//!
//! Usage: `cargo run --release --example memory-usage -- [--tasks N]` (default 100,000; Linux,
//! as it reads `/proc/self/statm`). Each task's future is 16 bytes and stays pending. Switch
//! backends by changing the attribute's argument; `cargo bench --bench suite` compares all.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

static POLLED: AtomicUsize = AtomicUsize::new(0);

/// 16 bytes, pending forever, counting its first poll.
struct Pending16(u64, bool);

const _: () = assert!(std::mem::size_of::<Pending16>() == 16);

impl std::future::Future for Pending16 {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if !self.1 {
            self.1 = true;
            POLLED.fetch_add(1, Ordering::Relaxed);
        }
        std::hint::black_box(&self.0);
        Poll::Pending
    }
}

fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    Some(statm.split_whitespace().nth(1)?.parse::<u64>().ok()? * 4096)
}

#[runtime::main]
async fn main() {
    let tasks = runtime_examples::Args::parse().number("--tasks").unwrap_or(100_000);
    runtime::spawn(async {}).await;
    let Some(before) = rss() else {
        println!("no /proc/self/statm on this system: nothing to measure");
        return;
    };
    for _ in 0..tasks {
        runtime::spawn(Pending16(0, false)).detach();
    }
    for _ in 0..10_000 {
        if POLLED.load(Ordering::Relaxed) >= tasks {
            break;
        }
        runtime::time::Delay::new(Duration::from_millis(1)).await;
    }
    let after = rss().unwrap_or(before);
    println!("{tasks} pending tasks: {:.0} bytes each", after.saturating_sub(before) as f64 / tasks as f64);
}
