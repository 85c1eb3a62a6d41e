//! `cat`: copies the files named as arguments to stdout, in order, through `runtime::fs`.
//!
//! Try it: `cargo run --example cat -- Cargo.toml README.md`. A file that cannot be read is
//! reported on stderr, naming it (`cat: No such file or directory (os error 2): nope`); the
//! others are still copied and the exit status is then 1, as with the Unix `cat`.

use std::io::Write;

use futures::io::AsyncReadExt;

/// Bytes read per call: large enough that system calls are few, small enough to stay in cache.
const CHUNK: usize = 128 * 1024;

#[runtime::main]
async fn main() {
    let mut failed = false;
    let mut buf = vec![0; CHUNK];
    // The entry future runs on the thread that called `main`, not on a worker: writing to
    // stdout here blocks no task.
    let mut out = std::io::stdout().lock();
    for path in std::env::args_os().skip(1) {
        if let Err(e) = copy(&path, &mut buf, &mut out).await {
            let _ = out.flush();
            eprintln!("cat: {e}");
            failed = true;
        }
    }
    let _ = out.flush();
    if failed {
        std::process::exit(1);
    }
}

/// Copies the file at `path` to `out` through `buf`.
async fn copy(path: &std::ffi::OsStr, buf: &mut [u8], out: &mut impl Write) -> std::io::Result<()> {
    let mut file = runtime::fs::File::open(path).await?;
    loop {
        let n = file.read(buf).await?;
        if n == 0 {
            return Ok(());
        }
        out.write_all(&buf[..n])?;
    }
}
