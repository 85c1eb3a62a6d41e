//! `#[runtime::bench]` on stable Rust: each body is one iteration, run on every backend of its
//! list; the backend is entered once per sample. `cargo bench --bench attribute`.

#[runtime::bench(runtime::native::Native, runtime_tokio::Tokio, runtime_tokio::TokioCurrentThread)]
async fn spawn_one() {
    runtime::spawn(async { 1u8 }).await;
}

#[runtime::bench(runtime::native::Native, runtime_tokio::Tokio, runtime_tokio::TokioCurrentThread)]
async fn yield_once() {
    runtime::task::yield_now().await;
}

#[runtime::bench]
async fn delay_zero() {
    runtime::time::Delay::new(std::time::Duration::ZERO).await;
}

runtime::bench_main!(spawn_one, yield_once, delay_zero);
