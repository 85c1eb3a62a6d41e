#[runtime::bench(runtime_tokio::Tokio, timeout = "5s")]
async fn timed() {}

#[runtime::bench(runtime_tokio::TokioCurrentThread, start_paused)]
async fn paused() {}

fn main() {}
