#[runtime::main(runtime_tokio::Tokio, shutdown_timeout = "1s", shutdown_timeout = "2s")]
async fn main() {}
