//! Builds on `cargo test` having built the examples: runs every example binary with small
//! arguments, drives the servers over 127.0.0.1, and checks what they print and send back.
//! Every child is killed and reaped when its guard drops, even when an assertion fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long any one example may take before the test fails.
const LIMIT: Duration = Duration::from_secs(60);

/// `target/<profile>/examples/NAME`, next to this test's own binary.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps");
    let path = profile_dir.join("examples").join(name);
    assert!(path.exists(), "{} is missing: `cargo test` builds the examples before their tests", path.display());
    path
}

/// A child process that is killed and reaped when dropped; its stdout arrives line by line.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    addr: std::cell::OnceCell<SocketAddr>,
}

impl Running {
    fn start(name: &str, args: &[&str]) -> Running {
        let mut child = Command::new(example(name))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines, addr: std::cell::OnceCell::new() }
    }

    /// The address from its first line, read once and remembered.
    fn bound_addr_once(&self) -> SocketAddr {
        *self.addr.get_or_init(|| self.bound_addr())
    }

    fn next_line(&self) -> String {
        self.lines.recv_timeout(LIMIT).expect("the example printed a line in time")
    }

    /// The address from its first line, "listening on ADDR...".
    fn bound_addr(&self) -> SocketAddr {
        let line = self.next_line();
        let rest = line.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        rest.split([',', ' ']).next().unwrap().parse().unwrap_or_else(|e| panic!("address in {line:?}: {e}"))
    }

    /// Waits for it to exit by itself; returns its exit status and the rest of its output.
    fn finish(mut self) -> (std::process::ExitStatus, Vec<String>) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "example did not exit within {LIMIT:?}");
            std::thread::sleep(Duration::from_millis(10));
        };
        let rest = self.lines.iter().collect();
        (status, rest)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_to_end(name: &str, args: &[&str]) -> (std::process::ExitStatus, Vec<String>) {
    Running::start(name, args).finish()
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    stream
}

#[test]
fn hello() {
    let (status, out) = run_to_end("hello", &[]);
    assert!(status.success());
    assert_eq!(out, ["hello from a spawned task"]);
}

#[test]
fn return_value() {
    let (status, out) = run_to_end("return-value", &[]);
    assert!(status.success());
    assert_eq!(out, ["task returned [1, 2, 39]", "enter returned 42"]);
    let (status, _) = run_to_end("return-value", &["fail"]);
    assert!(!status.success(), "main returning Err exits non-zero");
}

#[test]
fn sleep() {
    let (status, out) = run_to_end("sleep", &[]);
    assert!(status.success());
    assert!(out[0].starts_with("delay fired after "), "{out:?}");
    assert_eq!(out.iter().filter(|l| l.starts_with("interval tick")).count(), 3);
    assert!(out.contains(&"future timeout: Ok(\"in time\")".to_string()), "{out:?}");
    assert!(out.contains(&"future timeout: Err(TimedOut)".to_string()), "{out:?}");
    assert!(out.contains(&"stream item 2".to_string()) && out.contains(&"stream timeout: TimedOut".to_string()));
}

#[test]
fn tcp_echo_and_client() {
    let server = Running::start("tcp-echo", &["127.0.0.1:0", "--max-connections", "2"]);
    let addr = server.bound_addr();
    // A raw client first.
    let mut raw = connect(addr);
    raw.write_all(b"ping over tcp").unwrap();
    let mut back = [0u8; 13];
    raw.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"ping over tcp");
    drop(raw);
    // Then the tcp-client example.
    let (status, out) = run_to_end("tcp-client", &[&addr.to_string(), "--message", "hello echo"]);
    assert!(status.success());
    assert_eq!(out, ["hello echo"]);
    let (status, rest) = server.finish();
    assert!(status.success(), "the server stops after 2 connections");
    assert_eq!(rest.iter().filter(|l| l.contains("echoed")).count(), 2, "{rest:?}");
}

#[test]
fn tcp_client_reads_stdin_lines() {
    let server = Running::start("tcp-echo", &["127.0.0.1:0", "--max-connections", "1"]);
    let addr = server.bound_addr();
    let mut client = Running::start("tcp-client", &[&addr.to_string()]);
    client.child.stdin.take().unwrap().write_all(b"one\ntwo\n").unwrap();
    let (status, out) = client.finish();
    assert!(status.success());
    assert_eq!(out, ["one", "two"]);
    assert!(server.finish().0.success());
}

#[test]
fn tcp_proxy_forwards_both_ways() {
    let upstream = Running::start("tcp-echo", &["127.0.0.1:0", "--max-connections", "1"]);
    let upstream_addr = upstream.bound_addr();
    let proxy = Running::start("tcp-proxy", &["127.0.0.1:0", &upstream_addr.to_string(), "--max-connections", "1"]);
    let proxy_addr = proxy.bound_addr();
    let mut client = connect(proxy_addr);
    client.write_all(b"through the proxy").unwrap();
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let mut back = String::new();
    client.read_to_string(&mut back).unwrap();
    assert_eq!(back, "through the proxy");
    let (status, rest) = proxy.finish();
    assert!(status.success());
    assert!(rest.iter().any(|l| l.contains("17 bytes up, 17 bytes down")), "{rest:?}");
    assert!(upstream.finish().0.success());
}

/// Several listeners share one port with `SO_REUSEPORT`: every connection to it is accepted by
/// one of them and echoed.
#[test]
fn tcp_reuseport_listeners_share_a_port() {
    let server = Running::start("tcp-reuseport", &["127.0.0.1:0", "--workers", "3", "--max-connections", "6"]);
    let first = server.next_line();
    let addr: SocketAddr = first
        .strip_prefix("listening on ")
        .and_then(|rest| rest.split(',').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    assert!(first.ends_with("3 listeners sharing the port"), "{first:?}");
    for i in 0..6 {
        let mut client = connect(addr);
        let message = format!("connection {i}");
        client.write_all(message.as_bytes()).unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        let mut back = String::new();
        client.read_to_string(&mut back).unwrap();
        assert_eq!(back, message);
    }
    let (status, rest) = server.finish();
    assert!(status.success(), "the server stops after 6 connections");
    let echoed: Vec<_> = rest.iter().filter(|l| l.starts_with("worker ") && l.ends_with(" bytes")).collect();
    assert_eq!(echoed.len(), 6, "{rest:?}");
}

#[test]
fn udp_echo_and_client() {
    let server = Running::start("udp-echo", &["127.0.0.1:0", "--max-datagrams", "2"]);
    let addr = server.bound_addr();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(LIMIT)).unwrap();
    socket.send_to(b"datagram", addr).unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = socket.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"datagram"[..], addr));
    let (status, out) = run_to_end("udp-client", &[&addr.to_string(), "--message", "via udp-client"]);
    assert!(status.success());
    assert_eq!(out, ["via udp-client"]);
    assert!(server.finish().0.success());
}

#[test]
fn guessing_game() {
    let server = Running::start("guessing", &["127.0.0.1:0", "--max-connections", "1", "--seed", "42"]);
    let addr = server.bound_addr();
    let stream = connect(addr);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("Guess the number"), "{line:?}");
    // Binary search: at most 7 guesses for 1..=100.
    let (mut low, mut high) = (1u64, 100u64);
    let mut won = false;
    for _ in 0..7 {
        let guess = (low + high) / 2;
        writeln!(writer, "{guess}").unwrap();
        line.clear();
        reader.read_line(&mut line).unwrap();
        match line.trim() {
            "Too small!" => low = guess + 1,
            "Too big!" => high = guess - 1,
            reply if reply.starts_with("You win") => {
                won = true;
                break;
            }
            other => panic!("unexpected reply {other:?}"),
        }
    }
    assert!(won, "binary search wins within 7 guesses");
    writeln!(writer, "not a number").ok();
    drop(writer);
    drop(reader);
    let (status, rest) = server.finish();
    assert!(status.success());
    assert!(rest.iter().any(|l| l.contains("game over")), "{rest:?}");
}

#[test]
fn racing() {
    let (status, out) = run_to_end("racing", &["--threads", "4", "--tasks", "2000"]);
    assert!(status.success());
    assert!(out.contains(&"ran exactly once: 8000, lost: 0, ran more than once: 0".to_string()), "{out:?}");
}

#[test]
fn heavy_load() {
    let (status, out) = run_to_end("heavy-load", &["--tasks", "8"]);
    assert!(status.success());
    assert_eq!(out[0].split(' ').next(), Some("8"));
    assert!(out.iter().any(|l| l.starts_with("runtime-native-worker")), "{out:?}");
}

#[test]
fn benchmark_table() {
    let (status, out) = run_to_end("benchmark", &[]);
    assert!(status.success());
    assert!(out[0].contains("native") && out[0].contains("tokio"), "{out:?}");
    for workload in ["spawn_many", "yield_many", "ping_pong"] {
        assert!(out.iter().any(|l| l.starts_with(workload) && l.ends_with('x')), "{workload}: {out:?}");
    }
}

#[test]
fn macros() {
    let (status, out) = run_to_end("macros", &[]);
    assert!(status.success());
    assert!(out.contains(&"join!: 1 and joined".to_string()), "{out:?}");
    let won = out.iter().position(|l| l == "select!: fast won").expect("fast wins");
    let slow_dropped = out.iter().position(|l| l == "dropped: slow").expect("the loser is dropped");
    assert!(slow_dropped < won, "the loser is dropped before select! returns: {out:?}");
    assert!(out.contains(&"try_join!: Ok((1, 2))".to_string()));
    assert!(out.contains(&"try_join!: Err(\"boom\")".to_string()));
}

#[cfg(target_os = "linux")]
#[test]
fn memory_usage() {
    let (status, out) = run_to_end("memory-usage", &["--tasks", "20000"]);
    assert!(status.success());
    let bytes: f64 = out[0]
        .strip_prefix("20000 pending tasks: ")
        .and_then(|rest| rest.strip_suffix(" bytes each"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!(bytes > 0.0, "{out:?}");
}

/// `cat` copies its files to stdout byte for byte, in order, and reports one it cannot read,
/// naming it, with exit status 1.
#[test]
fn cat_copies_files_to_stdout() {
    let dir = std::env::temp_dir().join(format!("runtime-example-cat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    struct RemoveDir(PathBuf);
    impl Drop for RemoveDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = RemoveDir(dir.clone());
    // Larger than the example's chunk, and not text.
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let (a, b, missing) = (dir.join("a"), dir.join("b"), dir.join("missing"));
    std::fs::write(&a, &big).unwrap();
    std::fs::write(&b, b"second file\n").unwrap();
    let output = Command::new(example("cat")).args([&a, &missing, &b]).stdin(Stdio::null()).output().expect("run cat");
    let mut expected = big.clone();
    expected.extend_from_slice(b"second file\n");
    assert!(output.stdout == expected, "cat's stdout differs ({} bytes)", output.stdout.len());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("No such file or directory") && stderr.contains(&*missing.to_string_lossy()), "{stderr}");
    // Without a failure, status 0.
    let output = Command::new(example("cat")).arg(&b).stdin(Stdio::null()).output().expect("run cat");
    assert!(output.status.success());
    assert_eq!(output.stdout, b"second file\n");
}

/// Runs curl with `args`; its stdout. curl is part of the test (the issue drives the server
/// with it), so its absence fails the test with a message saying so.
fn curl(args: &[&str]) -> Vec<u8> {
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "30"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("this test drives the server with curl, which did not run: {e}"));
    assert!(output.status.success(), "curl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// `http-server` serves a directory over HTTP/1.1 with keep-alive and parallel clients, and
/// refuses what it must: a missing file (404), paths out of its root (403), other methods (405).
#[test]
fn http_server_serves_files() {
    let base = std::env::temp_dir().join(format!("runtime-example-http-{}", std::process::id()));
    struct RemoveDir(PathBuf);
    impl Drop for RemoveDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = RemoveDir(base.clone());
    let root = base.join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("index.html"), "<h1>home</h1>\n").unwrap();
    std::fs::write(root.join("sub").join("note.txt"), "a note\n").unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(root.join("big.bin"), &big).unwrap();
    std::fs::write(base.join("secret.txt"), "outside the root\n").unwrap();
    std::os::unix::fs::symlink(base.join("secret.txt"), root.join("link.txt")).unwrap();

    let server = Running::start("http-server", &[root.to_str().unwrap(), "127.0.0.1:0"]);
    let url = |path: &str| format!("http://{}{path}", server.bound_addr_once());
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("curl's -w output is text");

    // Three requests on one keep-alive connection: curl connects once, then reuses it.
    let (home, note, bin) = (url("/"), url("/sub/note.txt"), url("/big.bin"));
    let format = "%{http_code} %{num_connects} %{size_download} %{content_type}\\n";
    let lines =
        text(curl(&["-w", format, "-o", "/dev/null", &home, "-o", "/dev/null", &note, "-o", "/dev/null", &bin]));
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(
        lines,
        [
            "200 1 14 text/html; charset=utf-8",
            "200 0 7 text/plain; charset=utf-8",
            "200 0 300000 application/octet-stream",
        ],
        "status, new connections, bytes, type"
    );
    assert!(curl(&[&bin]) == big, "the body is the file, byte for byte");

    // 20 requests in parallel, each on its own connection.
    let mut args =
        vec!["--parallel", "--parallel-immediate", "--parallel-max", "20", "-w", "%{http_code} %{size_download}\\n"];
    let urls: Vec<String> = (0..20).map(|i| url(if i % 2 == 0 { "/sub/note.txt" } else { "/big.bin" })).collect();
    for u in &urls {
        args.extend(["-o", "/dev/null", u.as_str()]);
    }
    let statuses = text(curl(&args));
    let mut statuses: Vec<&str> = statuses.lines().collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [["200 300000"; 10], ["200 7"; 10]].concat());

    // What is refused.
    let status_of = |extra: &[&str], path: &str| {
        let mut args = vec!["-o", "/dev/null", "-w", "%{http_code}"];
        args.extend_from_slice(extra);
        let target = url(path);
        args.push(&target);
        text(curl(&args))
    };
    assert_eq!(status_of(&[], "/missing.txt"), "404");
    assert_eq!(status_of(&["--path-as-is"], "/../secret.txt"), "403", "`..` must not leave the root");
    assert_eq!(status_of(&["--path-as-is"], "/sub/%2e%2e/%2e%2e/secret.txt"), "403", "nor an escaped one");
    assert_eq!(status_of(&[], "/link.txt"), "403", "nor a symbolic link out of it");
    assert_eq!(status_of(&["-X", "POST"], "/"), "405");
    // HEAD: the length, no body.
    let head = text(curl(&["--head", &note]));
    assert!(head.starts_with("HTTP/1.1 200") && head.to_ascii_lowercase().contains("content-length: 7"), "{head}");
}

/// The main demo prints one row per backend and the ratio, from a small run.
#[test]
fn side_by_side_table() {
    let (status, out) = run_to_end("side-by-side", &["--connections", "4", "--trips", "20", "--rounds", "1"]);
    assert!(status.success(), "{out:?}");
    assert!(out[0].starts_with("TCP echo, written once: 4 connections x 20 round trips"), "{out:?}");
    for backend in ["native", "tokio"] {
        let row = out
            .iter()
            .find(|l| l.starts_with(backend) && !l.contains("throughput"))
            .unwrap_or_else(|| panic!("{out:?}"));
        let trips_per_sec: f64 =
            row.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{row}"));
        assert!(trips_per_sec > 0.0, "{row}");
    }
    assert!(out.iter().any(|l| l.starts_with("native/tokio throughput: ") && l.ends_with('x')), "{out:?}");
    assert!(out.iter().any(|l| l.contains("#[runtime::main(runtime_tokio::Tokio)]")), "{out:?}");
}

/// `pipeline` streams 200 000 lines (several MiB) through `tr` while reading them back: far more
/// than a pipe holds, so it finishes only if writing and reading overlap.
#[cfg(unix)]
#[test]
fn pipeline_streams_through_a_child() {
    let (status, out) = run_to_end("pipeline", &["--lines", "200000"]);
    assert!(status.success(), "{out:?}");
    assert_eq!(
        out,
        ["sent 200000 lines, received 200000 lines", "last line: LINE 200000 OF 200000", "child: exit status: 0"]
    );
}

/// Sends SIGINT to a running example, as ctrl-c in its terminal would (through the shell's
/// `kill`, so that this test needs no libc).
#[cfg(unix)]
fn interrupt(running: &Running) {
    let kill = format!("kill -INT {}", running.child.id());
    let status = Command::new("sh").args(["-c", &kill]).status().expect("run sh");
    assert!(status.success(), "{kill}: {status}");
}

/// On ctrl-c `graceful` stops accepting at once, lets the connection in flight finish, and
/// exits 0.
#[cfg(unix)]
#[test]
fn graceful_finishes_connections_in_flight_on_ctrl_c() {
    let server = Running::start("graceful", &["127.0.0.1:0", "--grace-ms", "60000"]);
    let addr = server.bound_addr();
    let mut client = connect(addr);
    client.write_all(b"in flight, ").unwrap();
    let line = server.next_line();
    assert!(line.starts_with("connection from "), "{line}");
    interrupt(&server);
    let line = server.next_line();
    assert!(line.starts_with("ctrl-c: stopped accepting") && line.ends_with("for 1 connection(s)"), "{line}");
    let refused = TcpStream::connect(addr).expect_err("the server stopped accepting");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    client.write_all(b"then done").unwrap();
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let mut back = String::new();
    client.read_to_string(&mut back).unwrap();
    assert_eq!(back, "IN FLIGHT, THEN DONE");
    let (status, rest) = server.finish();
    assert!(status.success(), "{status}: {rest:?}");
    assert!(rest.iter().any(|l| l.ends_with(": served 20 bytes")), "{rest:?}");
    assert_eq!(rest.last().map(String::as_str), Some("all connections finished; exiting"), "{rest:?}");
}

/// A connection that does not finish holds `graceful` only until its deadline; it still exits 0.
#[cfg(unix)]
#[test]
fn graceful_exits_at_its_deadline() {
    let server = Running::start("graceful", &["127.0.0.1:0", "--grace-ms", "200"]);
    let addr = server.bound_addr();
    // Connected, and never closing its side while the server waits.
    let _client = connect(addr);
    let line = server.next_line();
    assert!(line.starts_with("connection from "), "{line}");
    interrupt(&server);
    let (status, rest) = server.finish();
    assert!(status.success(), "{status}: {rest:?}");
    assert_eq!(
        rest.last().map(String::as_str),
        Some("deadline passed with connections still open; exiting"),
        "{rest:?}"
    );
}
