//! `enter` and `enter_with`: running a future on a fresh instance, its local tasks, and the
//! shutdown grace period.
//!
//! The backend only sees one future, [`Entry`]: it polls the user's future (catching its
//! panic), then the local tasks that are ready ([`crate::local`]). Once the user's future has
//! completed, and if the options give a grace period, it stays pending until no task is left
//! (no local task, and [`Instance::live_tasks`](crate::Instance::live_tasks) reads 0) or the
//! period is over on the real clock; a helper thread wakes it on a short tick meanwhile, since
//! neither the instance's clock (which may be paused) nor its task count can wake it. Then it
//! drops the local tasks that are left, on this thread, and completes: the backend stops the
//! instance, dropping its pending tasks, as without a grace period.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::local::{self, LocalSet};
use crate::{Runtime, task, with_current};

/// Message of the panic when `enter` is called on a thread that already runs an instance.
pub const NESTED_ENTER: &str = "`runtime::raw::enter` (or `#[runtime::main]` / `#[runtime::test]`) was called from \
     inside a running runtime; that would block one of its threads. Await the future instead, or \
     `runtime::spawn` it";

const BACKEND_RETURNED_EARLY: &str = "the backend's `Runtime::block_on` returned before the future completed";

/// The first wait between two looks at the task count during a grace period: short, since the
/// last task often ends right away.
const GRACE_TICK_MIN: Duration = Duration::from_millis(1);
/// The longest wait between two looks: a grace period ends at most this long after its last
/// task did, at the cost of about one wake-up per tick.
const GRACE_TICK_MAX: Duration = Duration::from_millis(16);

/// How [`enter_with`] runs the instance.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use runtime_raw::EnterOptions;
///
/// let options = EnterOptions::default().shutdown_timeout(Duration::from_secs(5));
/// assert_eq!(options.get_shutdown_timeout(), Some(Duration::from_secs(5)));
/// ```
#[derive(Clone, Debug, Default)]
pub struct EnterOptions {
    shutdown_timeout: Option<Duration>,
}

impl EnterOptions {
    /// When the future completes, tasks still running (spawned and local ones, and those they
    /// spawn meanwhile) get up to `timeout` to finish, on the real clock even when the
    /// instance's clock is paused; then the rest are dropped. The default is none: they are
    /// dropped at once. There is no grace period when the future panics.
    ///
    /// # Examples
    /// ```
    /// # use std::time::Duration;
    /// let options = runtime_raw::EnterOptions::default().shutdown_timeout(Duration::from_millis(500));
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> EnterOptions {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// The grace period set with [`shutdown_timeout`](Self::shutdown_timeout), if any.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(runtime_raw::EnterOptions::default().get_shutdown_timeout(), None);
    /// ```
    pub fn get_shutdown_timeout(&self) -> Option<Duration> {
        self.shutdown_timeout
    }
}

/// Starts a fresh instance of `rt`, runs `future` to completion on the calling thread, shuts the
/// instance down and returns the future's output.
///
/// This is what `#[runtime::main]` and `#[runtime::test]` expand to. The future may borrow from
/// the caller and need not be `Send`. It is [`enter_with`] with the default options.
///
/// # Examples
/// ```
/// # struct Inline;
/// # impl runtime_raw::Runtime for Inline {
/// #     fn block_on(&self, entry: std::pin::Pin<&mut (dyn std::future::Future<Output = ()> + '_)>) {
/// #         futures::executor::block_on(entry)
/// #     }
/// # }
/// let name = String::from("borrowed");
/// let len = runtime_raw::enter(Inline, async { name.len() });
/// assert_eq!(len, 8);
/// ```
///
/// # Panics
/// When called from a thread that is running an instance, and with the future's own panic
/// (its original payload), after the instance has shut down.
pub fn enter<R: Runtime, F: Future>(rt: R, future: F) -> F::Output {
    enter_with(rt, EnterOptions::default(), future)
}

/// [`enter`] with options: a shutdown grace period ([`EnterOptions::shutdown_timeout`]).
///
/// Local tasks ([`local::spawn_local`]) run on this thread, interleaved with `future`, on any
/// backend; those still pending when it completes (after the grace period, if any) are dropped
/// on this thread before this returns.
///
/// # Examples
/// ```
/// # struct Inline;
/// # impl runtime_raw::Runtime for Inline {
/// #     fn block_on(&self, entry: std::pin::Pin<&mut (dyn std::future::Future<Output = ()> + '_)>) {
/// #         futures::executor::block_on(entry)
/// #     }
/// # }
/// use std::time::Duration;
/// use runtime_raw::EnterOptions;
///
/// let options = EnterOptions::default().shutdown_timeout(Duration::from_millis(20));
/// let answer = runtime_raw::enter_with(Inline, options, async {
///     let local = runtime_raw::local::spawn_local(async { std::rc::Rc::new(42) }).expect("in the entry future");
///     let _detached = local;
///     42
/// });
/// assert_eq!(answer, 42);
/// ```
///
/// # Panics
/// As [`enter`].
pub fn enter_with<R: Runtime, F: Future>(rt: R, options: EnterOptions, future: F) -> F::Output {
    if with_current(|current| current.is_some()) {
        panic!("{NESTED_ENTER}");
    }
    let mut result: Option<Result<F::Output, task::Panic>> = None;
    {
        let mut entry = pin!(Entry {
            future,
            result: &mut result,
            local: Rc::new(LocalSet::new()),
            grace_timeout: options.shutdown_timeout,
            grace: None,
            finished: false,
        });
        rt.block_on(entry.as_mut());
    }
    match result {
        Some(Ok(output)) => output,
        Some(Err(payload)) => panic::resume_unwind(payload),
        None => panic!("{BACKEND_RETURNED_EARLY}"),
    }
}

pin_project_lite::pin_project! {
    /// What the backend polls: the user's future, its local tasks, and the grace period.
    struct Entry<'a, F: Future> {
        #[pin]
        future: F,
        result: &'a mut Option<Result<F::Output, task::Panic>>,
        local: Rc<LocalSet>,
        grace_timeout: Option<Duration>,
        grace: Option<Grace>,
        finished: bool,
    }
}

impl<F: Future> Future for Entry<'_, F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if *this.finished {
            return Poll::Ready(());
        }
        let _scope = local::scope(this.local);
        if this.result.is_none() {
            match panic::catch_unwind(AssertUnwindSafe(|| this.future.poll(cx))) {
                Ok(Poll::Pending) => {}
                Ok(Poll::Ready(output)) => {
                    **this.result = Some(Ok(output));
                    let Some(timeout) = *this.grace_timeout else {
                        // No grace: local tasks get no poll after the future completed.
                        return finish(this.local, this.finished);
                    };
                    *this.grace = Some(Grace::start(timeout, cx.waker()));
                }
                Err(payload) => {
                    // No grace: the instance stops at once and the panic resumes.
                    **this.result = Some(Err(payload));
                    return finish(this.local, this.finished);
                }
            }
        }
        let more = this.local.run();
        if this.result.is_some() {
            let over = match this.grace {
                None => true,
                Some(grace) => {
                    let live = with_current(|instance| instance.and_then(|instance| instance.live_tasks()));
                    (!more && this.local.is_empty() && live == Some(0)) || grace.is_over(cx.waker())
                }
            };
            if over {
                *this.grace = None;
                return finish(this.local, this.finished);
            }
        }
        if more || this.local.register(cx.waker()) {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

/// Drops the local tasks that are left (on this thread, while the instance still runs, so that
/// their destructors may use it) and completes the entry.
fn finish(local: &LocalSet, finished: &mut bool) -> Poll<()> {
    local.shut_down();
    *finished = true;
    Poll::Ready(())
}

/// A grace period under way: its deadline, and the thread that wakes the entry meanwhile.
struct Grace {
    /// `None`: a timeout too long to add to `Instant::now()`, which never ends by itself.
    deadline: Option<Instant>,
    ticker: Ticker,
}

impl Grace {
    fn start(timeout: Duration, waker: &Waker) -> Grace {
        let deadline = Instant::now().checked_add(timeout);
        Grace { deadline, ticker: Ticker::start(deadline, waker.clone()) }
    }

    /// Whether the deadline has passed; else keeps the ticker's waker current.
    fn is_over(&self, waker: &Waker) -> bool {
        if self.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return true;
        }
        self.ticker.update(waker);
        false
    }
}

/// Wakes the entry on a growing tick until the deadline, or until dropped.
struct Ticker {
    shared: Arc<TickerShared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct TickerShared {
    stop: AtomicBool,
    waker: Mutex<Waker>,
}

impl Ticker {
    fn start(deadline: Option<Instant>, waker: Waker) -> Ticker {
        let shared = Arc::new(TickerShared { stop: AtomicBool::new(false), waker: Mutex::new(waker) });
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("runtime-shutdown-grace".into())
            .spawn(move || tick(&theirs, deadline))
            .unwrap_or_else(|e| panic!("could not start the shutdown grace period's timer thread: {e}"));
        Ticker { shared, thread: Some(thread) }
    }

    fn update(&self, waker: &Waker) {
        let mut current = self.shared.waker.lock().unwrap_or_else(|e| e.into_inner());
        if !current.will_wake(waker) {
            *current = waker.clone();
        }
    }
}

/// The ticker thread: bounded by the deadline, or by the stop flag when there is none.
fn tick(shared: &TickerShared, deadline: Option<Instant>) {
    let wake = || shared.waker.lock().unwrap_or_else(|e| e.into_inner()).wake_by_ref();
    let mut period = GRACE_TICK_MIN;
    loop {
        let wait = match deadline {
            None => period,
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left.min(period),
                _ => {
                    wake();
                    return;
                }
            },
        };
        std::thread::park_timeout(wait);
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        wake();
        period = (period * 2).min(GRACE_TICK_MAX);
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            // It only parks, checks the flag and wakes a waker: it ends at once.
            let _ = thread.join();
        }
    }
}
