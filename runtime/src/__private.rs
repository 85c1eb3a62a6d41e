//! What the attribute macros expand to. Not public API: names here change without notice.

use std::future::Future;
use std::process::{ExitCode, Termination};
use std::sync::mpsc;
use std::time::Duration;

use crate::raw::Runtime;

/// `raw::enter` with the output type named, so that `?` inside the `async` body infers.
pub fn enter<T, R: Runtime, F: Future<Output = T>>(rt: R, future: F) -> T {
    crate::raw::enter(rt, future)
}

/// `enter` with the clock paused before the body's first poll (`start_paused`).
pub fn enter_paused<T, R: Runtime, F: Future<Output = T>>(rt: R, future: F) -> T {
    run(rt, Options::new().start_paused(), future)
}

/// What the attribute's options ask of a run: built by the expansion, one call per option.
#[derive(Clone, Debug, Default)]
pub struct Options {
    start_paused: bool,
    shutdown_timeout: Option<Duration>,
    record_task_panics: bool,
}

impl Options {
    pub fn new() -> Options {
        Options::default()
    }

    /// `start_paused`: the clock is paused before the body's first poll.
    pub fn start_paused(mut self) -> Options {
        self.start_paused = true;
        self
    }

    /// `shutdown_timeout = ".."`, in milliseconds as the attribute parsed it.
    pub fn shutdown_timeout_ms(mut self, millis: u64) -> Options {
        self.shutdown_timeout = Some(Duration::from_millis(millis));
        self
    }

    /// A `#[runtime::test]` without `allow_task_panics`: a task panic that no awaiter took
    /// fails the test once the runtime has stopped.
    pub fn record_task_panics(mut self) -> Options {
        self.record_task_panics = true;
        self
    }
}

/// Message of a test's failure by a task's panic; the payload follows.
pub const TASK_PANICKED: &str = "a task spawned by this test panicked: ";

/// Runs `future` on `rt` as `options` ask (the output type named, so that `?` inside the
/// `async` body infers). With [`Options::record_task_panics`], once the instance has stopped
/// the first task panic that no awaiter took is raised here, as a panic of the test function;
/// a panic of the body itself resumes first, with its own payload.
pub fn run<T, R: Runtime, F: Future<Output = T>>(rt: R, options: Options, future: F) -> T {
    let mut raw_options = crate::raw::EnterOptions::default();
    if let Some(timeout) = options.shutdown_timeout {
        raw_options = raw_options.shutdown_timeout(timeout);
    }
    let start_paused = options.start_paused;
    let body = async move {
        if start_paused {
            crate::time::pause();
        }
        future.await
    };
    if !options.record_task_panics {
        return crate::raw::enter_with(rt, raw_options, body);
    }
    let recording = crate::task::panics::Recorder::start();
    let output =
        crate::raw::enter_with(rt, raw_options, crate::task::panics::Body::new(body, recording.recorder.clone()));
    if let Some(message) = recording.recorder.first_unclaimed() {
        panic!("{TASK_PANICKED}{message}");
    }
    output
}

/// Turns a test body's result into an exit code on the thread that produced it (an error
/// is printed there, as the test harness would), so it can cross threads.
pub fn report<T: Termination>(result: T) -> ExitCode {
    result.report()
}

/// Runs `test` on a thread of its own and fails with "test timed out after {label}" when it
/// has not finished after `limit`, even if it blocks its thread. A panic in `test` resumes here
/// with its original payload. The timed-out thread is left to the process.
pub fn watchdog<T: Send + 'static>(limit: Duration, label: &str, test: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = mpsc::channel();
    let name = std::thread::current().name().map(str::to_owned).unwrap_or_else(|| "test".into());
    let thread = std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(test));
            let _ = done.send(result);
        })
        .expect("could not start the test's thread");
    match finished.recv_timeout(limit) {
        Ok(result) => {
            let _ = thread.join();
            match result {
                Ok(value) => value,
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        Err(_) => panic!("test timed out after {label}"),
    }
}

/// The backend of `#[runtime::main]` and `#[runtime::test]` without an argument.
#[cfg(feature = "native")]
#[macro_export]
#[doc(hidden)]
macro_rules! __default_backend {
    () => {
        $crate::native::Native
    };
}

/// The backend of `#[runtime::main]` and `#[runtime::test]` without an argument.
#[cfg(not(feature = "native"))]
#[macro_export]
#[doc(hidden)]
macro_rules! __default_backend {
    () => {
        ::core::compile_error!(
            "no default backend: `runtime` was built without its `native` feature. Name a backend in the attribute, \
             e.g. `#[runtime::main(runtime_tokio::Tokio)]`, or enable the feature: \
             `runtime = { version = \"...\", features = [\"native\"] }`"
        )
    };
}

/// Waits for child processes through SIGCHLD from now on, as where pidfds are not available:
/// for the tests of that path.
#[cfg(unix)]
pub fn process_force_sigchld() {
    crate::process::force_sigchld();
}

/// Whether child processes are waited for through pidfds (Linux 5.3+, not forced off).
#[cfg(unix)]
pub fn process_uses_pidfd() -> bool {
    crate::process::pidfd_enabled()
}
