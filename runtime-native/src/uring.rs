//! One io_uring per instance: submission from any thread, completion from the worker loop.
//!
//! An op is pushed with what it needs kept alive (its [`Keep`]: the file handle, the buffer,
//! the path) into a slot of the ring's table, and submitted at once: on a warm page cache the
//! kernel completes most file ops inside that `io_uring_enter`, so the completions are reaped
//! right after it and the submitting task finds its result in its first poll, without a wake.
//! Ops the kernel finishes later (io-wq, a FIFO) post to the ring's eventfd, registered with
//! the instance's mio reactor: a worker polling the reactor wakes the [`Reaper`], a task of the
//! instance that reaps on that worker and wakes each op's task there, without a thread hop.
//!
//! The table owns every op's `Keep` until its completion arrives, whatever happens to the
//! future that asked for it: the kernel never writes into or reads from freed memory, and a
//! descriptor it uses is never closed under it. A dropped future marks its slot abandoned; the
//! completion then frees it (and closes the descriptor of an abandoned open). When the instance
//! stops, it cancels the ops still in flight and waits for their completions, at most
//! [`SHUTDOWN_WAIT`] (a cancelled op ends at once; a file op the kernel is running ends within
//! microseconds); only an op the kernel holds longer is left to a thread of its own, which
//! frees the ring when the last completion arrives. The ring's memory is never freed while an
//! op is in flight: if nothing can wait for it, it is leaked instead.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use io_uring::{IoUring, opcode, squeue};

use crate::reactor::{Direction, Reactor, Registration};

/// Submission queue entries: enough for the ops of many tasks at once; more wait in a backlog.
const RING_ENTRIES: u32 = 256;
/// `user_data` of the cancel requests sent at shutdown: not a slot.
const CANCEL_USER_DATA: u64 = u64::MAX;
/// Rounds of "clear, drain, reap, check again" one poll of the reaper does at most before it
/// yields to the other tasks of its worker.
const REAP_ROUNDS: usize = 64;
/// Rounds of "push, submit, reap" one submission does at most; what is left (a kernel short of
/// memory) is pushed by the next submission or the reaper.
const SUBMIT_ROUNDS: usize = 64;
/// How long a stopping instance waits for its cancelled ops: long enough for any file op on a
/// sane device, short enough that a stuck one (a hung NFS server) does not hold `enter`.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);
/// The longest one `poll` of the eventfd while draining sleeps before it checks the clock.
const DRAIN_POLL_MS: i32 = 100;

/// What an op needs alive until its completion: dropped only after the kernel is done.
#[derive(Debug, Default)]
// Most fields are only held, never read: owning them is the point.
#[allow(dead_code)]
pub(crate) struct Keep {
    pub(crate) file: Option<runtime_raw::fs::Handle>,
    pub(crate) buf: Option<Vec<u8>>,
    pub(crate) bytes: Option<Arc<[u8]>>,
    pub(crate) paths: Vec<std::ffi::CString>,
    /// The op opens a descriptor: an abandoned one's must be closed when it completes.
    pub(crate) opens_fd: bool,
}

#[derive(Debug)]
enum Slot {
    Vacant,
    Waiting { waker: Option<Waker>, keep: Keep },
    Done { res: i32, keep: Keep },
    Abandoned { keep: Keep },
}

struct Ring {
    io: IoUring,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Slots whose completion has not arrived.
    in_flight: usize,
    /// Entries that did not fit the submission queue, in order.
    backlog: VecDeque<squeue::Entry>,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring").field("in_flight", &self.in_flight).field("backlog", &self.backlog.len()).finish()
    }
}

/// Which opcodes the running kernel has (`IORING_REGISTER_PROBE`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Supported {
    /// A read or write at offset `-1` uses and moves the file's position
    /// (`IORING_FEAT_RW_CUR_POS`, Linux 5.6).
    pub(crate) cur_pos: bool,
    pub(crate) open: bool,
    pub(crate) read: bool,
    pub(crate) write: bool,
    pub(crate) fsync: bool,
    pub(crate) ftruncate: bool,
    pub(crate) mkdir: bool,
    pub(crate) unlink: bool,
    pub(crate) rename: bool,
    pub(crate) link: bool,
}

/// An instance's ring; see the module docs.
#[derive(Debug)]
pub(crate) struct Uring {
    ring: Mutex<Ring>,
    pub(crate) supported: Supported,
    eventfd: OwnedFd,
    registration: Registration,
    stopped: AtomicBool,
}

impl Uring {
    /// Sets up a ring and registers its eventfd with `reactor`.
    ///
    /// # Errors
    /// `io_uring_setup` failed (old kernel, `kernel.io_uring_disabled`, seccomp, EPERM in a
    /// container) or the eventfd could not be made or registered: the caller uses its blocking
    /// pool instead.
    pub(crate) fn new(reactor: &Arc<Reactor>) -> io::Result<Arc<Uring>> {
        let io = IoUring::new(RING_ENTRIES)?;
        let mut probe = io_uring::Probe::new();
        io.submitter().register_probe(&mut probe)?;
        let has = |code: u8| probe.is_supported(code);
        let supported = Supported {
            cur_pos: io.params().is_feature_rw_cur_pos(),
            open: has(opcode::OpenAt::CODE),
            read: has(opcode::Read::CODE),
            write: has(opcode::Write::CODE),
            fsync: has(opcode::Fsync::CODE),
            ftruncate: has(opcode::Ftruncate::CODE),
            mkdir: has(opcode::MkDirAt::CODE),
            unlink: has(opcode::UnlinkAt::CODE),
            rename: has(opcode::RenameAt::CODE),
            link: has(opcode::LinkAt::CODE),
        };
        // SAFETY: eventfd takes no pointers; a non-negative result is a new descriptor we own.
        let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` was just returned by eventfd and nothing else owns it.
        let eventfd = unsafe { OwnedFd::from_raw_fd(raw) };
        io.submitter().register_eventfd(eventfd.as_raw_fd())?;
        let registration = reactor.register(&mut mio::unix::SourceFd(&eventfd.as_raw_fd()), mio::Interest::READABLE)?;
        let ring = Ring { io, slots: Vec::new(), free: Vec::new(), in_flight: 0, backlog: VecDeque::new() };
        Ok(Arc::new(Uring {
            ring: Mutex::new(ring),
            supported,
            eventfd,
            registration,
            stopped: AtomicBool::new(false),
        }))
    }

    /// Spawns the task that reaps the completions the eventfd announces.
    ///
    /// # Errors
    /// The instance refused the task: the ring must not be used (nothing would reap it).
    pub(crate) fn start_reaper(
        self: &Arc<Self>,
        instance: &dyn runtime_raw::Instance,
    ) -> Result<(), runtime_raw::SpawnError> {
        // Detached: it ends when the instance shuts its tasks down, or when the ring is gone.
        runtime_raw::task::spawn_on(instance, Reaper(Arc::downgrade(self))).map(drop)
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the instance stopped: new ops go elsewhere.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Submits `entry` (built with pointers into `keep`, which the table holds from now on
    /// until the completion arrives); the returned future resolves to the result and `keep`.
    /// Once the instance stopped, the entry is not submitted and the result is `-ECANCELED`.
    ///
    /// # Safety
    /// Every pointer in `entry` must point into the heap blocks or descriptors `keep` owns
    /// (moving `keep` does not move them), or to memory that lives as long as the process.
    pub(crate) unsafe fn submit(self: &Arc<Self>, entry: squeue::Entry, keep: Keep) -> RingOp {
        let mut woken = Vec::new();
        let mut signal = false;
        let slot = {
            let mut ring = self.lock();
            let slot = match ring.free.pop() {
                Some(slot) => slot,
                None => {
                    ring.slots.push(Slot::Vacant);
                    (ring.slots.len() - 1) as u32
                }
            };
            if self.is_stopped() {
                // Checked under the lock `shutdown` sets it under: no op slips past the drain.
                ring.slots[slot as usize] = Slot::Done { res: -libc::ECANCELED, keep };
            } else {
                ring.slots[slot as usize] = Slot::Waiting { waker: None, keep };
                ring.in_flight += 1;
                ring.backlog.push_back(entry.user_data(u64::from(slot)));
                // Most ops complete inside this submit and are reaped right after it: their
                // eventfd signals would only wake a parked worker for nothing (a third of the
                // cost of a 4 KiB read). So the eventfd is off for the submit, and signalled
                // by hand after it if any op is still in flight, which covers a completion
                // that came in that window and that the reap below did not see.
                ring.io.completion().disable_eventfd();
                ring.push_and_submit(&mut woken);
                ring.io.completion().enable_eventfd();
                std::sync::atomic::fence(Ordering::SeqCst);
                ring.reap(&mut woken);
                signal = ring.in_flight > 0;
            }
            slot
        };
        if signal {
            self.signal_eventfd();
        }
        woken.into_iter().for_each(Waker::wake);
        RingOp { uring: self.clone(), slot, finished: false }
    }

    /// Stops taking ops, cancels those in flight and waits for their completions, at most
    /// [`SHUTDOWN_WAIT`]; a thread of its own waits for what is left, then frees the ring.
    pub(crate) fn shutdown(self: &Arc<Self>) {
        {
            let mut ring = self.lock();
            if self.stopped.swap(true, Ordering::AcqRel) || ring.in_flight == 0 {
                return;
            }
            let in_flight: Vec<u64> = ring
                .slots
                .iter()
                .enumerate()
                .filter(|(_, slot)| matches!(slot, Slot::Waiting { .. } | Slot::Abandoned { .. }))
                .map(|(i, _)| i as u64)
                .collect();
            for user_data in in_flight {
                // A FIFO read or a poll-driven op ends now; io-wq interrupts a blocked open;
                // a file op the kernel is running finishes.
                let cancel = opcode::AsyncCancel::new(user_data).build().user_data(CANCEL_USER_DATA);
                ring.backlog.push_back(cancel);
            }
            let mut woken = Vec::new();
            ring.push_and_submit(&mut woken);
            drop(ring);
            woken.into_iter().for_each(Waker::wake);
        }
        if self.drain(Some(Instant::now() + SHUTDOWN_WAIT)) {
            return;
        }
        let uring = self.clone();
        let drained = std::thread::Builder::new().name("runtime-native-uring-drain".into()).spawn(move || {
            uring.drain(None);
        });
        if drained.is_err() {
            // No thread: leak the ring rather than free memory the kernel may still write.
            std::mem::forget(self.clone());
        }
    }

    /// Blocks until every op in flight completed, reaping as completions come, or until
    /// `deadline`: whether none is left.
    fn drain(&self, deadline: Option<Instant>) -> bool {
        loop {
            self.drain_eventfd();
            let mut woken = Vec::new();
            let left = {
                let mut ring = self.lock();
                ring.push_and_submit(&mut woken);
                ring.in_flight
            };
            woken.into_iter().for_each(Waker::wake);
            if left == 0 {
                return true;
            }
            let wait = match deadline {
                None => DRAIN_POLL_MS,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    None => return false,
                    Some(left) => i32::try_from(left.as_millis()).unwrap_or(DRAIN_POLL_MS).clamp(1, DRAIN_POLL_MS),
                },
            };
            let mut pollfd = libc::pollfd { fd: self.eventfd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd, for the duration of the call.
            let _ = unsafe { libc::poll(&mut pollfd, 1, wait) };
        }
    }

    /// Makes the eventfd readable, as the kernel does for a completion: the reaper runs.
    fn signal_eventfd(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live 8-byte array. It fails only when the counter is
        // near overflow, which means readable already.
        let _ = unsafe { libc::write(self.eventfd.as_raw_fd(), one.as_ptr().cast(), one.len()) };
    }

    /// Resets the eventfd's counter (non-blocking).
    fn drain_eventfd(&self) {
        let mut count = [0u8; 8];
        // SAFETY: reads at most 8 bytes into a live 8-byte array.
        let _ = unsafe { libc::read(self.eventfd.as_raw_fd(), count.as_mut_ptr().cast(), count.len()) };
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        if self.in_flight > 0 {
            // Closing the ring does not wait for its ops: the kernel may still write into
            // their buffers. Only reached if `Uring::shutdown` could not drain; leak them.
            std::mem::forget(std::mem::take(&mut self.slots));
        }
    }
}

impl Ring {
    /// Moves the backlog into the submission queue, submits, and reaps what completed.
    fn push_and_submit(&mut self, woken: &mut Vec<Waker>) {
        self.reap(woken);
        for _ in 0..SUBMIT_ROUNDS {
            {
                let mut sq = self.io.submission();
                while let Some(entry) = self.backlog.front() {
                    // SAFETY: the entry's pointers point into a slot's `Keep`, which the table
                    // holds until the entry's completion (the contract of `Uring::submit`).
                    if unsafe { sq.push(entry) }.is_err() {
                        break;
                    }
                    self.backlog.pop_front();
                }
                if sq.is_empty() {
                    return;
                }
            }
            match self.io.submit() {
                Ok(_) => {}
                // The completion queue is full or the kernel is short of memory: reap, retry.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EAGAIN | libc::EINTR)) => {}
                Err(e) => {
                    self.fail_unsubmitted(&e, woken);
                    return;
                }
            }
            self.reap(woken);
        }
    }

    /// The ring refused to submit (it is broken: no retry helps): complete the ops of the
    /// backlog with the error, as if the kernel had returned it. Entries already in the
    /// submission queue stay there for the next submit.
    fn fail_unsubmitted(&mut self, e: &io::Error, woken: &mut Vec<Waker>) {
        let errno = e.raw_os_error().unwrap_or(libc::EIO);
        let unsubmitted: Vec<u64> = self.backlog.drain(..).map(|entry| entry.get_user_data()).collect();
        for user_data in unsubmitted.into_iter().filter(|user_data| *user_data != CANCEL_USER_DATA) {
            self.complete(user_data, -errno, woken);
        }
    }

    /// Takes every completion from the completion queue.
    fn reap(&mut self, woken: &mut Vec<Waker>) {
        let completions: Vec<(u64, i32)> = self.io.completion().map(|cqe| (cqe.user_data(), cqe.result())).collect();
        for (user_data, res) in completions {
            if user_data != CANCEL_USER_DATA {
                self.complete(user_data, res, woken);
            }
        }
    }

    fn complete(&mut self, user_data: u64, res: i32, woken: &mut Vec<Waker>) {
        let index = user_data as usize;
        let Some(slot) = self.slots.get_mut(index) else { return };
        match std::mem::replace(slot, Slot::Vacant) {
            Slot::Waiting { waker, keep } => {
                *slot = Slot::Done { res, keep };
                woken.extend(waker);
            }
            Slot::Abandoned { keep } => {
                if keep.opens_fd && res >= 0 {
                    // SAFETY: the kernel opened this descriptor for an op nobody waits for:
                    // we own it, and close it.
                    drop(unsafe { OwnedFd::from_raw_fd(res as RawFd) });
                }
                self.free.push(index as u32);
                // `keep` drops here, after the kernel is done with it.
            }
            other => {
                // Not in flight: a completion for it is a kernel or bookkeeping bug; keep it.
                *slot = other;
                return;
            }
        }
        self.in_flight -= 1;
    }
}

/// The task that reaps the ring when its eventfd becomes readable: woken by the reactor on the
/// worker that polled it. It holds the ring weakly, so that it never keeps it alive.
struct Reaper(Weak<Uring>);

impl Future for Reaper {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(uring) = self.0.upgrade() else { return Poll::Ready(()) };
        let io = uring.registration.io();
        for _ in 0..REAP_ROUNDS {
            match io.poll_ready(cx, Direction::Read) {
                // Registered for the next completion.
                Poll::Pending => return Poll::Pending,
                // The reactor stopped: `shutdown` drains from now on.
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Ready(Ok(event)) => {
                    // Cleared before the reap, so that a completion posted after it signals
                    // anew and is not missed.
                    io.clear(event);
                    uring.drain_eventfd();
                    let mut woken = Vec::new();
                    uring.lock().push_and_submit(&mut woken);
                    woken.into_iter().for_each(Waker::wake);
                }
            }
        }
        // Completions keep coming: let the worker's other tasks run, then reap again.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// An op in the ring: resolves to the kernel's result and the op's `Keep`. Dropped before
/// that, it leaves the op to the table (abandoned).
#[derive(Debug)]
pub(crate) struct RingOp {
    uring: Arc<Uring>,
    slot: u32,
    finished: bool,
}

impl Future for RingOp {
    type Output = (i32, Keep);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(i32, Keep)> {
        let this = &mut *self;
        let mut woken = Vec::new();
        let mut guard = this.uring.lock();
        let ring = &mut *guard;
        if matches!(ring.slots[this.slot as usize], Slot::Waiting { .. }) {
            // A completion may be in the queue before the reaper ran: take it now.
            ring.reap(&mut woken);
        }
        let slot = &mut ring.slots[this.slot as usize];
        let out = match slot {
            Slot::Done { .. } => {
                let Slot::Done { res, keep } = std::mem::replace(slot, Slot::Vacant) else { unreachable!() };
                ring.free.push(this.slot);
                this.finished = true;
                Poll::Ready((res, keep))
            }
            Slot::Waiting { waker, .. } => {
                if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            Slot::Vacant | Slot::Abandoned { .. } => panic!("{RING_OP_LOST}"),
        };
        drop(guard);
        woken.into_iter().for_each(Waker::wake);
        out
    }
}

const RING_OP_LOST: &str = "an io_uring op's slot was freed while its future still waited (a bug in runtime-native)";

impl Drop for RingOp {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let released = {
            let mut ring = self.uring.lock();
            let ring = &mut *ring;
            let slot = &mut ring.slots[self.slot as usize];
            match std::mem::replace(slot, Slot::Vacant) {
                Slot::Waiting { keep, .. } => {
                    *slot = Slot::Abandoned { keep };
                    None
                }
                Slot::Done { res, keep } => {
                    ring.free.push(self.slot);
                    Some((res, keep))
                }
                other => {
                    *slot = other;
                    None
                }
            }
        };
        // Completed but never taken: close what it opened, outside the lock.
        if let Some((res, keep)) = released
            && keep.opens_fd
            && res >= 0
        {
            // SAFETY: the op's descriptor was never handed to anyone: we own it.
            drop(unsafe { OwnedFd::from_raw_fd(res as RawFd) });
        }
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use std::ffi::CString;
    use std::fs::File;
    use std::io::Write;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::fs::OpenOptionsExt;
    use std::task::Waker;

    use super::*;
    use crate::reactor::Driver;
    use crate::timer::Timers;

    /// A ring, or `None` (said on stderr) where the kernel refuses one: the fs tests cover the
    /// blocking pool there.
    fn ring() -> Option<(Driver, Arc<Uring>)> {
        let (driver, reactor) = Driver::new(Arc::new(Timers::new())).unwrap();
        match Uring::new(&reactor) {
            Ok(uring) => Some((driver, uring)),
            Err(e) => {
                eprintln!("skipped: this kernel refuses io_uring ({e})");
                None
            }
        }
    }

    fn pipe() -> (runtime_raw::fs::Handle, File) {
        let mut fds = [0; 2];
        // SAFETY: `fds` is a valid array of two descriptors for pipe2 to fill.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: pipe2 returned two new descriptors that nothing else owns.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        (Arc::new(File::from(read)), File::from(write))
    }

    /// Submits a read of an empty pipe: it stays in flight until something is written.
    fn pipe_read(uring: &Arc<Uring>, file: &runtime_raw::fs::Handle) -> RingOp {
        let mut buf = Vec::with_capacity(64);
        let at = buf.spare_capacity_mut().as_mut_ptr().cast::<u8>();
        let entry = opcode::Read::new(io_uring::types::Fd(file.as_raw_fd()), at, 64).offset(u64::MAX).build();
        let keep = Keep { file: Some(file.clone()), buf: Some(buf), ..Keep::default() };
        // SAFETY: the entry points into `buf`'s heap block, which `keep` owns.
        unsafe { uring.submit(entry, keep) }
    }

    fn poll_once(op: &mut RingOp) -> Poll<(i32, Keep)> {
        Pin::new(op).poll(&mut Context::from_waker(Waker::noop()))
    }

    /// The kernel still owns an abandoned op's buffer and descriptor: the table keeps them
    /// until the completion, then frees them and the slot.
    #[test]
    fn an_abandoned_op_keeps_its_buffer_and_descriptor_until_its_completion() {
        let Some((_driver, uring)) = ring() else { return };
        let (read, mut write) = pipe();
        let mut op = pipe_read(&uring, &read);
        assert!(poll_once(&mut op).is_pending(), "a read of an empty pipe waits");
        drop(op);
        assert_eq!(uring.lock().in_flight, 1);
        assert_eq!(Arc::strong_count(&read), 2, "the abandoned op still holds the descriptor");
        write.write_all(b"late").unwrap();
        assert!(uring.drain(Some(Instant::now() + Duration::from_secs(10))), "the completion arrives");
        assert_eq!(Arc::strong_count(&read), 1, "the completion released what the op held");
        assert_eq!(uring.lock().free.len(), 1, "and freed its slot");
        uring.shutdown();
    }

    /// A stopping instance cancels what would never end by itself and waits for it, so that
    /// nothing outlives it; ops submitted after that fail at once.
    #[test]
    fn shutdown_cancels_and_drains_ops_in_flight() {
        let Some((_driver, uring)) = ring() else { return };
        let (read, _write) = pipe();
        let ops: Vec<RingOp> = (0..8).map(|_| pipe_read(&uring, &read)).collect();
        let mut waited = pipe_read(&uring, &read);
        assert!(poll_once(&mut waited).is_pending());
        drop(ops);
        uring.shutdown();
        assert_eq!(uring.lock().in_flight, 0, "shutdown returns with nothing in flight");
        let Poll::Ready((res, keep)) = poll_once(&mut waited) else { panic!("a cancelled op is done") };
        assert_eq!(res, -libc::ECANCELED);
        drop(keep);
        assert_eq!(Arc::strong_count(&read), 1, "every op released the descriptor");
        let Poll::Ready((res, _)) = poll_once(&mut pipe_read(&uring, &read)) else { panic!("refused at once") };
        assert_eq!(res, -libc::ECANCELED);
    }

    /// An open abandoned in flight (a FIFO's, which waits for a writer) closes the descriptor
    /// the kernel gives it: the FIFO then has no reader left.
    #[test]
    fn an_abandoned_open_closes_its_descriptor() {
        let Some((_driver, uring)) = ring() else { return };
        let dir = std::env::temp_dir().join(format!("runtime-native-uring-fifo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = CString::new(dir.join("fifo").into_os_string().into_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let entry = opcode::OpenAt::new(io_uring::types::Fd(libc::AT_FDCWD), fifo.as_ptr())
            .flags(libc::O_RDONLY | libc::O_CLOEXEC)
            .build()
            // In io-wq, where a FIFO's open waits for a writer (inline it would not).
            .flags(squeue::Flags::ASYNC);
        let keep = Keep { paths: vec![fifo.clone()], opens_fd: true, ..Keep::default() };
        // SAFETY: the entry points into the path's heap block, which `keep` owns.
        let mut open = unsafe { uring.submit(entry, keep) };
        assert!(poll_once(&mut open).is_pending(), "a FIFO's open for reading waits for a writer");
        drop(open);
        // Non-blocking, it succeeds only once a reader is opening or has the FIFO open: the
        // ring's open, when an io-wq thread has started it (retried until then, bounded).
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut writer = loop {
            let writer = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(dir.join("fifo"));
            match writer {
                Ok(writer) => break writer,
                Err(e) if e.raw_os_error() == Some(libc::ENXIO) && Instant::now() < deadline => {
                    std::thread::yield_now();
                }
                Err(e) => panic!("the ring's open never waited as a reader: {e}"),
            }
        };
        assert!(uring.drain(Some(Instant::now() + Duration::from_secs(10))), "the open completes");
        let err = writer.write_all(b"x").expect_err("no reader is left");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        uring.shutdown();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
