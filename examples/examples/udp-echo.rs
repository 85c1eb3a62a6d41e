//! A UDP echo server.
//!
//! Usage: `cargo run --example udp-echo -- [ADDR] [--max-datagrams N]` (ADDR defaults to
//! 127.0.0.1:8090). It prints the address it bound; try it with `nc -u 127.0.0.1 8090` or the
//! `udp-client` example. Switch backends by changing the attribute's argument.

use runtime::net::UdpSocket;

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let args = runtime_examples::Args::parse();
    let addr = args.positional(0).unwrap_or("127.0.0.1:8090");
    let max = args.number("--max-datagrams");
    let socket = UdpSocket::bind(addr)?;
    println!("listening on {}", socket.local_addr()?);
    let mut buf = vec![0u8; 65_536];
    let mut echoed = 0;
    while max.is_none_or(|max| echoed < max) {
        let (n, peer) = socket.recv_from(&mut buf).await?;
        socket.send_to(&buf[..n], peer).await?;
        echoed += 1;
    }
    Ok(())
}
