//! A poll budget per task, so that a task whose sockets are always ready cannot starve the
//! others on its worker.
//!
//! A worker grants each task [`BUDGET`] units when it starts polling it. Every I/O operation
//! (and every timer that is already due) spends one unit; with none left it returns `Pending`
//! after waking its own task, which then goes to the back of the queue. Off the workers (the
//! thread that runs the entry future) there is no budget.

use std::cell::Cell;
use std::task::{Context, Poll};

/// Units per poll of a task: enough that a busy connection does real work per turn, few
/// enough that the others wait microseconds, not milliseconds (Tokio uses the same figure).
const BUDGET: u8 = 128;

thread_local! {
    static REMAINING: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Runs `f` (one poll of a task) with a fresh budget.
pub(crate) fn budgeted<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(Option<u8>);
    impl Drop for Reset {
        fn drop(&mut self) {
            REMAINING.set(self.0);
        }
    }
    let _reset = Reset(REMAINING.replace(Some(BUDGET)));
    f()
}

/// Spends one unit; `Pending` (with the task rescheduled) once the budget is gone.
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    let remaining = REMAINING.try_with(Cell::get).ok().flatten();
    match remaining {
        None => Poll::Ready(()),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            REMAINING.set(Some(n - 1));
            Poll::Ready(())
        }
    }
}
