//! What `#[runtime::bench]` and `runtime::bench_main!` expand to: a benchmark harness on
//! stable Rust. Not public API beyond the two macros.
//!
//! Each benchmark's backend is entered once per *sample*, and the sample's iterations run
//! inside that one instance, so a runtime's start-up is never what gets measured. With the
//! `criterion` feature the benchmarks are handed to criterion (statistics, baselines,
//! reports); without it a small built-in harness prints the median time per iteration.

use std::future::Future;
#[cfg(not(feature = "criterion"))]
use std::hint::black_box;
#[cfg(not(feature = "criterion"))]
use std::time::{Duration, Instant};

use crate::raw::Runtime;

#[cfg(not(feature = "criterion"))]
/// Samples per benchmark in the built-in harness; a median of 10 is what our reports use.
const SAMPLES: usize = 10;
#[cfg(not(feature = "criterion"))]
/// Target length of one sample: long enough to dwarf the timer's cost, short enough that a
/// suite of many benchmarks stays quick.
const SAMPLE_TARGET: Duration = Duration::from_millis(20);
#[cfg(not(feature = "criterion"))]
/// Cap on iterations per sample, for bodies so cheap the target would take too many.
const MAX_ITERS: u64 = 1 << 24;

/// The registered benchmarks of a `harness = false` target.
pub struct Benches {
    #[cfg(not(feature = "criterion"))]
    filters: Vec<String>,
    #[cfg(not(feature = "criterion"))]
    list: bool,
    #[cfg(feature = "criterion")]
    criterion: criterion::Criterion,
}

impl std::fmt::Debug for Benches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Benches").finish_non_exhaustive()
    }
}

/// Runs futures for criterion on a backend: one `enter` per call, i.e. per sample.
#[cfg(feature = "criterion")]
#[derive(Debug)]
pub struct Executor<R>(pub R);

#[cfg(feature = "criterion")]
impl<R: Runtime> criterion::async_executor::AsyncExecutor for &Executor<R> {
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        crate::raw::enter(&self.0, future)
    }
}

impl Benches {
    /// Reads the command line as `cargo bench` passes it: flags, then name filters.
    pub fn from_args() -> Benches {
        #[cfg(not(feature = "criterion"))]
        let args: Vec<String> = std::env::args().skip(1).collect();
        Benches {
            #[cfg(not(feature = "criterion"))]
            list: args.iter().any(|a| a == "--list"),
            #[cfg(not(feature = "criterion"))]
            filters: args.iter().filter(|a| !a.starts_with('-')).cloned().collect(),
            #[cfg(feature = "criterion")]
            criterion: criterion::Criterion::default().configure_from_args(),
        }
    }

    /// Benchmarks `iteration` on `rt` under `name`.
    pub fn bench<R, F, Fut>(&mut self, name: &str, rt: R, mut iteration: F)
    where
        R: Runtime,
        F: FnMut() -> Fut,
        Fut: Future,
    {
        #[cfg(feature = "criterion")]
        {
            let executor = Executor(rt);
            self.criterion.bench_function(name, |b| b.to_async(&executor).iter(&mut iteration));
        }
        #[cfg(not(feature = "criterion"))]
        {
            if self.list {
                println!("{name}: benchmark");
                return;
            }
            if !self.filters.is_empty() && !self.filters.iter().any(|f| name.contains(f.as_str())) {
                return;
            }
            let report = measure(&rt, &mut iteration);
            println!(
                "test {name} ... bench: {:>12} ns/iter (min {}, max {}; {} samples of {} iterations)",
                group(report.median),
                group(report.min),
                group(report.max),
                SAMPLES,
                report.iters
            );
        }
    }

    /// Prints criterion's summary (the built-in harness has printed as it went).
    pub fn finish(self) {
        #[cfg(feature = "criterion")]
        self.criterion.final_summary();
    }
}

/// Median, min and max nanoseconds per iteration.
#[cfg(not(feature = "criterion"))]
struct Report {
    median: u64,
    min: u64,
    max: u64,
    iters: u64,
}

#[cfg(not(feature = "criterion"))]
fn measure<R: Runtime, F: FnMut() -> Fut, Fut: Future>(rt: &R, iteration: &mut F) -> Report {
    // Calibrate: double the iterations until one sample is long enough (also a warm-up).
    let mut iters = 1u64;
    loop {
        let elapsed = sample(rt, iteration, iters);
        if elapsed >= SAMPLE_TARGET || iters >= MAX_ITERS {
            break;
        }
        let scale = if elapsed.is_zero() { 16 } else { (SAMPLE_TARGET.as_nanos() / elapsed.as_nanos()).clamp(2, 16) };
        iters = (iters * scale as u64).min(MAX_ITERS);
    }
    let mut per_iter: Vec<u64> =
        (0..SAMPLES).map(|_| (sample(rt, iteration, iters).as_nanos() / u128::from(iters)) as u64).collect();
    per_iter.sort_unstable();
    Report { median: per_iter[SAMPLES / 2], min: per_iter[0], max: per_iter[SAMPLES - 1], iters }
}

/// One sample: one instance, `iters` iterations inside it.
#[cfg(not(feature = "criterion"))]
fn sample<R: Runtime, F: FnMut() -> Fut, Fut: Future>(rt: &R, iteration: &mut F, iters: u64) -> Duration {
    crate::raw::enter(rt, async {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(iteration().await);
        }
        start.elapsed()
    })
}

#[cfg(not(feature = "criterion"))]
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The `main` of a `harness = false` bench target: registers each named benchmark function
/// (written with `#[runtime::bench]`) and runs them.
///
/// ```no_run
/// #[runtime::bench(runtime_tokio::Tokio)]
/// async fn spawn_one() {
///     runtime::spawn(async { 1u8 }).await;
/// }
///
/// runtime::bench_main!(spawn_one);
/// ```
#[macro_export]
macro_rules! bench_main {
    ($($bench:path),+ $(,)?) => {
        fn main() {
            let mut benches = $crate::__bench::Benches::from_args();
            $( $bench(&mut benches); )+
            benches.finish();
        }
    };
}
