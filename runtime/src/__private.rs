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
    crate::raw::enter(rt, async move {
        crate::time::pause();
        future.await
    })
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
