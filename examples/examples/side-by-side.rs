//! The project's point in one run: the same TCP echo workload, written once against the facade,
//! on the native backend and on Tokio, side by side.
//!
//! Usage: `cargo run --release --example side-by-side -- [--connections N] [--trips N]
//! [--rounds N]` (defaults: 100 connections, 500 round trips of 64 bytes each, 3 rounds per
//! backend, alternating). It prints round trips per second and the p50/p99 of one round trip,
//! the median of the rounds, for each backend.
//!
//! A program picks its backend in one line, the attribute's argument:
//!
//! ```ignore
//! #[runtime::main]                        // the native backend (the default)
//! #[runtime::main(runtime_tokio::Tokio)]  // Tokio: nothing else changes
//! async fn main() { echo(100, 500).await; }
//! ```
//!
//! This example runs both in one process through `runtime::raw::enter`, which is what the
//! attribute expands to. For the full comparison, with plain Tokio and smol and min-max ranges,
//! run `cargo bench --bench suite`.

use std::time::{Duration, Instant};

use futures::prelude::*;
use runtime::net::{TcpListener, TcpStream};

/// One round's figures.
#[derive(Debug, Clone, Copy)]
struct Round {
    trips_per_sec: f64,
    p50: Duration,
    p99: Duration,
}

/// The workload, written once: an echo server (one task per connection) and `connections`
/// clients, each sending `trips` messages of 64 bytes and reading each one back before the next.
async fn echo(connections: usize, trips: usize) -> std::io::Result<Round> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = runtime::spawn(async move {
        let mut incoming = listener.incoming();
        let mut served = Vec::with_capacity(connections);
        while served.len() < connections {
            let Some(stream) = incoming.next().await else { break };
            let stream = stream?;
            served.push(runtime::spawn(async move {
                let (mut reader, mut writer) = (&stream, &stream);
                futures::io::copy(&mut reader, &mut writer).await
            }));
        }
        for connection in served {
            connection.await?;
        }
        std::io::Result::Ok(())
    });

    let start = Instant::now();
    let clients: Vec<_> = (0..connections)
        .map(|_| {
            runtime::spawn(async move {
                let mut stream = TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                let message = [7u8; 64];
                let mut reply = [0u8; 64];
                let mut latencies = Vec::with_capacity(trips);
                for _ in 0..trips {
                    let sent = Instant::now();
                    stream.write_all(&message).await?;
                    stream.read_exact(&mut reply).await?;
                    latencies.push(sent.elapsed());
                }
                std::io::Result::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(connections * trips);
    for client in clients {
        latencies.extend(client.await?);
    }
    let elapsed = start.elapsed();
    server.await?;

    latencies.sort_unstable();
    let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    Ok(Round {
        trips_per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(50),
        p99: percentile(99),
    })
}

/// The median of each figure over the rounds.
fn median(rounds: &mut [Round]) -> Round {
    let mid = rounds.len() / 2;
    rounds.sort_by(|a, b| a.trips_per_sec.total_cmp(&b.trips_per_sec));
    let trips_per_sec = rounds[mid].trips_per_sec;
    rounds.sort_by_key(|r| r.p50);
    let p50 = rounds[mid].p50;
    rounds.sort_by_key(|r| r.p99);
    Round { trips_per_sec, p50, p99: rounds[mid].p99 }
}

fn main() -> std::io::Result<()> {
    let args = runtime_examples::Args::parse();
    let connections = args.number("--connections").unwrap_or(100).max(1);
    let trips = args.number("--trips").unwrap_or(500).max(1);
    let rounds = args.number("--rounds").unwrap_or(3).max(1);
    println!(
        "TCP echo, written once: {connections} connections x {trips} round trips of 64 bytes, {rounds} rounds each"
    );

    let (mut native, mut tokio) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        // Alternating, so that both see the same machine.
        native.push(runtime::raw::enter(runtime::native::Native, echo(connections, trips))?);
        tokio.push(runtime::raw::enter(runtime_tokio::Tokio, echo(connections, trips))?);
    }
    let (native, tokio) = (median(&mut native), median(&mut tokio));

    println!();
    println!("{:<8} {:>16} {:>12} {:>12}", "backend", "round trips/s", "p50", "p99");
    for (name, round) in [("native", native), ("tokio", tokio)] {
        println!(
            "{name:<8} {:>16.0} {:>12} {:>12}",
            round.trips_per_sec,
            format!("{:.1?}", round.p50),
            format!("{:.1?}", round.p99)
        );
    }
    println!();
    println!("native/tokio throughput: {:.2}x", native.trips_per_sec / tokio.trips_per_sec);
    println!("switch a program's backend with one line: #[runtime::main] -> #[runtime::main(runtime_tokio::Tokio)]");
    Ok(())
}
