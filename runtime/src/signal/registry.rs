//! The process-wide side of signals: one handler per signal number, installed once through
//! `signal-hook-registry`, writing one byte to the socket of every live listener of that number.
//!
//! A listener is a socket pair: the handler `send`s to the write end, whose descriptor sits in a
//! slot of the number's [`Kind`]; the read end goes to whoever waits (a `Signal` through its
//! instance's reactor, or the orphan reaper's `poll`). The handler does only async-signal-safe
//! work: atomic loads and stores, and `send` with `MSG_DONTWAIT` (a full socket means a byte is
//! already waiting: deliveries coalesce).
//!
//! Slots live in chunks that are leaked and never freed, so the handler can walk them at any
//! moment without a lock. A descriptor is closed only after its slot was emptied and no handler
//! of that number is running ([`Kind::in_flight`]): a handler that read the descriptor before the
//! slot was emptied has finished its `send`, and a later one cannot see it, so the handler never
//! writes to a descriptor number that was closed and reused for something else.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, OnceLock};

/// Slots per chunk: one chunk covers the usual handful of listeners per signal; more chain on.
const SLOTS_PER_CHUNK: usize = 16;
/// An empty slot (no descriptor is negative).
const FREE: RawFd = -1;

/// `send` flags: never block the handler, and never raise SIGPIPE from it.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd", target_os = "netbsd"))]
const SEND_FLAGS: libc::c_int = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd", target_os = "netbsd")))]
const SEND_FLAGS: libc::c_int = libc::MSG_DONTWAIT;

/// Signals we refuse although the OS would let a handler catch them: the ones whose default
/// action cannot be replaced (KILL, STOP) and the faults, whose handler returning would re-run
/// the faulting instruction forever (signal-hook-registry refuses all but BUS by panicking).
const REFUSED: &[libc::c_int] =
    &[libc::SIGKILL, libc::SIGSTOP, libc::SIGILL, libc::SIGFPE, libc::SIGSEGV, libc::SIGBUS];

/// The listeners of one signal number.
#[derive(Debug)]
struct Kind {
    /// Handlers of this number running now, on any thread.
    in_flight: AtomicUsize,
    first: Chunk,
}

#[derive(Debug)]
struct Chunk {
    slots: [AtomicI32; SLOTS_PER_CHUNK],
    next: OnceLock<Box<Chunk>>,
}

impl Chunk {
    fn new() -> Chunk {
        Chunk { slots: [const { AtomicI32::new(FREE) }; SLOTS_PER_CHUNK], next: OnceLock::new() }
    }
}

/// A number whose handler the OS refused (glibc keeps its first real-time signals): refused
/// again at once, without another leaked `Kind`.
type Refusal = (io::ErrorKind, String);

/// Numbers tried so far, in order, with their listeners or the OS's refusal; the lock also
/// orders slot claims. At most one entry per valid number: bounded.
static KINDS: Mutex<Vec<(libc::c_int, Result<&'static Kind, Refusal>)>> = Mutex::new(Vec::new());

/// What the handler does for one delivery: a byte to every listener.
fn deliver(kind: &Kind) {
    kind.in_flight.fetch_add(1, SeqCst);
    let mut chunk = &kind.first;
    loop {
        for slot in &chunk.slots {
            let fd = slot.load(SeqCst);
            if fd != FREE {
                // SAFETY: `send` is async-signal-safe and reads one byte from a live buffer. `fd`
                // is open: its owner empties the slot and then waits for `in_flight` to reach
                // zero before closing it, and we counted ourselves in before reading the slot.
                // Its result is ignored: a full socket already holds a wake-up.
                unsafe { libc::send(fd, [1u8].as_ptr().cast(), 1, SEND_FLAGS) };
            }
        }
        match chunk.next.get() {
            Some(next) => chunk = next,
            None => break,
        }
    }
    kind.in_flight.fetch_sub(1, SeqCst);
}

/// `Ok` when a handler may be installed for `signum`.
///
/// # Errors
/// `InvalidInput` for a number out of range (0 included) or one we refuse to catch.
pub(crate) fn check(signum: libc::c_int) -> io::Result<()> {
    let max = max_signal();
    if signum <= 0 || signum > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signum} is out of range (1 to {max})"),
        ));
    }
    if REFUSED.contains(&signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signum} cannot be caught (SIGKILL, SIGSTOP) or is a fault signal that must not be"),
        ));
    }
    Ok(())
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn max_signal() -> libc::c_int {
    libc::SIGRTMAX()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn max_signal() -> libc::c_int {
    // The classic signals: every Unix numbers them below 32.
    31
}

/// The number's listeners, installing its handler on first use.
fn kind(
    kinds: &mut Vec<(libc::c_int, Result<&'static Kind, Refusal>)>,
    signum: libc::c_int,
) -> io::Result<&'static Kind> {
    if let Some((_, tried)) = kinds.iter().find(|(n, _)| *n == signum) {
        return tried.clone().map_err(|(kind, message)| io::Error::new(kind, message));
    }
    check(signum)?;
    // Leaked: the handler may read it at any time for the rest of the process's life.
    let listeners: &'static Kind = Box::leak(Box::new(Kind { in_flight: AtomicUsize::new(0), first: Chunk::new() }));
    // SAFETY: the action is async-signal-safe (`deliver`: atomics and `send`, no allocation, no
    // lock, no panic; signal-hook-registry saves and restores errno around it), and `check`
    // refused the numbers signal-hook-registry panics on.
    let installed = unsafe { signal_hook_registry::register(signum, move || deliver(listeners)) };
    let tried = installed.map(|_| listeners).map_err(|e| {
        // sigaction's EINVAL: a number the C library keeps for itself (glibc's first real-time ones).
        let kind = if e.raw_os_error() == Some(libc::EINVAL) { io::ErrorKind::InvalidInput } else { e.kind() };
        (kind, format!("could not install a handler for signal {signum}: {e}"))
    });
    kinds.push((signum, tried.clone()));
    tried.map_err(|(kind, message)| io::Error::new(kind, message))
}

/// A listener's place in the handler's list: the write end of its socket. Dropping it stops the
/// deliveries, then closes the socket once no handler can still be writing to it.
#[derive(Debug)]
pub(crate) struct Slot {
    kind: &'static Kind,
    slot: &'static AtomicI32,
    /// Closed only in `drop`, after the wait described there.
    writer: UnixStream,
}

/// Starts listening for `signum`: every delivery from now on writes a byte to the returned
/// socket (non-blocking), until the `Slot` is dropped.
///
/// # Errors
/// `InvalidInput` for a signal that cannot be caught or is out of range; the OS's when the
/// handler cannot be installed or the socket pair cannot be made.
pub(crate) fn listen(signum: libc::c_int) -> io::Result<(Slot, UnixStream)> {
    check(signum)?;
    let (reader, writer) = UnixStream::pair()?;
    reader.set_nonblocking(true)?;
    let mut kinds = KINDS.lock().unwrap_or_else(|e| e.into_inner());
    let kind = kind(&mut kinds, signum)?;
    let mut chunk = &kind.first;
    let slot = loop {
        if let Some(slot) = chunk.slots.iter().find(|slot| slot.load(SeqCst) == FREE) {
            break slot;
        }
        chunk = chunk.next.get_or_init(|| Box::new(Chunk::new()));
    };
    // Claims are made under `KINDS`: no other claimant can take this slot meanwhile.
    slot.store(writer.as_raw_fd(), SeqCst);
    drop(kinds);
    Ok((Slot { kind, slot, writer }, reader))
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slot.store(FREE, SeqCst);
        // A handler that read our descriptor counted itself in before it did (both SeqCst): once
        // the count is zero after our store, none can still write to it. Handlers are a few
        // system calls long, so this ends as soon as the ones running now return.
        while self.kind.in_flight.load(SeqCst) != 0 {
            std::thread::yield_now();
        }
        // `writer` closes after this body.
        let _ = &self.writer;
    }
}
