//! The executor: worker threads, their queues, stealing, parking, and the list of live tasks.
//!
//! Each worker owns a crossbeam-deque FIFO queue and a *next-task slot*. A task woken (or
//! spawned) on a worker of its instance goes to that worker's slot and runs as soon as the
//! current task returns, on the same thread, its data still in cache: a task that answers
//! another is not stolen by a worker that had to be woken first. The task the slot held moves to
//! the back of the queue, where others can steal it. A task woken while it runs (which includes
//! `yield_now`) goes to the back of the queue, so it cannot starve the others, and the slot runs
//! at most [`NEXT_SLOT_STREAK`] times in a row for the same reason (two tasks waking each other
//! would otherwise keep the queue waiting). A task woken from anywhere else goes to the global
//! injector, and an idle worker is unparked. A worker takes from its slot, then its own queue,
//! every [`GLOBAL_QUEUE_INTERVAL`] tasks from the injector first (so it cannot starve), and when
//! all are empty steals half of another worker's queue.
//!
//! Parking: a worker with nothing to do announces itself idle, looks once more for work (a
//! task pushed before the announcement is found by that look; one pushed after it sees the
//! announcement and unparks someone), then sleeps: inside the reactor's poll if no other worker
//! holds it, else on its own condition variable. A worker woken to look for work is
//! *searching*; while one searches, pushes to local queues wake nobody, and the last searcher
//! to find work wakes another idle worker, so work spreads without a wake-up per push.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::task::Waker;

use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use runtime_raw::task::{Reschedule, Schedule, Task};

use crate::blocking::Pool;
use crate::park::Parker;
use crate::reactor::{self, Driver, Reactor};
use crate::timer::Timers;

/// Tasks a worker runs between two looks at the injector: often enough that tasks woken from
/// outside are not starved by a busy local queue, rarely enough to keep the local fast path.
const GLOBAL_QUEUE_INTERVAL: u32 = 31;
/// Tasks a busy worker runs between two non-blocking polls of the reactor, so that I/O and
/// timers are served while every worker is busy.
const MAINTENANCE_INTERVAL: u32 = 61;
/// Rounds of looking for work before parking: a very short spin catches work that arrives
/// right after the queues ran dry without the cost of a park and unpark.
const SEARCH_ROUNDS: usize = 2;
/// Shards of the live-task list, to spread the lock taken per spawn and per completion.
const TASK_SHARDS: usize = 16;
/// Tasks a worker takes from its next-task slot in a row before it takes one from its queue.
const NEXT_SLOT_STREAK: u8 = 3;

pub(crate) struct Shared {
    injector: Injector<Task>,
    stealers: Box<[Stealer<Task>]>,
    parkers: Box<[Parker]>,
    idle: Mutex<Vec<usize>>,
    num_idle: AtomicUsize,
    searching: AtomicUsize,
    stopped: AtomicBool,
    tasks: TaskList,
    /// `None` once the instance stopped: its descriptors are closed then, though wakers and
    /// join handles kept elsewhere may keep this `Shared` alive for long.
    driver: Mutex<Option<Driver>>,
    pub(crate) reactor: Arc<Reactor>,
    pub(crate) timers: Arc<Timers>,
    pub(crate) blocking: Pool,
    /// The thread running the entry future is asleep (tracked only while the clock is paused).
    entry_parked: AtomicBool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("workers", &self.parkers.len())
            .field("idle", &self.num_idle.load(Ordering::Relaxed))
            .field("stopped", &self.stopped.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The driver, held: [`Shared::try_driver`] made sure it is still open.
struct DriverGuard<'a>(MutexGuard<'a, Option<Driver>>);

impl std::ops::Deref for DriverGuard<'_> {
    type Target = Driver;

    fn deref(&self) -> &Driver {
        self.0.as_ref().expect("checked open by try_driver")
    }
}

impl std::ops::DerefMut for DriverGuard<'_> {
    fn deref_mut(&mut self) -> &mut Driver {
        self.0.as_mut().expect("checked open by try_driver")
    }
}

thread_local! {
    /// The worker running on this thread, if any.
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

struct Local {
    shared: Arc<Shared>,
    queue: Worker<Task>,
    /// The task woken last by this worker: it runs next. Not stealable.
    next: Cell<Option<Task>>,
    /// Tasks taken from `next` since the last one from elsewhere.
    streak: Cell<u8>,
}

impl Local {
    /// Puts `task` in the next-task slot; `true` if that moved an older one to the queue (where
    /// an idle worker may steal it).
    fn put_next(&self, task: Task) -> bool {
        match self.next.replace(Some(task)) {
            Some(older) => {
                self.queue.push(older);
                true
            }
            None => false,
        }
    }

    /// Tasks waiting on this worker.
    fn waiting(&self) -> usize {
        let next = self.next.take();
        let waiting = self.queue.len() + usize::from(next.is_some());
        self.next.set(next);
        waiting
    }
}

impl Shared {
    /// The shared state and each worker's queue.
    pub(crate) fn new(
        workers: usize,
        driver: Driver,
        reactor: Arc<Reactor>,
        timers: Arc<Timers>,
        blocking: Pool,
    ) -> (Arc<Shared>, Vec<Worker<Task>>) {
        let queues: Vec<Worker<Task>> = (0..workers).map(|_| Worker::new_fifo()).collect();
        let shared = Arc::new(Shared {
            injector: Injector::new(),
            stealers: queues.iter().map(Worker::stealer).collect(),
            parkers: (0..workers).map(|_| Parker::new()).collect(),
            idle: Mutex::new(Vec::with_capacity(workers)),
            num_idle: AtomicUsize::new(0),
            searching: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            tasks: TaskList::new(),
            driver: Mutex::new(Some(driver)),
            reactor,
            timers,
            blocking,
            entry_parked: AtomicBool::new(false),
        });
        (shared, queues)
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Records a new task as live; `false` once the instance has stopped.
    pub(crate) fn bind(&self, task: &Task) -> bool {
        self.tasks.insert(task)
    }

    /// Tasks that have not completed (for the shutdown grace period: takes every shard's lock).
    pub(crate) fn live_tasks(&self) -> usize {
        self.tasks.len()
    }

    fn idle(&self) -> MutexGuard<'_, Vec<usize>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Unparks one idle worker, if there is one, making it a searcher.
    fn notify_one(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.num_idle.load(Ordering::SeqCst) == 0 {
            return;
        }
        let index = {
            let mut idle = self.idle();
            let index = idle.pop();
            if index.is_some() {
                self.num_idle.fetch_sub(1, Ordering::SeqCst);
                self.searching.fetch_add(1, Ordering::SeqCst);
            }
            index
        };
        if let Some(index) = index {
            self.parkers[index].unpark(|| self.reactor.wake());
        }
    }

    /// After a push to a queue: wake a worker, unless one is already looking for work (it will
    /// find this: a worker about to park looks at every queue once more).
    fn notify_unless_searching(&self) {
        if self.searching.load(Ordering::SeqCst) == 0 {
            self.notify_one();
        }
    }

    /// Stops the workers: they finish the task they run, then exit.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        for parker in self.parkers.iter() {
            parker.unpark(|| self.reactor.wake());
        }
    }

    /// After the workers exited: drops every task that has not completed (running its
    /// destructors) and every queue entry.
    pub(crate) fn shut_down_tasks(&self) {
        for task in self.tasks.close_and_drain() {
            task.shutdown();
        }
        while !self.injector.is_empty() {
            drop(self.injector.steal());
        }
    }

    /// The entry thread is going to sleep (`true`) or woke up. While the clock is paused this
    /// may leave every thread idle: the worker in the reactor is woken to jump the clock.
    pub(crate) fn set_entry_parked(&self, parked: bool) {
        self.entry_parked.store(parked, Ordering::SeqCst);
        if parked {
            self.reactor.wake();
        }
    }

    /// With the clock paused: nothing runs, nothing is queued, no blocking job is busy, and
    /// the entry thread sleeps. The caller is the last worker awake.
    fn all_idle(&self) -> bool {
        self.num_idle.load(Ordering::SeqCst) == self.parkers.len()
            && self.entry_parked.load(Ordering::SeqCst)
            && !self.blocking.is_busy()
            && !has_work(self)
    }

    /// The driver, unless another thread holds it. A poisoned lock is taken all the same: the
    /// driver's state stays consistent whatever panicked (wakers, the only foreign code it ran,
    /// are called outside the lock now), and reading poison as "busy" would leave the reactor
    /// and the timers unpolled for good.
    fn try_driver(&self) -> Option<DriverGuard<'_>> {
        let guard = match self.driver.try_lock() {
            Ok(driver) => driver,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        // Closed: the workers have exited (no one comes here any more).
        guard.is_some().then_some(DriverGuard(guard))
    }

    /// Closes the reactor's poll and timer descriptors (the workers have exited). A waker or
    /// join handle kept after the instance stopped holds this `Shared`, but no descriptor.
    pub(crate) fn close_driver(&self) {
        let driver = self.driver.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(driver);
    }

    /// Polls the reactor without blocking, if no other thread holds it, and wakes what it found
    /// due (`woken` is the worker's buffer, empty between calls).
    fn maintenance(&self, woken: &mut Vec<Waker>) {
        if let Some(mut driver) = self.try_driver() {
            driver.turn(Some(std::time::Duration::ZERO));
            driver.take_woken(woken);
            drop(driver);
            reactor::wake_all(woken);
            // The driver was free: no idle worker sleeps in it. One that went idle while we held
            // it sleeps on its condition variable; wake it to take the reactor over, since we
            // are busy (and may stay so for long).
            self.notify_one();
        }
    }
}

impl Schedule for Shared {
    fn schedule(&self, task: Task, how: Reschedule) {
        if self.is_stopped() {
            // The entry is dropped; `shut_down_tasks` drops the future.
            return;
        }
        let mut task = Some(task);
        let stealable = LOCAL
            .try_with(|local| {
                let Ok(local) = local.try_borrow() else { return true };
                match &*local {
                    Some(local) if std::ptr::eq(Arc::as_ptr(&local.shared), self) => {
                        let task = task.take().expect("scheduled once");
                        match how {
                            Reschedule::Woken => local.put_next(task),
                            Reschedule::Yielded => {
                                local.queue.push(task);
                                true
                            }
                        }
                    }
                    _ => true,
                }
            })
            // This thread's locals are gone: the task goes to the injector below.
            .unwrap_or(true);
        if let Some(task) = task {
            self.injector.push(task);
        }
        if stealable {
            // A searching worker looks at the injector and at every queue before it parks.
            self.notify_unless_searching();
        }
    }

    fn release(&self, task: &Task) {
        self.tasks.remove(task);
    }
}

/// One worker thread's life: run tasks until the instance stops.
pub(crate) fn run_worker(shared: Arc<Shared>, index: usize, queue: Worker<Task>) {
    LOCAL.with(|local| {
        *local.borrow_mut() =
            Some(Local { shared: shared.clone(), queue, next: Cell::new(None), streak: Cell::new(0) });
    });
    let mut searching = false;
    let mut tick: u32 = 0;
    // The wakers a turn of the driver found due, woken once the driver is released.
    let mut woken = Vec::new();
    while !shared.is_stopped() {
        tick = tick.wrapping_add(1);
        if tick.is_multiple_of(MAINTENANCE_INTERVAL) {
            shared.maintenance(&mut woken);
        }
        match find_task(&shared, tick) {
            Some(task) => {
                if searching {
                    searching = false;
                    if shared.searching.fetch_sub(1, Ordering::SeqCst) == 1 {
                        // The last searcher found work: there may be more for someone else.
                        shared.notify_one();
                    }
                }
                run_task(task);
            }
            None => {
                if searching {
                    shared.searching.fetch_sub(1, Ordering::SeqCst);
                }
                // Woken workers come back as searchers (`notify_one` counted them).
                searching = park(&shared, index, &mut woken);
            }
        }
    }
    if searching {
        shared.searching.fetch_sub(1, Ordering::SeqCst);
    }
    // The local queue's entries are dropped with it; the tasks themselves are shut down by
    // `shut_down_tasks` once every worker has exited.
    let local = LOCAL.with(|local| local.borrow_mut().take());
    drop(local);
}

/// Runs one task with a fresh budget. The task block contains its future's panics and its
/// wakers' (a foreign `JoinHandle` waker may panic when the task completes); should one escape
/// all the same, it must not end the worker: the worker's next-task slot and queue would never
/// run, and with one worker nothing would run again. The panic hook has reported it.
fn run_task(task: Task) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| crate::coop::budgeted(|| task.run())));
}

fn with_local<R>(f: impl FnOnce(&Local) -> R) -> R {
    LOCAL.with(|local| f(local.borrow().as_ref().expect("on a worker thread")))
}

fn find_task(shared: &Shared, tick: u32) -> Option<Task> {
    with_local(|local| {
        let queue = &local.queue;
        if tick.is_multiple_of(GLOBAL_QUEUE_INTERVAL)
            && let Some(task) = steal_injector(shared, queue)
        {
            local.streak.set(0);
            return Some(task);
        }
        if let Some(task) = local.next.take() {
            if local.streak.get() < NEXT_SLOT_STREAK {
                local.streak.set(local.streak.get() + 1);
                return Some(task);
            }
            // Its turn is over: behind the others. No worker is woken for it: this one is
            // awake and gets to it (a searching worker may still steal it).
            queue.push(task);
        }
        local.streak.set(0);
        queue.pop().or_else(|| search(shared, queue))
    })
}

fn steal_injector(shared: &Shared, queue: &Worker<Task>) -> Option<Task> {
    loop {
        match shared.injector.steal_batch_and_pop(queue) {
            Steal::Success(task) => return Some(task),
            Steal::Empty => return None,
            Steal::Retry => std::hint::spin_loop(),
        }
    }
}

/// The injector, then the other workers' queues, for a few rounds.
fn search(shared: &Shared, queue: &Worker<Task>) -> Option<Task> {
    let n = shared.stealers.len();
    for _ in 0..SEARCH_ROUNDS {
        if let Some(task) = steal_injector(shared, queue) {
            return Some(task);
        }
        let start = fast_random(n);
        let mut retry = false;
        for i in 0..n {
            match shared.stealers[(start + i) % n].steal_batch_and_pop(queue) {
                Steal::Success(task) => return Some(task),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
        }
        if !retry {
            std::hint::spin_loop();
        }
    }
    None
}

fn has_work(shared: &Shared) -> bool {
    !shared.injector.is_empty() || shared.stealers.iter().any(|s| !s.is_empty())
}

/// Parks the worker until there may be work; returns whether it came back as a searcher.
/// `woken` is the worker's buffer for the wakers a turn of the driver finds due.
fn park(shared: &Shared, index: usize, woken: &mut Vec<Waker>) -> bool {
    {
        let mut idle = shared.idle();
        idle.push(index);
        shared.num_idle.fetch_add(1, Ordering::SeqCst);
    }
    std::sync::atomic::fence(Ordering::SeqCst);
    let mut leaves_driver_busy = false;
    if !has_work(shared) && !shared.is_stopped() {
        let paused = shared.timers.clock().is_paused();
        match shared.try_driver() {
            Some(mut driver) => {
                // The virtual clock jumps to the next timer only when every task is idle and no
                // I/O is ready.
                let woke = paused && shared.all_idle() && driver.settle_or_jump();
                if !woke {
                    shared.parkers[index].park_in_driver(&mut driver, None);
                }
                driver.take_woken(woken);
                drop(driver);
                reactor::wake_all(woken);
                // We leave the reactor to run tasks (woken into our queue, or injected).
                leaves_driver_busy = with_local(|local| local.waiting() > 0) || !shared.injector.is_empty();
            }
            None => {
                if paused {
                    // This may be the last thread going idle: let the reactor's holder check.
                    shared.reactor.wake();
                }
                shared.parkers[index].park();
            }
        }
    }
    // Still in the idle list: we woke by ourselves (work found, or an event). Otherwise a
    // notifier took us out and counted us as a searcher.
    let searching = {
        let mut idle = shared.idle();
        match idle.iter().position(|&i| i == index) {
            Some(position) => {
                idle.swap_remove(position);
                shared.num_idle.fetch_sub(1, Ordering::SeqCst);
                false
            }
            None => true,
        }
    };
    if leaves_driver_busy {
        // Any other idle worker sleeps on its condition variable (the driver was ours): wake one
        // to take the reactor over, or a long task of ours would leave I/O and timers unserved
        // until it ends. It also shares the work if we have more than one task. Only once we
        // are out of the idle list, so that it is not us who is woken.
        shared.notify_one();
    }
    searching
}

/// A cheap per-thread pseudo-random number below `n`, to spread stealing.
fn fast_random(n: usize) -> usize {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u32> = Cell::new({
            let seed = std::collections::hash_map::RandomState::new();
            (std::hash::BuildHasher::hash_one(&seed, std::thread::current().id()) as u32) | 1
        });
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        state.set(x);
        (x as usize) % n.max(1)
    })
}

/// The shard for this thread's next insert: each thread steps through them all, from an
/// offset of its own.
fn next_shard() -> usize {
    thread_local! {
        static NEXT: Cell<usize> = Cell::new(crate::thread_index().wrapping_mul(7));
    }
    NEXT.try_with(|next| {
        let shard = next.get();
        next.set(shard.wrapping_add(1));
        shard % TASK_SHARDS
    })
    .unwrap_or(0)
}

/// Every task that has not completed, so that shutdown can drop them.
struct TaskList {
    shards: Box<[Mutex<Shard>]>,
    closed: AtomicBool,
}

#[derive(Default)]
struct Shard {
    slots: Vec<Option<Task>>,
    free: Vec<usize>,
}

impl TaskList {
    fn new() -> TaskList {
        TaskList { shards: (0..TASK_SHARDS).map(|_| Mutex::default()).collect(), closed: AtomicBool::new(false) }
    }

    fn shard(&self, i: usize) -> MutexGuard<'_, Shard> {
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    fn insert(&self, task: &Task) -> bool {
        // Each thread goes round the shards, starting from its own: a task usually completes
        // on another thread than the one that spawned it, and with one shard per spawner the
        // completing workers' removals kept running into the spawner's inserts (in spawn_many,
        // 18% of the CPU time went to waiting on that lock).
        let shard_index = next_shard();
        let mut shard = self.shard(shard_index);
        // Checked under the lock: `close_and_drain` takes every shard's lock after closing.
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        let slot = match shard.free.pop() {
            Some(slot) => slot,
            None => {
                shard.slots.push(None);
                shard.slots.len() - 1
            }
        };
        shard.slots[slot] = Some(task.clone());
        // 0 means "not listed".
        task.set_key(slot * TASK_SHARDS + shard_index + 1);
        true
    }

    fn remove(&self, task: &Task) {
        let Some(key) = task.key().checked_sub(1) else {
            return;
        };
        let (slot, shard_index) = (key / TASK_SHARDS, key % TASK_SHARDS);
        let removed = {
            let mut shard = self.shard(shard_index);
            let removed = shard.slots.get_mut(slot).and_then(Option::take);
            if removed.is_some() {
                shard.free.push(slot);
            }
            removed
        };
        // Dropped outside the lock: it may be the last reference.
        drop(removed);
    }

    fn len(&self) -> usize {
        (0..TASK_SHARDS).map(|i| self.shard(i)).map(|shard| shard.slots.len() - shard.free.len()).sum()
    }

    fn close_and_drain(&self) -> Vec<Task> {
        self.closed.store(true, Ordering::Release);
        let mut all = Vec::new();
        for i in 0..TASK_SHARDS {
            let mut shard = self.shard(i);
            all.extend(shard.slots.drain(..).flatten());
            shard.free.clear();
        }
        all
    }
}
