//! Typed results: a spawned task's output, `runtime::raw::enter` returning a value, and `main`
//! returning `Result<(), Box<dyn Error>>` (an error makes the process exit non-zero).
//!
//! Try it: `cargo run --example return-value`; `cargo run --example return-value -- fail` to see
//! `main` return an error. The backend is the attribute's argument (and `enter`'s first).

use std::error::Error;

fn parse_all(words: &[&str]) -> Result<Vec<u32>, std::num::ParseIntError> {
    words.iter().map(|w| w.parse()).collect()
}

#[runtime::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // A task's typed output comes back through its JoinHandle.
    let handle = runtime::spawn(async { parse_all(&["1", "2", "39"]) });
    let numbers: Vec<u32> = handle.await?;
    println!("task returned {numbers:?}");

    // `enter` on another thread (it cannot nest inside this runtime) returns its future's value.
    let total = std::thread::spawn(|| runtime::raw::enter(runtime_tokio::TokioCurrentThread, async { 40 + 2 }))
        .join()
        .expect("the thread ran");
    println!("enter returned {total}");

    if std::env::args().nth(1).as_deref() == Some("fail") {
        let bad: u32 = "not a number".parse()?;
        println!("unreachable: {bad}");
    }
    Ok(())
}
