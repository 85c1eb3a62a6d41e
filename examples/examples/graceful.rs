//! A TCP server that stops cleanly on ctrl-c: it stops accepting, lets the connections in flight
//! finish (up to a deadline), and exits 0.
//!
//! Usage: `cargo run --example graceful -- [ADDR] [--grace-ms N]` (ADDR defaults to
//! 127.0.0.1:8080; port 0 picks a free one; the deadline defaults to 5000 ms). Each connection
//! sends some text and closes its write side; the server sends it back in upper case. Try it
//! with `nc -N 127.0.0.1 8080`, then press ctrl-c in the server's terminal while a connection is
//! still open.

use std::io;
use std::task::Poll;
use std::time::Duration;

use futures::future::{self, Either};
use futures::prelude::*;
use runtime::net::{TcpListener, TcpStream};
use runtime::time::FutureExt as _;

/// How long connections in flight get after ctrl-c, unless `--grace-ms` says otherwise.
const DEFAULT_GRACE: Duration = Duration::from_secs(5);

#[runtime::main]
async fn main() -> io::Result<()> {
    let args = runtime_examples::Args::parse();
    let addr = args.positional(0).unwrap_or("127.0.0.1:8080");
    let grace = args.number("--grace-ms").map_or(DEFAULT_GRACE, |ms| Duration::from_millis(ms as u64));

    // The first poll installs the handler: from then on ctrl-c comes to us instead of ending the
    // process. Done before the server says it is listening, so no ctrl-c can come in between.
    let mut ctrl_c = Box::pin(runtime::signal::ctrl_c());
    if let Poll::Ready(result) = futures::poll!(ctrl_c.as_mut()) {
        // Ready at once only when the handler could not be installed.
        return result;
    }

    let listener = TcpListener::bind(addr)?;
    println!("listening on {}", listener.local_addr()?);
    let mut in_flight = Vec::new();
    let mut incoming = listener.incoming();
    loop {
        match future::select(ctrl_c.as_mut(), incoming.next()).await {
            Either::Left((interrupted, _)) => {
                interrupted?;
                break;
            }
            Either::Right((Some(stream), _)) => {
                let stream = stream?;
                let peer = stream.peer_addr()?;
                println!("connection from {peer}");
                in_flight.push(runtime::spawn(async move {
                    match serve(stream).await {
                        Ok(n) => println!("{peer}: served {n} bytes"),
                        Err(e) => println!("{peer}: {e}"),
                    }
                }));
            }
            Either::Right((None, _)) => break,
        }
    }

    // Stop accepting: a new connection is refused from now on.
    drop(incoming);
    drop(listener);
    in_flight.retain(|task| !task.is_finished());
    let count = in_flight.len();
    println!("ctrl-c: stopped accepting; waiting up to {} ms for {count} connection(s)", grace.as_millis());
    match future::join_all(in_flight).timeout(grace).await {
        Ok(_) => println!("all connections finished; exiting"),
        // The tasks are dropped with the runtime when `main` returns, closing their connections.
        Err(_) => println!("deadline passed with connections still open; exiting"),
    }
    Ok(())
}

/// Reads the client's text to its end and sends it back in upper case; the byte count.
async fn serve(stream: TcpStream) -> io::Result<usize> {
    let (mut reader, mut writer) = (&stream, &stream);
    let mut text = Vec::new();
    reader.read_to_end(&mut text).await?;
    text.make_ascii_uppercase();
    writer.write_all(&text).await?;
    Ok(text.len())
}
