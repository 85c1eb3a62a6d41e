//! Runs a child process and talks to it through its pipes: streams lines into its stdin while
//! reading its stdout, both at once.
//!
//! Usage: `cargo run --example pipeline -- [--lines N]` (default 100000). The child is
//! `tr a-z A-Z`; the lines sent are far more than a pipe holds (64 KiB on Linux), so writing them
//! all before reading would stall both processes: the child would wait for us to read its output
//! while we waited for it to read our input. Writing and reading concurrently never stalls.

use std::io;
use std::process::Stdio;

use futures::io::{BufReader, BufWriter};
use futures::prelude::*;
use runtime::process::Command;

/// Lines sent unless `--lines` says otherwise: a few MiB, much more than a pipe's buffer.
const DEFAULT_LINES: usize = 100_000;

#[runtime::main]
async fn main() -> io::Result<()> {
    let args = runtime_examples::Args::parse();
    let lines = args.number("--lines").unwrap_or(DEFAULT_LINES);

    let mut child = Command::new("tr").args(["a-z", "A-Z"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    let stdin = child.stdin.take().expect("stdin was piped");
    let stdout = child.stdout.take().expect("stdout was piped");

    let send = async move {
        let mut stdin = BufWriter::new(stdin);
        for i in 1..=lines {
            stdin.write_all(format!("line {i} of {lines}\n").as_bytes()).await?;
        }
        // Flushes the buffer and closes the pipe: `tr` reads end of file and exits.
        stdin.close().await?;
        io::Result::Ok(lines)
    };
    let receive = async move {
        let mut received = 0;
        let mut last = String::new();
        let mut replies = BufReader::new(stdout).lines();
        while let Some(line) = replies.next().await {
            let line = line?;
            received += 1;
            let expected = format!("LINE {received} OF {lines}");
            if line != expected {
                return Err(io::Error::new(io::ErrorKind::InvalidData, format!("expected {expected:?}, got {line:?}")));
            }
            last = line;
        }
        io::Result::Ok((received, last))
    };
    let (sent, (received, last)) = future::try_join(send, receive).await?;
    let status = child.wait().await?;

    println!("sent {sent} lines, received {received} lines");
    println!("last line: {last}");
    println!("child: {status}");
    if !status.success() || received != sent {
        return Err(io::Error::other("the child failed or lost lines"));
    }
    Ok(())
}
