//! One timer facility for every delay, interval and timeout of an instance.
//!
//! Deadlines live in hierarchical timing wheels (module `wheel`, one per shard), so that arming
//! and disarming a timer is O(1) however many are pending. A timer inserts its entry when first
//! polled before its deadline, updates the waker in place on later polls, and removes the entry
//! when dropped or reset, so a dropped `Delay` frees its entry at once. The driver sleeps until
//! the earliest deadline (on Linux through a `timerfd`, whose resolution is finer than epoll's
//! millisecond), then advances every wheel to the current time and wakes what fired. Inserting a
//! deadline earlier than the one the driver sleeps until wakes it so that it sleeps less.
//!
//! The driver also publishes the instant it fired through (the *watermark*): a timer whose
//! deadline is not after it knows its entry is gone without taking the lock, which spares each
//! fired `Delay` a second lock of its shard.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::reactor::Reactor;
use crate::wheel::Wheel;

/// A timer polled once its instance stopped: it fails fast (the wheels are gone; it would wait
/// forever), as the facade's `Delay` docs say.
pub(crate) const INSTANCE_STOPPED: &str = "a `Delay` (or `Interval`) was polled after the runtime instance it \
     belongs to stopped, so no runtime is running for it: a timer belongs to the instance in which it is \
     first polled and works only while that `enter` (or `#[runtime::main]`) runs; make a new one there";
pub(crate) const ALREADY_PAUSED: &str = "`runtime::time::pause()`: the clock is already paused";
pub(crate) const NOT_PAUSED: &str =
    "the clock is not paused: call `runtime::time::pause()` first (or use `#[runtime::test(start_paused)]`)";

/// The instance's clock: real time, or frozen and moved by hand (the virtual clock).
///
/// After `resume` it runs on in real time from the instant it reached: it never jumps back.
pub(crate) struct Clock {
    /// Set once the clock was first paused: until then `now` is `Instant::now()`, lock-free.
    virtualized: AtomicBool,
    state: Mutex<ClockState>,
}

struct ClockState {
    /// The frozen instant while paused.
    paused: Option<Instant>,
    /// `now = anchor_virtual + (Instant::now() - anchor_real)` while running.
    anchor_virtual: Instant,
    anchor_real: Instant,
}

impl Clock {
    fn new() -> Clock {
        let start = Instant::now();
        Clock {
            virtualized: AtomicBool::new(false),
            state: Mutex::new(ClockState { paused: None, anchor_virtual: start, anchor_real: start }),
        }
    }

    fn state(&self) -> MutexGuard<'_, ClockState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn now(&self) -> Instant {
        if !self.virtualized.load(Ordering::Acquire) {
            return Instant::now();
        }
        let state = self.state();
        state.paused.unwrap_or_else(|| state.anchor_virtual + state.anchor_real.elapsed())
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.virtualized.load(Ordering::Acquire) && self.state().paused.is_some()
    }

    pub(crate) fn pause(&self) {
        let now = self.now();
        let mut state = self.state();
        assert!(state.paused.is_none(), "{ALREADY_PAUSED}");
        state.paused = Some(now);
        self.virtualized.store(true, Ordering::Release);
    }

    pub(crate) fn resume(&self) {
        let mut state = self.state();
        let reached = state.paused.take().unwrap_or_else(|| panic!("`runtime::time::resume()`: {NOT_PAUSED}"));
        state.anchor_virtual = reached;
        state.anchor_real = Instant::now();
    }

    /// Moves the paused clock forward by `dur`.
    pub(crate) fn advance(&self, dur: Duration) {
        let mut state = self.state();
        let paused = state.paused.as_mut().unwrap_or_else(|| panic!("`runtime::time::advance()`: {NOT_PAUSED}"));
        *paused = paused.checked_add(dur).unwrap_or(*paused);
    }

    /// Moves the paused clock forward to `to`, if that is later.
    fn advance_to(&self, to: Instant) {
        if let Some(paused) = self.state().paused.as_mut() {
            *paused = (*paused).max(to);
        }
    }
}

/// Shards of the deadlines (a wheel each): threads arming timers at once take different locks.
const SHARDS: usize = 4;

/// A timer's key while it has no entry in its shard (no wheel key has a slab index this high).
const UNARMED: u64 = u64::MAX;
/// As `UNARMED`, and the clock was found before the deadline just now: the first poll need not
/// read it again (if the deadline passes in between, the entry fires on the driver's next turn).
const CHECKED: u64 = u64::MAX - 1;

/// What every shard and timer of an instance shares.
struct Core {
    clock: Clock,
    /// Set once the driver exists, to wake it for a new earliest deadline.
    reactor: std::sync::OnceLock<Arc<Reactor>>,
    /// A new deadline before this one (nanoseconds since `base`) must wake the driver (a system
    /// call): 0 while no worker sleeps in the reactor, the deadline it sleeps until, or
    /// `u64::MAX` while it sleeps with no deadline or is about to read it.
    wake_before: AtomicU64,
    /// Nanoseconds from `base` to the instant every shard was fired through: no entry with a
    /// deadline at or before it is left in the wheels. Only grows.
    fired_through: AtomicU64,
    base: Instant,
    /// The instance stopped and its wheels were cleared: polling a timer panics.
    stopped: AtomicBool,
}

impl Core {
    /// `at` as nanoseconds since `base` (0 before it, saturating far in the future).
    fn offset(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX)
    }

    /// The instant `offset` nanoseconds after `base`.
    fn instant(&self, offset: u64) -> Instant {
        self.base + Duration::from_nanos(offset)
    }

    /// The instant the driver fired through, if that removed the entry for `at` (every entry
    /// with a deadline at or before it is gone).
    fn fired_at(&self, at: Instant) -> Option<Instant> {
        let through = self.fired_through.load(Ordering::Acquire);
        (at > self.base && self.offset(at) <= through).then(|| self.instant(through))
    }
}

/// A shard, in its own allocation and alone on its cache lines (two, for the adjacent-line
/// prefetcher). Each timer holds its shard's `Arc`, so that the reference counts that threads
/// bump for every `Delay` are per shard too, not one line fought over by every worker.
#[repr(align(128))]
struct Shard {
    core: Arc<Core>,
    wheel: Mutex<Wheel>,
}

impl Shard {
    fn lock(&self) -> MutexGuard<'_, Wheel> {
        self.wheel.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The timers of one instance.
pub(crate) struct Timers {
    core: Arc<Core>,
    shards: [Arc<Shard>; SHARDS],
}

impl fmt::Debug for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pending: usize = self.shards.iter().map(|shard| shard.lock().len()).sum();
        f.debug_struct("Timers").field("pending", &pending).finish()
    }
}

impl Timers {
    pub(crate) fn new() -> Timers {
        let core = Arc::new(Core {
            clock: Clock::new(),
            reactor: Default::default(),
            wake_before: AtomicU64::new(0),
            fired_through: AtomicU64::new(0),
            base: Instant::now(),
            stopped: AtomicBool::new(false),
        });
        let shards = std::array::from_fn(|_| Arc::new(Shard { core: core.clone(), wheel: Default::default() }));
        Timers { core, shards }
    }

    pub(crate) fn set_reactor(&self, reactor: Arc<Reactor>) {
        let _ = self.core.reactor.set(reactor);
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.core.clock
    }

    /// The earliest deadline over every shard (or a little before it: see `Wheel::next_deadline`).
    fn earliest(&self) -> Option<u64> {
        self.shards.iter().filter_map(|shard| shard.lock().next_deadline()).min()
    }

    pub(crate) fn now(&self) -> Instant {
        self.core.clock.now()
    }

    /// The driver is going to sleep (`true`; then `next_deadline` says until when), or woke.
    /// Set before reading the deadline: an insert either lands before that read, or sees that
    /// it must wake the driver.
    pub(crate) fn set_sleeping(&self, sleeping: bool) {
        self.core.wake_before.store(if sleeping { u64::MAX } else { 0 }, Ordering::SeqCst);
    }

    /// The earliest deadline, for the driver about to sleep until it (after `set_sleeping`);
    /// `None` without timers or while the clock is paused (then only `advance` moves it). From
    /// here on, inserts wake the driver only if they are due before it.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        if self.core.clock.is_paused() {
            return None;
        }
        let first = self.earliest()?;
        self.core.wake_before.store(first, Ordering::SeqCst);
        Some(self.core.instant(first))
    }

    /// With the clock paused and nothing else to do: jumps it to the earliest deadline (or to
    /// where the wheels move it closer) and fires what is due into `fired`. `false` when there
    /// is no timer.
    pub(crate) fn jump_to_next(&self, fired: &mut Vec<Waker>) -> bool {
        let Some(first) = self.earliest() else {
            return false;
        };
        self.core.clock.advance_to(self.core.instant(first));
        self.fire_expired(fired);
        true
    }

    /// Removes the entry of every timer whose deadline has passed and adds its waker to
    /// `fired`, for the caller to wake once it holds no lock (`reactor::wake_all`).
    pub(crate) fn fire_expired(&self, fired: &mut Vec<Waker>) {
        let now = self.core.offset(self.now());
        for shard in &self.shards {
            shard.lock().advance(now, fired);
        }
        // Published after the removals (each under its shard's lock), so that a timer that
        // reads it finds its entry gone.
        self.core.fired_through.fetch_max(now, Ordering::Release);
    }

    /// Drops every entry (the instance stopped); their tasks are gone too. A timer polled from
    /// now on panics with [`INSTANCE_STOPPED`].
    pub(crate) fn clear(&self) {
        // Set before the shards are locked: a poll that takes a shard's lock after its clear
        // sees it.
        self.core.stopped.store(true, Ordering::SeqCst);
        for shard in &self.shards {
            let all = shard.lock().clear();
            drop(all);
        }
    }
}

/// A `Delay`'s (or `Interval`'s) hold on the timer facility: four words, so that the facade
/// keeps it inside the `Delay` (see `runtime_raw::time::AnyTimer`).
pub(crate) struct Timer {
    /// The shard of the arming thread, which holds the entry.
    shard: Arc<Shard>,
    deadline: Instant,
    /// The entry's key in the shard's wheel, or `UNARMED` / `CHECKED`.
    seq: u64,
}

impl Timer {
    pub(crate) fn new(timers: &Timers, deadline: Instant) -> Timer {
        let shard = timers.shards[crate::thread_index() % SHARDS].clone();
        Timer { shard, deadline, seq: UNARMED }
    }

    /// A timer whose caller has just read the clock before `deadline`.
    pub(crate) fn checked(timers: &Timers, deadline: Instant) -> Timer {
        let mut timer = Timer::new(timers, deadline);
        timer.seq = CHECKED;
        timer
    }

    fn is_armed(&self) -> bool {
        self.seq < CHECKED
    }

    fn remove(&mut self) {
        let seq = std::mem::replace(&mut self.seq, UNARMED);
        if seq >= CHECKED || self.shard.core.fired_at(self.deadline).is_some() {
            // Never armed, or the driver removed the entry when it fired.
            return;
        }
        let entry = self.shard.lock().remove(seq);
        drop(entry);
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer").field("deadline", &self.deadline).field("armed", &self.is_armed()).finish()
    }
}

impl runtime_raw::time::Timer for Timer {
    fn poll_fire(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        let this = self.get_mut();
        let core = &this.shard.core;
        if this.is_armed()
            && let Some(fired) = core.fired_at(this.deadline)
        {
            // The driver fired it (its entry is gone) at the instant it fired through: that is
            // when it fired, with no clock read.
            std::task::ready!(crate::coop::poll_proceed(cx));
            this.seq = UNARMED;
            return Poll::Ready(fired);
        }
        if this.seq != CHECKED {
            let now = core.clock.now();
            if now >= this.deadline {
                std::task::ready!(crate::coop::poll_proceed(cx));
                this.remove();
                return Poll::Ready(now);
            }
        }
        let mut wheel = this.shard.lock();
        if core.stopped.load(Ordering::SeqCst) {
            drop(wheel);
            panic!("{INSTANCE_STOPPED}");
        }
        if this.is_armed()
            && let Some(waker) = wheel.get_mut(this.seq)
        {
            if !waker.will_wake(cx.waker()) {
                *waker = cx.waker().clone();
            }
            return Poll::Pending;
        }
        // Not in the wheel: first poll, or the driver fired it just as the clock moved back
        // under us (it cannot, with a monotonic clock, but then we simply re-insert).
        let at = core.offset(this.deadline);
        let earliest;
        (this.seq, earliest) = wheel.insert(at, cx.waker().clone());
        drop(wheel);
        // Only a new earliest deadline of its shard can be one the driver sleeps past: had it
        // read this shard before the insert, it saw one due no later. `wake_before` is read
        // after the insert: the driver either saw the entry, or had already published (or is
        // about to decide) the deadline it sleeps until.
        if earliest
            && at < core.wake_before.load(Ordering::SeqCst)
            && let Some(reactor) = core.reactor.get()
        {
            reactor.wake();
        }
        Poll::Pending
    }

    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.remove();
        this.deadline = deadline;
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.remove();
    }
}

/// A Linux timerfd, for waking the poll at a deadline with sub-millisecond resolution.
#[cfg(target_os = "linux")]
#[derive(Debug)]
pub(crate) struct TimerFd {
    file: std::fs::File,
    raw: std::os::fd::RawFd,
}

#[cfg(target_os = "linux")]
impl TimerFd {
    pub(crate) fn new() -> std::io::Result<TimerFd> {
        use std::os::fd::FromRawFd;
        // SAFETY: timerfd_create has no memory-safety preconditions; its result is checked.
        let raw = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `raw` was just created by timerfd_create and is owned by nothing else.
        let file = unsafe { std::fs::File::from_raw_fd(raw) };
        Ok(TimerFd { file, raw })
    }

    /// The descriptor, for registering with the poll.
    pub(crate) fn source(&self) -> mio::unix::SourceFd<'_> {
        mio::unix::SourceFd(&self.raw)
    }

    /// Fires once, `after` from now (at least a nanosecond: zero would disarm it).
    pub(crate) fn arm(&self, after: Duration) -> std::io::Result<()> {
        let after = after.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: libc::timespec {
                tv_sec: after.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
                tv_nsec: after.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: `spec` is a valid itimerspec on our stack, the old-value pointer may be null,
        // and `raw` is the timerfd that `file` keeps open.
        let rc = unsafe { libc::timerfd_settime(self.raw, 0, &spec, std::ptr::null_mut()) };
        if rc < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
    }

    /// Consumes the expiration count, so that the next expiration is a new edge.
    pub(crate) fn drain(&self) {
        use std::io::Read;
        let mut count = [0u8; 8];
        // WouldBlock (nothing expired: a stale event) is fine.
        let _ = (&self.file).read(&mut count);
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;

    /// The facade keeps a native timer inside the `Delay`, with no allocation of its own.
    #[test]
    fn a_native_timer_is_held_inline() {
        let timers = Timers::new();
        let timer = runtime_raw::time::AnyTimer::new(Timer::new(&timers, Instant::now()));
        assert!(timer.is_inline(), "the native timer grew past the facade's inline words");
    }

    /// A timer fired by the driver and then dropped leaves the other entries alone, and one
    /// dropped before its deadline takes its entry with it.
    #[test]
    fn fired_and_dropped_timers_leave_the_wheel_consistent() {
        use runtime_raw::time::Timer as _;
        let timers = Timers::new();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let now = timers.now();
        let mut soon = Timer::new(&timers, now + Duration::from_millis(1));
        let mut late = Timer::new(&timers, now + Duration::from_secs(3600));
        assert!(Pin::new(&mut soon).poll_fire(&mut cx).is_pending());
        assert!(Pin::new(&mut late).poll_fire(&mut cx).is_pending());
        assert_eq!(format!("{timers:?}"), "Timers { pending: 2 }");
        std::thread::sleep(Duration::from_millis(2));
        timers.fire_expired(&mut Vec::new());
        assert_eq!(format!("{timers:?}"), "Timers { pending: 1 }");
        assert!(Pin::new(&mut soon).poll_fire(&mut cx).is_ready());
        drop(soon);
        assert_eq!(format!("{timers:?}"), "Timers { pending: 1 }");
        drop(late);
        assert_eq!(format!("{timers:?}"), "Timers { pending: 0 }");
    }
}
