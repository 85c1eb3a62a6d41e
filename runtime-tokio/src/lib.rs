//! Tokio backend for the `runtime` facade.
//!
//! [`Tokio`] runs each `enter` on a fresh multi-thread Tokio runtime, [`TokioCurrentThread`] on a
//! fresh current-thread one; [`Tokio::builder`] configures the former. Switching a program to
//! either is one line:
//!
//! ```
//! #[runtime::main(runtime_tokio::Tokio)]
//! async fn main() {
//!     let answer = runtime::spawn(async { 6 * 7 }).await;
//!     assert_eq!(answer, 42);
//! }
//! ```
//!
//! Tasks spawned through the facade are plain Tokio tasks: the facade hands the typed future to
//! Tokio (runtime-raw's feature `tokio`, `Instance::tokio_handle`), so a spawn is one
//! `tokio::spawn` and one allocation, and the join handle wraps Tokio's. (`Instance::spawn`,
//! for callers of the type-erased interface, polls a task block inside a Tokio task instead.)
//! I/O objects are Tokio's own, one box each; stream reads and writes are Tokio's readiness
//! check followed by a `try_read`/`try_write`, exactly what Tokio's own `poll_read` does. Each
//! object also shares its instance's stop flag: once the instance has stopped, every
//! asynchronous operation fails, also one that Tokio's cached readiness alone would let through.
//!
//! When `enter` returns, Tokio's runtime is gone with every thread and descriptor of it, except
//! for `spawn_blocking` jobs still running: those are detached, and their threads keep the
//! runtime's handle until the job ends.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(unix)]
mod fd;
mod net;
mod timer;

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use runtime_raw::task::{Driver, NewTask, Task};
use runtime_raw::{BoxFuture, CurrentGuard, Instance, Runtime, SpawnError};

/// The multi-thread Tokio runtime: one worker per core by default.
///
/// # Examples
/// ```
/// let sum = runtime::raw::enter(runtime_tokio::Tokio, async {
///     let a = runtime::spawn(async { 1 });
///     let b = runtime::spawn(async { 2 });
///     a.await + b.await
/// });
/// assert_eq!(sum, 3);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Tokio;

/// The current-thread Tokio runtime: every task runs on the thread that called `enter`.
///
/// # Examples
/// ```
/// let out = runtime::raw::enter(runtime_tokio::TokioCurrentThread, async {
///     runtime::spawn(async { "spawned" }).await
/// });
/// assert_eq!(out, "spawned");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioCurrentThread;

impl Tokio {
    /// Configures a multi-thread Tokio runtime.
    ///
    /// # Examples
    /// ```
    /// let rt = runtime_tokio::Tokio::builder().worker_threads(2).build();
    /// assert_eq!(runtime::raw::enter(rt, async { 5 }), 5);
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }
}

const ZERO_WORKERS: &str = "`Builder::worker_threads(0)`: a runtime needs at least one worker thread";
const ZERO_BLOCKING: &str = "`Builder::max_blocking_threads(0)`: the blocking pool needs at least one thread";

/// Settings for a multi-thread Tokio runtime; see [`Tokio::builder`].
#[derive(Debug, Clone, Default)]
pub struct Builder {
    worker_threads: Option<usize>,
    max_blocking_threads: Option<usize>,
    blocking_keep_alive: Option<Duration>,
}

impl Builder {
    /// Number of worker threads (default: one per core).
    ///
    /// # Examples
    /// ```
    /// let rt = runtime_tokio::Tokio::builder().worker_threads(2).build();
    /// assert_eq!(runtime::raw::enter(rt, async { 1 }), 1);
    /// ```
    ///
    /// # Panics
    /// `build` panics when `n` is 0.
    pub fn worker_threads(mut self, n: usize) -> Builder {
        self.worker_threads = Some(n);
        self
    }

    /// Cap of the blocking pool (default: Tokio's, 512).
    ///
    /// # Examples
    /// ```
    /// let rt = runtime_tokio::Tokio::builder().max_blocking_threads(4).build();
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
    /// let rt = runtime_tokio::Tokio::builder().blocking_keep_alive(std::time::Duration::from_secs(1)).build();
    /// assert_eq!(runtime::raw::enter(rt, async { 3 }), 3);
    /// ```
    pub fn blocking_keep_alive(mut self, d: Duration) -> Builder {
        self.blocking_keep_alive = Some(d);
        self
    }

    /// The configured backend, usable wherever [`Tokio`] is.
    ///
    /// # Examples
    /// ```
    /// let rt = runtime_tokio::Tokio::builder().build();
    /// assert_eq!(runtime::raw::enter(rt.clone(), async { 4 }), 4);
    /// ```
    ///
    /// # Panics
    /// When a thread count is 0.
    pub fn build(self) -> Configured {
        assert!(self.worker_threads != Some(0), "{ZERO_WORKERS}");
        assert!(self.max_blocking_threads != Some(0), "{ZERO_BLOCKING}");
        Configured { flavor: Flavor::MultiThread, settings: self }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    MultiThread,
    CurrentThread,
}

/// A configured Tokio backend, made by [`Builder::build`].
#[derive(Debug, Clone)]
pub struct Configured {
    flavor: Flavor,
    settings: Builder,
}

impl Runtime for Tokio {
    fn block_on(&self, entry: Pin<&mut (dyn Future<Output = ()> + '_)>) {
        Configured { flavor: Flavor::MultiThread, settings: Builder::default() }.block_on(entry)
    }
}

impl Runtime for TokioCurrentThread {
    fn block_on(&self, entry: Pin<&mut (dyn Future<Output = ()> + '_)>) {
        Configured { flavor: Flavor::CurrentThread, settings: Builder::default() }.block_on(entry)
    }
}

thread_local! {
    /// Keeps the instance current on each of Tokio's threads while it runs.
    static THREAD_GUARD: RefCell<Option<CurrentGuard>> = const { RefCell::new(None) };
}

impl Runtime for Configured {
    fn block_on(&self, entry: Pin<&mut (dyn Future<Output = ()> + '_)>) {
        let mut builder = match self.flavor {
            Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        };
        builder.enable_io().enable_time();
        if let Some(n) = self.settings.worker_threads {
            builder.worker_threads(n);
        }
        if let Some(n) = self.settings.max_blocking_threads {
            builder.max_blocking_threads(n);
        }
        if let Some(d) = self.settings.blocking_keep_alive {
            builder.thread_keep_alive(d);
        }
        let instance = Arc::new(TokioInstance {
            handle: OnceLock::new(),
            flavor: self.flavor,
            paused: AtomicBool::new(false),
            census: Arc::new(Census::default()),
            owner: net::Owner::default(),
        });
        // The hooks hold the census and a weak reference: Tokio keeps them in the runtime's
        // handle, which the instance holds (see `Census`).
        let (on_start, on_stop) = (Arc::downgrade(&instance), instance.census.clone());
        let census = instance.census.clone();
        builder
            .on_thread_start(move || {
                census.add(&census.started);
                census.add(&census.threads);
                // Only a thread started while Tokio drains its pool at shutdown, after `enter`
                // let go of the instance, finds it gone: it runs no job, only drops them.
                if let Some(instance) = on_start.upgrade() {
                    let guard = runtime_raw::set_current(instance);
                    THREAD_GUARD.with(|slot| *slot.borrow_mut() = Some(guard));
                }
            })
            .on_thread_stop(move || {
                let guard = THREAD_GUARD.with(|slot| slot.borrow_mut().take());
                drop(guard);
                on_stop.remove(&on_stop.threads);
            });
        let rt = builder.build().unwrap_or_else(|e| panic!("could not start a Tokio runtime: {e}"));
        let _ = instance.handle.set(rt.handle().clone());
        let guard = runtime_raw::set_current(instance.clone());
        rt.block_on(entry);
        instance.census.stopped.store(true, Ordering::SeqCst);
        shut_down(rt, &instance);
        // After Tokio's driver shutdown, which ends the waits of I/O objects polled elsewhere:
        // from now on their every operation fails, those that would succeed at once too.
        instance.owner.stop();
        drop(guard);
    }
}

/// Whether an instance has stopped, its live Tokio threads and its running `spawn_blocking`
/// jobs: what its threads and jobs share with it. None of them holds the instance itself (Tokio
/// keeps the thread hooks in the runtime's handle, which the instance holds: that would be a
/// cycle keeping the driver, its descriptors and memory, alive after `enter` returns).
#[derive(Debug, Default)]
struct Census {
    /// The entry future has completed: no new task, and a job that has not started never will.
    stopped: AtomicBool,
    /// Threads that ever started (workers start asynchronously after the runtime is built).
    started: AtomicUsize,
    threads: AtomicUsize,
    /// Set when shutdown starts waiting: from then on every change notifies.
    watched: AtomicBool,
    /// The jobs that have started, until their thread is done with them.
    jobs: std::sync::Mutex<Vec<Task>>,
    changed: std::sync::Condvar,
}

impl Census {
    fn changed(&self) {
        if self.watched.load(Ordering::SeqCst) {
            // Taking the lock orders this notify after the waiter's check.
            drop(self.jobs());
            self.changed.notify_all();
        }
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, Vec<Task>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn add(&self, counter: &AtomicUsize) {
        counter.fetch_add(1, Ordering::SeqCst);
        self.changed();
    }

    fn remove(&self, counter: &AtomicUsize) {
        counter.fetch_sub(1, Ordering::SeqCst);
        self.changed();
    }

    /// Waits until `done` holds of the census and its started jobs.
    fn wait(&self, done: impl Fn(&Census, &[Task]) -> bool) {
        self.watched.store(true, Ordering::SeqCst);
        let mut jobs = self.jobs();
        while !done(self, &jobs) {
            jobs = self.changed.wait(jobs).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn load(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::SeqCst)
    }
}

/// Stops the runtime: every task is dropped and every worker joined before this returns, but
/// `spawn_blocking` jobs still running are detached (Tokio's own drop would wait for them).
fn shut_down(rt: tokio::runtime::Runtime, instance: &TokioInstance) {
    // A job lists itself before it reads `stopped`, and `stopped` is set before this reads the
    // list, both under the list's lock: a job this does not see will not run.
    if instance.census.jobs().is_empty() {
        // Nothing to detach: Tokio's own drop drops the tasks and joins every thread.
        drop(rt);
        return;
    }
    let workers = rt.metrics().num_workers();
    let workers = if instance.flavor == Flavor::MultiThread { workers } else { 0 };
    // A job still runs, and Tokio's drop would wait for it. This drops the tasks (a
    // current-thread runtime on this thread, whose current instance is still set; a multi-thread
    // one on its workers, before they exit) without waiting for blocking threads.
    rt.shutdown_timeout(Duration::ZERO);
    // Then wait for the workers (every one of them started, the last one drops the tasks) and
    // for every other thread to be gone but those still running a job, which are detached. A
    // job that has completed is not running: its thread, which holds the instance until it
    // exits, is waited for (it is about to).
    instance.census.wait(|c, jobs| {
        let running = jobs.iter().filter(|job| !job.is_complete()).count();
        Census::load(&c.started) >= workers && Census::load(&c.threads) == running
    });
}

/// A running Tokio runtime, as the facade sees it.
struct TokioInstance {
    handle: OnceLock<tokio::runtime::Handle>,
    flavor: Flavor,
    paused: AtomicBool,
    census: Arc<Census>,
    /// Shared with every I/O object the instance made.
    owner: net::Owner,
}

const MULTI_THREAD_PAUSE: &str = "the clock of `runtime_tokio::Tokio` (Tokio's multi-thread runtime) cannot be paused; \
     run the test on `runtime_tokio::TokioCurrentThread` (or `runtime::native::Native`) to use the virtual clock";
#[cfg(not(feature = "test-util"))]
const NEEDS_TEST_UTIL: &str = "pausing the clock of `runtime_tokio::TokioCurrentThread` needs Tokio's paused time: enable \
     the `test-util` feature of `runtime` (it slows every `Instant::now` in Tokio, so it is off by default)";
const ALREADY_PAUSED: &str = "`runtime::time::pause()`: the clock is already paused";
const NOT_PAUSED: &str =
    "the clock is not paused: call `runtime::time::pause()` first (or use `#[runtime::test(start_paused)]`)";

impl TokioInstance {
    /// Checks that this runtime can pause its clock, with the message that says why not.
    fn check_virtual_clock(&self) {
        assert!(self.flavor == Flavor::CurrentThread, "{MULTI_THREAD_PAUSE}");
        #[cfg(not(feature = "test-util"))]
        panic!("{NEEDS_TEST_UTIL}");
    }
}

impl TokioInstance {
    fn handle(&self) -> &tokio::runtime::Handle {
        self.handle.get().expect("the handle is set before the instance is made current")
    }

    fn is_stopped(&self) -> bool {
        self.census.stopped.load(Ordering::Acquire)
    }
}

/// Our task block inside a Tokio task.
struct TokioTask(Task);

impl Future for TokioTask {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.poll_inline(cx)
    }
}

impl Drop for TokioTask {
    fn drop(&mut self) {
        // Tokio drops unfinished tasks when it shuts down: so does the block.
        self.0.shutdown();
    }
}

/// A `spawn_blocking` job: listed while it runs, shut down if Tokio drops it unrun.
struct BlockingJob(Task, Arc<Census>);

impl BlockingJob {
    fn run(self) {
        let BlockingJob(task, census) = &self;
        census.jobs().push(task.clone());
        if census.stopped.load(Ordering::SeqCst) {
            // Tokio's pool may still hand out a queued job while it shuts down: dropped unrun.
            task.shutdown();
        } else {
            let _blocking = runtime_raw::enter_blocking();
            let _ = task.poll_inline(&mut Context::from_waker(std::task::Waker::noop()));
        }
        let mut jobs = census.jobs();
        if let Some(at) = jobs.iter().position(|job| job.id() == task.id()) {
            jobs.swap_remove(at);
        }
        drop(jobs);
        census.changed();
    }
}

impl Drop for BlockingJob {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

pin_project_lite::pin_project! {
    /// Polls `future` with this runtime's context entered, for Tokio calls that look it up.
    struct InContext<F> {
        handle: tokio::runtime::Handle,
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for InContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.handle.enter();
        this.future.poll(cx)
    }
}

impl Instance for TokioInstance {
    fn spawn(&self, task: NewTask<'_>) -> Result<(), SpawnError> {
        if self.is_stopped() {
            return Err(SpawnError::shutdown());
        }
        // The type-erased path (`runtime_raw::task::spawn_erased_on`): our block inside a Tokio
        // task. The facade's own spawns take `tokio_handle` instead, typed.
        let task = task.build(Driver::inline());
        drop(self.handle().spawn(TokioTask(task)));
        Ok(())
    }

    fn tokio_handle(&self) -> Option<Result<&tokio::runtime::Handle, SpawnError>> {
        // The facade's spawns come here, typed: one Tokio task, no block of ours.
        Some(if self.is_stopped() { Err(SpawnError::shutdown()) } else { Ok(self.handle()) })
    }

    fn spawn_blocking(&self, task: NewTask<'_>) -> Result<(), SpawnError> {
        if self.is_stopped() {
            return Err(SpawnError::shutdown());
        }
        let job = BlockingJob(task.build(Driver::blocking()), self.census.clone());
        drop(self.handle().spawn_blocking(move || job.run()));
        Ok(())
    }

    fn is_running(&self) -> bool {
        !self.is_stopped()
    }

    fn live_tasks(&self) -> Option<usize> {
        // Tokio's own count: tasks spawned typed (the facade's) and our blocks inside Tokio
        // tasks alike; `spawn_blocking` jobs are not in it.
        Some(self.handle().metrics().num_alive_tasks())
    }

    fn connect_tcp(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Box<dyn runtime_raw::net::TcpStream>>> {
        let owner = self.owner.clone();
        Box::pin(InContext {
            handle: self.handle().clone(),
            future: async move {
                let io = tokio::net::TcpStream::connect(addr).await?;
                Ok(Box::new(net::TcpStream { io, owner }) as Box<dyn runtime_raw::net::TcpStream>)
            },
        })
    }

    fn tcp_listener(&self, listener: std::net::TcpListener) -> io::Result<Box<dyn runtime_raw::net::TcpListener>> {
        let _entered = self.handle().enter();
        Ok(Box::new(net::TcpListener { io: tokio::net::TcpListener::from_std(listener)?, owner: self.owner.clone() }))
    }

    fn tcp_stream(&self, stream: std::net::TcpStream) -> io::Result<Box<dyn runtime_raw::net::TcpStream>> {
        let _entered = self.handle().enter();
        Ok(Box::new(net::TcpStream { io: tokio::net::TcpStream::from_std(stream)?, owner: self.owner.clone() }))
    }

    fn udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Box<dyn runtime_raw::net::UdpSocket>> {
        let _entered = self.handle().enter();
        Ok(Box::new(net::UdpSocket { io: tokio::net::UdpSocket::from_std(socket)?, owner: self.owner.clone() }))
    }

    #[cfg(unix)]
    fn unix_listener(
        &self,
        listener: std::os::unix::net::UnixListener,
    ) -> io::Result<Box<dyn runtime_raw::net::unix::UnixListener>> {
        let _entered = self.handle().enter();
        Ok(Box::new(net::UnixListener { io: tokio::net::UnixListener::from_std(listener)?, owner: self.owner.clone() }))
    }

    #[cfg(unix)]
    fn unix_stream(
        &self,
        stream: std::os::unix::net::UnixStream,
    ) -> io::Result<Box<dyn runtime_raw::net::unix::UnixStream>> {
        let _entered = self.handle().enter();
        Ok(Box::new(net::UnixStream { io: tokio::net::UnixStream::from_std(stream)?, owner: self.owner.clone() }))
    }

    #[cfg(unix)]
    fn unix_datagram(
        &self,
        socket: std::os::unix::net::UnixDatagram,
    ) -> io::Result<Box<dyn runtime_raw::net::unix::UnixDatagram>> {
        let _entered = self.handle().enter();
        Ok(Box::new(net::UnixDatagram { io: tokio::net::UnixDatagram::from_std(socket)?, owner: self.owner.clone() }))
    }

    fn resolve(&self, host: String, port: u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        Box::pin(InContext {
            handle: self.handle().clone(),
            future: async move { Ok(tokio::net::lookup_host((host.as_str(), port)).await?.collect()) },
        })
    }

    fn timer(&self, deadline: Instant) -> Result<runtime_raw::time::AnyTimer, Instant> {
        let _entered = self.handle().enter();
        let now = tokio::time::Instant::now().into_std();
        if now >= deadline {
            return Err(now);
        }
        // Tokio's `Sleep` is large and must not move once polled: boxed.
        Ok(runtime_raw::time::AnyTimer::boxed(timer::TokioTimer::new(deadline)))
    }

    #[cfg(unix)]
    fn watch_fd(&self, fd: std::os::fd::OwnedFd) -> io::Result<Box<dyn runtime_raw::fd::Watched>> {
        let _entered = self.handle().enter();
        Ok(Box::new(fd::Watched::new(fd)?))
    }

    fn now(&self) -> Instant {
        let _entered = self.handle().enter();
        tokio::time::Instant::now().into_std()
    }

    fn pause(&self) {
        self.check_virtual_clock();
        assert!(!self.paused.swap(true, Ordering::AcqRel), "{ALREADY_PAUSED}");
        #[cfg(feature = "test-util")]
        {
            let _entered = self.handle().enter();
            tokio::time::pause();
        }
    }

    fn resume(&self) {
        self.check_virtual_clock();
        assert!(self.paused.swap(false, Ordering::AcqRel), "`runtime::time::resume()`: {NOT_PAUSED}");
        #[cfg(feature = "test-util")]
        {
            let _entered = self.handle().enter();
            tokio::time::resume();
        }
    }

    fn advance(&self, dur: Duration) -> BoxFuture<'static, ()> {
        self.check_virtual_clock();
        assert!(self.paused.load(Ordering::Acquire), "`runtime::time::advance()`: {NOT_PAUSED}");
        #[cfg(feature = "test-util")]
        {
            Box::pin(InContext { handle: self.handle().clone(), future: tokio::time::advance(dur) })
        }
        #[cfg(not(feature = "test-util"))]
        {
            let _ = dur;
            unreachable!("check_virtual_clock panics without test-util")
        }
    }
}

#[cfg(feature = "criterion")]
impl criterion::async_executor::AsyncExecutor for Tokio {
    /// One fresh instance per call: criterion calls it once per sample.
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        runtime_raw::enter(self, future)
    }
}

#[cfg(feature = "criterion")]
impl criterion::async_executor::AsyncExecutor for TokioCurrentThread {
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
