#[runtime::main(runtime_tokio::TokioCurrentThread, start_paused)]
async fn main() {}
