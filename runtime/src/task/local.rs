//! `spawn_local`: futures that are not `Send`, on the thread that entered the runtime.

use std::future::Future;

use super::{Inner, JoinHandle, panics};
use crate::raw;

/// Spawns a future that need not be `Send` (it may hold an `Rc`, or a `RefCell` borrow across
/// an `.await`) on the thread that entered the runtime, and returns a handle to its output.
///
/// The task runs on that thread, interleaved with the entry future (the `async` body of
/// `#[runtime::main]` or `#[runtime::test]`), on every backend. It starts at once, whether or
/// not the handle is awaited; dropping the handle detaches it. Local tasks still pending when
/// the entry future completes (after the shutdown grace period, if one is set) are dropped on
/// that thread before the runtime returns. The handle is `Send` when the output is; it may be
/// awaited anywhere, and [`JoinHandle::cancel`] from any thread drops the future on its own.
///
/// # Examples
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// #[runtime::main]
/// async fn main() {
///     let log = Rc::new(RefCell::new(Vec::new()));
///     let writer = runtime::task::spawn_local({
///         let log = log.clone();
///         async move {
///             log.borrow_mut().push("from a local task");
///             runtime::task::yield_now().await;
///             log.borrow().len()
///         }
///     });
///     assert_eq!(writer.await, 1);
///     assert_eq!(*log.borrow(), ["from a local task"]);
/// }
/// ```
///
/// # Panics
/// When called anywhere but from the entry future or a local task: from a spawned task (also
/// on `TokioCurrentThread`, which polls it on the same thread), a blocking job, or outside any
/// runtime. The message says where it may be called.
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let local = match panics::in_scope() {
        None => raw::local::spawn_local(future),
        Some(recorder) => raw::local::spawn_local(panics::Recorded::new(future, recorder)),
    };
    match local {
        Some(local) => JoinHandle { inner: Inner::Local(local) },
        None => panic!("{}", raw::local::SPAWN_LOCAL_ELSEWHERE),
    }
}
