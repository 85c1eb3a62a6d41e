//! A running child process: waiting for it, killing it, reaping it when it is dropped.

use std::fmt;
use std::io;
use std::process::{ExitStatus, Output};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, ready};

use futures::io::{AsyncRead, AsyncReadExt};

use super::pipe::{ChildStderr, ChildStdin, ChildStdout};
use super::{reaper, sys};
use crate::raw;
use crate::signal::Listener;

/// How a waiting `Child` learns that its process exited, on the instance it waits in.
enum ExitWatch {
    /// The process's pidfd, readable once it exited (Linux 5.3+).
    Pidfd(Box<dyn raw::fd::Watched>),
    /// Every SIGCHLD: the process may be one that exited.
    Sigchld(Listener),
}

/// An `ExitWatch` and the instance whose reactor it is on.
struct Watch {
    exit: ExitWatch,
    instance: Weak<dyn raw::Instance>,
}

impl Watch {
    fn new(pid: u32) -> io::Result<Watch> {
        let instance = crate::instance("Child::wait");
        let pidfd = if sys::pidfd_enabled() { sys::pidfd_open(pid).ok() } else { None };
        let exit = match pidfd {
            Some(pidfd) => ExitWatch::Pidfd(instance.watch_fd(pidfd)?),
            None => ExitWatch::Sigchld(Listener::new(libc::SIGCHLD, &instance)?),
        };
        Ok(Watch { exit, instance: Arc::downgrade(&instance) })
    }

    /// Whether its instance still runs (a `Child` may be waited for in a later instance).
    fn is_live(&self) -> bool {
        self.instance.upgrade().is_some_and(|i| i.is_running())
    }
}

/// The process itself: what `Child` keeps apart from its pipes, so that they can be read while
/// it is waited for.
pub(super) struct Process {
    std: std::process::Child,
    /// `Some` once reaped: the pid may name another process from then on.
    status: Option<ExitStatus>,
    watch: Option<Watch>,
    kill_on_drop: bool,
}

impl Process {
    fn pid(&self) -> u32 {
        self.std.id()
    }

    fn reaped(&mut self, status: ExitStatus) -> ExitStatus {
        self.status = Some(status);
        self.watch = None;
        status
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        match self.std.try_wait() {
            Ok(Some(status)) => Ok(Some(self.reaped(status))),
            Ok(None) => Ok(None),
            Err(e) => Err(wait_error(self.pid(), e)),
        }
    }

    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        if let Some(status) = self.status {
            return Poll::Ready(Ok(status));
        }
        let pid = self.pid();
        let Process { std, watch, .. } = self;
        let watch = match watch {
            Some(live) if live.is_live() => live,
            // First poll, or a wait begun in an instance that has stopped since.
            stale => stale.insert(Watch::new(pid)?),
        };
        let status = match &mut watch.exit {
            ExitWatch::Pidfd(pidfd) => {
                // Readable once the process exited; until then (a stale event) `WouldBlock`.
                let mut exited = None;
                let mut reap = |_: &std::fs::File| match std.try_wait()? {
                    Some(status) => {
                        exited = Some(status);
                        Ok(0)
                    }
                    None => Err(io::ErrorKind::WouldBlock.into()),
                };
                ready!(pidfd.poll_read_with(cx, &mut reap)).map_err(|e| wait_error(pid, e))?;
                exited.ok_or_else(|| wait_error(pid, io::Error::other(NOT_RUN)))?
            }
            ExitWatch::Sigchld(listener) => {
                // Registered before the first look, so an exit after it raises a SIGCHLD we see.
                // Each turn either reaps or consumes one delivery, then returns or waits.
                loop {
                    if let Some(status) = std.try_wait().map_err(|e| wait_error(pid, e))? {
                        break status;
                    }
                    if ready!(listener.poll_recv(cx)).is_none() {
                        return Poll::Ready(Err(wait_error(pid, io::Error::other(STOPPED))));
                    }
                }
            }
        };
        Poll::Ready(Ok(self.reaped(status)))
    }

    fn start_kill(&mut self) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        self.std
            .kill()
            .map_err(|e| io::Error::new(e.kind(), format!("could not kill child process {}: {e}", self.pid())))
    }
}

/// Bytes read per system call by `wait_with_output`: a whole pipe buffer (64 KiB on Linux).
const READ_CHUNK: usize = 64 * 1024;

/// Reads `pipe` to its end (nothing when there is no pipe), a pipe buffer at a time.
async fn read_all(pipe: Option<&mut (impl AsyncRead + Unpin)>) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let Some(pipe) = pipe else {
        return Ok(out);
    };
    // Copied out of one zeroed chunk: cheaper than zeroing the growing vector's spare room
    // before every read, as `read_to_end` does.
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        match pipe.read(&mut chunk).await? {
            0 => return Ok(out),
            n => out.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Adds the pid to a wait's error, keeping its kind.
fn wait_error(pid: u32, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("could not wait for child process {pid}: {e}"))
}

/// Message of the error of a backend whose readiness wait succeeded without running the operation.
const NOT_RUN: &str = "the runtime backend reported the pidfd wait done without reaping";

/// Message of the error of a wait whose instance stopped first.
const STOPPED: &str = "the runtime instance it was waited for in stopped";

impl Drop for Process {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        if self.kill_on_drop {
            // An error means it is gone already; it is reaped all the same.
            let _ = self.std.kill();
        }
        // Off this instance's reactor before the reaper takes over the pid.
        self.watch = None;
        reaper::adopt(self.pid());
    }
}

/// A child process spawned by [`Command::spawn`](super::Command::spawn).
///
/// Its pipes are the public fields, as in std: take them to read and write while the child
/// runs. A `Child` dropped before its process was waited for does not wait either: the process
/// runs on (unless [`kill_on_drop`](super::Command::kill_on_drop) was set, which kills it) and a
/// process-wide reaper reaps it when it exits, even after the instance stopped, so it never
/// stays a zombie. Only this `Child`'s pid is ever waited for: other children of the program,
/// such as those of `std::process`, are left alone.
///
/// # Examples
/// ```
/// use runtime::process::Command;
///
/// #[runtime::main]
/// async fn main() -> std::io::Result<()> {
///     let mut child = Command::new("sh").args(["-c", "exit 3"]).spawn()?;
///     let status = child.wait().await?;
///     assert_eq!(status.code(), Some(3));
///     Ok(())
/// }
/// ```
pub struct Child {
    /// The child's stdin, when it was [`piped`](std::process::Stdio::piped).
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, when it was [`piped`](std::process::Stdio::piped).
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, when it was [`piped`](std::process::Stdio::piped).
    pub stderr: Option<ChildStderr>,
    process: Process,
}

impl Child {
    /// Wraps a child std just spawned, registering its pipes with `instance`. On error the child
    /// is killed and reaped in the background.
    pub(super) fn new(
        instance: &Arc<dyn raw::Instance>,
        mut std: std::process::Child,
        kill_on_drop: bool,
    ) -> io::Result<Child> {
        let (stdin, stdout, stderr) = (std.stdin.take(), std.stdout.take(), std.stderr.take());
        let mut child = Child {
            stdin: None,
            stdout: None,
            stderr: None,
            process: Process { std, status: None, watch: None, kill_on_drop },
        };
        let pipes = (|| {
            child.stdin = stdin.map(|p| ChildStdin::new(instance, p)).transpose()?;
            child.stdout = stdout.map(|p| ChildStdout::new(instance, p)).transpose()?;
            child.stderr = stderr.map(|p| ChildStderr::new(instance, p)).transpose()?;
            io::Result::Ok(())
        })();
        if let Err(e) = pipes {
            child.process.kill_on_drop = true;
            return Err(e);
        }
        Ok(child)
    }

    /// The OS's process id, or `None` once the child was reaped (the id may then name another
    /// process).
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = runtime::process::Command::new("true").spawn()?;
    /// assert!(child.id().is_some());
    /// child.wait().await?;
    /// assert_eq!(child.id(), None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn id(&self) -> Option<u32> {
        self.process.status.is_none().then(|| self.process.pid())
    }

    /// Waits for the process to exit and reaps it, first closing its stdin (if piped) so that a
    /// child reading it to its end cannot wait for us while we wait for it. Later calls return
    /// the same status.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = runtime::process::Command::new("true").spawn()?;
    /// assert!(child.wait().await?.success());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, naming the pid; an error when the instance stops while waiting.
    ///
    /// # Panics
    /// When first polled outside a running runtime (unless the child was already reaped).
    ///
    /// # Cancel safety
    /// Cancel-safe: the child stays as it was, and can be waited for again.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        std::future::poll_fn(|cx| self.process.poll_wait(cx)).await
    }

    /// Reaps the process if it has exited, without waiting: `Ok(None)` while it runs.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = runtime::process::Command::new("cat").stdin(std::process::Stdio::piped()).spawn()?;
    /// assert!(child.try_wait()?.is_none()); // `cat` waits for its input
    /// child.kill().await?;
    /// assert!(child.try_wait()?.is_some());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, naming the pid.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.process.try_wait()
    }

    /// Sends `SIGKILL` to the process, without waiting for it to exit. Does nothing once it was
    /// reaped.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = runtime::process::Command::new("sleep").arg("60").spawn()?;
    /// child.start_kill()?;
    /// assert!(!child.wait().await?.success());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, naming the pid.
    pub fn start_kill(&mut self) -> io::Result<()> {
        self.process.start_kill()
    }

    /// Kills the process and waits for it to exit: [`start_kill`](Self::start_kill), then
    /// [`wait`](Self::wait).
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = runtime::process::Command::new("sleep").arg("60").spawn()?;
    /// child.kill().await?;
    /// assert!(child.id().is_none());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As `start_kill` and `wait`.
    ///
    /// # Cancel safety
    /// The signal is sent at the first poll; dropping the future then leaves the child to a
    /// later `wait` or to the reaper.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Closes stdin, reads stdout and stderr to their ends (both at once, so a child that fills
    /// one while we read the other cannot stall), and waits for the process. A stream that was
    /// not piped gives an empty buffer.
    ///
    /// # Examples
    /// ```
    /// use std::process::Stdio;
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let child = runtime::process::Command::new("echo").arg("out").stdout(Stdio::piped()).spawn()?;
    /// let output = child.wait_with_output().await?;
    /// assert_eq!(output.stdout, b"out\n");
    /// assert!(output.status.success());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The pipes' and `wait`'s.
    ///
    /// # Cancel safety
    /// Dropping the future drops the child (see [`Child`]): what was read is lost.
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (mut stdout, mut stderr) = (self.stdout.take(), self.stderr.take());
        let (out, err) = futures::future::try_join(read_all(stdout.as_mut()), read_all(stderr.as_mut())).await?;
        let status = self.wait().await?;
        Ok(Output { status, stdout: out, stderr: err })
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.process.pid())
            .field("status", &self.process.status)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .field("kill_on_drop", &self.process.kill_on_drop)
            .finish()
    }
}
