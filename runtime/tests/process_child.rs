//! Child processes on every backend, on the default path: pidfds where the kernel has them
//! (Linux 5.3+), SIGCHLD elsewhere. The cases are in `process_cases/`.
#![cfg(unix)]

#[macro_use]
mod common;
mod process_cases;

/// The default path: nothing to choose.
fn setup() {}

/// On the pidfd path waiting installs no SIGCHLD handler (nothing in this target listens for
/// signals); without pidfds the first wait installs one.
fn expects_sigchld_handler() -> bool {
    !runtime::__private::process_uses_pidfd()
}
