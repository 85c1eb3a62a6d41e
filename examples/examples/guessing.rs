//! The guessing game over TCP: each connection plays its own game against a secret number.
//!
//! Usage: `cargo run --example guessing -- [ADDR] [--max-connections N] [--seed S]` (ADDR
//! defaults to 127.0.0.1:8070). It prints the address it bound; play with `nc 127.0.0.1 8070`,
//! typing a number per line. Switch backends by changing the attribute's argument.

use futures::prelude::*;
use runtime::net::{TcpListener, TcpStream};
use runtime_examples::{Args, Rng};

async fn play(stream: TcpStream, secret: u64) -> std::io::Result<u32> {
    let mut lines = futures::io::BufReader::new(&stream).lines();
    let mut writer = &stream;
    writer.write_all(b"Guess the number (1-100)!\n").await?;
    let mut tries = 0;
    while let Some(line) = lines.next().await {
        let line = line?;
        let Ok(guess) = line.trim().parse::<u64>() else {
            writer.write_all(b"Please type a number.\n").await?;
            continue;
        };
        tries += 1;
        let reply = match guess.cmp(&secret) {
            std::cmp::Ordering::Less => "Too small!\n",
            std::cmp::Ordering::Greater => "Too big!\n",
            std::cmp::Ordering::Equal => {
                writer.write_all(format!("You win in {tries} tries!\n").as_bytes()).await?;
                return Ok(tries);
            }
        };
        writer.write_all(reply.as_bytes()).await?;
    }
    Ok(tries)
}

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let addr = args.positional(0).unwrap_or("127.0.0.1:8070");
    let max = args.number("--max-connections");
    let mut rng = args.number("--seed").map_or_else(Rng::from_time, |seed| Rng::new(seed as u64));
    let listener = TcpListener::bind(addr)?;
    println!("listening on {}", listener.local_addr()?);
    let mut games = Vec::new();
    while max.is_none_or(|max| games.len() < max) {
        let (stream, peer) = listener.accept().await?;
        let secret = rng.between(1, 100);
        games.push(runtime::spawn(async move {
            let tries = play(stream, secret).await;
            println!("{peer}: game over after {} guesses", tries.as_ref().map_or(0, |t| *t));
            tries
        }));
    }
    for game in games {
        game.await?;
    }
    Ok(())
}
