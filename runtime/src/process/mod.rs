//! Child processes, mirroring `std::process`: [`Command`] spawns a [`Child`] whose pipes are
//! non-blocking and driven by the instance's reactor, and whose exit is awaited without a thread.
//!
//! - **Waiting.** On Linux 5.3 and later a waiting `Child` registers its process's pidfd with
//!   the reactor: it becomes readable when the process exits, and the child is then reaped with
//!   `waitpid` on its pid alone, so waiting costs no thread and installs no SIGCHLD handler.
//!   Where pidfds are not available (other Unixes, Linux before 5.3, a seccomp filter refusing
//!   `pidfd_open`), it listens for SIGCHLD instead (see [`crate::signal`]) and checks its own
//!   pid on each delivery. Either way only the
//!   runtime's own children are ever reaped: never `waitpid(-1)`.
//! - **No zombies.** A `Child` dropped before its process was reaped hands the pid to a
//!   process-wide reaper thread that exists only while there are such orphans. With
//!   [`Command::kill_on_drop`], the process is killed first.
//! - **Pipes.** [`ChildStdin`] is a futures-io `AsyncWrite`, [`ChildStdout`] and [`ChildStderr`]
//!   are `AsyncRead` (and Tokio's traits with the feature `tokio-io`).
//!
//! ```
//! use runtime::process::Command;
//!
//! #[runtime::main]
//! async fn main() -> std::io::Result<()> {
//!     let output = Command::new("echo").arg("hello").output().await?;
//!     assert!(output.status.success());
//!     assert_eq!(output.stdout, b"hello\n");
//!     Ok(())
//! }
//! ```

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

mod child;
mod pipe;
mod reaper;
mod sys;

pub use child::Child;
pub use pipe::{ChildStderr, ChildStdin, ChildStdout};
pub(crate) use sys::{force_sigchld, pidfd_enabled};

/// A process builder: std's [`Command`](std::process::Command), whose children are awaited
/// instead of blocked on.
///
/// # Examples
/// ```
/// use runtime::process::Command;
///
/// #[runtime::main]
/// async fn main() -> std::io::Result<()> {
///     let status = Command::new("sh").args(["-c", "test \"$GREETING\" = hi"]).env("GREETING", "hi").status().await?;
///     assert!(status.success());
///     Ok(())
/// }
/// ```
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    /// Which of stdin, stdout and stderr the caller chose: `output` gives the others its own
    /// defaults (null, piped, piped), as std's `output` does.
    chosen: [bool; 3],
}

impl Command {
    /// A command that runs `program`, found in `PATH` unless it is a path; no arguments,
    /// the parent's environment and working directory, stdin/stdout/stderr inherited.
    ///
    /// # Examples
    /// ```
    /// let mut ls = runtime::process::Command::new("ls");
    /// ls.arg("-l");
    /// ```
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds an argument.
    ///
    /// # Examples
    /// ```
    /// runtime::process::Command::new("ls").arg("-l").arg("/");
    /// ```
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    ///
    /// # Examples
    /// ```
    /// runtime::process::Command::new("ls").args(["-l", "/"]);
    /// ```
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    ///
    /// # Examples
    /// ```
    /// runtime::process::Command::new("env").env("LANG", "C");
    /// ```
    pub fn env<K, V>(&mut self, key: K, val: V) -> &mut Command
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.env(key, val);
        self
    }

    /// Sets environment variables for the child.
    ///
    /// # Examples
    /// ```
    /// runtime::process::Command::new("env").envs([("LANG", "C"), ("TZ", "UTC")]);
    /// ```
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    ///
    /// # Examples
    /// ```
    /// runtime::process::Command::new("env").env_remove("HOME");
    /// ```
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Gives the child an empty environment (variables set afterwards are kept).
    ///
    /// # Examples
    /// ```
    /// runtime::process::Command::new("env").env_clear().env("PATH", "/bin");
    /// ```
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    ///
    /// # Examples
    /// ```
    /// runtime::process::Command::new("ls").current_dir("/");
    /// ```
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Sets the child's stdin (default: inherited; for [`output`](Self::output), null).
    ///
    /// # Examples
    /// ```
    /// runtime::process::Command::new("cat").stdin(std::process::Stdio::piped());
    /// ```
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdin(cfg);
        self.chosen[0] = true;
        self
    }

    /// Sets the child's stdout (default: inherited; for [`output`](Self::output), piped).
    ///
    /// # Examples
    /// ```
    /// runtime::process::Command::new("ls").stdout(std::process::Stdio::null());
    /// ```
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdout(cfg);
        self.chosen[1] = true;
        self
    }

    /// Sets the child's stderr (default: inherited; for [`output`](Self::output), piped).
    ///
    /// # Examples
    /// ```
    /// runtime::process::Command::new("ls").stderr(std::process::Stdio::null());
    /// ```
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stderr(cfg);
        self.chosen[2] = true;
        self
    }

    /// Whether a [`Child`] of this command that is dropped before its process exited kills
    /// it (`SIGKILL`) first; default `false`. This includes a `Child` held by a task that is
    /// dropped when its instance shuts down. Either way the process is reaped when it exits.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let child = runtime::process::Command::new("sleep").arg("60").kill_on_drop(true).spawn()?;
    /// drop(child); // killed now, reaped in the background
    /// # Ok(())
    /// # }
    /// ```
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// The std command inside, for what only std offers.
    ///
    /// # Examples
    /// ```
    /// let cmd = runtime::process::Command::new("ls");
    /// assert_eq!(cmd.as_std().get_program(), "ls");
    /// ```
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// Starts the process, with its pipes (those set to [`Stdio::piped`]) registered with the
    /// running instance.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = runtime::process::Command::new("true").spawn()?;
    /// child.wait().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, naming the program: `NotFound` when there is no such program.
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn spawn(&mut self) -> io::Result<Child> {
        let instance = crate::instance("Command::spawn");
        let std = self.std.spawn().map_err(|e| {
            let program = self.std.get_program();
            io::Error::new(e.kind(), format!("could not run {program:?}: {e}"))
        })?;
        Child::new(&instance, std, self.kill_on_drop)
    }

    /// Runs the command to its end: [`spawn`](Self::spawn), then [`Child::wait`].
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let status = runtime::process::Command::new("false").status().await?;
    /// assert_eq!(status.code(), Some(1));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// `spawn`'s and `wait`'s.
    ///
    /// # Panics
    /// When first polled outside a running runtime.
    ///
    /// # Cancel safety
    /// Dropping the future drops the child (see [`Child`]).
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn()?.wait().await
    }

    /// Runs the command to its end and collects its output: stdout and stderr are piped (unless
    /// set otherwise) and read at once, stdin is null (unless set otherwise), as std's `output`.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let output = runtime::process::Command::new("sh").args(["-c", "echo out; echo err >&2"]).output().await?;
    /// assert_eq!(output.stdout, b"out\n");
    /// assert_eq!(output.stderr, b"err\n");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// `spawn`'s, the pipes' and `wait`'s.
    ///
    /// # Panics
    /// When first polled outside a running runtime.
    ///
    /// # Cancel safety
    /// Dropping the future drops the child (see [`Child`]).
    pub async fn output(&mut self) -> io::Result<Output> {
        let [stdin, stdout, stderr] = self.chosen;
        if !stdin {
            self.std.stdin(Stdio::null());
        }
        if !stdout {
            self.std.stdout(Stdio::piped());
        }
        if !stderr {
            self.std.stderr(Stdio::piped());
        }
        let child = self.spawn();
        // Back to what `spawn` uses by default, for later calls.
        for (chosen, set) in [(stdin, 0), (stdout, 1), (stderr, 2)] {
            if !chosen {
                match set {
                    0 => self.std.stdin(Stdio::inherit()),
                    1 => self.std.stdout(Stdio::inherit()),
                    _ => self.std.stderr(Stdio::inherit()),
                };
            }
        }
        child?.wait_with_output().await
    }
}

impl From<std::process::Command> for Command {
    /// Wraps a std command, for the Unix options std has (`process_group`, `uid`, `pre_exec`).
    /// Its stdio settings count as not chosen: [`Command::output`] gives them its defaults.
    fn from(std: std::process::Command) -> Command {
        Command { std, kill_on_drop: false, chosen: [false; 3] }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command").field("std", &self.std).field("kill_on_drop", &self.kill_on_drop).finish()
    }
}
