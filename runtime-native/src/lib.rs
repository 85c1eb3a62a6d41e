//! The native backend of the `runtime` facade, and its default.
//!
//! Each `enter` starts an instance made of:
//!
//! - an **executor** (module `executor`): worker threads, each with a crossbeam-deque FIFO queue
//!   and a next-task slot for the task its running task woke last, fed by a global injector for
//!   tasks woken from elsewhere; idle workers steal from each other's queues, spin very briefly,
//!   then park, so an idle runtime uses no CPU;
//! - a **reactor** (module `reactor`): one `mio::Poll`, polled by a worker about to park (so a
//!   readiness event runs its task on the thread that saw it) and, every few dozen tasks, by a
//!   busy worker, so that I/O is never starved by CPU-bound tasks;
//! - one **timer** facility (module `timer`) for every delay, interval and timeout: timing
//!   wheels of deadlines (module `wheel`) that the reactor's poll sleeps on, with a Linux
//!   `timerfd` for resolution finer than epoll's millisecond;
//! - a small **blocking pool** (module `blocking`) that resolves host names off the workers
//!   and runs the file ops io_uring does not;
//! - on Linux, an **io_uring** (modules `uring` and `fs`) for `runtime::fs`, its completions
//!   reaped by the worker that polls the reactor (`Builder::io_uring`, env
//!   `RUNTIME_NATIVE_IO_URING=0` to use the blocking pool instead).
//!
//! A task is one allocation (runtime-raw's task block); its waker pushes it to the waking
//! worker's own queue, or to the injector and unparks a worker when woken from outside.
//!
//! ```
//! #[runtime::main(runtime_native::Native)]
//! async fn main() {
//!     let answer = runtime::spawn(async { 6 * 7 }).await;
//!     assert_eq!(answer, 42);
//! }
//! ```
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod blocking;
mod coop;
mod executor;
#[cfg(unix)]
mod fd;
#[cfg(target_os = "linux")]
mod fs;
mod instance;
mod net;
mod park;
mod reactor;
mod sync;
mod timer;
#[cfg(target_os = "linux")]
mod uring;
mod wheel;

#[cfg(all(test, runtime_loom))]
mod loom_models;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use runtime_raw::Runtime;

/// A small number fixed per thread, handed out round-robin on first use: threads use it to pick
/// a lock shard (`% shards`) so that threads working at once tend to take different locks.
pub(crate) fn thread_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    INDEX.try_with(|i| *i).unwrap_or(0)
}

/// The native runtime: `available_parallelism` workers (env `RUNTIME_NATIVE_THREADS`
/// overrides), threads named `runtime-native-*`.
///
/// # Examples
/// ```
/// let sum = runtime::raw::enter(runtime_native::Native, async {
///     let a = runtime::spawn(async { 1 });
///     let b = runtime::spawn(async { 2 });
///     a.await + b.await
/// });
/// assert_eq!(sum, 3);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Native;

impl Native {
    /// Configures a native runtime.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime_native::Native::builder()
    ///     .worker_threads(2)
    ///     .max_blocking_threads(8)
    ///     .blocking_keep_alive(Duration::from_secs(1))
    ///     .build();
    /// assert_eq!(runtime::raw::enter(rt, async { 5 }), 5);
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }
}

/// Environment variable that sets the default number of workers.
pub const THREADS_ENV: &str = "RUNTIME_NATIVE_THREADS";
/// Environment variable that sets the default cap of the blocking pool.
pub const BLOCKING_THREADS_ENV: &str = "RUNTIME_NATIVE_BLOCKING_THREADS";
/// Environment variable that, set to `0`, keeps `runtime::fs` off io_uring (see
/// [`Builder::io_uring`]).
pub const IO_URING_ENV: &str = "RUNTIME_NATIVE_IO_URING";
/// Cap of the blocking pool when neither the builder nor the environment sets one: enough
/// for bursts of blocking calls, few enough that a runaway cannot exhaust the process.
const DEFAULT_MAX_BLOCKING: usize = 512;
/// How long an idle blocking thread waits for a job before it exits.
const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

const ZERO_WORKERS: &str = "`Builder::worker_threads(0)`: a runtime needs at least one worker thread";
const ZERO_BLOCKING: &str = "`Builder::max_blocking_threads(0)`: the blocking pool needs at least one thread";

/// Settings for a native runtime; see [`Native::builder`].
#[derive(Debug, Clone, Default)]
pub struct Builder {
    worker_threads: Option<usize>,
    max_blocking_threads: Option<usize>,
    blocking_keep_alive: Option<Duration>,
    io_uring: Option<bool>,
}

impl Builder {
    /// Number of worker threads (default: `RUNTIME_NATIVE_THREADS`, else one per core).
    ///
    /// # Examples
    /// ```
    /// let rt = runtime_native::Native::builder().worker_threads(2).build();
    /// assert_eq!(runtime::raw::enter(rt, async { 1 }), 1);
    /// ```
    ///
    /// # Panics
    /// `build` panics when `n` is 0.
    pub fn worker_threads(mut self, n: usize) -> Builder {
        self.worker_threads = Some(n);
        self
    }

    /// Cap of the blocking pool (default: `RUNTIME_NATIVE_BLOCKING_THREADS`, else 512).
    ///
    /// # Examples
    /// ```
    /// let rt = runtime_native::Native::builder().max_blocking_threads(4).build();
    /// let n = runtime::raw::enter(rt, async { runtime::task::spawn_blocking(|| 2).await });
    /// assert_eq!(n, 2);
    /// ```
    ///
    /// # Panics
    /// `build` panics when `n` is 0.
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.max_blocking_threads = Some(n);
        self
    }

    /// How long an idle blocking thread waits for work before it exits (default: 10 s).
    ///
    /// # Examples
    /// ```
    /// let rt = runtime_native::Native::builder().blocking_keep_alive(std::time::Duration::from_secs(1)).build();
    /// assert_eq!(runtime::raw::enter(rt, async { 3 }), 3);
    /// ```
    pub fn blocking_keep_alive(mut self, d: Duration) -> Builder {
        self.blocking_keep_alive = Some(d);
        self
    }

    /// Whether `runtime::fs` uses io_uring (Linux; default: yes unless env
    /// `RUNTIME_NATIVE_IO_URING=0`). When the kernel refuses a ring (too old, `io_uring_disabled`,
    /// seccomp, a container's EPERM) the instance uses its blocking pool anyway, and so does an
    /// op whose opcode the kernel lacks; results and error kinds are the same on both paths.
    ///
    /// # Examples
    /// ```
    /// let rt = runtime_native::Native::builder().io_uring(false).build();
    /// let manifest = runtime::raw::enter(rt, runtime::fs::read("Cargo.toml")).unwrap();
    /// assert!(!manifest.is_empty());
    /// ```
    pub fn io_uring(mut self, enabled: bool) -> Builder {
        self.io_uring = Some(enabled);
        self
    }

    /// The configured backend, usable wherever [`Native`] is.
    ///
    /// # Examples
    /// ```
    /// let rt = runtime_native::Native::builder().build();
    /// assert_eq!(runtime::raw::enter(rt.clone(), async { 4 }), 4);
    /// ```
    ///
    /// # Panics
    /// When a thread count is 0.
    pub fn build(self) -> Configured {
        assert!(self.worker_threads != Some(0), "{ZERO_WORKERS}");
        assert!(self.max_blocking_threads != Some(0), "{ZERO_BLOCKING}");
        Configured { settings: self }
    }
}

/// A configured native backend, made by [`Builder::build`].
#[derive(Debug, Clone)]
pub struct Configured {
    settings: Builder,
}

/// What an instance is started with, defaults resolved.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) workers: usize,
    pub(crate) max_blocking: usize,
    pub(crate) keep_alive: Duration,
    /// Whether to try io_uring for file ops.
    pub(crate) io_uring: bool,
}

fn env_count(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.trim().parse().ok().filter(|n| *n > 0)
}

impl Builder {
    fn settings(&self) -> Settings {
        let workers = self
            .worker_threads
            .or_else(|| env_count(THREADS_ENV))
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        Settings {
            workers,
            max_blocking: self
                .max_blocking_threads
                .or_else(|| env_count(BLOCKING_THREADS_ENV))
                .unwrap_or(DEFAULT_MAX_BLOCKING),
            keep_alive: self.blocking_keep_alive.unwrap_or(DEFAULT_KEEP_ALIVE),
            io_uring: self.io_uring.unwrap_or_else(|| std::env::var(IO_URING_ENV).map_or(true, |v| v.trim() != "0")),
        }
    }
}

impl Runtime for Native {
    fn block_on(&self, entry: Pin<&mut (dyn Future<Output = ()> + '_)>) {
        instance::run(Builder::default().settings(), entry)
    }
}

impl Runtime for Configured {
    fn block_on(&self, entry: Pin<&mut (dyn Future<Output = ()> + '_)>) {
        instance::run(self.settings.settings(), entry)
    }
}

#[cfg(feature = "criterion")]
impl criterion::async_executor::AsyncExecutor for Native {
    /// One fresh instance per call: criterion calls it once per sample.
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        runtime_raw::enter(self, future)
    }
}

#[cfg(feature = "criterion")]
impl criterion::async_executor::AsyncExecutor for Configured {
    /// One fresh instance per call: criterion calls it once per sample.
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        runtime_raw::enter(self, future)
    }
}
