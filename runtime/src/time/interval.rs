//! `Interval`: a stream of evenly spaced instants.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use futures::stream::FusedStream;

use crate::raw::time::AnyTimer;

const ZERO_PERIOD: &str = "`Interval::new(Duration::ZERO)`: an interval needs a period greater than zero";

/// A stream that yields `start + k * period` for k = 1, 2, ..., each once the clock reaches it.
///
/// `start` is [`now()`](super::now) when [`Interval::new`] ran. Ticks missed while the stream was
/// not polled come at once, each with its own scheduled instant. It never ends.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use futures::prelude::*;
/// use runtime::time::Interval;
///
/// #[runtime::main(runtime_tokio::Tokio)]
/// async fn main() {
///     let before = runtime::time::now();
///     let ticks: Vec<_> = Interval::new(Duration::from_millis(2)).take(3).collect().await;
///     assert!(ticks[0] >= before + Duration::from_millis(2));
///     assert_eq!(ticks[2] - ticks[0], Duration::from_millis(4));
/// }
/// ```
///
/// # Panics
/// [`Interval::new`] panics on a zero period; polling panics with no runtime running.
pub struct Interval {
    period: Duration,
    /// `None` once the next tick is past the end of time.
    next: Option<Instant>,
    timer: Option<AnyTimer>,
}

impl Interval {
    /// An interval with the given period, starting now.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// use futures::StreamExt as _;
    /// let mut ticks = runtime::time::Interval::new(std::time::Duration::from_millis(1));
    /// let first = ticks.next().await.unwrap();
    /// assert!(runtime::time::now() >= first);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Panics
    /// When `period` is zero.
    pub fn new(period: Duration) -> Interval {
        assert!(!period.is_zero(), "{ZERO_PERIOD}");
        Interval { period, next: super::now().checked_add(period), timer: None }
    }
}

impl Stream for Interval {
    type Item = Instant;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        let this = &mut *self;
        let Some(next) = this.next else {
            crate::with_instance("Interval", |_| ());
            return Poll::Pending;
        };
        let timer = &mut this.timer;
        let pending = crate::with_instance("Interval", |instance| {
            let timer = match timer {
                Some(timer) => timer,
                None => match instance.timer(next) {
                    Ok(armed) => timer.insert(armed),
                    // Already due: the tick is ready without a timer.
                    Err(_) => return false,
                },
            };
            timer.poll_fire(cx).is_pending()
        });
        if pending {
            return Poll::Pending;
        }
        this.next = next.checked_add(this.period);
        if let (Some(timer), Some(following)) = (&mut this.timer, this.next) {
            timer.reset(following);
        }
        Poll::Ready(Some(next))
    }
}

impl FusedStream for Interval {
    fn is_terminated(&self) -> bool {
        false
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval").field("period", &self.period).field("next", &self.next).finish_non_exhaustive()
    }
}
