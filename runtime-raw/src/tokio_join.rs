//! The join side of a task spawned straight onto Tokio (feature `tokio`, which the Tokio
//! backend turns on): see [`Instance::tokio_handle`](crate::Instance::tokio_handle).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use crate::task::Outcome;

/// Tokio's join handle, read as an [`Outcome`].
pub(crate) struct TokioJoin<T> {
    handle: tokio::task::JoinHandle<T>,
    /// A cancel was asked for before the task finished: Tokio reports a cancel and a runtime
    /// shutdown alike.
    cancel_requested: AtomicBool,
    /// The outcome was taken: polling again is a caller bug.
    done: bool,
}

impl<T> TokioJoin<T> {
    pub(crate) fn new(handle: tokio::task::JoinHandle<T>) -> TokioJoin<T> {
        TokioJoin { handle, cancel_requested: AtomicBool::new(false), done: false }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.done
    }

    pub(crate) fn poll_outcome(&mut self, cx: &mut Context<'_>) -> Poll<Outcome<T>> {
        assert!(!self.done, "{}", crate::task::POLLED_AFTER_COMPLETION);
        let result = ready!(Pin::new(&mut self.handle).poll(cx));
        self.done = true;
        let cancelled = self.cancel_requested.load(Ordering::Acquire);
        Poll::Ready(match result {
            Ok(value) => Outcome::Value(value),
            // Tokio reports a destructor that panics while an abort drops the future as the
            // task's panic; a task block contains it and reports the cancel. So do we, once a
            // cancel was asked for (a poll that panicked just as the cancel came in is then
            // reported as cancelled too: the caller asked not to have the result).
            Err(error) if error.is_panic() && !cancelled => Outcome::Panicked(error.into_panic()),
            Err(_) if cancelled => Outcome::Cancelled,
            Err(_) => Outcome::Shutdown,
        })
    }

    pub(crate) fn cancel(&self) {
        // A task that already finished keeps its outcome, a panic included.
        if !self.handle.is_finished() {
            self.cancel_requested.store(true, Ordering::Release);
            self.handle.abort();
        }
    }
}

impl<T> fmt::Debug for TokioJoin<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("task", &format_args!("tokio {}", self.handle.id()))
            .field("finished", &self.is_finished())
            .finish()
    }
}
