//! One TCP listener per worker on the same port with `SO_REUSEPORT`, each accepting on its own:
//! the kernel spreads incoming connections across the listeners, so no accept queue is shared.
//!
//! Usage: `cargo run --example tcp-reuseport -- [ADDR] [--workers N] [--max-connections N]`
//! (ADDR defaults to 127.0.0.1:8080; port 0 picks a free one, which the other listeners then
//! share; N workers defaults to the number of CPUs). It prints the address and the number of
//! listeners, then one line per connection it echoed, naming the worker that accepted it. With
//! `--max-connections N` it stops after serving N connections. Try it with `nc 127.0.0.1 8080`.

use std::net::SocketAddr;

use futures::channel::mpsc;
use futures::prelude::*;
use runtime::net::{TcpListener, TcpSocket};

/// Connections each listener's kernel queue holds before `accept` takes them.
const BACKLOG: u32 = 1024;

/// A listener on `addr` that shares its port with the others.
fn listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let args = runtime_examples::Args::parse();
    let addr: SocketAddr = args.positional(0).unwrap_or("127.0.0.1:8080").parse().map_err(std::io::Error::other)?;
    let workers =
        args.number("--workers").unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let max = args.number("--max-connections");

    // The first listener settles the port (port 0 picks one); the others bind the same.
    let first = listener(addr)?;
    let addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..workers.max(1) {
        listeners.push(listener(addr)?);
    }
    println!("listening on {addr}, {} listeners sharing the port", listeners.len());

    let (served, mut done) = mpsc::unbounded();
    for (worker, listener) in listeners.into_iter().enumerate() {
        let served = served.clone();
        runtime::spawn(async move {
            let mut incoming = listener.incoming();
            while let Some(stream) = incoming.next().await {
                let Ok(stream) = stream else { continue };
                let served = served.clone();
                runtime::spawn(async move {
                    let (mut reader, mut writer) = (&stream, &stream);
                    let copied = futures::io::copy(&mut reader, &mut writer).await.unwrap_or(0);
                    let peer = stream.peer_addr().map_or_else(|e| e.to_string(), |a| a.to_string());
                    let _ = served.unbounded_send(format!("worker {worker}: {peer}: echoed {copied} bytes"));
                })
                .detach();
            }
        })
        .detach();
    }
    drop(served);

    // Returning ends the instance, which drops the workers still waiting in `accept`.
    let mut count = 0;
    while max.is_none_or(|max| count < max) {
        let Some(line) = done.next().await else { break };
        println!("{line}");
        count += 1;
    }
    Ok(())
}
