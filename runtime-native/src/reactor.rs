//! The reactor: one `mio::Poll` that wakes the tasks whose sources became ready.
//!
//! Each registered source has a [`ScheduledIo`]: its readiness, stamped with the driver's tick,
//! and its waiters: one reader and one writer slot (a stream's `poll_read`/`poll_write`), plus
//! any number of keyed waiters for operations many tasks may await at once (`accept`,
//! `recv_from`, ...). The [`Driver`] (the poll itself, held by whichever worker is about to
//! park, or briefly by a busy one) sets readiness and wakes waiters; tasks clear readiness when
//! an operation returns `WouldBlock`. A clear names the tick it observed, so a clear that races
//! with a newer event cannot erase it.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mio::{Events, Interest, Token};

use crate::timer::Timers;

const WAKER_TOKEN: Token = Token(usize::MAX);
#[cfg(target_os = "linux")]
const TIMER_TOKEN: Token = Token(usize::MAX - 1);
/// Events taken from the OS per poll: enough to amortise the system call under load.
const EVENTS_CAPACITY: usize = 1024;

// Readiness bits, the low part of `ScheduledIo::readiness`; the tick is above them.
const READABLE: usize = 1 << 0;
const WRITABLE: usize = 1 << 1;
const READ_CLOSED: usize = 1 << 2;
const WRITE_CLOSED: usize = 1 << 3;
const ERROR: usize = 1 << 4;
/// The instance stopped: every operation fails from now on.
const SHUTDOWN: usize = 1 << 5;
const READY_MASK: usize = (1 << 6) - 1;
const TICK_SHIFT: u32 = 16;

pub(crate) const SHUT_DOWN: &str = "the runtime instance this I/O object belongs to has shut down; \
     I/O objects work only while the `enter` (or `#[runtime::main]`) that made them is running";

/// Which way an operation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }
}

/// A readiness observation, to be handed back to [`ScheduledIo::clear`] on `WouldBlock`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadyEvent {
    tick: usize,
    ready: usize,
}

#[derive(Debug, Default)]
struct Waiters {
    reader: Option<Waker>,
    writer: Option<Waker>,
    keyed: Vec<(u64, Direction, Waker)>,
    next_key: u64,
}

/// The per-source state shared by the I/O object and the driver.
#[derive(Debug, Default)]
pub(crate) struct ScheduledIo {
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

impl ScheduledIo {
    fn waiters(&self) -> std::sync::MutexGuard<'_, Waiters> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn ready(&self, direction: Direction) -> Option<io::Result<ReadyEvent>> {
        let cur = self.readiness.load(Ordering::Acquire);
        if cur & SHUTDOWN != 0 {
            return Some(Err(io::Error::other(SHUT_DOWN)));
        }
        let ready = cur & direction.mask();
        (ready != 0).then_some(Ok(ReadyEvent { tick: cur >> TICK_SHIFT, ready }))
    }

    /// Ready for `direction`, or registers `cx` in the reader or writer slot.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, direction: Direction) -> Poll<io::Result<ReadyEvent>> {
        if let Some(ready) = self.ready(direction) {
            return Poll::Ready(ready);
        }
        let mut waiters = self.waiters();
        let slot = match direction {
            Direction::Read => &mut waiters.reader,
            Direction::Write => &mut waiters.writer,
        };
        if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *slot = Some(cx.waker().clone());
        }
        // Checked again under the lock the driver takes to wake: no event slips between.
        match self.ready(direction) {
            Some(ready) => Poll::Ready(ready),
            None => Poll::Pending,
        }
    }

    /// Like [`poll_ready`](Self::poll_ready), for one of many waiters: `key` identifies the
    /// caller's entry, to be removed with [`forget`](Self::forget) when it gives up.
    pub(crate) fn poll_ready_keyed(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        key: &mut Option<u64>,
    ) -> Poll<io::Result<ReadyEvent>> {
        if let Some(ready) = self.ready(direction) {
            return Poll::Ready(ready);
        }
        let mut waiters = self.waiters();
        let existing = key.and_then(|k| waiters.keyed.iter_mut().find(|(id, _, _)| *id == k));
        match existing {
            Some((_, _, waker)) => {
                if !waker.will_wake(cx.waker()) {
                    *waker = cx.waker().clone();
                }
            }
            None => {
                let id = waiters.next_key;
                waiters.next_key += 1;
                waiters.keyed.push((id, direction, cx.waker().clone()));
                *key = Some(id);
            }
        }
        match self.ready(direction) {
            Some(ready) => Poll::Ready(ready),
            None => Poll::Pending,
        }
    }

    /// Removes a keyed waiter (its future was dropped or completed).
    pub(crate) fn forget(&self, key: &mut Option<u64>) {
        if let Some(k) = key.take() {
            self.waiters().keyed.retain(|(id, _, _)| *id != k);
        }
    }

    /// Clears what `event` saw, unless a newer event came since.
    pub(crate) fn clear(&self, event: ReadyEvent) {
        // Closed states are final. An error is not: the operation that reads it (a UDP recv
        // after an ICMP port-unreachable returns `ConnectionRefused`) consumes it, and the
        // socket is usable again. Kept after a `WouldBlock`, it would make every later wait
        // return at once and the operation retry forever inside one poll.
        let clear = event.ready & (READABLE | WRITABLE | ERROR);
        let _ = self.readiness.fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
            (cur >> TICK_SHIFT == event.tick).then_some(cur & !clear)
        });
    }

    /// Records `ready` at `tick` and adds the waiters it satisfies to `woken`.
    fn set(&self, ready: usize, tick: usize, woken: &mut Vec<Waker>) {
        let _ = self.readiness.fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
            Some((tick << TICK_SHIFT) | (cur & READY_MASK) | ready)
        });
        self.take_waiters(ready, woken);
    }

    /// Moves the waiters that `ready` satisfies to `woken`, for the caller to wake once it holds
    /// no lock (see [`wake_all`]).
    fn take_waiters(&self, ready: usize, woken: &mut Vec<Waker>) {
        {
            let mut waiters = self.waiters();
            let read = ready & (Direction::Read.mask() | SHUTDOWN) != 0;
            let write = ready & (Direction::Write.mask() | SHUTDOWN) != 0;
            if read {
                woken.extend(waiters.reader.take());
            }
            if write {
                woken.extend(waiters.writer.take());
            }
            waiters.keyed.retain(|(_, direction, waker)| {
                let hit = match direction {
                    Direction::Read => read,
                    Direction::Write => write,
                };
                if hit {
                    woken.push(waker.clone());
                }
                !hit
            });
        }
    }
}

/// Wakes every waker in `woken`, leaving it empty (its capacity kept for the next turn).
///
/// Called with no lock held: a waker may run arbitrary code. A foreign waker may even panic;
/// that panic (already reported by the panic hook) is its own bug and is contained here, so
/// that it cannot take down the worker or the driver, nor keep the other wakers from running.
pub(crate) fn wake_all(woken: &mut Vec<Waker>) {
    for waker in woken.drain(..) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()));
    }
}

/// Bits of a token that name its slot; the bits above (but the top one, so that no token is
/// ever `WAKER_TOKEN` or `TIMER_TOKEN`) hold the slot's generation.
const SLOT_BITS: u32 = usize::BITS / 2;
const SLOT_MASK: usize = (1 << SLOT_BITS) - 1;
const GENERATION_MASK: usize = (1 << (usize::BITS - SLOT_BITS - 1)) - 1;

#[derive(Debug, Default)]
struct Slot {
    /// Bumped each time the slot is freed: a token names a slot *and* a generation.
    generation: usize,
    io: Option<Arc<ScheduledIo>>,
}

#[derive(Debug)]
struct Sources {
    /// Slot `i` holds the source registered under a token for slot `i` and its generation.
    /// Slots are reused (last freed, first reused), but not their tokens: an event still in
    /// flight for a source that deregistered (a HUP in the batch being dispatched) names the
    /// old generation and is dropped, instead of marking the slot's new source closed.
    slots: Vec<Slot>,
    free: Vec<usize>,
    shut_down: bool,
}

fn token(slot: usize, generation: usize) -> Token {
    Token((generation << SLOT_BITS) | slot)
}

/// A token's slot and generation.
fn split(token: Token) -> (usize, usize) {
    (token.0 & SLOT_MASK, (token.0 >> SLOT_BITS) & GENERATION_MASK)
}

/// The descriptors behind a [`Reactor`].
#[derive(Debug)]
struct ReactorOs {
    registry: mio::Registry,
    waker: mio::Waker,
}

/// The part of the reactor that registrations use, from any thread.
#[derive(Debug)]
pub(crate) struct Reactor {
    /// The poll's registry and waker: `None` once the instance stopped, so that the
    /// descriptors close then, though I/O objects and timers kept elsewhere hold the `Reactor`.
    os: RwLock<Option<ReactorOs>>,
    sources: Mutex<Sources>,
}

/// A source's registration: deregisters it when dropped, before its descriptor closes.
#[derive(Debug)]
pub(crate) struct Registration {
    reactor: Arc<Reactor>,
    token: Token,
    io: Arc<ScheduledIo>,
}

impl Reactor {
    fn os(&self) -> std::sync::RwLockReadGuard<'_, Option<ReactorOs>> {
        self.os.read().unwrap_or_else(|e| e.into_inner())
    }

    fn sources(&self) -> std::sync::MutexGuard<'_, Sources> {
        self.sources.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the worker sleeping in the poll, if any.
    pub(crate) fn wake(&self) {
        // An error means the poll is gone: the instance is stopping anyway.
        if let Some(os) = &*self.os() {
            let _ = os.waker.wake();
        }
    }

    /// Registers `source` for `interest`, edge-triggered.
    pub(crate) fn register(
        self: &Arc<Self>,
        source: &mut impl mio::event::Source,
        interest: Interest,
    ) -> io::Result<Registration> {
        let io = Arc::new(ScheduledIo::default());
        let token = {
            let mut sources = self.sources();
            if sources.shut_down {
                return Err(io::Error::other(SHUT_DOWN));
            }
            let index = match sources.free.pop() {
                Some(index) => index,
                None if sources.slots.len() <= SLOT_MASK => {
                    sources.slots.push(Slot::default());
                    sources.slots.len() - 1
                }
                None => return Err(io::Error::other("too many sources registered with one reactor")),
            };
            let slot = &mut sources.slots[index];
            slot.io = Some(io.clone());
            token(index, slot.generation)
        };
        let registered = match &*self.os() {
            Some(os) => os.registry.register(source, token, interest),
            None => Err(io::Error::other(SHUT_DOWN)),
        };
        if let Err(e) = registered {
            self.release(token);
            return Err(e);
        }
        Ok(Registration { reactor: self.clone(), token, io })
    }

    fn release(&self, token: Token) {
        let (index, generation) = split(token);
        let mut sources = self.sources();
        if let Some(slot) = sources.slots.get_mut(index)
            && slot.generation == generation
            && slot.io.take().is_some()
        {
            slot.generation = (slot.generation + 1) & GENERATION_MASK;
            sources.free.push(index);
        }
    }

    /// The source registered under `token`, unless it deregistered since (a stale event).
    fn source(&self, token: Token) -> Option<Arc<ScheduledIo>> {
        let (index, generation) = split(token);
        let sources = self.sources();
        let slot = sources.slots.get(index)?;
        if slot.generation == generation { slot.io.clone() } else { None }
    }

    fn dispatch(&self, token: Token, ready: usize, tick: usize, woken: &mut Vec<Waker>) {
        if let Some(io) = self.source(token) {
            io.set(ready, tick, woken);
        }
    }

    /// Fails every source's operations from now on and wakes all their waiters.
    pub(crate) fn shutdown(&self) {
        let all: Vec<_> = {
            let mut sources = self.sources();
            sources.shut_down = true;
            sources.slots.iter().filter_map(|slot| slot.io.clone()).collect()
        };
        let mut woken = Vec::new();
        for io in all {
            io.readiness.fetch_or(SHUTDOWN, Ordering::AcqRel);
            io.take_waiters(SHUTDOWN, &mut woken);
        }
        wake_all(&mut woken);
        // Closes the registry's and the waker's descriptors (the poll itself closes with the
        // driver): a registration dropped from now on has nothing to deregister from.
        let os = self.os.write().unwrap_or_else(|e| e.into_inner()).take();
        drop(os);
    }
}

impl Registration {
    pub(crate) fn io(&self) -> &ScheduledIo {
        &self.io
    }

    /// Deregisters `source`; call before the source's descriptor is closed.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source) {
        // Fails only if the source was never registered or the poll is gone: nothing to undo.
        if let Some(os) = &*self.reactor.os() {
            let _ = os.registry.deregister(source);
        }
        self.reactor.release(self.token);
    }
}

/// The poll itself: held by one thread at a time.
#[derive(Debug)]
pub(crate) struct Driver {
    poll: mio::Poll,
    events: Events,
    tick: usize,
    reactor: Arc<Reactor>,
    timers: Arc<Timers>,
    #[cfg(target_os = "linux")]
    timerfd: crate::timer::TimerFd,
    /// The deadline the timerfd is armed for and has not yet reported: arming it again for
    /// the same one (the driver woke for something else) would be a wasted system call.
    #[cfg(target_os = "linux")]
    armed: Option<std::time::Instant>,
    /// The wakers the last turns found due, for the thread that holds the driver to wake once
    /// it has let go of it (see [`take_woken`](Self::take_woken)).
    woken: Vec<Waker>,
}

impl Driver {
    pub(crate) fn new(timers: Arc<Timers>) -> io::Result<(Driver, Arc<Reactor>)> {
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        #[cfg(target_os = "linux")]
        let timerfd = {
            let timerfd = crate::timer::TimerFd::new()?;
            poll.registry().register(&mut timerfd.source(), TIMER_TOKEN, Interest::READABLE)?;
            timerfd
        };
        let reactor = Arc::new(Reactor {
            os: RwLock::new(Some(ReactorOs { registry, waker })),
            sources: Mutex::new(Sources { slots: Vec::new(), free: Vec::new(), shut_down: false }),
        });
        let driver = Driver {
            poll,
            events: Events::with_capacity(EVENTS_CAPACITY),
            tick: 0,
            reactor: reactor.clone(),
            timers,
            #[cfg(target_os = "linux")]
            timerfd,
            #[cfg(target_os = "linux")]
            armed: None,
            woken: Vec::new(),
        };
        Ok((driver, reactor))
    }

    /// Hands over the wakers that the turns since the last call found due, by swapping them
    /// with `into` (empty): the caller wakes them with [`wake_all`] after it released the
    /// driver's lock, never under it. Swapping keeps both buffers' capacity: no allocation per
    /// turn.
    pub(crate) fn take_woken(&mut self, into: &mut Vec<Waker>) {
        debug_assert!(into.is_empty(), "the previous wakers were not woken");
        std::mem::swap(&mut self.woken, into);
    }

    /// With the clock paused and every thread idle: collects what is due now (see
    /// [`take_woken`](Self::take_woken)), else jumps the clock to the next timer and collects
    /// what fired. `false` when nothing is due and there is no timer: the caller may sleep.
    ///
    /// "Idle" is only as true as the last look at the reactor: I/O that became ready since (a
    /// peer's bytes, written by the task that just ran) must be served first, at the instant it
    /// arrived, or the jump fires the timeouts that guard it. So the reactor is polled without
    /// blocking, and the clock moves only if that woke nothing.
    pub(crate) fn settle_or_jump(&mut self) -> bool {
        self.turn(Some(Duration::ZERO));
        if !self.woken.is_empty() {
            return true;
        }
        self.timers.jump_to_next(&mut self.woken)
    }

    /// Polls for I/O events for at most `timeout` (`None`: until the next timer or an event),
    /// then collects the wakers of ready sources and of expired timers (see
    /// [`take_woken`](Self::take_woken)).
    pub(crate) fn turn(&mut self, timeout: Option<Duration>) {
        let sleeping = timeout != Some(Duration::ZERO);
        let poll_timeout = if sleeping {
            self.timers.set_sleeping(true);
            let deadline = self.timers.next_deadline();
            self.arm(timeout, deadline)
        } else {
            // A look without sleeping: the deadlines do not matter.
            timeout
        };
        if let Err(e) = self.poll.poll(&mut self.events, poll_timeout)
            && e.kind() != io::ErrorKind::Interrupted
        {
            // Nothing sensible to do but try again on the next turn.
            std::thread::yield_now();
        }
        if sleeping {
            self.timers.set_sleeping(false);
        }
        self.tick = (self.tick + 1) & (usize::MAX >> TICK_SHIFT);
        for event in self.events.iter() {
            match event.token() {
                WAKER_TOKEN => {}
                #[cfg(target_os = "linux")]
                TIMER_TOKEN => {
                    self.timerfd.drain();
                    self.armed = None;
                }
                token => {
                    let mut ready = 0;
                    if event.is_readable() {
                        ready |= READABLE;
                    }
                    if event.is_writable() {
                        ready |= WRITABLE;
                    }
                    if event.is_read_closed() {
                        ready |= READ_CLOSED;
                    }
                    if event.is_write_closed() {
                        ready |= WRITE_CLOSED;
                    }
                    if event.is_error() {
                        ready |= ERROR;
                    }
                    self.reactor.dispatch(token, ready, self.tick, &mut self.woken);
                }
            }
        }
        self.timers.fire_expired(&mut self.woken);
    }

    /// The timeout to give the poll, for at most `timeout` and until `deadline`: a deadline
    /// goes through the timerfd, finer than the poll's millisecond.
    #[cfg(target_os = "linux")]
    fn arm(&mut self, timeout: Option<Duration>, deadline: Option<std::time::Instant>) -> Option<Duration> {
        let Some(deadline) = deadline else {
            return timeout;
        };
        let until = deadline.saturating_duration_since(self.timers.now());
        if until.is_zero() {
            return Some(Duration::ZERO);
        }
        if self.armed != Some(deadline) {
            if self.timerfd.arm(until).is_err() {
                return Some(timeout.map_or(until, |t| t.min(until)));
            }
            self.armed = Some(deadline);
        }
        timeout
    }

    #[cfg(not(target_os = "linux"))]
    fn arm(&mut self, timeout: Option<Duration>, deadline: Option<std::time::Instant>) -> Option<Duration> {
        let until = deadline.map(|d| d.saturating_duration_since(self.timers.now()));
        match (timeout, until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;

    fn udp() -> mio::net::UdpSocket {
        mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap()
    }

    /// Issue 25, item 8: freed slots are reused last-in first-out, so an event still in flight
    /// for a source that deregistered named the slot of the next source registered, and
    /// marked it closed for good. Unit-level: the interleaving (an event in the batch being
    /// dispatched while another thread drops one socket and registers another) is hard to
    /// hit from outside, but `dispatch` of the stale token is exactly what it does.
    #[test]
    fn a_stale_event_does_not_reach_the_slots_next_source() {
        let (_driver, reactor) = Driver::new(Arc::new(Timers::new())).unwrap();
        let mut old = udp();
        let old_registration = reactor.register(&mut old, Interest::READABLE).unwrap();
        let stale = old_registration.token;
        old_registration.deregister(&mut old);
        drop(old_registration);

        let mut new = udp();
        let registration = reactor.register(&mut new, Interest::READABLE).unwrap();
        assert_eq!(split(registration.token).0, split(stale).0, "the slot is reused");
        reactor.dispatch(stale, READ_CLOSED | READABLE, 1, &mut Vec::new());
        assert!(registration.io().ready(Direction::Read).is_none(), "the stale event reached the new source");

        reactor.dispatch(registration.token, READABLE, 2, &mut Vec::new());
        assert!(registration.io().ready(Direction::Read).is_some());
        registration.deregister(&mut new);
    }

    /// A token is never one of the reactor's own (the timer's is the lower of the two).
    #[test]
    fn tokens_stay_clear_of_the_reserved_ones() {
        let highest = token(SLOT_MASK, GENERATION_MASK);
        assert!(highest.0 < usize::MAX - 1);
        assert_eq!(split(highest), (SLOT_MASK, GENERATION_MASK));
    }
}
