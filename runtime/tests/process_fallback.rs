//! Child processes on every backend, waited for through SIGCHLD as where pidfds are not
//! available (forced, since this kernel may have them). Its own test target: the switch is
//! process-wide, and SIGCHLD's handler stays installed once a wait installed it.
#![cfg(unix)]

#[macro_use]
mod common;
mod process_cases;

/// Puts this process on the SIGCHLD path before a case spawns its first child.
fn setup() {
    runtime::__private::process_force_sigchld();
}

/// The first wait on the SIGCHLD path installs its handler.
fn expects_sigchld_handler() -> bool {
    true
}
