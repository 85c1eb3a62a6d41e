//! The smallest program: an `async fn main` on the default (native) backend, spawning a task.
//!
//! Try it: `cargo run --release --example hello`. To run it on Tokio instead, change the
//! attribute to `#[runtime::main(runtime_tokio::Tokio)]`: nothing else changes.

#[runtime::main]
async fn main() {
    let greeting = runtime::spawn(async { "hello from a spawned task" }).await;
    println!("{greeting}");
}
