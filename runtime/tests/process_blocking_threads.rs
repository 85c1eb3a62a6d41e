//! 1,000 concurrent `spawn_blocking` jobs complete with the pool capped by the builder's limit.
//! Its own test target: it samples the whole process's thread count.
#![cfg(target_os = "linux")]

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CAP: usize = 4;
const WORKERS: usize = 2;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").expect("/proc/self/task").count()
}

/// Native threads alive now. The kernel keeps 15 bytes of a thread's name, `runtime-native-`
/// for workers and blocking threads alike, so blocking threads are these minus the workers.
fn native_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("runtime-native"))
        .count()
}

/// One test, so that the measurements never run at the same time.
#[test]
fn blocking_pool_limits() {
    thousand_jobs_within_the_cap();
    idle_blocking_threads_exit_after_keep_alive();
}

fn idle_blocking_threads_exit_after_keep_alive() {
    let rt = runtime::native::Native::builder()
        .worker_threads(1)
        .max_blocking_threads(2)
        .blocking_keep_alive(Duration::from_millis(20))
        .build();
    runtime::raw::enter(rt, async {
        // Counted from inside each job, while its thread surely lives: under load the
        // keep-alive may pass between a job's end and any look from here.
        let jobs: Vec<_> = (0..2)
            .map(|_| {
                runtime::task::spawn_blocking(|| (std::thread::current().name().map(str::to_owned), native_threads()))
            })
            .collect();
        for job in jobs {
            let (name, seen) = job.await;
            let name = name.unwrap_or_default();
            assert!(name.starts_with("runtime-native-blocking-"), "{name}");
            assert!(seen > 1, "the pool started threads beside the one worker");
        }
        // Bounded wait for the keep-alive to pass.
        for _ in 0..200 {
            if native_threads() == 1 {
                break;
            }
            runtime::time::Delay::new(Duration::from_millis(10)).await;
        }
        assert_eq!(native_threads(), 1, "idle blocking threads exit after the keep-alive; the worker stays");
    });
}

fn thousand_jobs_within_the_cap() {
    let backends: [(&str, Box<dyn runtime::raw::Runtime>); 2] = [
        (
            "native",
            Box::new(runtime::native::Native::builder().worker_threads(WORKERS).max_blocking_threads(CAP).build()),
        ),
        ("tokio", Box::new(runtime_tokio::Tokio::builder().worker_threads(WORKERS).max_blocking_threads(CAP).build())),
    ];
    for (name, rt) in backends {
        let baseline = threads();
        let peak_threads = Arc::new(AtomicUsize::new(0));
        let sampling = Arc::new(AtomicBool::new(true));
        let sampler = {
            let (peak, sampling) = (peak_threads.clone(), sampling.clone());
            std::thread::spawn(move || {
                while sampling.load(Ordering::SeqCst) {
                    peak.fetch_max(threads(), Ordering::SeqCst);
                    std::thread::sleep(Duration::from_micros(200));
                }
            })
        };
        let running = Arc::new(AtomicUsize::new(0));
        let peak_running = Arc::new(AtomicUsize::new(0));
        let ids = Arc::new(Mutex::new(HashSet::new()));
        runtime::raw::enter(rt, {
            let (running, peak_running, ids) = (running.clone(), peak_running.clone(), ids.clone());
            async move {
                let jobs: Vec<_> = (0..1_000)
                    .map(|_| {
                        let (running, peak_running, ids) = (running.clone(), peak_running.clone(), ids.clone());
                        runtime::task::spawn_blocking(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            peak_running.fetch_max(now, Ordering::SeqCst);
                            ids.lock().unwrap().insert(std::thread::current().id());
                            std::thread::sleep(Duration::from_micros(100));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                    })
                    .collect();
                for job in jobs {
                    job.await;
                }
            }
        });
        sampling.store(false, Ordering::SeqCst);
        sampler.join().unwrap();
        let distinct = ids.lock().unwrap().len();
        assert!(peak_running.load(Ordering::SeqCst) <= CAP, "{name}: more jobs at once than the cap");
        assert!(distinct <= CAP, "{name}: {distinct} blocking threads for a cap of {CAP}");
        // Workers + blocking threads + the sampler (and Tokio's shutdown thread) at most.
        let extra = peak_threads.load(Ordering::SeqCst).saturating_sub(baseline);
        assert!(extra <= WORKERS + CAP + 2, "{name}: {extra} threads above the baseline");
        assert_eq!(threads(), baseline, "{name}: threads left after enter returned");
    }
}
