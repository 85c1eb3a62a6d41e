//! Shared by the `signal_*` test targets: signals are process-wide, so each target is its own
//! process, its tests take [`SERIAL`], and they send signals only to their own process.
#![allow(dead_code)]

use std::io;

/// One test at a time in this process: a delivery reaches every listener of every test. An
/// async lock (Tokio's works on any runtime), since it is held across the test's awaits.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Sends `signum` to this process, as `kill` from another program would; any of its threads
/// may take the delivery, now or a little later.
pub fn kill_self(signum: i32) {
    // SAFETY: plain system calls with integer arguments; every test installs the handler (by
    // making a `Signal` or polling `ctrl_c`) before sending, so the default action (ending the
    // process) never runs.
    let sent = unsafe { libc::kill(libc::getpid(), signum) };
    assert_eq!(sent, 0, "kill: {}", io::Error::last_os_error());
}

/// Sends `signum` to this thread: unlike [`kill_self`], it is handled before `pthread_kill`
/// returns, so the test knows every delivery happened before it polls.
pub fn raise(signum: i32) {
    // SAFETY: plain system calls on this thread with integer arguments; the tests install the
    // handler (by making a `Signal`) before raising, so the default action never runs.
    let sent = unsafe { libc::pthread_kill(libc::pthread_self(), signum) };
    assert_eq!(sent, 0, "pthread_kill: {}", io::Error::from_raw_os_error(sent));
}
