//! The panic rule of `#[runtime::test]`: a task panic that no awaiter took fails the test.
//!
//! A test's body runs with a [`Recorder`] in scope (a thread-local set while the body is
//! polled). A task spawned in that scope, by any means (`spawn`, `Spawner`, `TaskSet`,
//! `spawn_local`, `spawn_blocking`), is wrapped in [`Recorded`], which keeps the recorder in
//! scope while the task runs (so the tasks it spawns are recorded too) and catches its panic:
//! the panic is written down, unclaimed, and goes on as a [`TaskPanic`] carrying the original
//! payload and the entry's number. The join handle (or `cancel`, or `TaskSet::join_next`) that
//! resumes it unwraps the payload and claims the entry: that panic then belongs to the awaiter.
//! When the body has completed, the first unclaimed entry fails the test.
//!
//! Outside tests nothing is in scope and spawning pays one relaxed load of [`RECORDING`].

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use crate::raw::task::Panic;

/// Recorders alive in the process: while there are none, spawns skip the thread-local.
static RECORDING: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The recorder of the test whose body or task is being run on this thread.
    static IN_SCOPE: RefCell<Option<Arc<Recorder>>> = const { RefCell::new(None) };
}

/// What a payload that is not a string is written as.
const NON_STRING_PAYLOAD: &str = "Box<dyn Any>";

/// The task panics of one test.
#[derive(Debug)]
pub(crate) struct Recorder {
    panics: Mutex<Vec<Record>>,
}

#[derive(Debug)]
struct Record {
    message: String,
    claimed: bool,
}

impl Recorder {
    /// A recorder, counted in [`RECORDING`] until [`Recording`] drops.
    pub(crate) fn start() -> Recording {
        RECORDING.fetch_add(1, Ordering::Relaxed);
        Recording { recorder: Arc::new(Recorder { panics: Mutex::new(Vec::new()) }) }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Record>> {
        self.panics.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, payload: &Panic) -> usize {
        let mut panics = self.lock();
        panics.push(Record { message: message(&**payload), claimed: false });
        panics.len() - 1
    }

    fn claim(&self, index: usize) {
        if let Some(entry) = self.lock().get_mut(index) {
            entry.claimed = true;
        }
    }

    /// The message of the first task panic that no awaiter took, if any.
    pub(crate) fn first_unclaimed(&self) -> Option<String> {
        self.lock().iter().find(|entry| !entry.claimed).map(|entry| entry.message.clone())
    }
}

/// A test's recorder: while it lives, spawns look for a recorder in scope.
#[derive(Debug)]
pub(crate) struct Recording {
    pub(crate) recorder: Arc<Recorder>,
}

impl Drop for Recording {
    fn drop(&mut self) {
        RECORDING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A payload's text: a `&str` or `String` as it is, anything else as [`NON_STRING_PAYLOAD`].
fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        NON_STRING_PAYLOAD.to_owned()
    }
}

/// The recorder in scope on this thread, if a test records: what a new task inherits.
#[inline]
pub(crate) fn in_scope() -> Option<Arc<Recorder>> {
    if RECORDING.load(Ordering::Relaxed) == 0 {
        return None;
    }
    IN_SCOPE.try_with(|current| current.borrow().clone()).ok().flatten()
}

/// Puts `recorder` in scope on this thread until the guard drops.
pub(crate) fn scope(recorder: &Arc<Recorder>) -> Scope {
    let previous = IN_SCOPE.with(|current| current.replace(Some(recorder.clone())));
    Scope { previous }
}

/// Restores the previous recorder (normally none) when dropped.
pub(crate) struct Scope {
    previous: Option<Arc<Recorder>>,
}

impl Drop for Scope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let replaced = IN_SCOPE.try_with(|current| current.replace(previous));
        drop(replaced);
    }
}

/// A recorded task's panic on its way to the join handle.
struct TaskPanic {
    payload: Panic,
    recorder: Arc<Recorder>,
    index: usize,
}

/// Records `payload` (a task's panic) and wraps it for the join handle to claim.
fn record(recorder: &Arc<Recorder>, payload: Panic) -> Panic {
    let index = recorder.record(&payload);
    Box::new(TaskPanic { payload, recorder: recorder.clone(), index })
}

/// The payload to resume in an awaiter: a recorded panic is claimed (it belongs to the awaiter
/// now) and unwrapped; any other comes back as it is.
pub(crate) fn claim(payload: Panic) -> Panic {
    match payload.downcast::<TaskPanic>() {
        Ok(task_panic) => {
            let TaskPanic { payload, recorder, index } = *task_panic;
            recorder.claim(index);
            payload
        }
        Err(payload) => payload,
    }
}

pin_project_lite::pin_project! {
    /// A task of a recording test: its recorder in scope while it runs, its panic recorded.
    pub(crate) struct Recorded<F> {
        #[pin]
        future: F,
        recorder: Arc<Recorder>,
    }
}

impl<F> Recorded<F> {
    pub(crate) fn new(future: F, recorder: Arc<Recorder>) -> Recorded<F> {
        Recorded { future, recorder }
    }
}

impl<F: Future> Future for Recorded<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _scope = scope(this.recorder);
        match panic::catch_unwind(AssertUnwindSafe(|| this.future.poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => panic::resume_unwind(record(this.recorder, payload)),
        }
    }
}

/// `job` as a blocking job of a recording test.
pub(crate) fn recorded_job<T>(job: impl FnOnce() -> T, recorder: Arc<Recorder>) -> impl FnOnce() -> T {
    move || {
        let _scope = scope(&recorder);
        match panic::catch_unwind(AssertUnwindSafe(job)) {
            Ok(value) => value,
            Err(payload) => panic::resume_unwind(record(&recorder, payload)),
        }
    }
}

pin_project_lite::pin_project! {
    /// A test's body: its recorder in scope while it runs. Its own panic is not a task's.
    pub(crate) struct Body<F> {
        #[pin]
        future: F,
        recorder: Arc<Recorder>,
    }
}

impl<F> Body<F> {
    pub(crate) fn new(future: F, recorder: Arc<Recorder>) -> Body<F> {
        Body { future, recorder }
    }
}

impl<F: Future> Future for Body<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _scope = scope(this.recorder);
        this.future.poll(cx)
    }
}
