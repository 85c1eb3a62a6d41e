//! The contract between the `runtime` facade and its backends.
//!
//! `runtime` depends on `runtime-native` by default, while every backend must implement a trait
//! that neither of them owns; this crate holds that trait so Cargo sees no cycle. It owns four
//! things and no backend code:
//!
//! - [`Runtime`]: what a user passes to `#[runtime::main(...)]`. It is a *recipe*: its one
//!   method starts a fresh instance of the backend, runs a borrowed, non-`Send` future on the
//!   calling thread to completion, and stops the instance before it returns.
//! - [`Instance`]: the running instance, which the backend installs as *current* on each of its
//!   threads ([`set_current`]); the facade reaches it through [`with_current`]. Its methods are
//!   what the facade needs: spawn, TCP, UDP, name resolution, timers and the clock.
//! - The I/O object traits of [`net`] and the timer of [`time`], one boxed object per socket
//!   or timer.
//! - The task ABI of [`task`]: one heap block per task, and [`enter`] / [`enter_with`], which
//!   also run the entering thread's local tasks ([`local`]) and the shutdown grace period, so
//!   that every backend has them without doing anything.
//!
//! # What is allocated, and why
//!
//! **Per spawn**, the facade moves the future into a [`task::NewTask`] on its stack and calls
//! [`Instance::spawn`]; the backend calls [`task::NewTask::build`] with its [`task::Driver`],
//! which allocates *one* block holding the task's state word, the join waker slot, the future,
//! and then its output in the same bytes. The typed [`task::JoinHandle`] points into that block:
//! no boxed future, no join channel. A backend that schedules tasks itself (native) queues the
//! block directly: one allocation per spawn. A backend that only runs its own task objects
//! wraps the block in one of them: two allocations, its own and ours. Tokio is spared that:
//! with feature `tokio` (which the Tokio backend turns on), [`task::spawn_on`] asks
//! [`Instance::tokio_handle`] and spawns the typed future on Tokio directly, so a spawn through
//! the facade is one `tokio::spawn` and the join handle wraps Tokio's.
//!
//! **Per I/O object**, one box: the facade's `TcpStream` holds a `Box<dyn net::TcpStream>` and
//! each read or write is one virtual call to the backend, which does the system call and the
//! readiness bookkeeping. Operations that many tasks may await at once on one object (`accept`,
//! `recv_from`, ...) return a boxed future per call, so that each waiting task has its own waiter
//! in the backend; stream reads and writes, the hot path, allocate nothing.
//!
//! **Per timer**, one box: a `Delay` holds a pinned `Box<dyn time::Timer>`, created the first
//! time it is polled, so a `Delay` can be made outside any runtime.
//!
//! # Safety
//!
//! The task ABI is the one place this crate uses `unsafe`; every block says why it holds.
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

pub mod completion;
mod enter;
#[cfg(unix)]
pub mod fd;
pub mod fs;
pub mod local;
#[cfg(all(test, runtime_loom))]
mod loom_models;
pub mod net;
mod sync;
pub mod task;
pub mod time;
#[cfg(feature = "tokio")]
mod tokio_join;

pub use enter::{EnterOptions, NESTED_ENTER, enter, enter_with};
pub use futures_task::SpawnError;

/// A boxed, `Send` future borrowing for `'a`: what the object-safe traits return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A backend: how to start an instance and run a future on it.
///
/// Implemented by unit structs such as `runtime_native::Native` and `runtime_tokio::Tokio`, and
/// by configured builders. Call it through [`enter`], which adds the checks and the panic
/// handling every backend shares.
pub trait Runtime {
    /// Starts a fresh instance (its own threads, reactor, timers and clock), polls `entry` on
    /// the calling thread until it completes, then shuts the instance down before returning:
    /// pending tasks are dropped (their destructors run) and its threads are joined.
    ///
    /// The backend installs the instance as current on the calling thread and on each of its
    /// own threads with [`set_current`] for as long as they run.
    fn block_on(&self, entry: Pin<&mut (dyn Future<Output = ()> + '_)>);
}

impl<R: Runtime + ?Sized> Runtime for &R {
    fn block_on(&self, entry: Pin<&mut (dyn Future<Output = ()> + '_)>) {
        (**self).block_on(entry)
    }
}

impl<R: Runtime + ?Sized> Runtime for Box<R> {
    fn block_on(&self, entry: Pin<&mut (dyn Future<Output = ()> + '_)>) {
        (**self).block_on(entry)
    }
}

impl<R: Runtime + ?Sized> Runtime for Arc<R> {
    fn block_on(&self, entry: Pin<&mut (dyn Future<Output = ()> + '_)>) {
        (**self).block_on(entry)
    }
}

/// A running instance of a backend, shared by its threads and by `Spawner`s.
pub trait Instance: Send + Sync + 'static {
    /// Builds and schedules a task (see [`task::NewTask`]).
    ///
    /// # Errors
    /// [`SpawnError::shutdown`] once the instance has stopped; the future is then dropped.
    fn spawn(&self, task: task::NewTask<'_>) -> Result<(), SpawnError>;

    /// Runs a blocking job (built with [`task::Driver::blocking`]) on the instance's blocking
    /// pool: one [`task::Task::poll_inline`] on a pool thread, inside [`enter_blocking`]. At
    /// shutdown, jobs not yet started are dropped unrun (their blocks shut down) and running ones
    /// are detached.
    ///
    /// # Errors
    /// [`SpawnError::shutdown`] once the instance has stopped.
    fn spawn_blocking(&self, task: task::NewTask<'_>) -> Result<(), SpawnError>;

    /// Whether the instance still runs (it has not begun to shut down).
    fn is_running(&self) -> bool;

    /// How many spawned tasks of the instance have not completed (blocking jobs not counted),
    /// or `None` (the default) when the backend cannot tell. [`enter_with`]'s grace period
    /// ends early once this reads 0 and no local task is left; without a count, the tasks get
    /// the whole grace period.
    fn live_tasks(&self) -> Option<usize> {
        None
    }

    /// Opens a TCP connection to one address.
    fn connect_tcp(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Box<dyn net::TcpStream>>>;

    /// Takes over a bound, non-blocking std listener.
    ///
    /// # Errors
    /// The backend could not register it with its reactor.
    fn tcp_listener(&self, listener: std::net::TcpListener) -> io::Result<Box<dyn net::TcpListener>>;

    /// Takes over a connected, non-blocking std stream.
    ///
    /// # Errors
    /// The backend could not register it with its reactor.
    fn tcp_stream(&self, stream: std::net::TcpStream) -> io::Result<Box<dyn net::TcpStream>>;

    /// Takes over a bound, non-blocking std UDP socket.
    ///
    /// # Errors
    /// The backend could not register it with its reactor.
    fn udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Box<dyn net::UdpSocket>>;

    /// Takes over a bound, non-blocking std Unix listener.
    ///
    /// # Errors
    /// The backend could not register it with its reactor.
    #[cfg(unix)]
    fn unix_listener(&self, listener: std::os::unix::net::UnixListener)
    -> io::Result<Box<dyn net::unix::UnixListener>>;

    /// Takes over a connected, non-blocking std Unix stream.
    ///
    /// # Errors
    /// The backend could not register it with its reactor.
    #[cfg(unix)]
    fn unix_stream(&self, stream: std::os::unix::net::UnixStream) -> io::Result<Box<dyn net::unix::UnixStream>>;

    /// Takes over a non-blocking std Unix datagram socket.
    ///
    /// # Errors
    /// The backend could not register it with its reactor.
    #[cfg(unix)]
    fn unix_datagram(&self, socket: std::os::unix::net::UnixDatagram) -> io::Result<Box<dyn net::unix::UnixDatagram>>;

    /// Resolves a host name without blocking the instance's workers.
    fn resolve(&self, host: String, port: u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>>;

    /// A timer that fires at `deadline` on this instance's clock, or `Err(now)` when the clock
    /// already reads `now >= deadline` (then there is nothing to wait for, and no timer is
    /// made). The caller polls the timer right away: a backend may skip reading its clock
    /// again in that first poll.
    fn timer(&self, deadline: Instant) -> Result<time::AnyTimer, Instant>;

    /// For a backend that runs on Tokio (feature `tokio`): the Tokio runtime that
    /// [`task::spawn_on`] hands futures to directly, typed, so that Tokio's task is the only
    /// allocation per spawn (an [`Instance::spawn`] task block would be a second one). `Err`
    /// once the instance stopped. The default, `None`, sends spawns through `spawn`.
    ///
    /// Tasks spawned this way are Tokio tasks in every respect: Tokio polls them, contains
    /// their panics, drops them at shutdown, and aborts them for a cancel.
    #[cfg(feature = "tokio")]
    fn tokio_handle(&self) -> Option<Result<&tokio::runtime::Handle, SpawnError>> {
        None
    }

    /// Executes a file-system op itself, or gives it back (`Err(op)`) for the instance's
    /// blocking pool to run with [`fs::Op::run_blocking`]; see [`fs::submit`]. The default
    /// gives every op back. A backend that takes an op must give the results and error kinds
    /// `run_blocking` would, must keep the op's buffer and handle alive until the OS is done
    /// with them even when the returned future is dropped, and must not make `enter` wait for it.
    fn file_op(&self, op: fs::Op) -> Result<BoxFuture<'static, io::Result<fs::Done>>, fs::Op> {
        Err(op)
    }

    /// Registers `fd` with the instance's reactor for readability and writability, taking it
    /// over (see [`fd`]): the facade's child-process pipes, pidfds and signal sockets. The
    /// caller has set `O_NONBLOCK` where it reads or writes the descriptor. The default refuses.
    ///
    /// # Errors
    /// The backend could not register it (or, by default, watches no descriptors: `Unsupported`).
    #[cfg(unix)]
    fn watch_fd(&self, fd: std::os::fd::OwnedFd) -> io::Result<Box<dyn fd::Watched>> {
        drop(fd);
        Err(io::Error::new(io::ErrorKind::Unsupported, fd::UNSUPPORTED))
    }

    /// The instance's clock.
    fn now(&self) -> Instant;

    /// Freezes the instance's clock (see `runtime::time::pause`).
    ///
    /// # Panics
    /// When the clock is already paused, or the backend has no virtual clock.
    fn pause(&self) {
        panic!("{NO_VIRTUAL_CLOCK}");
    }

    /// Lets the clock run on in real time from the instant it reached.
    ///
    /// # Panics
    /// When the clock is not paused, or the backend has no virtual clock.
    fn resume(&self) {
        panic!("{NO_VIRTUAL_CLOCK}");
    }

    /// Moves the paused clock forward by `dur`, firing the timers it passes.
    ///
    /// # Panics
    /// When the clock is not paused, or the backend has no virtual clock.
    fn advance(&self, dur: std::time::Duration) -> BoxFuture<'static, ()> {
        let _ = dur;
        panic!("{NO_VIRTUAL_CLOCK}");
    }
}

/// Message of the panic when a backend without a virtual clock is asked to pause it.
pub const NO_VIRTUAL_CLOCK: &str = "this backend has no virtual clock: `runtime::time::pause`, `resume` and `advance` \
     work on `runtime::native::Native` and `runtime_tokio::TokioCurrentThread`";

impl fmt::Debug for dyn Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Instance")
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<dyn Instance>>> = const { RefCell::new(None) };
}

thread_local! {
    static IN_BLOCKING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks this thread as running a blocking job until the guard drops: synchronous entry
/// (`runtime::task::block_on`) is allowed there although an instance is current.
pub fn enter_blocking() -> BlockingGuard {
    let previous = IN_BLOCKING.replace(true);
    BlockingGuard { previous, _not_send: std::marker::PhantomData }
}

/// Whether this thread runs a blocking job (see [`enter_blocking`]).
pub fn in_blocking() -> bool {
    IN_BLOCKING.try_with(std::cell::Cell::get).unwrap_or(false)
}

/// Ends what [`enter_blocking`] began.
pub struct BlockingGuard {
    previous: bool,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl fmt::Debug for BlockingGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlockingGuard")
    }
}

impl Drop for BlockingGuard {
    fn drop(&mut self) {
        let _ = IN_BLOCKING.try_with(|flag| flag.set(self.previous));
    }
}

/// Runs `f` with the instance running on this thread, if any.
///
/// Returns `f(None)` where there is none, also while this thread's locals are being destroyed
/// (a waker woken from a thread-local destructor must not panic).
pub fn with_current<R>(f: impl FnOnce(Option<&Arc<dyn Instance>>) -> R) -> R {
    let mut f = Some(f);
    let out = CURRENT.try_with(|current| {
        let f = f.take().expect("called once");
        match current.try_borrow() {
            Ok(current) => f(current.as_ref()),
            Err(_) => f(None),
        }
    });
    match out {
        Ok(out) => out,
        Err(_) => (f.take().expect("not called when try_with fails"))(None),
    }
}

/// The instance running on this thread, if any.
pub fn current() -> Option<Arc<dyn Instance>> {
    with_current(|current| current.cloned())
}

/// Makes `instance` current on this thread until the guard is dropped, when the previous one
/// (usually none) comes back. Backends call it on every thread they run.
pub fn set_current(instance: Arc<dyn Instance>) -> CurrentGuard {
    let previous = CURRENT.with(|current| current.borrow_mut().replace(instance));
    CurrentGuard { previous, _not_send: std::marker::PhantomData }
}

/// Restores the previously current instance when dropped; see [`set_current`].
pub struct CurrentGuard {
    previous: Option<Arc<dyn Instance>>,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl fmt::Debug for CurrentGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CurrentGuard")
    }
}

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // Take the instance out before dropping it: its destructor may look at CURRENT.
        let replaced = CURRENT.try_with(|current| std::mem::replace(&mut *current.borrow_mut(), previous));
        drop(replaced);
    }
}
