//! Tasks: spawning, joining, cancelling, yielding; local tasks and task sets.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::FusedFuture;
use futures::task::{FutureObj, Spawn, SpawnError};

use crate::raw;
use crate::raw::task::Outcome;

mod local;
pub(crate) mod panics;
mod set;

pub use local::spawn_local;
pub use set::TaskSet;

use panics::{Recorded, Recorder};

/// Spawns a task on the running runtime and returns a handle to its output.
///
/// The task starts running at once, whether or not the handle is awaited; dropping the handle
/// detaches it.
///
/// # Examples
/// ```
/// #[runtime::main(runtime_tokio::Tokio)]
/// async fn main() {
///     let handle = runtime::spawn(async { 1 + 1 });
///     assert_eq!(handle.await, 2);
/// }
/// ```
///
/// # Panics
/// When no runtime is running on this thread.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let recorder = panics::in_scope();
    crate::with_instance("runtime::spawn", |instance| {
        spawn_on(&**instance, future, recorder).unwrap_or_else(|_| JoinHandle::shut_down())
    })
}

/// Spawns `future` on `instance`, recorded for `recorder`'s test if there is one.
pub(crate) fn spawn_on<F>(
    instance: &dyn raw::Instance,
    future: F,
    recorder: Option<Arc<Recorder>>,
) -> Result<JoinHandle<F::Output>, SpawnError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let raw = match recorder {
        None => raw::task::spawn_on(instance, future)?,
        Some(recorder) => raw::task::spawn_on(instance, Recorded::new(future, recorder))?,
    };
    Ok(JoinHandle { inner: Inner::Task(raw) })
}

/// Runs a blocking closure on the runtime's blocking pool, off the async workers.
///
/// The pool grows on demand up to its cap (`max_blocking_threads` on the backend's builder;
/// Native's default is 512, env `RUNTIME_NATIVE_BLOCKING_THREADS`) and idle threads exit after
/// `blocking_keep_alive`. A panic in `f` resumes in the awaiter. [`JoinHandle::cancel`] before
/// the job starts means it never runs (`None`); once it runs it cannot be stopped, and `cancel`
/// resolves when it ends, with `Some(value)`. When the runtime shuts down, queued jobs are
/// dropped unrun and running ones are detached: `enter` does not wait for them.
///
/// # Examples
/// ```
/// #[runtime::main]
/// async fn main() {
///     let contents = runtime::task::spawn_blocking(|| std::fs::read_to_string("Cargo.toml")).await;
///     assert!(contents.unwrap().contains("[package]"));
/// }
/// ```
///
/// # Panics
/// When no runtime is running on this thread.
pub fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let recorder = panics::in_scope();
    crate::with_instance("runtime::task::spawn_blocking", |instance| {
        let spawned = match recorder {
            None => raw::task::spawn_blocking_on(&**instance, f),
            Some(recorder) => raw::task::spawn_blocking_on(&**instance, panics::recorded_job(f, recorder)),
        };
        spawned.map_or_else(|_| JoinHandle::shut_down(), |raw| JoinHandle { inner: Inner::Task(raw) })
    })
}

/// Message of the panic when `block_on` is called where it would block a runtime's thread.
#[cfg(feature = "native")]
const BLOCK_ON_IN_RUNTIME: &str = "`runtime::task::block_on` was called from inside a running runtime, where it would \
     block one of its threads; `.await` the future instead (inside `spawn_blocking` closures it is allowed)";

/// Runs `future` to completion on the calling thread, for synchronous code.
///
/// Spawns and I/O inside it go to a process-wide [`Native`](crate::native::Native) instance,
/// started the first time it is needed and kept until the process exits. Inside a
/// [`spawn_blocking`] closure, they go to the instance running the job instead (or, once that
/// has stopped, to the process-wide one).
///
/// # Examples
/// ```
/// let answer = runtime::task::block_on(async { runtime::spawn(async { 6 * 7 }).await });
/// assert_eq!(answer, 42);
/// ```
///
/// # Panics
/// When called from a runtime's thread (outside `spawn_blocking`), with a message saying so.
#[cfg(feature = "native")]
pub fn block_on<F: Future>(future: F) -> F::Output {
    let current = raw::current();
    let instance = match current {
        Some(_) if !raw::in_blocking() => panic!("{BLOCK_ON_IN_RUNTIME}"),
        Some(instance) if instance.is_running() => instance,
        _ => process_wide(),
    };
    let _current = raw::set_current(instance);
    futures::executor::block_on(future)
}

/// The process-wide native instance behind `block_on`, started on first use.
#[cfg(feature = "native")]
fn process_wide() -> Arc<dyn raw::Instance> {
    static INSTANCE: std::sync::OnceLock<Arc<dyn raw::Instance>> = std::sync::OnceLock::new();
    INSTANCE
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("runtime-native-process".into())
                .spawn(move || {
                    raw::enter(crate::native::Native, async move {
                        let _ = tx.send(raw::current().expect("inside enter"));
                        // Lives until the process exits.
                        futures::future::pending::<()>().await
                    })
                })
                .expect("could not start the process-wide runtime thread");
            rx.recv().expect("the process-wide runtime started")
        })
        .clone()
}

const CANCELLED_AWAITED: &str = "a cancelled task's `JoinHandle` was awaited";

/// An owned permission to await a spawned task's output.
///
/// Awaiting it gives the task's output; if the task panicked, the panic resumes in the awaiter
/// with its original payload. Dropping it detaches the task, which runs on.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let handle: runtime::task::JoinHandle<u8> = runtime::spawn(async { 7 });
/// assert_eq!(handle.await, 7);
/// # Ok(())
/// # }
/// ```
///
/// # Panics
/// Awaiting it panics when its task was dropped by its runtime's shutdown before finishing.
pub struct JoinHandle<T> {
    inner: Inner<T>,
}

enum Inner<T> {
    /// A spawned task (or blocking job).
    Task(raw::task::JoinHandle<T>),
    /// A local task ([`spawn_local`]).
    Local(raw::local::LocalJoin<T>),
}

impl<T> JoinHandle<T> {
    /// The handle of a task that a stopped instance refused: awaiting it panics as for a task
    /// dropped by shutdown.
    fn shut_down() -> JoinHandle<T>
    where
        T: Send + 'static,
    {
        JoinHandle { inner: Inner::Task(raw::task::JoinHandle::shut_down()) }
    }

    /// Waits for the task's outcome, as it is (a panic is neither resumed nor claimed).
    pub(crate) fn poll_outcome(&mut self, cx: &mut Context<'_>) -> Poll<Outcome<T>> {
        match &mut self.inner {
            Inner::Task(raw) => raw.poll_outcome(cx),
            Inner::Local(local) => local.poll_outcome(cx),
        }
    }

    /// Asks for the task's future to be dropped, without waiting.
    pub(crate) fn request_cancel(&self) {
        match &self.inner {
            Inner::Task(raw) => raw.cancel(),
            Inner::Local(local) => local.cancel(),
        }
    }

    /// Drops the task's future and returns its output if it finished first.
    ///
    /// Resolves to `None` if the task had not finished; the future has then been dropped (its
    /// destructor ran) before this resolves. A task being polled on another thread is dropped
    /// when that poll ends.
    ///
    /// # Examples
    /// ```
    /// #[runtime::main(runtime_tokio::Tokio)]
    /// async fn main() {
    ///     let never = runtime::spawn(futures::future::pending::<()>());
    ///     assert_eq!(never.cancel().await, None);
    /// }
    /// ```
    ///
    /// The returned future is `Send` when `T` is (the handle of a local task with an output
    /// that is not `Send` can still be cancelled, on the thread that holds it).
    ///
    /// # Panics
    /// If the task panicked, with its original payload.
    pub fn cancel(self) -> impl Future<Output = Option<T>> {
        let mut this = self;
        this.request_cancel();
        futures::future::poll_fn(move |cx| {
            this.poll_outcome(cx).map(|outcome| match outcome {
                Outcome::Value(value) => Some(value),
                Outcome::Panicked(payload) => std::panic::resume_unwind(panics::claim(payload)),
                Outcome::Cancelled | Outcome::Shutdown => None,
            })
        })
    }

    /// Lets the task run on without anyone awaiting it; the same as dropping the handle.
    ///
    /// # Examples
    /// ```
    /// #[runtime::main(runtime_tokio::Tokio)]
    /// async fn main() {
    ///     runtime::spawn(async { println!("on my own") }).detach();
    /// }
    /// ```
    pub fn detach(self) {}

    /// Whether the task has finished: returned, panicked, or was dropped.
    ///
    /// # Examples
    /// ```
    /// #[runtime::main(runtime_tokio::Tokio)]
    /// async fn main() {
    ///     let handle = runtime::spawn(futures::future::pending::<()>());
    ///     assert!(!handle.is_finished());
    /// }
    /// ```
    pub fn is_finished(&self) -> bool {
        match &self.inner {
            Inner::Task(raw) => raw.is_finished(),
            Inner::Local(local) => local.is_finished(),
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.poll_outcome(cx).map(|outcome| match outcome {
            Outcome::Value(value) => value,
            Outcome::Panicked(payload) => std::panic::resume_unwind(panics::claim(payload)),
            Outcome::Shutdown => panic!("{}", raw::task::DROPPED_BY_SHUTDOWN),
            Outcome::Cancelled => panic!("{CANCELLED_AWAITED}"),
        })
    }
}

impl<T> FusedFuture for JoinHandle<T> {
    fn is_terminated(&self) -> bool {
        match &self.inner {
            Inner::Task(raw) => raw.is_terminated(),
            Inner::Local(local) => local.is_terminated(),
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Task(raw) => fmt::Debug::fmt(raw, f),
            Inner::Local(local) => fmt::Debug::fmt(local, f),
        }
    }
}

/// A handle for spawning onto one running instance, from any thread.
///
/// Captures the instance that is running when [`Spawner::current`] is called; once that
/// instance has stopped, spawning fails with [`SpawnError::shutdown`]. Implements
/// [`futures::task::Spawn`] for libraries that take a spawner.
///
/// # Examples
/// ```
/// use runtime::task::Spawner;
///
/// #[runtime::main(runtime_tokio::Tokio)]
/// async fn main() {
///     let spawner = Spawner::current();
///     let from_thread = std::thread::spawn(move || spawner.spawn(async { 7 }).unwrap())
///         .join()
///         .unwrap();
///     assert_eq!(from_thread.await, 7);
/// }
/// ```
#[derive(Clone)]
pub struct Spawner {
    instance: Arc<dyn raw::Instance>,
    /// The test recording task panics where the spawner was made, if any: its spawns, from
    /// any thread, are that test's tasks.
    recorder: Option<Arc<Recorder>>,
}

impl Spawner {
    /// A spawner for the runtime running on this thread.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let spawner = runtime::task::Spawner::current();
    /// assert_eq!(spawner.spawn(async { 1 }).unwrap().await, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn current() -> Spawner {
        Spawner { instance: crate::instance("Spawner::current"), recorder: panics::in_scope() }
    }

    /// Spawns a task on this spawner's instance.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let spawner = runtime::task::Spawner::current();
    /// let handle = std::thread::spawn(move || spawner.spawn(async { "from a thread" })).join().unwrap();
    /// assert_eq!(handle.unwrap().await, "from a thread");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`SpawnError::shutdown`] once the instance has stopped.
    pub fn spawn<F>(&self, future: F) -> Result<JoinHandle<F::Output>, SpawnError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on(&*self.instance, future, self.recorder.clone().or_else(panics::in_scope))
    }
}

impl Spawn for Spawner {
    fn spawn_obj(&self, future: FutureObj<'static, ()>) -> Result<(), SpawnError> {
        Spawner::spawn(self, future).map(JoinHandle::detach)
    }
}

impl fmt::Debug for Spawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spawner").finish_non_exhaustive()
    }
}

/// Lets other tasks run: the current task is rescheduled behind them.
///
/// # Examples
/// ```
/// #[runtime::main(runtime_tokio::Tokio)]
/// async fn main() {
///     for _ in 0..3 {
///         runtime::task::yield_now().await;
///     }
/// }
/// ```
pub fn yield_now() -> impl Future<Output = ()> + Send {
    YieldNow { yielded: false }
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
