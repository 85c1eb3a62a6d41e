//! futures' `join!`, `select!` and `try_join!` on runtime tasks and timers. The loser of the
//! `select!` is dropped, and says so.
//!
//! Try it: `cargo run --example macros`. Switch backends by changing the attribute's argument.

use std::time::Duration;

use futures::FutureExt as _;
use runtime::time::Delay;

struct Noisy(&'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        println!("dropped: {}", self.0);
    }
}

async fn after(ms: u64, name: &'static str) -> &'static str {
    let _noisy = Noisy(name);
    Delay::new(Duration::from_millis(ms)).await;
    name
}

#[runtime::main]
async fn main() -> Result<(), String> {
    let (a, b) = futures::join!(runtime::spawn(async { 1 }), after(10, "joined"));
    println!("join!: {a} and {b}");

    let winner = futures::select! {
        fast = after(5, "fast").fuse() => fast,
        slow = after(5_000, "slow").fuse() => slow,
    };
    println!("select!: {winner} won");

    let ok: Result<(u8, u8), String> = futures::try_join!(async { Ok(1) }, async { Ok(2) });
    println!("try_join!: {ok:?}");
    let failed: Result<(u8, u8), String> = futures::try_join!(async { Ok(1) }, async { Err("boom".to_string()) });
    println!("try_join!: {failed:?}");
    Ok(())
}
