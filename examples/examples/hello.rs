//! The smallest program: an `async fn main` on a backend, spawning one task.
//!
//! Run it with `cargo run --release --example hello`. To switch backends, change the
//! attribute's argument, e.g. `#[runtime::main(runtime_tokio::TokioCurrentThread)]`.

#[runtime::main(runtime_tokio::Tokio)]
async fn main() {
    let greeting = runtime::spawn(async { "hello from a spawned task" }).await;
    println!("{greeting}");
}
