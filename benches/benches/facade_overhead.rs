//! The facade's cost over the backend it wraps: the same workloads through `runtime` on
//! `runtime_tokio::Tokio` and through plain Tokio, both runtimes alive for the whole run, each
//! on a thread of its own that takes rounds over a channel, and sampled alternately, so that
//! both see the same machine state.
//!
//! `cargo bench --bench facade_overhead` (quick: 15 samples); `-- --samples 50` for more;
//! `-- --only facade` (or `plain`) runs one side alone and `-- --workload ping_pong` one
//! workload, for `perf`.
//! Prints medians (with min and max) in ns per task, and the facade/plain ratio of medians.

use std::sync::mpsc;
use std::time::Duration;

use futures::StreamExt as _;
use futures::channel::mpsc as fmpsc;
use runtime_benches::{Exec, Facade, PlainTokio, median_min_max};

const SPAWN_MANY: usize = 25_000;
const CHAIN: usize = 10_000;
const PING_PONG: usize = 10_000;
const WORKERS: usize = 2;
/// Pause after each round, so that the runtime that just ran has parked its workers (a Tokio
/// worker searches for work a while before it parks) before the other one starts: on two cores
/// those searching workers would otherwise slow down whichever side runs next.
const SETTLE: Duration = Duration::from_millis(2);
/// Rounds of a workload per sample: one sample is the median round.
const ROUNDS: usize = 5;

#[derive(Clone, Copy)]
enum Workload {
    SpawnMany,
    ChainedSpawn,
    PingPong,
}

const WORKLOADS: [(&str, Workload, usize); 3] = [
    ("spawn_many", Workload::SpawnMany, SPAWN_MANY),
    ("chained_spawn", Workload::ChainedSpawn, CHAIN),
    ("ping_pong", Workload::PingPong, PING_PONG),
];

fn main() {
    let samples =
        std::env::args().skip_while(|a| a != "--samples").nth(1).and_then(|n| n.parse().ok()).unwrap_or(15usize);
    // `--only facade` or `--only plain` runs one side, for profiling it alone.
    let only = std::env::args().skip_while(|a| a != "--only").nth(1);
    let (run_facade, run_plain) = match only.as_deref() {
        Some("facade") => (true, false),
        Some("plain") => (false, true),
        _ => (true, true),
    };
    // `--workload NAME` runs one workload.
    let workload_filter = std::env::args().skip_while(|a| a != "--workload").nth(1);

    // The facade's instance lives on its own thread, taking workloads over a channel.
    let (commands, mut inbox) = fmpsc::unbounded::<(Workload, mpsc::Sender<Duration>)>();
    let facade = std::thread::spawn(move || {
        runtime::raw::enter(runtime_tokio::Tokio::builder().worker_threads(WORKERS).build(), async move {
            while let Some((workload, reply)) = inbox.next().await {
                let _ = reply.send(round(Facade, workload).await);
            }
        })
    });
    // Plain Tokio the same way, so that both sides start and end their rounds alike.
    let (plain_commands, mut plain_inbox) = fmpsc::unbounded::<(Workload, mpsc::Sender<Duration>)>();
    let plain = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(WORKERS).enable_all().build().unwrap();
        rt.block_on(async move {
            while let Some((workload, reply)) = plain_inbox.next().await {
                let _ = reply.send(round(PlainTokio, workload).await);
            }
        })
    });

    let mut facade_ns = vec![Vec::new(); WORKLOADS.len()];
    let mut plain_ns = vec![Vec::new(); WORKLOADS.len()];
    for sample in 0..=samples {
        for (i, &(name, workload, n)) in WORKLOADS.iter().enumerate() {
            if workload_filter.as_deref().is_some_and(|w| w != name) {
                continue;
            }
            let mut f = Vec::new();
            let mut p = Vec::new();
            for _ in 0..ROUNDS {
                if run_facade {
                    let (tx, rx) = mpsc::channel();
                    commands.unbounded_send((workload, tx)).unwrap();
                    f.push(rx.recv().unwrap().as_nanos() as f64);
                    std::thread::sleep(SETTLE);
                } else {
                    f.push(0.0);
                }
                if run_plain {
                    let (tx, rx) = mpsc::channel();
                    plain_commands.unbounded_send((workload, tx)).unwrap();
                    p.push(rx.recv().unwrap().as_nanos() as f64);
                    std::thread::sleep(SETTLE);
                } else {
                    p.push(0.0);
                }
            }
            // Sample 0 warms both runtimes up.
            if sample > 0 {
                facade_ns[i].push(median_min_max(&f).0 / n as f64);
                plain_ns[i].push(median_min_max(&p).0 / n as f64);
            }
        }
    }
    drop((commands, plain_commands));
    facade.join().unwrap();
    plain.join().unwrap();

    println!("{samples} samples of {ROUNDS} rounds, {WORKERS} workers, interleaved; ns per task: median [min, max]");
    println!("| workload | plain tokio | facade on Tokio | facade / plain |");
    println!("|---|--:|--:|--:|");
    for (i, (name, _, _)) in WORKLOADS.iter().enumerate() {
        if facade_ns[i].is_empty() {
            continue;
        }
        let (f, p) = (median_min_max(&facade_ns[i]), median_min_max(&plain_ns[i]));
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

/// One round of `workload` on `exec`: the same workload code as the suite's.
async fn round<E: Exec>(exec: E, workload: Workload) -> Duration {
    match workload {
        Workload::SpawnMany => runtime_benches::spawn_many(exec, SPAWN_MANY).await.elapsed,
        Workload::ChainedSpawn => runtime_benches::chained_spawn(exec, CHAIN).await.elapsed,
        Workload::PingPong => runtime_benches::ping_pong(exec, PING_PONG).await.elapsed,
    }
}
