//! The system calls std does not offer: pidfds, `O_NONBLOCK` on a pipe, reaping one pid, `poll`.
#![allow(unsafe_code)]

use std::io;
#[cfg(target_os = "linux")]
use std::os::fd::FromRawFd;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by [`force_sigchld`]: children are waited for through SIGCHLD even where pidfds work.
static FORCE_SIGCHLD: AtomicBool = AtomicBool::new(false);

/// Puts every later wait and adoption of the process on the SIGCHLD path, as on kernels without
/// pidfds: the tests of that path call it (through `__private`), since this kernel may have them.
/// A wait or an orphan already on the pidfd path stays there: each path is complete by itself.
pub(crate) fn force_sigchld() {
    FORCE_SIGCHLD.store(true, Ordering::SeqCst);
}

/// Whether children are waited for through pidfds: Linux 5.3+ (and no seccomp filter refusing
/// the call), unless [`force_sigchld`] was called.
pub(crate) fn pidfd_enabled() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    // A pidfd of this process itself tells whether the kernel allows the call at all.
    !FORCE_SIGCHLD.load(Ordering::SeqCst) && *AVAILABLE.get_or_init(|| pidfd_open(std::process::id()).is_ok())
}

/// A pidfd for `pid`, readable once that process has exited.
///
/// # Errors
/// The OS's: `ENOSYS` before Linux 5.3, `ESRCH` for no such process.
#[cfg(target_os = "linux")]
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // `syscall` reads its variadic arguments as `long`s: pass them so, not as `int`s whose upper
    // bits would be unspecified.
    let (pid, no_flags): (libc::c_long, libc::c_long) = (pid.into(), 0);
    // SAFETY: pidfd_open takes a pid and flags by value and returns a new descriptor or -1; it
    // touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, no_flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = libc::c_int::try_from(fd).map_err(|_| io::Error::other("pidfd_open returned an impossible descriptor"))?;
    // SAFETY: the kernel just returned this descriptor to us: it is open and owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn pidfd_open(_pid: u32) -> io::Result<OwnedFd> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Switches `fd` (our end of a pipe) to non-blocking mode; the child's end is another open file
/// description and stays as it was.
///
/// # Errors
/// The OS's.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: F_GETFL on a descriptor the caller borrows for this call; no memory is passed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    if flags & libc::O_NONBLOCK != 0 {
        return Ok(());
    }
    // SAFETY: as above, F_SETFL with an integer argument.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Reaps `pid` if it has exited: `true` when it is gone (reaped now, or by someone else before),
/// `false` while it still runs. Waits for that one pid only, never for "any child".
pub(crate) fn reap(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    let mut status = 0;
    // SAFETY: waitpid writes the status to a live local; WNOHANG makes it return at once.
    let got = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    match got {
        0 => false,
        -1 => io::Error::last_os_error().kind() != io::ErrorKind::Interrupted,
        _ => true,
    }
}

/// Blocks until one of `fds` is readable (or hung up), or `timeout_ms` passed (`-1`: no
/// limit); `EINTR` counts as a wake-up.
///
/// # Errors
/// The OS's.
pub(crate) fn poll_readable(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> io::Result<()> {
    let len = libc::nfds_t::try_from(fds.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `fds` is a live, exclusively borrowed array of `len` pollfds, which the kernel only
    // reads and writes within; every descriptor in it stays open for the call (the caller owns
    // them).
    let n = unsafe { libc::poll(fds.as_mut_ptr(), len, timeout_ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}
