//! `runtime_raw::time::Timer` on Tokio's timer wheel.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use pin_project_lite::pin_project;

pin_project! {
    #[derive(Debug)]
    pub(crate) struct TokioTimer {
        #[pin]
        sleep: tokio::time::Sleep,
        deadline: Instant,
    }
}

impl TokioTimer {
    pub(crate) fn new(deadline: Instant) -> TokioTimer {
        TokioTimer { sleep: tokio::time::sleep_until(deadline.into()), deadline }
    }
}

impl runtime_raw::time::Timer for TokioTimer {
    fn poll_fire(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        let mut this = self.project();
        loop {
            ready!(this.sleep.as_mut().poll(cx));
            let now = tokio::time::Instant::now().into_std();
            if now >= *this.deadline {
                return Poll::Ready(now);
            }
            // Tokio rounds to its millisecond ticks; never report a time before the deadline.
            this.sleep.as_mut().reset((*this.deadline).into());
        }
    }

    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.project();
        *this.deadline = deadline;
        this.sleep.reset(deadline.into());
    }
}
