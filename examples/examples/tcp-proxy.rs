//! A TCP proxy: forwards a listen address to an upstream address, both directions at once.
//!
//! Usage: `cargo run --example tcp-proxy -- LISTEN UPSTREAM [--max-connections N]`, e.g.
//! `tcp-proxy 127.0.0.1:8081 127.0.0.1:8080` in front of `tcp-echo`; then `nc 127.0.0.1 8081`.
//! It prints the address it bound. Switch backends by changing the attribute's argument.

use runtime::net::{TcpListener, TcpStream};

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let args = runtime_examples::Args::parse();
    let listen = args.positional(0).unwrap_or("127.0.0.1:8081");
    let upstream = args.positional(1).unwrap_or("127.0.0.1:8080").to_owned();
    let max = args.number("--max-connections");
    let listener = TcpListener::bind(listen)?;
    println!("listening on {}, forwarding to {upstream}", listener.local_addr()?);
    let mut served = Vec::new();
    while max.is_none_or(|max| served.len() < max) {
        let (client, peer) = listener.accept().await?;
        let upstream = upstream.clone();
        served.push(runtime::spawn(async move {
            let server = TcpStream::connect(upstream.as_str()).await?;
            // Both directions at once; each half-closes its write side when its read side ends.
            let to_server = async {
                let n = futures::io::copy(&mut &client, &mut &server).await?;
                server.shutdown(std::net::Shutdown::Write)?;
                std::io::Result::Ok(n)
            };
            let to_client = async {
                let n = futures::io::copy(&mut &server, &mut &client).await?;
                client.shutdown(std::net::Shutdown::Write)?;
                std::io::Result::Ok(n)
            };
            let (up, down) = futures::try_join!(to_server, to_client)?;
            println!("{peer}: {up} bytes up, {down} bytes down");
            std::io::Result::Ok(())
        }));
    }
    for connection in served {
        connection.await?;
    }
    Ok(())
}
