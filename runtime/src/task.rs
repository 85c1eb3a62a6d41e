//! Tasks: spawning, joining, cancelling, yielding.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::FusedFuture;
use futures::task::{FutureObj, Spawn, SpawnError};

use crate::raw;
use crate::raw::task::Outcome;

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
    crate::with_instance("runtime::spawn", |instance| JoinHandle {
        raw: raw::task::spawn_on(&**instance, future).unwrap_or_else(|_| raw::task::JoinHandle::shut_down()),
    })
}

const CANCELLED_AWAITED: &str = "a cancelled task's `JoinHandle` was awaited";

/// An owned permission to await a spawned task's output.
///
/// Awaiting it gives the task's output; if the task panicked, the panic resumes in the awaiter
/// with its original payload. Dropping it detaches the task, which runs on.
///
/// # Panics
/// Awaiting it panics when its task was dropped by its runtime's shutdown before finishing.
pub struct JoinHandle<T> {
    raw: raw::task::JoinHandle<T>,
}

impl<T> JoinHandle<T> {
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
    /// # Panics
    /// If the task panicked, with its original payload.
    pub fn cancel(self) -> impl Future<Output = Option<T>> + Send
    where
        T: Send,
    {
        let mut raw = self.raw;
        raw.cancel();
        futures::future::poll_fn(move |cx| {
            raw.poll_outcome(cx).map(|outcome| match outcome {
                Outcome::Value(value) => Some(value),
                Outcome::Panicked(payload) => std::panic::resume_unwind(payload),
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
        self.raw.is_finished()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.raw.poll_outcome(cx).map(|outcome| match outcome {
            Outcome::Value(value) => value,
            Outcome::Panicked(payload) => std::panic::resume_unwind(payload),
            Outcome::Shutdown => panic!("{}", raw::task::DROPPED_BY_SHUTDOWN),
            Outcome::Cancelled => panic!("{CANCELLED_AWAITED}"),
        })
    }
}

impl<T> FusedFuture for JoinHandle<T> {
    fn is_terminated(&self) -> bool {
        self.raw.is_terminated()
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.raw, f)
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
}

impl Spawner {
    /// A spawner for the runtime running on this thread.
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn current() -> Spawner {
        Spawner { instance: crate::instance("Spawner::current") }
    }

    /// Spawns a task on this spawner's instance.
    ///
    /// # Errors
    /// [`SpawnError::shutdown`] once the instance has stopped.
    pub fn spawn<F>(&self, future: F) -> Result<JoinHandle<F::Output>, SpawnError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        raw::task::spawn_on(&*self.instance, future).map(|raw| JoinHandle { raw })
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
