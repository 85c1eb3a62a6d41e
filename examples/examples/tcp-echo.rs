//! A TCP echo server driven by the reactor, one task per connection.
//!
//! Usage: `cargo run --example tcp-echo -- [ADDR] [--max-connections N]` (ADDR defaults to
//! 127.0.0.1:8080; port 0 picks a free one). It prints the address it bound. Try it by hand with
//! `nc 127.0.0.1 8080`, or with the `tcp-client` example. With `--max-connections N` it stops
//! after serving N connections. Switch backends by changing the attribute's argument.

use futures::prelude::*;
use runtime::net::TcpListener;

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let args = runtime_examples::Args::parse();
    let addr = args.positional(0).unwrap_or("127.0.0.1:8080");
    let max = args.number("--max-connections");
    let listener = TcpListener::bind(addr)?;
    println!("listening on {}", listener.local_addr()?);
    let mut connections = Vec::new();
    let mut incoming = listener.incoming();
    while max.is_none_or(|max| connections.len() < max) {
        let Some(stream) = incoming.next().await else { break };
        let stream = stream?;
        let peer = stream.peer_addr()?;
        connections.push(runtime::spawn(async move {
            let (mut reader, mut writer) = (&stream, &stream);
            let copied = futures::io::copy(&mut reader, &mut writer).await;
            println!("{peer}: echoed {} bytes", copied.as_ref().map_or(0, |n| *n));
            copied
        }));
    }
    for connection in connections {
        connection.await?;
    }
    Ok(())
}
