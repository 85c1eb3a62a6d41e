//! The child-process cases, written once: `process_child.rs` runs them on the default path
//! (pidfds on Linux 5.3+), `process_fallback.rs` on the SIGCHLD path. Each case first calls the
//! including target's `setup()`, which picks the path, and `waits_on_the_expected_path` checks
//! that the path taken was that one.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use futures::prelude::*;
use runtime::process::Command;

/// 8 MiB: far beyond a pipe's buffer (64 KiB), so a reader that drains one pipe before the other
/// would stall the child on the other.
const BIG: usize = 8 << 20;

on_every_backend! {
    async fn waits_on_the_expected_path() -> io::Result<()> {
        super::setup();
        let pidfd = runtime::__private::process_uses_pidfd();
        eprintln!("waiting for children through {}", if pidfd { "pidfds" } else { "SIGCHLD" });
        assert!(Command::new("true").status().await?.success());
        #[cfg(target_os = "linux")]
        assert_eq!(sigchld_caught(), super::expects_sigchld_handler(), "pidfd path: {pidfd}");
        Ok(())
    }

    async fn exit_codes() -> io::Result<()> {
        super::setup();
        assert!(Command::new("true").status().await?.success());
        assert_eq!(Command::new("false").status().await?.code(), Some(1));
        assert_eq!(Command::new("sh").args(["-c", "exit 3"]).status().await?.code(), Some(3));
        let mut child = Command::new("sh").args(["-c", "exit 42"]).spawn()?;
        assert_eq!(child.wait().await?.code(), Some(42));
        // Waiting again gives the same status.
        assert_eq!(child.wait().await?.code(), Some(42));
        Ok(())
    }

    async fn stdin_written_then_closed() -> io::Result<()> {
        super::setup();
        let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
        let mut stdin = child.stdin.take().expect("piped");
        let mut stdout = child.stdout.take().expect("piped");
        let writer = async {
            stdin.write_all(b"line one\nline two\n").await?;
            // `cat` ends only when it reads end of file: `close` must close the pipe.
            stdin.close().await?;
            io::Result::Ok(())
        };
        let mut out = String::new();
        let (written, read) = future::join(writer, stdout.read_to_string(&mut out)).await;
        written?;
        read?;
        assert_eq!(out, "line one\nline two\n");
        assert!(child.wait().await?.success());
        // A closed stdin refuses writes.
        let err = stdin.write_all(b"more").await.expect_err("stdin was closed");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        Ok(())
    }

    async fn wait_closes_stdin_first() -> io::Result<()> {
        super::setup();
        // `cat` waits for end of file: `wait` must drop stdin or wait forever.
        let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::null()).spawn()?;
        child.stdin.as_mut().expect("piped").write_all(b"data").await?;
        assert!(child.wait().await?.success());
        assert!(child.stdin.is_none());
        Ok(())
    }

    async fn stdout_and_stderr_read_at_once() -> io::Result<()> {
        super::setup();
        let output = Command::new("sh").args(["-c", "echo out; echo err >&2; exit 5"]).output().await?;
        assert_eq!(output.status.code(), Some(5));
        assert_eq!(output.stdout, b"out\n");
        assert_eq!(output.stderr, b"err\n");
        Ok(())
    }

    async fn eight_mib_on_each_stream() -> io::Result<()> {
        super::setup();
        // Each order: a reader that drained stdout (or stderr) first would stall on the other.
        for script in [
            format!("head -c {BIG} /dev/zero >&2; head -c {BIG} /dev/zero"),
            format!("head -c {BIG} /dev/zero; head -c {BIG} /dev/zero >&2"),
        ] {
            let output = Command::new("sh").args(["-c", &script]).output().await?;
            assert!(output.status.success(), "{script}: {:?}", output.status);
            assert_eq!(output.stdout.len(), BIG, "{script}");
            assert_eq!(output.stderr.len(), BIG, "{script}");
            assert!(output.stdout.iter().chain(&output.stderr).all(|b| *b == 0));
        }
        Ok(())
    }

    async fn output_leaves_stdin_null_and_spawn_inherits_after() -> io::Result<()> {
        super::setup();
        // std's `output` gives the child a null stdin: `cat` reads end of file at once.
        let mut cat = Command::new("cat");
        let output = cat.output().await?;
        assert!(output.status.success());
        assert!(output.stdout.is_empty());
        // Streams the caller set are kept: stdout to null here.
        let output = Command::new("echo").arg("hidden").stdout(Stdio::null()).output().await?;
        assert!(output.stdout.is_empty());
        Ok(())
    }

    async fn env_and_current_dir() -> io::Result<()> {
        super::setup();
        let dir = TempDir::new("cwd")?;
        let output = Command::new("sh")
            .args(["-c", "echo \"$GREETING\"; echo \"${GONE-unset}\"; pwd -P"])
            .env("GREETING", "hello")
            .env("GONE", "here")
            .env_remove("GONE")
            .current_dir(&dir.0)
            .output()
            .await?;
        let expected = format!("hello\nunset\n{}\n", dir.0.canonicalize()?.display());
        assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
        let output = Command::new("/usr/bin/env").env_clear().env("ONLY", "1").output().await?;
        assert_eq!(output.stdout, b"ONLY=1\n");
        Ok(())
    }

    async fn missing_program_is_not_found_naming_it() {
        super::setup();
        let err = Command::new("runtime-no-such-program").spawn().expect_err("no such program");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("runtime-no-such-program"), "{err}");
        let err = Command::new("runtime-no-such-program").output().await.expect_err("no such program");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    async fn kill_then_wait() -> io::Result<()> {
        super::setup();
        let mut child = Command::new("sleep").arg("60").spawn()?;
        let pid = child.id().expect("running");
        assert!(pid > 0);
        child.kill().await?;
        let status = child.wait().await?;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert_eq!(child.id(), None);
        // Killing a reaped child does nothing (the pid may be another process's by now).
        child.start_kill()?;
        child.kill().await?;
        Ok(())
    }

    async fn try_wait_before_and_after_exit() -> io::Result<()> {
        super::setup();
        let mut child = Command::new("cat").stdin(Stdio::piped()).spawn()?;
        assert!(child.try_wait()?.is_none(), "cat waits for its input");
        assert!(child.id().is_some());
        child.start_kill()?;
        let status = child.wait().await?;
        assert_eq!(child.try_wait()?, Some(status));
        assert_eq!(child.id(), None);

        // Reaped by try_wait alone: `wait` then reports the same status.
        let mut child = Command::new("true").stdout(Stdio::piped()).spawn()?;
        let mut out = Vec::new();
        // End of file on stdout: the child is exiting; try_wait until it has.
        child.stdout.take().expect("piped").read_to_end(&mut out).await?;
        let status = child.wait().await?;
        assert!(status.success());
        assert_eq!(child.try_wait()?, Some(status));
        Ok(())
    }

    async fn kill_on_drop_kills() -> io::Result<()> {
        super::setup();
        // `sleep` holds the pipe's write end: end of file on it means the process is gone.
        let mut child = Command::new("sleep").arg("600").stdout(Stdio::piped()).kill_on_drop(true).spawn()?;
        let mut stdout = child.stdout.take().expect("piped");
        drop(child);
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).await?;
        assert!(out.is_empty());
        Ok(())
    }

    async fn dropped_child_runs_on_without_kill_on_drop() -> io::Result<()> {
        super::setup();
        let mut child = Command::new("sh")
            .args(["-c", "read line; echo \"got $line\""])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let (mut stdin, mut stdout) = (child.stdin.take().expect("piped"), child.stdout.take().expect("piped"));
        drop(child);
        stdin.write_all(b"still alive\n").await?;
        drop(stdin);
        let mut out = String::new();
        stdout.read_to_string(&mut out).await?;
        assert_eq!(out, "got still alive\n");
        Ok(())
    }

    async fn a_hundred_children_at_once() -> io::Result<()> {
        super::setup();
        let mut waits = Vec::new();
        for i in 0..100 {
            let mut child = Command::new("sh").args(["-c", &format!("exit {i}")]).spawn()?;
            waits.push(runtime::spawn(async move { (i, child.wait().await) }));
        }
        for wait in waits {
            let (i, status) = wait.await;
            assert_eq!(status?.code(), Some(i));
        }
        // And a hundred `output`s at once, each with its own pipes.
        let outputs = (0..100).map(|i| async move {
            let output = Command::new("echo").arg(i.to_string()).output().await?;
            assert_eq!(output.stdout, format!("{i}\n").into_bytes());
            io::Result::Ok(())
        });
        future::try_join_all(outputs).await?;
        Ok(())
    }

    async fn pipes_expose_their_descriptors() -> io::Result<()> {
        super::setup();
        let child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let fds = [
            child.stdin.as_ref().expect("piped").as_raw_fd(),
            child.stdout.as_ref().expect("piped").as_raw_fd(),
            child.stderr.as_ref().expect("piped").as_raw_fd(),
        ];
        assert!(fds.iter().all(|fd| *fd > 2), "{fds:?}");
        assert!(format!("{child:?}").contains("Child"));
        let output = child.wait_with_output().await?;
        assert!(output.status.success());
        Ok(())
    }

    async fn futures_are_send_and_run_in_spawned_tasks() -> io::Result<()> {
        super::setup();
        let output = runtime::spawn(async { Command::new("echo").arg("from a task").output().await }).await?;
        assert_eq!(output.stdout, b"from a task\n");
        let status = runtime::spawn(async {
            let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
            child.stdin.take().expect("piped").write_all(b"x").await?;
            child.wait_with_output().await
        })
        .await?;
        assert_eq!(status.stdout, b"x");
        Ok(())
    }
}

/// Whether this process has a handler for SIGCHLD (`SigCgt` in `/proc/self/status`, a mask whose
/// bit n-1 stands for signal n).
#[cfg(target_os = "linux")]
fn sigchld_caught() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let mask = status.lines().find_map(|line| line.strip_prefix("SigCgt:")).expect("SigCgt in /proc/self/status");
    let mask = u64::from_str_radix(mask.trim(), 16).expect("SigCgt is hexadecimal");
    mask & (1 << (libc::SIGCHLD - 1)) != 0
}

/// A fresh directory in the temp directory, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> io::Result<TempDir> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("runtime-process-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path)?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
