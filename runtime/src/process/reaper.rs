//! The orphan reaper: reaps children whose `Child` was dropped before they were waited for.
//!
//! It is one thread for the whole process, named `runtime-process-reaper`, that exists only
//! while there are orphans: it waits in `poll(2)` on each orphan's pidfd (or, without pidfds, on
//! a SIGCHLD listener) and on a wake-up socket, reaps every orphan that exited (`waitpid` on that
//! pid only), and exits once none is left. It belongs to no runtime instance, so an orphan is
//! reaped even when it exits after its instance stopped: no zombie is left behind, ever.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use super::sys;
use crate::signal::registry;

/// Name of the reaper thread.
const THREAD_NAME: &str = "runtime-process-reaper";
/// Stack of the reaper thread: it only polls and reaps.
const STACK_SIZE: usize = 64 * 1024;
/// How long the reaper waits before it looks again when it cannot be told of an exit (no SIGCHLD
/// listener could be made, or `poll` failed): it then reaps by looking every this often, rather
/// than spinning or giving up on the orphans.
const RETRY: Duration = Duration::from_millis(100);

#[derive(Debug)]
struct Orphan {
    pid: u32,
    /// Readable once the process exited; `None` without pidfds (SIGCHLD tells instead).
    pidfd: Option<OwnedFd>,
}

#[derive(Debug)]
struct Orphans {
    list: Vec<Orphan>,
    /// The reaper thread runs (it clears this, under the lock, as it decides to exit).
    running: bool,
}

static ORPHANS: Mutex<Orphans> = Mutex::new(Orphans { list: Vec::new(), running: false });

fn orphans() -> std::sync::MutexGuard<'static, Orphans> {
    ORPHANS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The wake-up socket pair: a byte on it makes the reaper look at the list again. Made once
/// and never closed, so the thread can poll its descriptor without holding anything.
fn wake_pair() -> Option<&'static (UnixStream, UnixStream)> {
    static WAKE: OnceLock<Option<(UnixStream, UnixStream)>> = OnceLock::new();
    WAKE.get_or_init(|| {
        let (reader, writer) = UnixStream::pair().ok()?;
        reader.set_nonblocking(true).ok()?;
        writer.set_nonblocking(true).ok()?;
        Some((reader, writer))
    })
    .as_ref()
}

/// Takes over the child `pid`, reaping it when it exits.
pub(crate) fn adopt(pid: u32) {
    if sys::reap(pid) {
        return;
    }
    // Opened now, while the unreaped child holds its pid: it cannot name another process.
    let pidfd = if sys::pidfd_enabled() { sys::pidfd_open(pid).ok() } else { None };
    let mut orphans = orphans();
    orphans.list.push(Orphan { pid, pidfd });
    if orphans.running {
        drop(orphans);
        if let Some((_, writer)) = wake_pair() {
            // A full socket already holds a wake-up.
            let _ = (&*writer).write(&[1]);
        }
        return;
    }
    let started = std::thread::Builder::new().name(THREAD_NAME.into()).stack_size(STACK_SIZE).spawn(run);
    // Without a thread the orphans stay listed, and the next adoption tries again.
    orphans.running = started.is_ok();
}

/// The reaper thread's body.
fn run() {
    let wake = wake_pair();
    // Made the first time an orphan has no pidfd; registered before the orphans are checked, so
    // a SIGCHLD after the check cannot be missed.
    let mut sigchld: Option<(registry::Slot, UnixStream)> = None;
    loop {
        let mut fds = Vec::new();
        // Without a wake-up socket an orphan adopted while we poll is seen on the next look.
        let mut timeout_ms = if wake.is_some() { -1 } else { RETRY.as_millis() as libc::c_int };
        {
            let mut orphans = orphans();
            if sigchld.is_none() && orphans.list.iter().any(|o| o.pidfd.is_none()) {
                // Made outside the lock (it may install the handler), then the list is read
                // again.
                drop(orphans);
                match registry::listen(libc::SIGCHLD) {
                    Ok(listener) => sigchld = Some(listener),
                    Err(_) => timeout_ms = RETRY.as_millis() as libc::c_int,
                }
                orphans = self::orphans();
            }
            orphans.list.retain(|o| !sys::reap(o.pid));
            if orphans.list.is_empty() {
                orphans.running = false;
                return;
            }
            // The descriptors stay open while we poll without the lock: only this thread
            // removes orphans.
            let pidfds = orphans.list.iter().filter_map(|o| o.pidfd.as_ref());
            let others = wake.map(|(reader, _)| reader.as_raw_fd()).into_iter();
            let others = others.chain(sigchld.as_ref().map(|(_, reader)| reader.as_raw_fd()));
            for fd in pidfds.map(AsRawFd::as_raw_fd).chain(others) {
                fds.push(libc::pollfd { fd, events: libc::POLLIN, revents: 0 });
            }
        }
        if sys::poll_readable(&mut fds, timeout_ms).is_err() {
            // Cannot happen with valid descriptors; look again after a while rather than spin.
            std::thread::sleep(RETRY);
        }
        let readers = wake.map(|(reader, _)| reader).into_iter().chain(sigchld.as_ref().map(|(_, reader)| reader));
        for reader in readers {
            drain(reader);
        }
    }
}

/// Empties a wake-up socket.
fn drain(mut reader: &UnixStream) {
    let mut buf = [0u8; 64];
    // Bounded: a socket buffer's worth of wake-ups, in reads of 64.
    for _ in 0..1024 {
        match reader.read(&mut buf) {
            Ok(n) if n == buf.len() => {}
            _ => return,
        }
    }
}
