//! A TCP client: connects, sends each line of stdin (or `--message TEXT`), prints the replies.
//!
//! Usage: `cargo run --example tcp-client -- [ADDR] [--message TEXT]` (ADDR defaults to
//! 127.0.0.1:8080). Start `tcp-echo` first. Switch backends by changing the attribute's argument.

use futures::prelude::*;
use runtime::net::TcpStream;

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let args = runtime_examples::Args::parse();
    let addr = args.positional(0).unwrap_or("127.0.0.1:8080");
    let lines: Vec<String> = match args.value("--message") {
        Some(message) => vec![message.to_owned()],
        None => std::io::stdin().lines().collect::<Result<_, _>>()?,
    };
    let stream = TcpStream::connect(addr).await?;
    let mut reader = futures::io::BufReader::new(&stream);
    for line in lines {
        (&stream).write_all(format!("{line}\n").as_bytes()).await?;
        let mut reply = String::new();
        if reader.read_line(&mut reply).await? == 0 {
            eprintln!("the server closed the connection");
            break;
        }
        print!("{reply}");
    }
    Ok(())
}
