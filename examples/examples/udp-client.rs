//! A UDP client: sends each line of stdin (or `--message TEXT`) as a datagram, prints replies.
//!
//! Usage: `cargo run --example udp-client -- [ADDR] [--message TEXT]` (ADDR defaults to
//! 127.0.0.1:8090). Start `udp-echo` first. Switch backends by changing the attribute's argument.

use std::time::Duration;

use runtime::net::UdpSocket;
use runtime::prelude::*;

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let args = runtime_examples::Args::parse();
    let addr = args.positional(0).unwrap_or("127.0.0.1:8090");
    let lines: Vec<String> = match args.value("--message") {
        Some(message) => vec![message.to_owned()],
        None => std::io::stdin().lines().collect::<Result<_, _>>()?,
    };
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.connect(addr).await?;
    let mut buf = vec![0u8; 65_536];
    for line in lines {
        socket.send(line.as_bytes()).await?;
        // Datagrams can be lost: do not wait forever for the reply.
        let n = socket.recv(&mut buf).timeout(Duration::from_secs(5)).await??;
        println!("{}", String::from_utf8_lossy(&buf[..n]));
    }
    Ok(())
}
