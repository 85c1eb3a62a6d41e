//! One running instance: starting it, running the entry future, stopping it.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Wake, Waker};
use std::thread::JoinHandle;
use std::time::Instant;

use runtime_raw::task::{Driver as TaskDriver, NewTask};
use runtime_raw::{BoxFuture, Instance, SpawnError};

use crate::Settings;
use crate::blocking::Pool;
use crate::executor::{self, Shared};
use crate::net;
use crate::reactor::{self, Driver};
use crate::timer::{Timer, Timers};

/// The facade's view of a running native instance.
#[derive(Debug)]
pub(crate) struct NativeInstance {
    pub(crate) shared: Arc<Shared>,
    /// What each task block holds to reschedule itself: made once, cloned per spawn.
    scheduler: runtime_raw::task::SchedulerRef,
    /// The instance itself as the facade sees it, for the threads it starts.
    this: std::sync::Weak<NativeInstance>,
    /// The io_uring of `runtime::fs`, when enabled and the kernel allows it.
    #[cfg(target_os = "linux")]
    uring: Option<Arc<crate::uring::Uring>>,
}

impl NativeInstance {
    fn arc(&self) -> Option<Arc<dyn Instance>> {
        self.this.upgrade().map(|this| this as Arc<dyn Instance>)
    }
}

/// Starts an instance, runs `entry` on this thread, stops the instance.
pub(crate) fn run(settings: Settings, entry: Pin<&mut (dyn Future<Output = ()> + '_)>) {
    let timers = Arc::new(Timers::new());
    let (driver, reactor) =
        Driver::new(timers.clone()).unwrap_or_else(|e| panic!("could not start the native runtime's reactor: {e}"));
    timers.set_reactor(reactor.clone());
    let blocking = Pool::new(settings.max_blocking, settings.keep_alive);
    let (shared, queues) = Shared::new(settings.workers, driver, reactor, timers, blocking);
    let scheduler = runtime_raw::task::SchedulerRef::new(shared.clone());
    // A kernel that refuses a ring leaves `runtime::fs` on the blocking pool.
    #[cfg(target_os = "linux")]
    let uring = settings.io_uring.then(|| crate::uring::Uring::new(&shared.reactor).ok()).flatten();
    let instance = Arc::new_cyclic(|this| NativeInstance {
        shared: shared.clone(),
        scheduler,
        this: this.clone(),
        #[cfg(target_os = "linux")]
        uring,
    });
    let as_dyn: Arc<dyn Instance> = instance.clone();
    // Without its reaper the ring's late completions would never run their tasks.
    #[cfg(target_os = "linux")]
    if let Some(uring) = &instance.uring
        && uring.start_reaper(&*as_dyn).is_err()
    {
        uring.shutdown();
    }

    // Stops everything even if something below panics.
    let mut stopper = Stopper { instance: instance.clone(), workers: Vec::new() };
    for (index, queue) in queues.into_iter().enumerate() {
        let shared = shared.clone();
        let current = as_dyn.clone();
        let worker = std::thread::Builder::new()
            .name(format!("runtime-native-worker-{index}"))
            .spawn(move || {
                let _current = runtime_raw::set_current(current);
                executor::run_worker(shared, index, queue);
            })
            .unwrap_or_else(|e| panic!("could not start a native runtime worker thread: {e}"));
        stopper.workers.push(worker);
    }

    let current = runtime_raw::set_current(as_dyn);
    block_on(entry, &shared);
    drop(stopper);
    drop(current);
}

/// Shuts the instance down when dropped.
struct Stopper {
    instance: Arc<NativeInstance>,
    workers: Vec<JoinHandle<()>>,
}

impl Drop for Stopper {
    fn drop(&mut self) {
        let shared = &self.instance.shared;
        shared.stop();
        for worker in self.workers.drain(..) {
            // A worker only panics on a bug of ours; the others are stopped all the same.
            let _ = worker.join();
        }
        shared.shut_down_tasks();
        // Cancels the file ops still in flight and waits (bounded) for the kernel to be done.
        #[cfg(target_os = "linux")]
        if let Some(uring) = &self.instance.uring {
            uring.shutdown();
        }
        shared.reactor.shutdown();
        shared.close_driver();
        shared.timers.clear();
        shared.blocking.shutdown();
    }
}

/// Wakes the thread that runs the entry future.
struct EntryWaker {
    thread: std::thread::Thread,
    notified: AtomicBool,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.notified.swap(true, Ordering::AcqRel) {
            self.thread.unpark();
        }
    }
}

/// Polls `future` on this thread, sleeping between wake-ups.
fn block_on(mut future: Pin<&mut (dyn Future<Output = ()> + '_)>, shared: &Shared) {
    let waker = Arc::new(EntryWaker { thread: std::thread::current(), notified: AtomicBool::new(false) });
    let as_waker = Waker::from(waker.clone());
    let mut cx = Context::from_waker(&as_waker);
    loop {
        if future.as_mut().poll(&mut cx).is_ready() {
            return;
        }
        while !waker.notified.swap(false, Ordering::AcqRel) {
            // With the clock paused, an idle entry thread may let it jump to the next timer.
            let paused = shared.timers.clock().is_paused();
            if paused {
                shared.set_entry_parked(true);
                if waker.notified.swap(false, Ordering::AcqRel) {
                    shared.set_entry_parked(false);
                    break;
                }
            }
            std::thread::park();
            if paused {
                shared.set_entry_parked(false);
            }
        }
    }
}

/// A `spawn_blocking` job in the pool's queue. Dropped unrun (the pool shut down), it shuts its
/// task down, so that its join handle reports it instead of waiting forever.
struct BlockingJob(runtime_raw::task::Task);

impl BlockingJob {
    fn run(self) {
        let _blocking = runtime_raw::enter_blocking();
        // The job completes in this one poll; the waker is never used.
        let _ = self.0.poll_inline(&mut Context::from_waker(Waker::noop()));
    }
}

impl Drop for BlockingJob {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

const RESOLVER_GONE: &str = "the runtime instance stopped before the host name was resolved";

impl Instance for NativeInstance {
    fn spawn(&self, task: NewTask<'_>) -> Result<(), SpawnError> {
        let shared = &self.shared;
        if shared.is_stopped() {
            return Err(SpawnError::shutdown());
        }
        let task = task.build(TaskDriver::scheduled(self.scheduler.clone()));
        if !shared.bind(&task) {
            // Stopped meanwhile: the join handle reports the shutdown.
            task.shutdown();
            return Ok(());
        }
        runtime_raw::task::Schedule::schedule(&**shared, task, runtime_raw::task::Reschedule::Woken);
        Ok(())
    }

    fn spawn_blocking(&self, task: NewTask<'_>) -> Result<(), SpawnError> {
        let Some(instance) = self.arc().filter(|_| !self.shared.is_stopped()) else {
            return Err(SpawnError::shutdown());
        };
        let job = BlockingJob(task.build(TaskDriver::blocking()));
        self.shared.blocking.spawn(&instance, Box::new(move || job.run())).map_err(|_| SpawnError::shutdown())
    }

    fn is_running(&self) -> bool {
        !self.shared.is_stopped()
    }

    fn live_tasks(&self) -> Option<usize> {
        // The ring's reaper is the instance's own task, not one of the user's: without this the
        // grace period would never see "no task left" and always run out.
        #[cfg(target_os = "linux")]
        let own = usize::from(self.uring.as_ref().is_some_and(|uring| !uring.is_stopped()));
        #[cfg(not(target_os = "linux"))]
        let own = 0;
        Some(self.shared.live_tasks().saturating_sub(own))
    }

    fn connect_tcp(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Box<dyn runtime_raw::net::TcpStream>>> {
        let reactor = self.shared.reactor.clone();
        Box::pin(async move { net::connect(&reactor, addr).await.map(|s| Box::new(s) as _) })
    }

    fn tcp_listener(&self, listener: std::net::TcpListener) -> io::Result<Box<dyn runtime_raw::net::TcpListener>> {
        Ok(Box::new(net::TcpListener::new(&self.shared.reactor, listener)?))
    }

    fn tcp_stream(&self, stream: std::net::TcpStream) -> io::Result<Box<dyn runtime_raw::net::TcpStream>> {
        Ok(Box::new(net::TcpStream::from_std(&self.shared.reactor, stream)?))
    }

    fn udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Box<dyn runtime_raw::net::UdpSocket>> {
        Ok(Box::new(net::UdpSocket::new(&self.shared.reactor, socket)?))
    }

    #[cfg(unix)]
    fn unix_listener(
        &self,
        listener: std::os::unix::net::UnixListener,
    ) -> io::Result<Box<dyn runtime_raw::net::unix::UnixListener>> {
        Ok(Box::new(net::unix::UnixListener::new(&self.shared.reactor, listener)?))
    }

    #[cfg(unix)]
    fn unix_stream(
        &self,
        stream: std::os::unix::net::UnixStream,
    ) -> io::Result<Box<dyn runtime_raw::net::unix::UnixStream>> {
        Ok(Box::new(net::unix::UnixStream::new(&self.shared.reactor, stream)?))
    }

    #[cfg(unix)]
    fn unix_datagram(
        &self,
        socket: std::os::unix::net::UnixDatagram,
    ) -> io::Result<Box<dyn runtime_raw::net::unix::UnixDatagram>> {
        Ok(Box::new(net::unix::UnixDatagram::new(&self.shared.reactor, socket)?))
    }

    fn resolve(&self, host: String, port: u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        let (tx, rx) = futures::channel::oneshot::channel();
        let job = Box::new(move || {
            let resolved = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port)).map(Iterator::collect);
            let _ = tx.send(resolved);
        });
        let queued = match self.arc() {
            Some(instance) => self.shared.blocking.spawn(&instance, job).is_ok(),
            None => false,
        };
        Box::pin(async move {
            if !queued {
                return Err(io::Error::other(reactor::SHUT_DOWN));
            }
            rx.await.unwrap_or_else(|_| Err(io::Error::other(RESOLVER_GONE)))
        })
    }

    fn timer(&self, deadline: Instant) -> Result<runtime_raw::time::AnyTimer, Instant> {
        let now = self.shared.timers.now();
        if now >= deadline {
            return Err(now);
        }
        // Four words and `Unpin`: held in the `Delay` itself. Its first poll trusts this reading
        // of the clock.
        Ok(runtime_raw::time::AnyTimer::new(Timer::checked(&self.shared.timers, deadline)))
    }

    #[cfg(unix)]
    fn watch_fd(&self, fd: std::os::fd::OwnedFd) -> io::Result<Box<dyn runtime_raw::fd::Watched>> {
        Ok(Box::new(crate::fd::Watched::new(&self.shared.reactor, fd)?))
    }

    #[cfg(target_os = "linux")]
    fn file_op(
        &self,
        op: runtime_raw::fs::Op,
    ) -> Result<BoxFuture<'static, io::Result<runtime_raw::fs::Done>>, runtime_raw::fs::Op> {
        match &self.uring {
            Some(uring) => crate::fs::file_op(uring, op),
            None => Err(op),
        }
    }

    fn now(&self) -> Instant {
        self.shared.timers.now()
    }

    fn pause(&self) {
        self.shared.timers.clock().pause();
    }

    fn resume(&self) {
        self.shared.timers.clock().resume();
        // Timers sleep in real time again: let the reactor re-arm.
        self.shared.reactor.wake();
    }

    fn advance(&self, dur: std::time::Duration) -> BoxFuture<'static, ()> {
        self.shared.timers.clock().advance(dur);
        let mut fired = Vec::new();
        self.shared.timers.fire_expired(&mut fired);
        reactor::wake_all(&mut fired);
        // Let the tasks the timers woke run before the caller goes on.
        let mut yielded = false;
        Box::pin(std::future::poll_fn(move |cx| {
            if yielded {
                return std::task::Poll::Ready(());
            }
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }))
    }
}
